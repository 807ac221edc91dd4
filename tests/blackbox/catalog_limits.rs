//! The catalog sync against catalogs that would take a backend's memory,
//! or a stranger who would stop it: every run ends with a recorded status
//! naming the page and the bound, and the backend (and the cluster) lives.

use crate::cluster::Cluster;
use coursenav_tools::fake_catalog::{run, FakeCatalog, Fault, TOKEN};
use postgres::Client;
use serde_json::json;

fn course(i: usize) -> String {
    format!("course-v1:LimitsU+C{i}+2030")
}

/// A cluster whose backends may not grow past 1.5 GiB, with `n` overviews,
/// the token set, and a catalog listing their runs.
fn cluster_and_catalog(name: &str, n: usize) -> (Cluster, FakeCatalog) {
    let cluster = Cluster::start_with_memory_limit(name, &[], 1536 << 20);
    let mut setup = cluster.connect();
    for i in 0..n {
        setup.execute("SELECT coursenav.publish_course($1, 'v1', '{}')", &[&course(i)]).unwrap();
    }
    setup.execute("SELECT coursenav.set_catalog_token($1)", &[&TOKEN]).unwrap();
    let runs = (0..n).map(|i| run(&course(i), json!(format!("https://www.example.org/c{i}")), true, "en")).collect();
    (cluster, FakeCatalog::start(runs))
}

fn sync(client: &mut Client) -> (String, i32, Option<String>) {
    let row = client.query_one("SELECT status, pages_fetched, error FROM coursenav.catalog_sync()", &[]).unwrap();
    (row.get(0), row.get(1), row.get(2))
}

fn assert_alive(cluster: &Cluster, started: &str) {
    assert_eq!(cluster.postmaster_start_time(), started, "the cluster restarted");
    assert!(!cluster.backend_crashed(), "a backend died:\n{}", cluster.server_log());
}

#[test]
fn an_endless_catalog_ends_the_run_at_the_byte_budget_with_the_pages_before_applied() {
    let (cluster, catalog) = cluster_and_catalog("endless-bytes", 5);
    let started = cluster.postmaster_start_time();
    let mut session = cluster.connect();
    session
        .batch_execute(&format!(
            "SET coursenav.catalog_api_url = '{}'; SET coursenav.catalog_page_size = 5;
             SET coursenav.catalog_max_bytes = '8MB'; SET coursenav.catalog_max_pages = 100000;",
            catalog.url()
        ))
        .unwrap();
    assert_eq!(sync(&mut session).0, "ok");
    // From now on every page is 5 runs whose keys are 200 KB each and leads
    // to another, with no count: without a bound the run would hold every
    // key read until the backend ran out of memory.
    catalog.make_endless(200 * 1024);
    let (status, pages, error) = sync(&mut session);
    let error = error.unwrap();
    assert_eq!(status, "partial", "{error}");
    assert!((2..20).contains(&pages), "{pages} pages");
    assert!(error.contains("coursenav.catalog_max_bytes (8388608 bytes)"), "{error}");
    assert!(error.contains(&format!("page {}", pages + 1)), "{error}");
    assert_alive(&cluster, &started);
}

#[test]
fn the_byte_budget_counts_what_a_run_holds_so_a_catalog_of_full_size_course_runs_syncs() {
    // Open edX's course-run serializer sends a full description, staff with
    // their bios, seats and programs with every run: kilobytes that the
    // sync reads and drops. 300 such runs are 2.4 MB of pages, far past a
    // 1 MB budget, while what the run holds (key, URL, language) is 60 KB.
    const N: usize = 300;
    let (cluster, catalog) = cluster_and_catalog("full-size-runs", N);
    let runs = (0..N)
        .map(|i| {
            let mut run = run(&course(i), json!(format!("https://www.example.org/c{i}/v2")), true, "en");
            run["full_description"] = json!(format!("<p>{}</p>", "Course description. ".repeat(400)));
            run
        })
        .collect();
    catalog.set_runs(runs);
    let mut session = cluster.connect();
    session
        .batch_execute(&format!(
            "SET coursenav.catalog_api_url = '{}'; SET coursenav.catalog_page_size = 20;
             SET coursenav.catalog_max_bytes = '1MB';",
            catalog.url()
        ))
        .unwrap();
    let (status, pages, error) = sync(&mut session);
    assert_eq!((status.as_str(), pages, error), ("ok", 15, None));
    let updated: i64 = session
        .query_one("SELECT count(*) FROM coursenav.course_overviews WHERE marketing_url LIKE '%/v2'", &[])
        .unwrap()
        .get(0);
    assert_eq!(updated, N as i64);
}

#[test]
fn a_page_whose_json_would_parse_into_many_times_its_size_is_read_without_building_it() {
    // 60 MB of `0,0,0,...` in a field the sync ignores, on a page within the
    // bound for page size 1000: as a parsed JSON tree it would be 1 GB, past
    // this cluster's 1 GiB address-space limit.
    let cluster = Cluster::start_with_memory_limit("wide-page", &[], 1 << 30);
    let started = cluster.postmaster_start_time();
    let mut session = cluster.connect();
    session.execute("SELECT coursenav.publish_course($1, 'v1', '{}')", &[&course(0)]).unwrap();
    session.execute("SELECT coursenav.set_catalog_token($1)", &[&TOKEN]).unwrap();
    let catalog = FakeCatalog::start(vec![run(&course(0), json!("https://www.example.org/c0/wide"), true, "en")]);
    catalog.fail_page(1, Fault::WideArray(60_000_000));
    session
        .batch_execute(&format!(
            "SET coursenav.catalog_api_url = '{}'; SET coursenav.catalog_page_size = 1000;",
            catalog.url()
        ))
        .unwrap();
    let (status, pages, error) = sync(&mut session);
    assert_eq!((status.as_str(), pages, error), ("ok", 1, None));
    let url: String = session
        .query_one("SELECT marketing_url FROM coursenav.course_overviews WHERE course_id = $1", &[&course(0)])
        .unwrap()
        .get(0);
    assert_eq!(url, "https://www.example.org/c0/wide");
    assert_alive(&cluster, &started);
}

