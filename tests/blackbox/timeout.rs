//! Nothing left hanging: a rebuild whose collector died is failed once it
//! has been idle longer than coursenav.rebuild_timeout, while the serving
//! version keeps serving.

use crate::cluster::Cluster;
use coursenav_domain::testing::small_course as course;
use std::time::Duration;

const COURSE: &str = "course-v1:OpenedX+DemoX+DemoCourse";
const OTHER: &str = "course-v1:OpenedX+Other+2030";

fn serving(client: &mut postgres::Client, course_id: &str) -> Option<String> {
    client.query_one("SELECT coursenav.navigation_tree($1)->>'block_structure_version'", &[&course_id]).unwrap().get(0)
}

#[test]
fn an_abandoned_rebuild_is_failed_by_the_next_rebuild_and_by_the_schedule_while_the_old_version_serves() {
    let cluster = Cluster::start("timeout", &["coursenav.rebuild_timeout = '1s'"]);
    let mut setup = cluster.connect();
    let blocks = course(COURSE, 2, "v1").to_string();
    let v1: String = setup
        .query_one("SELECT coursenav.rebuild($1, 'v1', $2::text::jsonb)::text", &[&COURSE, &blocks])
        .unwrap()
        .get(0);
    // Two collectors begin, add a chunk, commit, and die.
    let mut stuck = Vec::new();
    for course_id in [COURSE, OTHER] {
        let mut collector = cluster.connect();
        let id: i64 = collector.query_one("SELECT coursenav.begin_rebuild($1, 'v2')", &[&course_id]).unwrap().get(0);
        let blocks = course(course_id, 3, "v2").to_string();
        collector.execute("SELECT coursenav.add_blocks($1, $2::text::jsonb)", &[&id, &blocks]).unwrap();
        stuck.push(id);
    }
    let mut reader = cluster.connect();
    assert_eq!(serving(&mut reader, COURSE).as_deref(), Some(v1.as_str()));
    std::thread::sleep(Duration::from_millis(1500));

    // The next rebuild of the course fails its abandoned rebuild, not the other course's.
    let blocks = course(COURSE, 4, "v3").to_string();
    let v3: String = setup
        .query_one("SELECT coursenav.rebuild($1, 'v3', $2::text::jsonb)::text", &[&COURSE, &blocks])
        .unwrap()
        .get(0);
    let row = |client: &mut postgres::Client, id: i64| -> (String, i64, Option<String>) {
        let r = client
            .query_one(
                "SELECT s.status, (SELECT count(*) FROM coursenav.block_chunks c WHERE c.rebuild_id = s.rebuild_id), s.error
                   FROM coursenav.block_structures s WHERE s.rebuild_id = $1",
                &[&id],
            )
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    let (status, chunks, error) = row(&mut setup, stuck[0]);
    assert_eq!((status.as_str(), chunks), ("failed", 0));
    assert!(error.unwrap().contains("coursenav.rebuild_timeout"));
    assert_eq!(row(&mut setup, stuck[1]).0, "building");
    assert_eq!(serving(&mut reader, COURSE).as_deref(), Some(v3.as_str()));

    // The schedule's call fails the other; the course status stops showing it running.
    let failed: i32 = setup.query_one("SELECT coursenav.fail_stale_rebuilds()", &[]).unwrap().get(0);
    assert_eq!(failed, 1);
    assert_eq!(row(&mut setup, stuck[1]).0, "failed");
    let building: i64 = setup
        .query_one("SELECT count(*) FROM coursenav.course_status WHERE last_rebuild_status = 'building'", &[])
        .unwrap()
        .get(0);
    assert_eq!(building, 0);
    assert_eq!(serving(&mut reader, OTHER), None, "the other course was never built and still is not");
}

#[test]
fn a_live_collector_holding_its_rebuild_is_never_failed_under_it() {
    let cluster = Cluster::start("timeout-live", &["coursenav.rebuild_timeout = '1s'"]);
    let mut collector = cluster.connect();
    let id: i64 = collector.query_one("SELECT coursenav.begin_rebuild($1, 'v1')", &[&COURSE]).unwrap().get(0);
    std::thread::sleep(Duration::from_millis(1500));
    // The collector is adding a chunk right now (its transaction holds the rebuild).
    collector.batch_execute("BEGIN").unwrap();
    let blocks = course(COURSE, 2, "v1").to_string();
    collector.execute("SELECT coursenav.add_blocks($1, $2::text::jsonb)", &[&id, &blocks]).unwrap();
    let mut sweeper = cluster.connect();
    sweeper.batch_execute("SET statement_timeout = '10s'").unwrap();
    let failed: i32 = sweeper.query_one("SELECT coursenav.fail_stale_rebuilds()", &[]).unwrap().get(0);
    assert_eq!(failed, 0, "skipped, not waited for");
    collector.batch_execute("COMMIT").unwrap();
    let version: Option<String> =
        collector.query_one("SELECT coursenav.complete_rebuild($1)::text", &[&id]).unwrap().get(0);
    assert!(version.is_some());
}
