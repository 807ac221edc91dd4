//! The thin pgrx shell: SQL-callable functions that hand their arguments to
//! `crate::domain` and turn its problems into Postgres errors.

mod add_blocks;
mod build_navigation;
mod errors;
mod keys;
pub mod settings;

#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;
