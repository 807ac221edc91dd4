//! The README's pg_cron setup, followed literally on clusters with Debian's
//! stock authentication (scram-sha-256 over TCP): with background workers
//! the scheduled sync runs; without them pg_cron cannot connect, and the
//! schedule view shows that where a DBA looks.

use crate::cluster::Cluster;
use coursenav_tools::fake_catalog::{run, FakeCatalog, TOKEN};
use postgres::Client;
use serde_json::json;
use std::time::{Duration, Instant};

/// The README's postgresql.conf lines (cron.database_name is the database
/// coursenav lives in: postgres here).
const README_SETUP: [&str; 3] =
    ["shared_preload_libraries = 'pg_cron'", "cron.database_name = 'postgres'", "cron.use_background_workers = on"];

fn schedule_every_minute(cluster: &Cluster, catalog: &FakeCatalog) -> Client {
    let mut client = cluster.connect();
    client.batch_execute("CREATE EXTENSION pg_cron").unwrap();
    client.execute("SELECT coursenav.publish_course('course-v1:CronU+C1+2030', 'v1', '{}')", &[]).unwrap();
    client
        .batch_execute(&format!("ALTER DATABASE postgres SET coursenav.catalog_api_url = '{}'", catalog.url()))
        .unwrap();
    client.execute("SELECT coursenav.set_catalog_token($1)", &[&TOKEN]).unwrap();
    client.batch_execute("SELECT coursenav.schedule_catalog_sync('* * * * *')").unwrap();
    client
}

/// The schedule view's last scheduled run (status, message) and last sync status.
fn schedule_view(client: &mut Client) -> Option<(Option<String>, Option<String>, Option<String>)> {
    client
        .query("SELECT last_run_status, last_run_message, last_sync_status FROM coursenav.catalog_sync_schedule", &[])
        .unwrap()
        .first()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
}

#[test]
fn the_readmes_pg_cron_setup_runs_the_sync_with_stock_authentication_and_a_failing_schedule_is_visible() {
    let catalog =
        FakeCatalog::start(vec![run("course-v1:CronU+C1+2030", json!("https://www.example.org/c1"), true, "en")]);
    let working = Cluster::start_with_stock_authentication("cron-stock", &README_SETUP, "stock-secret");
    let broken = Cluster::start_with_stock_authentication("cron-no-bgw", &README_SETUP[..2], "stock-secret");
    let mut good = schedule_every_minute(&working, &catalog);
    let mut bad = schedule_every_minute(&broken, &catalog);
    assert!(schedule_view(&mut good).is_some(), "the job is in the view as soon as it is scheduled");

    // pg_cron 1.4 has minute granularity: both jobs come due within about a minute.
    let deadline = Instant::now() + Duration::from_secs(130);
    let (ran, failed) = loop {
        let ran = schedule_view(&mut good).filter(|v| v.2.is_some());
        let failed = schedule_view(&mut bad).filter(|v| v.0.is_some());
        if let (Some(ran), Some(failed)) = (&ran, &failed) {
            break (ran.clone(), failed.clone());
        }
        assert!(Instant::now() < deadline, "no scheduled run seen: {ran:?} {failed:?}\n{}", broken.server_log());
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(ran.2.as_deref(), Some("ok"), "{ran:?}");
    let status: String = good.query_one("SELECT status FROM coursenav.catalog_sync_runs", &[]).unwrap().get(0);
    assert_eq!(status, "ok");

    // Without background workers pg_cron connects over TCP, has no password,
    // and the job never reaches the database: no sync run, but the view says why.
    let (run_status, message, sync_status) = failed;
    assert_eq!(run_status.as_deref(), Some("failed"), "{message:?}");
    assert!(message.unwrap_or_default().contains("connection failed"));
    assert_eq!(sync_status, None);
    let runs: i64 = bad.query_one("SELECT count(*) FROM coursenav.catalog_sync_runs", &[]).unwrap().get(0);
    assert_eq!(runs, 0);
}
