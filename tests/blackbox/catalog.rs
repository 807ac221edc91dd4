//! Course overviews and the catalog sync against a real cluster and a fake
//! catalog over real HTTP: counts and fields, every way a catalog fails
//! (recorded, nothing synced lost), one run at a time, cancel and
//! statement_timeout against a slow catalog, and a run by pg_cron.

use crate::cluster::Cluster;
use coursenav_tools::fake_catalog::{run, FakeCatalog, Fault, TOKEN};
use postgres::Client;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

fn course(i: usize) -> String {
    format!("course-v1:CatalogU+C{i}+2030")
}

fn marketing(i: usize, label: &str) -> String {
    format!("https://www.example.org/course/c{i}-{label}")
}

/// Course runs 0..n as the catalog lists them, marketing URLs labelled.
fn catalog_runs(n: usize, label: &str) -> Vec<Value> {
    (0..n)
        .map(|i| run(&course(i), json!(marketing(i, label)), i % 2 == 0, if label == "v1" { "en" } else { "fr" }))
        .collect()
}

fn publish_overviews(client: &mut Client, n: usize) {
    for i in 0..n {
        let overview = json!({"display_name": format!("Course {i}"), "start": "2030-01-01T00:00:00Z"}).to_string();
        client.execute("SELECT coursenav.publish_course($1, 'v1', $2::text::jsonb)", &[&course(i), &overview]).unwrap();
    }
}

/// A session set up to sync from `catalog` with page size `page_size`.
fn sync_session(cluster: &Cluster, catalog_url: &str, page_size: i32) -> Client {
    let mut client = cluster.connect();
    client
        .batch_execute(&format!(
            "SET coursenav.catalog_api_url = '{catalog_url}';
             SET coursenav.catalog_page_size = {page_size};
             SET coursenav.catalog_read_timeout = '1s';
             SET coursenav.catalog_connect_timeout = '1s';"
        ))
        .unwrap();
    client
}

#[derive(Debug)]
struct RunRow {
    status: String,
    pages: i32,
    seen: i64,
    matched: i64,
    not_found: i64,
    updated: i64,
    rejected: i64,
    error: Option<String>,
    finished: bool,
}

fn sync(client: &mut Client) -> RunRow {
    let row = client
        .query_one(
            "SELECT status, pages_fetched, runs_seen, overviews_matched, not_found, updated, urls_rejected, error,
                    finished_at IS NOT NULL FROM coursenav.catalog_sync()",
            &[],
        )
        .unwrap();
    RunRow {
        status: row.get(0),
        pages: row.get(1),
        seen: row.get(2),
        matched: row.get(3),
        not_found: row.get(4),
        updated: row.get(5),
        rejected: row.get(6),
        error: row.get(7),
        finished: row.get(8),
    }
}

/// Each course's marketing URL, in course order.
fn marketing_urls(client: &mut Client, n: usize) -> Vec<Option<String>> {
    (0..n)
        .map(|i| {
            client
                .query_one("SELECT marketing_url FROM coursenav.course_overviews WHERE course_id = $1", &[&course(i)])
                .unwrap()
                .get(0)
        })
        .collect()
}

fn labelled(n: usize, label_of: impl Fn(usize) -> &'static str) -> Vec<Option<String>> {
    (0..n).map(|i| Some(marketing(i, label_of(i)))).collect()
}

/// A cluster with `n` published courses and the catalog token set, and a
/// catalog listing their runs at "v1".
fn cluster_and_catalog(name: &str, n: usize) -> (Cluster, Client, FakeCatalog) {
    let cluster = Cluster::start(name, &[]);
    let mut setup = cluster.connect();
    publish_overviews(&mut setup, n);
    setup.execute("SELECT coursenav.set_catalog_token($1)", &[&TOKEN]).unwrap();
    let catalog = FakeCatalog::start(catalog_runs(n, "v1"));
    (cluster, setup, catalog)
}

