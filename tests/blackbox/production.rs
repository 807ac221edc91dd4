//! Safe to run in production, seen from outside: backups that keep every
//! row, writers and readers that are not superusers, and functions that no
//! object a hostile role creates can hijack.

use crate::cluster::Cluster;
use coursenav_domain::testing::small_course as course;
use postgres::Client;

const COURSE: &str = "course-v1:OpenedX+DemoX+DemoCourse";
const OTHER: &str = "course-v1:OpenedX+Other+2030";

/// The SQLSTATE of a failed statement, or "ok".
fn outcome(client: &mut Client, sql: &str) -> String {
    match client.batch_execute(sql) {
        Ok(()) => "ok".into(),
        Err(e) => e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}")),
    }
}

fn rebuild(client: &mut Client, course_id: &str, version: &str, chapters: usize) -> String {
    let blocks = course(course_id, chapters, version).to_string();
    client
        .query_one("SELECT coursenav.rebuild($1, $2, $3::text::jsonb)::text", &[&course_id, &version, &blocks])
        .unwrap()
        .get(0)
}

/// Roles as an operator makes them: one statement each.
fn make_roles(cluster: &Cluster) {
    cluster.execute(
        "CREATE ROLE lms_writer LOGIN; GRANT coursenav_writer TO lms_writer;
         CREATE ROLE lms_reader LOGIN; GRANT coursenav_reader TO lms_reader;
         CREATE ROLE nobody LOGIN;
         CREATE ROLE dba LOGIN; GRANT pg_monitor TO dba;",
    );
}

#[test]
fn a_writer_role_publishes_rebuilds_deletes_and_syncs_with_no_table_privilege() {
    let cluster = Cluster::start("writer", &[]);
    make_roles(&cluster);
    let mut writer = cluster.connect_as("lms_writer", "postgres");
    let overview = r#"{"display_name": "Demo", "start": "2030-01-15T00:00:00Z"}"#;
    writer.execute("SELECT coursenav.publish_course($1, 'v1', $2::text::jsonb)", &[&COURSE, &overview]).unwrap();
    let v1 = rebuild(&mut writer, COURSE, "v1", 2);
    // The step-by-step lifecycle, and a rebuild given up.
    let id: i64 = writer.query_one("SELECT coursenav.begin_rebuild($1, 'v2')", &[&COURSE]).unwrap().get(0);
    let blocks = course(COURSE, 3, "v2").to_string();
    writer.execute("SELECT coursenav.add_blocks($1, $2::text::jsonb)", &[&id, &blocks]).unwrap();
    let v2: String = writer.query_one("SELECT coursenav.complete_rebuild($1)::text", &[&id]).unwrap().get(0);
    assert_ne!(v1, v2);
    let failed: i64 = writer.query_one("SELECT coursenav.begin_rebuild($1, 'v3')", &[&COURSE]).unwrap().get(0);
    writer.execute("SELECT coursenav.fail_rebuild($1, 'collector gave up')", &[&failed]).unwrap();
    // The catalog sync runs (no catalog is set: the run records why).
    let status: String = writer.query_one("SELECT status FROM coursenav.catalog_sync()", &[]).unwrap().get(0);
    assert_eq!(status, "failed");
    rebuild(&mut writer, OTHER, "v1", 1);
    let deleted: bool = writer.query_one("SELECT coursenav.delete_course($1)", &[&OTHER]).unwrap().get(0);
    assert!(deleted);

    // But no table is the writer's: it cannot serve a tree it made up,
    // move a version or mark a rebuild complete behind the trigger's back.
    for sql in [
        "UPDATE coursenav.navigation_trees SET tree = '{}'",
        "INSERT INTO coursenav.navigation_trees VALUES ('x', gen_random_uuid(), 1, '{}')",
        "UPDATE coursenav.course_versions SET block_structure_version = gen_random_uuid()",
        "UPDATE coursenav.block_structures SET status = 'failed'",
        "DELETE FROM coursenav.publish_log",
        "SELECT * FROM coursenav.block_chunks",
        "SELECT * FROM coursenav.catalog_credentials",
        "SELECT coursenav.set_catalog_token('stolen')",
        "SELECT coursenav_internal.build_navigation('a', 1, 'b', 'c', 'd')",
        "SELECT coursenav_internal.prune_structures('a', 1)",
        "SET coursenav.max_blocks = 10000000",
    ] {
        assert_eq!(outcome(&mut writer, sql), "42501", "{sql}");
    }
    // Reading is the reader role's, not the writer's.
    assert_eq!(outcome(&mut writer, &format!("SELECT coursenav.navigation_tree('{COURSE}')")), "42501");

    let mut owner = cluster.connect();
    let serving: String =
        owner.query_one("SELECT coursenav.block_structure_version($1)::text", &[&COURSE]).unwrap().get(0);
    assert_eq!(serving, v2);
    let statuses: Vec<String> = owner
        .query("SELECT status FROM coursenav.block_structures WHERE course_id = $1 ORDER BY rebuild_id", &[&COURSE])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(statuses, ["complete", "complete", "failed"]);
}

