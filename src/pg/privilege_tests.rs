//! The privilege boundaries, read from the catalogs: which role may call
//! which function and touch which table, and that every function pins its
//! search_path. The black-box tests (`tests/blackbox/production.rs`) call
//! the same functions as real login roles; these pin the grants themselves,
//! so a function added without a pinned search_path, or granted too widely,
//! fails here by name.

#[pgrx::pg_schema]
mod tests {
    use crate::pg::sql_checks::texts;
    use pgrx::prelude::*;

    /// What the writer role may execute: publish, rebuild, delete, sync.
    const WRITER_FUNCTIONS: &[&str] = &[
        "add_blocks(bigint,jsonb)",
        "begin_rebuild(text,text)",
        "catalog_sync()",
        "complete_rebuild(bigint)",
        "delete_course(text)",
        "fail_rebuild(bigint,text)",
        "fail_stale_rebuilds(text)",
        "publish_course(text,text,jsonb)",
        "rebuild(text,text,jsonb)",
    ];

    /// What the reader role may execute.
    const READER_FUNCTIONS: &[&str] = &[
        "assert_course_key(text)",
        "block_structure_version(text)",
        "course_about_url(text)",
        "navigation_tree(text)",
    ];

    /// The coursenav functions `role` may execute, as `name(argtypes)`
    /// (internal ones as `coursenav_internal.name(argtypes)`).
    fn executable_by(role: &str) -> Vec<String> {
        texts(&format!(
            "SELECT replace(p.oid::regprocedure::text, 'coursenav.', '')
               FROM pg_proc p
              WHERE p.pronamespace IN ('coursenav'::regnamespace, 'coursenav_internal'::regnamespace)
                AND has_function_privilege('{role}', p.oid, 'EXECUTE')
              ORDER BY 1"
        ))
    }

    /// The coursenav tables and views `role` holds `privilege` on.
    fn relations_with(role: &str, privilege: &str) -> Vec<String> {
        texts(&format!(
            "SELECT c.relname::text FROM pg_class c
              WHERE c.relnamespace = 'coursenav'::regnamespace AND c.relkind IN ('r', 'v', 'p')
                AND has_table_privilege('{role}', c.oid, '{privilege}')
              ORDER BY 1"
        ))
    }

    fn role(name: &str, member_of: &str) {
        let in_role = if member_of.is_empty() { String::new() } else { format!(" IN ROLE {member_of}") };
        Spi::run(&format!("CREATE ROLE {name} LOGIN{in_role}")).unwrap();
    }

    #[pg_test]
    fn a_role_granted_nothing_can_call_nothing_and_read_nothing() {
        role("cn_nobody", "");
        assert_eq!(executable_by("cn_nobody"), Vec::<String>::new());
        for privilege in ["SELECT", "INSERT", "UPDATE", "DELETE"] {
            assert_eq!(relations_with("cn_nobody", privilege), Vec::<String>::new(), "{privilege}");
        }
        let usage = Spi::get_one::<bool>("SELECT has_schema_privilege('cn_nobody', 'coursenav', 'USAGE')").unwrap();
        assert_eq!(usage, Some(false));
    }