#[test]
fn a_sync_copies_the_catalog_fields_and_counts_what_it_cannot_match() {
    let cluster = Cluster::start("catalog-sync", &[]);
    let mut setup = cluster.connect();
    publish_overviews(&mut setup, 7);
    setup.execute("SELECT coursenav.set_catalog_token($1)", &[&TOKEN]).unwrap();
    // Seven known runs, three the LMS has never heard of, one bad URL.
    let mut runs = catalog_runs(10, "v1");
    runs[3]["marketing_url"] = json!("javascript:alert(document.cookie)");
    let catalog = FakeCatalog::start(runs);
    let mut session = sync_session(&cluster, &catalog.url(), 3);

    let first = sync(&mut session);
    assert_eq!((first.status.as_str(), first.pages, first.seen), ("ok", 4, 10), "{first:?}");
    assert_eq!((first.matched, first.not_found, first.updated, first.rejected), (7, 3, 7, 1), "{first:?}");
    assert!(first.finished && first.error.is_none());
    let mut expected = labelled(7, |_| "v1");
    expected[3] = None;
    assert_eq!(marketing_urls(&mut setup, 7), expected, "the javascript: URL was skipped");
    let row = setup
        .query_one(
            "SELECT eligible_for_financial_aid, content_language, catalog_synced_at IS NOT NULL
               FROM coursenav.course_overviews WHERE course_id = $1",
            &[&course(1)],
        )
        .unwrap();
    assert_eq!((row.get::<_, bool>(0), row.get::<_, String>(1), row.get::<_, bool>(2)), (false, "en".into(), true));
    let unknown: i64 = setup
        .query_one("SELECT count(*) FROM coursenav.course_overviews WHERE course_id = $1", &[&course(8)])
        .unwrap()
        .get(0);
    assert_eq!(unknown, 0, "runs without an overview are counted, never created");

    // Every request asked for the page size, excluded UTM and carried the token.
    let requests = catalog.requests();
    assert_eq!(requests.len(), 4);
    for (url, authorization) in &requests {
        assert!(url.contains("page_size=3") && url.contains("exclude_utm=1"), "{url}");
        assert_eq!(authorization.as_deref(), Some(format!("Bearer {TOKEN}").as_str()));
    }

    // Nothing changed in the catalog: a second run matches all and updates none.
    let second = sync(&mut session);
    assert_eq!((second.status.as_str(), second.matched, second.updated), ("ok", 7, 0), "{second:?}");

    // A publish the next day keeps what the catalog synced.
    setup
        .execute("SELECT coursenav.publish_course($1, 'v2', '{\"display_name\": \"Renamed\"}')", &[&course(0)])
        .unwrap();
    assert_eq!(marketing_urls(&mut setup, 1), labelled(1, |_| "v1"));
    let name: String = setup
        .query_one("SELECT display_name FROM coursenav.course_overviews WHERE course_id = $1", &[&course(0)])
        .unwrap()
        .get(0);
    assert_eq!(name, "Renamed");

    // Start, end and counts are in the server log; the token is nowhere.
    let log = cluster.server_log();
    assert!(log.contains("coursenav: catalog sync run 1 started"), "{log}");
    assert!(log.contains("coursenav: catalog sync run 1 ok: 4 pages, 10 course runs in the catalog, 7 overviews matched, 3 not found, 7 updated, 1 marketing URLs rejected"), "{log}");
    assert!(!log.contains(TOKEN));
    let leaked: i64 = setup
        .query_one("SELECT count(*) FROM coursenav.catalog_sync_runs r WHERE r::text LIKE '%' || $1 || '%'", &[&TOKEN])
        .unwrap()
        .get(0);
    assert_eq!(leaked, 0);
}

/// A port on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Three pages of three runs, synced once at "v1".
const N: usize = 9;

