//! The thin pgrx shell: SQL-callable functions that hand their arguments to
//! `coursenav_domain` and turn its problems into Postgres errors.

/// The schema of what the API calls and no role may (sql/schema.sql makes
/// it and says why); pgrx needs it declared for `schema = "coursenav_internal"`.
#[pgrx::pg_schema]
mod coursenav_internal {}

mod about;
mod add_blocks;
mod build_navigation;
mod catalog_http;
mod catalog_sync;
mod catalog_token;
mod errors;
mod jsonb_reader;
mod keys;
mod overviews;
mod parsed_chunks;
mod records;
pub(crate) mod settings;

#[cfg(any(test, feature = "pg_test"))]
mod catalog_tests;
#[cfg(any(test, feature = "pg_test"))]
mod document_tests;
#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;
#[cfg(any(test, feature = "pg_test"))]
mod privilege_tests;
#[cfg(any(test, feature = "pg_test"))]
mod schema_tests;
#[cfg(any(test, feature = "pg_test"))]
mod sql_checks;
#[cfg(any(test, feature = "pg_test"))]
mod timeout_tests;