#[test]
fn an_endless_catalog_ends_the_run_at_the_page_budget() {
    let (cluster, catalog) = cluster_and_catalog("endless-pages", 2);
    let started = cluster.postmaster_start_time();
    let mut session = cluster.connect();
    session
        .batch_execute(&format!(
            "SET coursenav.catalog_api_url = '{}'; SET coursenav.catalog_page_size = 2; SET coursenav.catalog_max_pages = 30;",
            catalog.url()
        ))
        .unwrap();
    catalog.make_endless(10);
    let (status, pages, error) = sync(&mut session);
    let error = error.unwrap();
    assert_eq!((status.as_str(), pages), ("partial", 30), "{error}");
    assert!(error.contains("more than coursenav.catalog_max_pages (30) pages"), "{error}");
    assert_alive(&cluster, &started);
}

#[test]
fn the_run_budget_is_a_superusers_to_set_not_a_callers() {
    let (cluster, _catalog) = cluster_and_catalog("budget-owner", 1);
    cluster.execute("CREATE ROLE lms LOGIN IN ROLE coursenav_writer");
    let mut writer = cluster.connect_as("lms", "postgres");
    writer.batch_execute("SELECT coursenav.catalog_sync()").unwrap();
    for setting in ["catalog_max_bytes = '100GB'", "catalog_max_pages = 1000000"] {
        let error = writer.batch_execute(&format!("SET coursenav.{setting}")).unwrap_err();
        assert_eq!(error.code().unwrap().code(), "42501", "{setting}");
    }
}

#[test]
fn a_gzip_bomb_is_refused_without_being_inflated() {
    let (cluster, catalog) = cluster_and_catalog("gzip-bomb", 1);
    let started = cluster.postmaster_start_time();
    let mut session = cluster.connect();
    session.batch_execute(&format!("SET coursenav.catalog_api_url = '{}'", catalog.url())).unwrap();
    // 64 MiB of JSON whitespace in a few hundred kilobytes of gzip: inflated,
    // it would pass for a page far above the page-size bound.
    catalog.fail_page(1, Fault::GzipBomb(64 << 20));
    let (status, pages, error) = sync(&mut session);
    let error = error.unwrap();
    assert_eq!((status.as_str(), pages), ("failed", 0), "{error}");
    assert!(error.contains("page 1") && error.contains("Content-Encoding: gzip"), "{error}");
    assert_eq!(catalog.requests().len(), 1);
    assert_alive(&cluster, &started);
}

#[test]
fn the_catalog_url_may_be_given_as_open_edx_writes_it_ending_in_api_v1() {
    let (cluster, catalog) = cluster_and_catalog("api-v1-url", 3);
    let mut session = cluster.connect();
    session.batch_execute(&format!("SET coursenav.catalog_api_url = '{}/api/v1/'", catalog.url())).unwrap();
    let (status, pages, error) = sync(&mut session);
    assert_eq!((status.as_str(), pages, error), ("ok", 1, None));
    for (url, _) in catalog.requests() {
        assert!(url.starts_with("/api/v1/course_runs/?"), "{url}");
    }
}

#[test]
fn no_role_without_privileges_can_stop_the_catalog_sync_by_holding_a_lock() {
    let (cluster, catalog) = cluster_and_catalog("sync-lock", 1);
    cluster.execute("CREATE ROLE stranger LOGIN");
    let session = || {
        let mut client = cluster.connect();
        client.batch_execute(&format!("SET coursenav.catalog_api_url = '{}'", catalog.url())).unwrap();
        client
    };
    let mut stranger = cluster.connect_as("stranger", "postgres");
    // The advisory key the sync once used, held for the stranger's session.
    let key: i64 =
        cluster.connect().query_one("SELECT 'coursenav.catalog_sync_runs'::regclass::oid::bigint", &[]).unwrap().get(0);
    stranger.batch_execute(&format!("SELECT pg_advisory_lock({key})")).unwrap();
    let refused = stranger.batch_execute("BEGIN; LOCK TABLE coursenav.catalog_sync_lock; COMMIT").unwrap_err();
    assert_eq!(refused.code().unwrap().code(), "42501");
    stranger.batch_execute("ROLLBACK").unwrap();
    let refused = stranger.batch_execute("SELECT * FROM coursenav.catalog_sync_lock FOR UPDATE").unwrap_err();
    assert_eq!(refused.code().unwrap().code(), "42501");
    let (status, _, error) = sync(&mut session());
    assert_eq!((status.as_str(), error), ("ok", None));
    // While a run holds the lock, a second one is skipped.
    let mut first = session();
    first.batch_execute("BEGIN; SELECT coursenav.catalog_sync()").unwrap();
    let (second, _, _) = sync(&mut session());
    assert_eq!(second, "skipped");
    first.batch_execute("COMMIT").unwrap();
}