#[test]
fn a_reader_role_reads_navigation_and_overviews_and_writes_nothing() {
    let cluster = Cluster::start("reader-role", &[]);
    make_roles(&cluster);
    let mut owner = cluster.connect();
    owner.execute("SELECT coursenav.publish_course($1, 'v1', '{\"display_name\": \"Demo\"}')", &[&COURSE]).unwrap();
    let version = rebuild(&mut owner, COURSE, "v1", 2);

    let mut reader = cluster.connect_as("lms_reader", "postgres");
    let tree: String = reader.query_one("SELECT coursenav.navigation_tree($1)::text", &[&COURSE]).unwrap().get(0);
    assert!(tree.contains(&version));
    let served: String =
        reader.query_one("SELECT coursenav.block_structure_version($1)::text", &[&COURSE]).unwrap().get(0);
    assert_eq!(served, version);
    let about: String = reader.query_one("SELECT coursenav.course_about_url($1)", &[&COURSE]).unwrap().get(0);
    assert_eq!(about, format!("/courses/{COURSE}/about"));
    let name: String = reader
        .query_one("SELECT display_name FROM coursenav.course_overviews WHERE course_id = $1", &[&COURSE])
        .unwrap()
        .get(0);
    assert_eq!(name, "Demo");
    for sql in [
        "SELECT coursenav.publish_course('course-v1:A+B+C', 'v9')",
        "SELECT coursenav.rebuild('course-v1:A+B+C', 'v9', '{}')",
        "SELECT coursenav.delete_course('course-v1:OpenedX+DemoX+DemoCourse')",
        "SELECT coursenav.catalog_sync()",
        "SELECT * FROM coursenav.navigation_trees",
        "UPDATE coursenav.course_overviews SET display_name = 'defaced'",
        "SELECT * FROM coursenav.catalog_credentials",
    ] {
        assert_eq!(outcome(&mut reader, sql), "42501", "{sql}");
    }
}