/// For each fault, on page 1 then on page 2 of a catalog now at "v2": the
/// run is failed, then partial, its error names the page and says
/// `needle`, the pages before the failing one are applied and the rest
/// keep their last good values; then a good run brings all back to "v1".
/// `read_timeout` is the session's coursenav.catalog_read_timeout: short
/// where a stall is the fault, generous elsewhere, because the fake catalog
/// (a debug build) takes over a second to write an 8 MB page on a loaded
/// 2-core machine, and that is not the fault being tested.
fn each_fault_fails_its_page_and_keeps_what_was_synced(name: &str, read_timeout: &str, faults: Vec<(Fault, &str)>) {
    let (cluster, mut setup, catalog) = cluster_and_catalog(name, N);
    let mut session = sync_session(&cluster, &catalog.url(), 3);
    session.batch_execute(&format!("SET coursenav.catalog_read_timeout = '{read_timeout}'")).unwrap();
    assert_eq!(sync(&mut session).status, "ok");
    let synced = labelled(N, |_| "v1");
    let cases = faults.len() as i64;
    for (fault, needle) in faults {
        // The catalog has new values now; one page of them fails.
        catalog.set_runs(catalog_runs(N, "v2"));
        for (page, status) in [(1, "failed"), (2, "partial")] {
            catalog.fail_page(page, fault.clone());
            let started = Instant::now();
            let result = sync(&mut session);
            assert_eq!(result.status, status, "{fault:?} on page {page}: {result:?}");
            let error = result.error.clone().unwrap_or_default();
            assert!(error.contains(needle) && error.contains(&format!("page {page}")), "{fault:?}: {error}");
            assert!(started.elapsed() < Duration::from_secs(10), "{fault:?} took {:?}", started.elapsed());
            assert_eq!(result.pages, page as i32 - 1, "{fault:?}");
            // Pages before the failing one are applied; the rest keep their last good values.
            let expected = labelled(N, |i| if i < 3 * (page - 1) { "v2" } else { "v1" });
            assert_eq!(marketing_urls(&mut setup, N), expected, "{fault:?} on page {page}");
            // Back to the good state for the next case.
            catalog.heal();
            catalog.set_runs(catalog_runs(N, "v1"));
            assert_eq!(sync(&mut session).status, "ok");
            assert_eq!(marketing_urls(&mut setup, N), synced);
            catalog.set_runs(catalog_runs(N, "v2"));
        }
    }
    let statuses: Vec<(String, i64)> = setup
        .query("SELECT status, count(*) FROM coursenav.catalog_sync_runs GROUP BY status ORDER BY status", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(statuses, vec![("failed".into(), cases), ("ok".into(), 1 + 2 * cases), ("partial".into(), cases)]);
    assert!(!cluster.server_log().contains(TOKEN));
}

#[test]
fn an_http_error_from_the_catalog_is_recorded_and_nothing_synced_is_lost() {
    each_fault_fails_its_page_and_keeps_what_was_synced(
        "catalog-http-errors",
        "5s",
        vec![(Fault::Status(500), "HTTP 500"), (Fault::Status(503), "HTTP 503"), (Fault::Status(404), "HTTP 404")],
    );
}

#[test]
fn a_catalog_that_stalls_is_cut_off_by_the_read_timeout_and_nothing_synced_is_lost() {
    let stall = Duration::from_secs(3);
    each_fault_fails_its_page_and_keeps_what_was_synced(
        "catalog-stalls",
        "1s",
        vec![
            (Fault::StallBeforeHeaders(stall), "coursenav.catalog_read_timeout"),
            (Fault::StallInBody(stall), "coursenav.catalog_read_timeout"),
        ],
    );
}

#[test]
fn a_page_that_is_not_a_course_run_page_is_refused_whole_and_nothing_synced_is_lost() {
    each_fault_fails_its_page_and_keeps_what_was_synced(
        "catalog-bad-pages",
        "5s",
        vec![
            (Fault::NotAPage, "not a course-run page"),
            (Fault::TooManyResults, "more than the page size of 3"),
            (Fault::HugeBody, "larger than"),
            (Fault::MissingKey, "has no \"key\""),
            (Fault::NotUtf8, "not UTF-8"),
        ],
    );
}

#[test]
fn a_redirect_is_not_followed_and_nothing_synced_is_lost() {
    each_fault_fails_its_page_and_keeps_what_was_synced("catalog-redirect", "5s", vec![(Fault::Redirect, "HTTP 301")]);
}

#[test]
fn a_next_link_back_to_a_page_already_read_ends_the_run_with_the_pages_read_applied() {
    let (cluster, mut setup, catalog) = cluster_and_catalog("catalog-loop", N);
    let mut session = sync_session(&cluster, &catalog.url(), 3);
    assert_eq!(sync(&mut session).status, "ok");
    catalog.set_runs(catalog_runs(N, "v2"));
    catalog.fail_page(2, Fault::LoopBack);
    let looped = sync(&mut session);
    assert_eq!((looped.status.as_str(), looped.pages), ("partial", 2), "{looped:?}");
    assert!(looped.error.unwrap().contains("page 2 ("), "the page whose link loops is named");
    assert_eq!(marketing_urls(&mut setup, N), labelled(N, |i| if i < 6 { "v2" } else { "v1" }));
    let error: String = setup
        .query_one("SELECT error FROM coursenav.catalog_sync_runs ORDER BY run_id DESC LIMIT 1", &[])
        .unwrap()
        .get(0);
    assert!(error.contains("leads back to a page already read"), "{error}");
}

#[test]
fn a_next_link_to_another_host_is_not_followed_so_the_token_stays_with_the_catalog() {
    let (cluster, mut setup, catalog) = cluster_and_catalog("catalog-foreign", N);
    let mut session = sync_session(&cluster, &catalog.url(), 3);
    assert_eq!(sync(&mut session).status, "ok");
    catalog.set_runs(catalog_runs(N, "v2"));
    catalog.fail_page(1, Fault::ForeignNext);
    let requests_before = catalog.requests().len();
    let foreign = sync(&mut session);
    assert_eq!((foreign.status.as_str(), foreign.pages), ("partial", 1), "{foreign:?}");
    assert!(foreign.error.unwrap().contains("leaves the catalog at http://127.0.0.1"));
    assert_eq!(catalog.requests().len(), requests_before + 1, "only page 1 was asked for");
    assert_eq!(marketing_urls(&mut setup, N), labelled(N, |i| if i < 3 { "v2" } else { "v1" }));
}

#[test]
fn a_wrong_token_is_refused_by_the_catalog_and_changes_nothing() {
    let (cluster, mut setup, catalog) = cluster_and_catalog("catalog-token", N);
    let mut session = sync_session(&cluster, &catalog.url(), 3);
    assert_eq!(sync(&mut session).status, "ok");
    setup.execute("SELECT coursenav.set_catalog_token('wrong-token')", &[]).unwrap();
    catalog.set_runs(catalog_runs(N, "v2"));
    let refused = sync(&mut session);
    assert_eq!((refused.status.as_str(), refused.pages), ("failed", 0), "{refused:?}");
    assert!(refused.error.unwrap().contains("page 1 ("));
    assert_eq!(marketing_urls(&mut setup, N), labelled(N, |_| "v1"));
    let error: String = setup
        .query_one("SELECT error FROM coursenav.catalog_sync_runs ORDER BY run_id DESC LIMIT 1", &[])
        .unwrap()
        .get(0);
    assert!(error.contains("HTTP 401"), "{error}");
    assert!(!cluster.server_log().contains("wrong-token"));
}

#[test]
fn a_catalog_that_refuses_connections_is_recorded_as_failed_and_changes_nothing() {
    let (cluster, mut setup, _catalog) = cluster_and_catalog("catalog-refused", N);
    let mut nowhere = sync_session(&cluster, &format!("http://127.0.0.1:{}", closed_port()), 3);
    let unreachable = sync(&mut nowhere);
    assert_eq!((unreachable.status.as_str(), unreachable.pages), ("failed", 0), "{unreachable:?}");
    assert!(unreachable.error.unwrap().contains("cannot reach the catalog"));
    assert_eq!(marketing_urls(&mut setup, N), vec![None; N]);
}

#[test]
fn a_second_run_while_one_is_going_is_skipped() {
    let (cluster, _setup, catalog) = cluster_and_catalog("catalog-skip", 3);
    let mut first = sync_session(&cluster, &catalog.url(), 2);
    let mut second = sync_session(&cluster, &catalog.url(), 2);

    first.batch_execute("BEGIN").unwrap();
    assert_eq!(sync(&mut first).status, "ok");
    // The first run's transaction is still open: the second does nothing.
    let requests_before = catalog.requests().len();
    let skipped = sync(&mut second);
    assert_eq!(skipped.status, "skipped", "{skipped:?}");
    assert_eq!((skipped.pages, skipped.seen), (0, 0));
    assert!(skipped.error.unwrap().contains("another catalog sync is running"));
    assert_eq!(catalog.requests().len(), requests_before, "a skipped run sends no request");
    first.batch_execute("COMMIT").unwrap();
    assert_eq!(sync(&mut second).status, "ok");
    assert!(cluster.server_log().contains("skipped: another catalog sync is running"));
}

#[test]
fn cancel_and_statement_timeout_stop_a_run_against_a_slow_catalog() {
    const N: usize = 40;
    let (cluster, mut setup, catalog) = cluster_and_catalog("catalog-cancel", N);
    let mut session = sync_session(&cluster, &catalog.url(), 2);
    assert_eq!(sync(&mut session).status, "ok");

    // Twenty pages, each answered after 400 ms: well within the read timeout,
    // so only the interrupt checks between requests can stop the run early.
    catalog.set_runs(catalog_runs(N, "v2"));
    catalog.slow_down(Duration::from_millis(400));
    session.batch_execute("SET coursenav.catalog_read_timeout = '30s'; SET statement_timeout = '1500ms'").unwrap();
    let started = Instant::now();
    let error = session.query_one("SELECT status FROM coursenav.catalog_sync()", &[]).unwrap_err();
    let code = error.as_db_error().map(|e| e.code().code().to_string());
    assert_eq!(code.as_deref(), Some("57014"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(4), "stopped after {:?}", started.elapsed());
    session.batch_execute("SET statement_timeout = 0").unwrap();

    // Query cancel from another session, likewise.
    let pid: i32 = session.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let canceller = {
        let url = cluster.connection_string();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(1200));
            let mut other = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            other.query_one("SELECT pg_cancel_backend($1)", &[&pid]).unwrap().get::<_, bool>(0)
        })
    };
    let started = Instant::now();
    let error = session.query_one("SELECT status FROM coursenav.catalog_sync()", &[]).unwrap_err();
    assert!(canceller.join().unwrap());
    assert_eq!(error.as_db_error().map(|e| e.code().code().to_string()).as_deref(), Some("57014"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(4), "stopped after {:?}", started.elapsed());

    // A stopped run is rolled back whole: nothing half-written, the old values serve.
    assert_eq!(marketing_urls(&mut setup, N), labelled(N, |_| "v1"));
    let runs: i64 = setup.query_one("SELECT count(*) FROM coursenav.catalog_sync_runs", &[]).unwrap().get(0);
    assert_eq!(runs, 1);
}

