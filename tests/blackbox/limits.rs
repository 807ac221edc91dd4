//! Exact answers at the edges that need a real cluster: keys too long for
//! a NOTIFY, a database that is not UTF8, and delete_course racing an
//! uncommitted add_blocks.

use crate::cluster::Cluster;
use coursenav_domain::testing::small_course as course;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const COURSE: &str = "course-v1:OpenedX+DemoX+DemoCourse";

fn sqlstate(result: Result<impl Sized, postgres::Error>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) => e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("{e}")),
    }
}

#[test]
fn overlong_course_ids_and_versions_are_refused_at_publish_so_every_course_can_be_rebuilt_and_deleted() {
    let cluster = Cluster::start("overlong", &[]);
    let mut client = cluster.connect();
    // Longer than Open edX's 255-character key columns, short of NOTIFY's 8,000 bytes.
    let long_course = format!("course-v1:A+B+{}", "R".repeat(4_000));
    let long_version = "v".repeat(7_900);
    let refused = client.execute("SELECT coursenav.publish_course($1, 'v1')", &[&long_course]);
    assert_eq!(sqlstate(refused), "22023");
    let refused = client.execute("SELECT coursenav.publish_course($1, $2)", &[&COURSE, &long_version]);
    let error = refused.unwrap_err();
    assert_eq!(error.code().unwrap().code(), "22023");
    assert!(error.as_db_error().unwrap().message().contains(COURSE), "{error}");
    let refused = client.execute("SELECT coursenav.begin_rebuild($1, $2)", &[&COURSE, &long_version]);
    assert_eq!(sqlstate(refused), "22023");
    // The longest accepted id publishes and deletes; the longest version
    // rebuilds (its NOTIFY fits) and deletes.
    let longest = format!("course-v1:A+B+{}", "R".repeat(255 - "course-v1:A+B+".len()));
    assert_eq!(sqlstate(client.execute("SELECT coursenav.publish_course($1, 'v1')", &[&longest])), "ok");
    let deleted: bool = client.query_one("SELECT coursenav.delete_course($1)", &[&longest]).unwrap().get(0);
    assert!(deleted);
    let version = "v".repeat(255);
    let blocks = course(COURSE, 1, "x").to_string();
    let rebuilt = client.execute("SELECT coursenav.rebuild($1, $2, $3::text::jsonb)", &[&COURSE, &version, &blocks]);
    assert_eq!(sqlstate(rebuilt), "ok");
    let deleted: bool = client.query_one("SELECT coursenav.delete_course($1)", &[&COURSE]).unwrap().get(0);
    assert!(deleted);
    let published: i64 = client.query_one("SELECT count(*) FROM coursenav.publish_log", &[]).unwrap().get(0);
    assert_eq!(published, 0);
}

#[test]
fn a_database_that_is_not_utf8_is_refused_with_the_reason() {
    let cluster = Cluster::start("latin1", &[]);
    cluster.execute("CREATE DATABASE latin TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'");
    let mut client = cluster.connect_as("postgres", "latin");
    let error = client.batch_execute("CREATE EXTENSION coursenav").unwrap_err();
    let db = error.as_db_error().unwrap();
    assert_eq!(db.code().code(), "0A000");
    assert!(db.message().contains("UTF8") && db.message().contains("\"latin\""), "{}", db.message());
    let installed: i64 =
        client.query_one("SELECT count(*) FROM pg_extension WHERE extname = 'coursenav'", &[]).unwrap().get(0);
    assert_eq!(installed, 0);
}

#[test]
fn delete_course_waits_for_an_uncommitted_add_blocks_and_leaves_no_chunk_behind() {
    let cluster = Cluster::start("delete-race", &[]);
    let mut collector = cluster.connect();
    let rebuild_id: i64 = collector.query_one("SELECT coursenav.begin_rebuild($1, 'v1')", &[&COURSE]).unwrap().get(0);
    let blocks = course(COURSE, 2, "v1").to_string();
    collector.batch_execute("BEGIN").unwrap();
    collector.execute("SELECT coursenav.add_blocks($1, $2::text::jsonb)", &[&rebuild_id, &blocks]).unwrap();

    let (done, deleted) = mpsc::channel();
    let mut admin = cluster.connect();
    let deleter = thread::spawn(move || {
        let known: bool = admin.query_one("SELECT coursenav.delete_course($1)", &[&COURSE]).unwrap().get(0);
        done.send(known).unwrap();
    });
    // delete_course waits for the chunk's transaction...
    assert!(deleted.recv_timeout(Duration::from_millis(500)).is_err(), "delete_course did not wait");
    collector.batch_execute("COMMIT").unwrap();
    // ...then deletes what it committed.
    assert!(deleted.recv_timeout(Duration::from_secs(30)).unwrap());
    deleter.join().unwrap();
    let mut check = cluster.connect();
    for table in ["block_chunks", "block_structures", "publish_log"] {
        let left: i64 = check
            .query_one(&format!("SELECT count(*) FROM coursenav.{table} WHERE course_id = $1"), &[&COURSE])
            .unwrap()
            .get(0);
        assert_eq!(left, 0, "{table} kept rows of the deleted course");
    }
}
