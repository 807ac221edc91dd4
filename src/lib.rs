//! coursenav: Open edX course navigation inside PostgreSQL, never stale.
//!
//! `coursenav_domain` (src/domain, a crate of its own) is the functional
//! core: plain Rust, plain unit tests, no pgrx, no unsafe code. `pg` maps SQL
//! to it. Tables, triggers, views and grants are in `sql/*.sql`.

mod pg;

::pgrx::pg_module_magic!(name, version);

pgrx::extension_sql_file!("../sql/schema.sql", name = "schema", bootstrap);
pgrx::extension_sql_file!("../sql/lifecycle.sql", name = "lifecycle", requires = ["schema"]);
pgrx::extension_sql_file!("../sql/reading.sql", name = "reading", requires = ["lifecycle"]);
pgrx::extension_sql_file!("../sql/catalog.sql", name = "catalog", requires = ["lifecycle"]);
pgrx::extension_sql_file!("../sql/grants.sql", name = "grants", finalize);

#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    pg::settings::register();
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