#[test]
fn pg_cron_runs_the_scheduled_sync() {
    let cluster =
        Cluster::start("catalog-cron", &["shared_preload_libraries = 'pg_cron'", "cron.database_name = 'postgres'"]);
    let mut setup = cluster.connect();
    setup.batch_execute("CREATE EXTENSION pg_cron").unwrap();
    publish_overviews(&mut setup, 4);
    let catalog = FakeCatalog::start(catalog_runs(4, "v1"));
    // The job runs in a session of its own: it reads the database's settings.
    setup
        .batch_execute(&format!(
            "ALTER DATABASE postgres SET coursenav.catalog_api_url = '{}';
             ALTER DATABASE postgres SET coursenav.catalog_page_size = 3;",
            catalog.url()
        ))
        .unwrap();
    setup.execute("SELECT coursenav.set_catalog_token($1)", &[&TOKEN]).unwrap();

    let first: i64 = setup.query_one("SELECT coursenav.schedule_catalog_sync('0 3 * * *')", &[]).unwrap().get(0);
    let again: i64 = setup.query_one("SELECT coursenav.schedule_catalog_sync('* * * * *')", &[]).unwrap().get(0);
    assert_eq!(first, again, "a second schedule replaces the first");
    let jobs: Vec<(String, String)> = setup
        .query("SELECT schedule, command FROM cron.job", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(jobs, vec![("* * * * *".to_string(), "SELECT coursenav.catalog_sync()".to_string())]);

    // pg_cron 1.4 has minute granularity: the job runs within about a minute.
    let deadline = Instant::now() + Duration::from_secs(100);
    let row = loop {
        let rows = setup
            .query("SELECT status, pages_fetched, overviews_matched FROM coursenav.catalog_sync_runs", &[])
            .unwrap();
        if let Some(r) = rows.first() {
            break (r.get::<_, String>(0), r.get::<_, i32>(1), r.get::<_, i64>(2));
        }
        assert!(Instant::now() < deadline, "pg_cron never ran the sync: {}", cluster.server_log());
        thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(row, ("ok".to_string(), 2, 4));
    assert_eq!(marketing_urls(&mut setup, 4), labelled(4, |_| "v1"));
    assert!(cluster.server_log().contains("coursenav: catalog sync run 1 ok: 2 pages"));

    assert!(setup.query_one("SELECT coursenav.unschedule_catalog_sync()", &[]).unwrap().get::<_, bool>(0));
    let left: i64 = setup.query_one("SELECT count(*) FROM cron.job", &[]).unwrap().get(0);
    assert_eq!(left, 0);
    assert!(!setup.query_one("SELECT coursenav.unschedule_catalog_sync()", &[]).unwrap().get::<_, bool>(0));
}

#[test]
fn a_publish_during_a_sync_against_a_slow_catalog_does_not_wait_for_the_catalog() {
    const N: usize = 20;
    let (cluster, mut setup, catalog) = cluster_and_catalog("catalog-publish", N);
    catalog.slow_down(Duration::from_millis(300));
    let mut session = sync_session(&cluster, &catalog.url(), 2);
    session.batch_execute("SET coursenav.catalog_read_timeout = '10s'").unwrap();
    let syncing = thread::spawn(move || sync(&mut session));

    // Ten pages at 300 ms: the sync is still reading the catalog when the
    // course of page 1 is published, and the publish must not wait for it.
    thread::sleep(Duration::from_millis(1200));
    setup.batch_execute("SET statement_timeout = '500ms'").unwrap();
    let started = Instant::now();
    setup
        .execute(
            "SELECT coursenav.publish_course($1, 'v2', '{\"display_name\": \"Published mid-sync\"}')",
            &[&course(0)],
        )
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(!syncing.is_finished(), "the sync was still running during the publish");

    let result = syncing.join().unwrap();
    assert_eq!((result.status.as_str(), result.matched), ("ok", N as i64), "{result:?}");
    let row = setup
        .query_one(
            "SELECT display_name, marketing_url FROM coursenav.course_overviews WHERE course_id = $1",
            &[&course(0)],
        )
        .unwrap();
    assert_eq!((row.get::<_, String>(0), row.get::<_, String>(1)), ("Published mid-sync".into(), marketing(0, "v1")));
}