    #[pg_test]
    fn the_writer_role_executes_the_writing_functions_and_holds_no_table_privilege() {
        role("cn_app_writer", "coursenav_writer");
        assert_eq!(executable_by("cn_app_writer"), WRITER_FUNCTIONS);
        for privilege in ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"] {
            assert_eq!(relations_with("cn_app_writer", privilege), Vec::<String>::new(), "{privilege}");
        }
    }

    #[pg_test]
    fn the_reader_role_executes_the_read_functions_and_reads_only_the_overviews() {
        role("cn_app_reader", "coursenav_reader");
        assert_eq!(executable_by("cn_app_reader"), READER_FUNCTIONS);
        assert_eq!(relations_with("cn_app_reader", "SELECT"), ["course_overviews"]);
        for privilege in ["INSERT", "UPDATE", "DELETE"] {
            assert_eq!(relations_with("cn_app_reader", privilege), Vec::<String>::new(), "{privilege}");
        }
    }

    #[pg_test]
    fn monitoring_roles_read_the_version_tables_and_views_but_never_the_token() {
        role("cn_monitor", "pg_monitor");
        let readable = relations_with("cn_monitor", "SELECT");
        for wanted in [
            "block_structures",
            "catalog_sync_runs",
            "catalog_sync_schedule",
            "course_status",
            "course_versions",
            "publish_log",
            "structure_versions",
            "version_history",
        ] {
            assert!(readable.iter().any(|r| r == wanted), "pg_monitor cannot read {wanted}: {readable:?}");
        }
        assert!(!readable.iter().any(|r| r == "catalog_credentials"), "{readable:?}");
        assert_eq!(relations_with("cn_monitor", "UPDATE"), Vec::<String>::new());
    }

    #[pg_test]
    fn every_function_pins_its_search_path() {
        let unpinned = texts(
            "SELECT p.proname || ': ' || coalesce(array_to_string(p.proconfig, ' '), 'no settings')
               FROM pg_proc p
              WHERE p.pronamespace IN ('coursenav'::regnamespace, 'coursenav_internal'::regnamespace)
                AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
              ORDER BY 1",
        );
        assert_eq!(unpinned, Vec::<String>::new());
    }

    #[pg_test]
    fn the_functions_a_writer_or_reader_calls_run_with_the_owners_rights() {
        let invoker = texts(
            "SELECT p.proname::text FROM pg_proc p
              WHERE p.pronamespace = 'coursenav'::regnamespace AND NOT p.prosecdef
                AND (has_function_privilege('coursenav_writer', p.oid, 'EXECUTE')
                     OR has_function_privilege('coursenav_reader', p.oid, 'EXECUTE'))
              ORDER BY 1",
        );
        // assert_course_key and course_about_url read nothing a reader may
        // not read (the key, the overviews): they run as their caller.
        assert_eq!(invoker, ["assert_course_key", "course_about_url"]);
    }

    #[pg_test]
    fn every_api_function_says_what_it_is_for_and_no_internal_one_is_granted() {
        let undocumented = texts(
            "SELECT p.proname::text FROM pg_proc p
              WHERE p.pronamespace = 'coursenav'::regnamespace
                AND obj_description(p.oid, 'pg_proc') IS NULL
              ORDER BY 1",
        );
        assert_eq!(undocumented, Vec::<String>::new());
        let granted_internals = texts(
            "SELECT p.proname::text FROM pg_proc p
              WHERE p.pronamespace = 'coursenav_internal'::regnamespace
                AND (has_function_privilege('coursenav_writer', p.oid, 'EXECUTE')
                     OR has_function_privilege('coursenav_reader', p.oid, 'EXECUTE')
                     OR has_function_privilege('pg_monitor', p.oid, 'EXECUTE'))
              ORDER BY 1",
        );
        assert_eq!(granted_internals, Vec::<String>::new());
        let internal_schema_usage = texts(
            "SELECT r FROM unnest(ARRAY['coursenav_writer', 'coursenav_reader', 'pg_monitor', 'public']) r
              WHERE has_schema_privilege(r, 'coursenav_internal', 'USAGE')",
        );
        assert_eq!(internal_schema_usage, Vec::<String>::new());
        let mislabelled = texts(
            "SELECT p.proname || ': ' || obj_description(p.oid, 'pg_proc') FROM pg_proc p
              WHERE p.pronamespace = 'coursenav'::regnamespace
                AND (obj_description(p.oid, 'pg_proc') LIKE 'Writer.%'
                       AND NOT has_function_privilege('coursenav_writer', p.oid, 'EXECUTE')
                  OR obj_description(p.oid, 'pg_proc') LIKE 'Reader.%'
                       AND NOT has_function_privilege('coursenav_reader', p.oid, 'EXECUTE'))
              ORDER BY 1",
        );
        assert_eq!(mislabelled, Vec::<String>::new());
    }

    #[pg_test]
    fn guarding_settings_are_for_superusers_only() {
        let loose = texts(
            "SELECT name || ' is ' || context FROM pg_settings
              WHERE name IN ('coursenav.max_blocks', 'coursenav.keep_structures', 'coursenav.catalog_api_url')
                AND context <> 'superuser'
              ORDER BY 1",
        );
        assert_eq!(loose, Vec::<String>::new());
    }
}