#[test]
fn a_role_granted_nothing_is_refused_every_function_and_table() {
    let cluster = Cluster::start("nobody", &[]);
    make_roles(&cluster);
    let mut owner = cluster.connect();
    rebuild(&mut owner, COURSE, "v1", 1);
    let functions: Vec<String> = owner
        .query(
            "SELECT format('SELECT %I.%I(%s)', n.nspname, p.proname,
                           (SELECT string_agg('NULL::' || replace(format_type(t, NULL), 'anyelement', 'text'), ', ')
                              FROM unnest(p.proargtypes) t))
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname IN ('coursenav', 'coursenav_internal') AND p.prorettype <> 'trigger'::regtype",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(functions.len() >= 15, "{functions:?}");
    let tables: Vec<String> = owner
        .query(
            "SELECT format('SELECT * FROM coursenav.%I', relname) FROM pg_class
              WHERE relnamespace = 'coursenav'::regnamespace AND relkind IN ('r', 'v')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut nobody = cluster.connect_as("nobody", "postgres");
    for sql in functions.iter().chain(&tables) {
        assert_eq!(outcome(&mut nobody, sql), "42501", "{sql}");
    }
}

#[test]
fn monitoring_roles_read_the_dba_views_and_never_the_token() {
    let cluster = Cluster::start("monitor", &[]);
    make_roles(&cluster);
    let mut owner = cluster.connect();
    rebuild(&mut owner, COURSE, "v1", 1);
    owner.batch_execute("SELECT coursenav.set_catalog_token('tok-secret-1')").unwrap();
    let mut dba = cluster.connect_as("dba", "postgres");
    let lagging: bool =
        dba.query_one("SELECT lagging FROM coursenav.course_status WHERE course_id = $1", &[&COURSE]).unwrap().get(0);
    assert!(!lagging);
    for sql in [
        "SELECT * FROM coursenav.structure_versions",
        "SELECT * FROM coursenav.catalog_sync_runs",
        "SELECT * FROM coursenav.publish_log",
        "SELECT * FROM coursenav.version_history",
        "SELECT * FROM coursenav.block_structures",
    ] {
        assert_eq!(outcome(&mut dba, sql), "ok", "{sql}");
    }
    assert_eq!(outcome(&mut dba, "SELECT * FROM coursenav.catalog_credentials"), "42501");
}

/// Functions and operators named like every built-in coursenav's functions
/// call, each of which, run by anyone, records that it ran, and run by a
/// superuser, makes `mallory` one.
/// `public.hijacked` must exist, insertable by everyone.
const HOSTILE_OBJECTS: &str = r#"
CREATE FUNCTION SCHEMA.pwn(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.hijacked VALUES (what);
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE mallory SUPERUSER';
    END IF;
    RETURN true;
END $$;
CREATE FUNCTION SCHEMA.json_build_object(text, text, text, uuid, text, text) RETURNS json LANGUAGE sql
    AS $$ SELECT CASE WHEN SCHEMA.pwn('json_build_object') THEN '{}'::json END $$;
CREATE FUNCTION SCHEMA.json_build_object(text, text, text, text, text, text) RETURNS json LANGUAGE sql
    AS $$ SELECT CASE WHEN SCHEMA.pwn('json_build_object') THEN '{}'::json END $$;
CREATE FUNCTION SCHEMA.pg_notify(text, text) RETURNS void LANGUAGE sql
    AS $$ SELECT CASE WHEN SCHEMA.pwn('pg_notify') THEN NULL END $$;
CREATE FUNCTION SCHEMA.gen_random_uuid() RETURNS uuid LANGUAGE sql
    AS $$ SELECT CASE WHEN SCHEMA.pwn('gen_random_uuid') THEN '00000000-0000-0000-0000-000000000000'::uuid END $$;
CREATE FUNCTION SCHEMA.clock_timestamp() RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT CASE WHEN SCHEMA.pwn('clock_timestamp') THEN pg_catalog.now() END $$;
CREATE FUNCTION SCHEMA.current_setting(text, boolean) RETURNS text LANGUAGE sql
    AS $$ SELECT CASE WHEN SCHEMA.pwn('current_setting') THEN '5' END $$;
CREATE FUNCTION SCHEMA.unnest(text[]) RETURNS SETOF text LANGUAGE sql
    AS $$ SELECT x FROM pg_catalog.unnest($1) x WHERE SCHEMA.pwn('unnest') $$;
CREATE FUNCTION SCHEMA.hostile_text_eq(text, text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT SCHEMA.pwn('=') AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR SCHEMA.= (LEFTARG = text, RIGHTARG = text, FUNCTION = SCHEMA.hostile_text_eq);
CREATE FUNCTION SCHEMA.hostile_bigint_eq(bigint, bigint) RETURNS boolean LANGUAGE sql
    AS $$ SELECT SCHEMA.pwn('=') AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR SCHEMA.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = SCHEMA.hostile_bigint_eq);
CREATE FUNCTION SCHEMA.hostile_bigint_gt(bigint, bigint) RETURNS boolean LANGUAGE sql
    AS $$ SELECT SCHEMA.pwn('>') AND $1 OPERATOR(pg_catalog.>) $2 $$;
CREATE OPERATOR SCHEMA.> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = SCHEMA.hostile_bigint_gt);
"#;

/// Every coursenav function a writer, a reader or the owner calls, in an order that works.
fn call_everything(client: &mut Client) {
    let blocks = course(COURSE, 2, "v2").to_string();
    client.execute("SELECT coursenav.publish_course($1, 'v2', '{\"display_name\": \"x\"}')", &[&COURSE]).unwrap();
    client.execute("SELECT coursenav.rebuild($1, 'v2', $2::text::jsonb)", &[&COURSE, &blocks]).unwrap();
    let id: i64 = client.query_one("SELECT coursenav.begin_rebuild($1, 'v3')", &[&COURSE]).unwrap().get(0);
    let blocks = course(COURSE, 3, "v3").to_string();
    client.execute("SELECT coursenav.add_blocks($1, $2::text::jsonb)", &[&id, &blocks]).unwrap();
    client.execute("SELECT coursenav.complete_rebuild($1)", &[&id]).unwrap();
    let id: i64 = client.query_one("SELECT coursenav.begin_rebuild($1, 'v4')", &[&COURSE]).unwrap().get(0);
    client.execute("SELECT coursenav.fail_rebuild($1, 'given up')", &[&id]).unwrap();
    client.batch_execute("SELECT coursenav.catalog_sync()").unwrap();
    client.query_one("SELECT coursenav.navigation_tree($1)", &[&COURSE]).unwrap();
    client.query_one("SELECT coursenav.block_structure_version($1)", &[&COURSE]).unwrap();
    client.query_one("SELECT coursenav.course_about_url($1)", &[&COURSE]).unwrap();
    client.query_one("SELECT coursenav.delete_course($1)", &[&COURSE]).unwrap();
}

fn assert_nothing_hijacked(cluster: &Cluster) {
    let mut owner = cluster.connect();
    let ran: Vec<String> =
        owner.query("SELECT DISTINCT what FROM public.hijacked", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(ran, Vec::<String>::new(), "hostile objects ran inside coursenav");
    let superuser: bool =
        owner.query_one("SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'", &[]).unwrap().get(0);
    assert!(!superuser, "mallory became a superuser");
}

#[test]
fn hostile_functions_and_operators_in_public_never_run_inside_coursenav() {
    let cluster = Cluster::start("hijack-public", &[]);
    make_roles(&cluster);
    cluster.execute(
        "CREATE ROLE mallory LOGIN; GRANT CREATE ON SCHEMA public TO mallory;
         CREATE TABLE public.hijacked (what text); GRANT INSERT ON public.hijacked TO PUBLIC;",
    );
    let mut mallory = cluster.connect_as("mallory", "postgres");
    mallory.batch_execute(&HOSTILE_OBJECTS.replace("SCHEMA.", "public.")).unwrap();
    // The hostile objects work: called where they are found, they run.
    let mut probe = cluster.connect_as("nobody", "postgres");
    probe.batch_execute("SET search_path = public, pg_catalog; SELECT 'a' = 'a'").unwrap();
    assert_eq!(cluster.connect().query_one("SELECT count(*) FROM public.hijacked", &[]).unwrap().get::<_, i64>(0), 1);
    cluster.execute("TRUNCATE public.hijacked");

    // A superuser whose search_path puts public before pg_catalog, and a
    // writer and a reader with the same path, call every function.
    let mut superuser = cluster.connect();
    superuser.batch_execute("SET search_path = public, pg_catalog").unwrap();
    call_everything(&mut superuser);
    let mut writer = cluster.connect_as("lms_writer", "postgres");
    writer.batch_execute("SET search_path = public, pg_catalog").unwrap();
    rebuild(&mut writer, COURSE, "w1", 2);
    writer.execute("SELECT coursenav.delete_course($1)", &[&COURSE]).unwrap();
    assert_nothing_hijacked(&cluster);
}

#[test]
fn hostile_functions_in_a_writers_own_pg_temp_never_run_with_the_owners_rights() {
    let cluster = Cluster::start("hijack-temp", &[]);
    make_roles(&cluster);
    cluster.execute(
        "CREATE ROLE mallory LOGIN IN ROLE coursenav_writer, coursenav_reader;
         CREATE TABLE public.hijacked (what text); GRANT INSERT ON public.hijacked TO PUBLIC;",
    );
    let mut mallory = cluster.connect_as("mallory", "postgres");
    // Temporary objects first on the path: relations and types are looked
    // up there, and with pg_temp listed explicitly so are functions.
    mallory.batch_execute(&HOSTILE_OBJECTS.replace("SCHEMA.", "pg_temp.")).unwrap();
    mallory
        .batch_execute(
            "CREATE TEMP TABLE block_structures (LIKE pg_catalog.pg_class);
             CREATE TEMP TABLE navigation_trees (course_id text);
             SET search_path = pg_temp, public, pg_catalog",
        )
        .unwrap();
    call_everything(&mut mallory);
    assert_nothing_hijacked(&cluster);
}

/// Everything a course's state is made of, as one comparable text: every
/// row of every table (ordered by key), the served tree and version.
fn state(client: &mut Client) -> String {
    let tables = [
        "publish_log ORDER BY course_id, publish_id",
        "block_structures ORDER BY course_id, rebuild_id",
        "block_chunks ORDER BY course_id, rebuild_id, chunk_no",
        "course_versions ORDER BY course_id",
        "version_history ORDER BY course_id, bump_id",
        "navigation_trees ORDER BY course_id",
        "course_overviews ORDER BY course_id",
        "catalog_sync_runs ORDER BY run_id",
    ];
    let mut text = String::new();
    for table in tables {
        let rows: String = client
            .query_one(
                &format!("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM (SELECT * FROM coursenav.{table}) t"),
                &[],
            )
            .unwrap()
            .get(0);
        text.push_str(&format!("== {table}\n{rows}\n"));
    }
    let served: Option<String> =
        client.query_one("SELECT coursenav.navigation_tree($1)::text", &[&COURSE]).unwrap().get(0);
    text.push_str(&format!("== served\n{}\n", served.expect("a tree is served")));
    text
}

/// A database with two courses rebuilt, one bumped twice, an overview, a
/// catalog sync run and a token.
fn populate(client: &mut Client) {
    client.execute("SELECT coursenav.publish_course($1, 'v1', '{\"display_name\": \"Demo\"}')", &[&COURSE]).unwrap();
    rebuild(client, COURSE, "v1", 2);
    rebuild(client, COURSE, "v2", 3);
    rebuild(client, OTHER, "o1", 1);
    client.batch_execute("SELECT coursenav.catalog_sync(); SELECT coursenav.set_catalog_token('tok-dump-1')").unwrap();
}

/// After a restore the ids go on where they were, the token is not there
/// (the first sync says so), and a new publish and rebuild bump as before.
fn check_restored(restored: &mut Client, before: &str, max_ids: (i64, i64, i64)) {
    assert_eq!(state(restored), before);
    // A catalog is set, so the sync gets as far as asking for the token.
    restored.batch_execute("SET coursenav.catalog_api_url = 'http://127.0.0.1:9'").unwrap();
    let error: String = restored.query_one("SELECT error FROM coursenav.catalog_sync()", &[]).unwrap().get(0);
    assert!(error.contains("no catalog token"), "{error}");
    let publish: i64 = restored.query_one("SELECT coursenav.publish_course($1, 'v3')", &[&COURSE]).unwrap().get(0);
    assert!(publish > max_ids.0, "publish id {publish} reused");
    let version = rebuild(restored, COURSE, "v3", 4);
    let (rebuild_id, bump_id): (i64, i64) = restored
        .query_one(
            "SELECT max(s.rebuild_id), max(h.bump_id) FROM coursenav.block_structures s, coursenav.version_history h",
            &[],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert!(rebuild_id > max_ids.1 && bump_id > max_ids.2);
    let served: String =
        restored.query_one("SELECT coursenav.block_structure_version($1)::text", &[&COURSE]).unwrap().get(0);
    assert_eq!(served, version);
}

fn max_ids(client: &mut Client) -> (i64, i64, i64) {
    let row = client
        .query_one(
            "SELECT (SELECT max(publish_id) FROM coursenav.publish_log), (SELECT max(rebuild_id) FROM coursenav.block_structures),
                    (SELECT max(bump_id) FROM coursenav.version_history)",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[test]
fn a_custom_format_dump_restores_every_row_into_a_new_database_and_a_new_cluster() {
    let cluster = Cluster::start("dump-custom", &[]);
    let mut source = cluster.connect();
    populate(&mut source);
    let before = state(&mut source);
    let ids = max_ids(&mut source);
    let dump = cluster.dir.join("backup.dump");
    let dump = dump.to_str().unwrap();
    cluster.client_program("pg_dump", &["-Fc", "-d", "postgres", "-f", dump]);

    cluster.execute("CREATE DATABASE restored");
    cluster.client_program("pg_restore", &["-d", "restored", "--exit-on-error", dump]);
    check_restored(&mut cluster.connect_as("postgres", "restored"), &before, ids);

    let other = Cluster::start("dump-custom-target", &[]);
    other.execute("CREATE DATABASE restored");
    other.client_program("pg_restore", &["-d", "restored", "--exit-on-error", dump]);
    check_restored(&mut other.connect_as("postgres", "restored"), &before, ids);
}

#[test]
fn a_plain_dump_piped_to_psql_restores_every_row_into_a_new_database_and_a_new_cluster() {
    let cluster = Cluster::start("dump-plain", &[]);
    let mut source = cluster.connect();
    populate(&mut source);
    let before = state(&mut source);
    let ids = max_ids(&mut source);
    let dump = cluster.dir.join("backup.sql");
    let dump = dump.to_str().unwrap();
    cluster.client_program("pg_dump", &["--format=plain", "-d", "postgres", "-f", dump]);
    assert!(!std::fs::read_to_string(dump).unwrap().contains("tok-dump-1"), "the token is in the dump");

    cluster.execute("CREATE DATABASE restored");
    cluster.client_program("psql", &["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "restored", "-f", dump]);
    check_restored(&mut cluster.connect_as("postgres", "restored"), &before, ids);

    let other = Cluster::start("dump-plain-target", &[]);
    other.execute("CREATE DATABASE restored");
    other.client_program("psql", &["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "restored", "-f", dump]);
    check_restored(&mut other.connect_as("postgres", "restored"), &before, ids);
}

#[test]
fn the_token_can_come_from_a_file_only_a_superuser_names_and_never_passes_through_sql() {
    use coursenav_tools::fake_catalog::{run, FakeCatalog, TOKEN};
    let cluster = Cluster::start("token-file", &[]);
    make_roles(&cluster);
    let mut owner = cluster.connect();
    owner.execute("SELECT coursenav.publish_course($1, 'v1', '{\"display_name\": \"Demo\"}')", &[&COURSE]).unwrap();
    let token = TOKEN;
    let catalog = FakeCatalog::start(vec![run(COURSE, serde_json::json!("https://www.example.org/demo"), true, "en")]);
    let path = cluster.dir.join("catalog-token");
    std::fs::write(&path, format!("{token}\n")).unwrap();
    let path = path.to_str().unwrap();
    // The file is the server's to read, as a key file would be.
    let chown = std::process::Command::new("chown").args(["postgres", path]).status().unwrap();
    assert!(chown.success() || !std::path::Path::new("/root").exists());
    // One statement a call: ALTER SYSTEM refuses a multi-statement batch.
    for statement in [
        format!("ALTER SYSTEM SET coursenav.catalog_token_file = '{path}'"),
        format!("ALTER SYSTEM SET coursenav.catalog_api_url = '{}'", catalog.url()),
        "SELECT pg_reload_conf()".to_string(),
    ] {
        owner.batch_execute(&statement).unwrap();
    }

    let mut writer = cluster.connect_as("lms_writer", "postgres");
    let (status, error): (String, Option<String>) = writer
        .query_one("SELECT status, error FROM coursenav.catalog_sync()", &[])
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!((status.as_str(), error), ("ok", None));
    let requests = catalog.requests();
    assert!(!requests.is_empty());
    for (_, authorization) in &requests {
        assert_eq!(authorization.as_deref(), Some(format!("Bearer {token}").as_str()));
    }
    // Only a superuser names the file: a writer cannot point it elsewhere.
    assert_eq!(outcome(&mut writer, "SET coursenav.catalog_token_file = '/etc/hostname'"), "42501");
    assert!(!cluster.server_log().contains(token));
}
