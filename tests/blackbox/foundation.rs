//! The foundation's promises, seen from outside: readers never see a stale
//! or half-built tree, late rebuilds never win, crashes lose nothing.

use crate::cluster::Cluster;
use coursenav_domain::testing::small_course as course;
use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;
use serde_json::Value;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const COURSE: &str = "course-v1:OpenedX+DemoX+DemoCourse";

fn rebuild(client: &mut Client, version: &str, chapters: usize) -> Option<String> {
    let blocks = course(COURSE, chapters, version);
    client
        .query_one("SELECT coursenav.rebuild($1, $2, $3::text::jsonb)::text", &[&COURSE, &version, &blocks.to_string()])
        .unwrap()
        .get(0)
}

fn tree(client: &mut Client) -> Option<Value> {
    let text: Option<String> =
        client.query_one("SELECT coursenav.navigation_tree($1)::text", &[&COURSE]).unwrap().get(0);
    text.map(|t| serde_json::from_str(&t).unwrap())
}

fn serving(client: &mut Client) -> (Option<String>, Option<String>) {
    let t = tree(client);
    let field = |name: &str| t.as_ref().and_then(|t| t[name].as_str().map(str::to_string));
    (field("course_version"), field("block_structure_version"))
}

fn status_of(client: &mut Client, rebuild_id: i64) -> String {
    client
        .query_one("SELECT status FROM coursenav.block_structures WHERE rebuild_id = $1", &[&rebuild_id])
        .unwrap()
        .get(0)
}

#[test]
fn a_reader_sees_the_old_tree_until_commit_and_the_new_one_right_after() {
    let cluster = Cluster::start("reader", &[]);
    let mut writer = cluster.connect();
    let mut reader = cluster.connect();
    let v1 = rebuild(&mut writer, "v1", 2).unwrap();

    writer.batch_execute("BEGIN").unwrap();
    let v2 = rebuild(&mut writer, "v2", 5).unwrap();
    // The writer holds its locks; a reader must neither wait nor see v2.
    reader.batch_execute("SET statement_timeout = '2s'").unwrap();
    assert_eq!(serving(&mut reader), (Some("v1".into()), Some(v1.clone())));
    let old = tree(&mut reader).unwrap();
    assert_eq!(old["blocks"].as_object().unwrap().len(), 1 + 2 * 3);

    writer.batch_execute("COMMIT").unwrap();
    assert_eq!(serving(&mut reader), (Some("v2".into()), Some(v2.clone())));
    let new = tree(&mut reader).unwrap();
    assert_eq!(new["blocks"].as_object().unwrap().len(), 1 + 5 * 3);
    let version: String =
        reader.query_one("SELECT coursenav.block_structure_version($1)::text", &[&COURSE]).unwrap().get(0);
    assert_eq!(version, v2);
}

#[test]
fn an_out_of_order_completion_does_not_move_the_version_back() {
    let cluster = Cluster::start("order", &[]);
    let mut slow = cluster.connect();
    let mut fast = cluster.connect();
    // The slow collector starts on v1 and commits its blocks.
    let old_id: i64 = slow.query_one("SELECT coursenav.begin_rebuild($1, 'v1')", &[&COURSE]).unwrap().get(0);
    let blocks = course(COURSE, 2, "v1").to_string();
    slow.execute("SELECT coursenav.add_blocks($1, $2::text::jsonb)", &[&old_id, &blocks]).unwrap();
    // Meanwhile v2 is published and rebuilt by another worker.
    let v2 = rebuild(&mut fast, "v2", 3).unwrap();
    // The slow one finishes last.
    let result: Option<String> =
        slow.query_one("SELECT coursenav.complete_rebuild($1)::text", &[&old_id]).unwrap().get(0);
    assert_eq!(result, None);
    assert_eq!(status_of(&mut fast, old_id), "superseded");
    assert_eq!(serving(&mut fast), (Some("v2".into()), Some(v2)));
}

/// The course's blocks split over two documents: the root and the first
/// `first` blocks (in key order) in one, the rest in the other.
fn two_chunks(blocks: &Value, first: usize) -> (Value, Value) {
    let all = blocks["blocks"].as_object().unwrap();
    let part = |range: &mut dyn Iterator<Item = (&String, &Value)>| {
        Value::Object(range.map(|(k, v)| (k.clone(), v.clone())).collect())
    };
    let head = serde_json::json!({"root": blocks["root"], "blocks": part(&mut all.iter().take(first))});
    let tail = serde_json::json!({"blocks": part(&mut all.iter().skip(first))});
    (head, tail)
}

#[test]
fn chunks_committed_apart_are_read_back_when_another_session_completes() {
    let cluster = Cluster::start("chunks", &[]);
    let mut collector = cluster.connect();
    let mut completer = cluster.connect();
    let v1 = rebuild(&mut completer, "v1", 1).unwrap();
    let add = |client: &mut Client, id: i64, chunk: &Value| -> i32 {
        client.query_one("SELECT coursenav.add_blocks($1, $2::text::jsonb)", &[&id, &chunk.to_string()]).unwrap().get(0)
    };
    let begin = |client: &mut Client, version: &str| -> i64 {
        client.query_one("SELECT coursenav.begin_rebuild($1, $2)", &[&COURSE, &version]).unwrap().get(0)
    };

    // Each chunk commits on its own; a third session completes.
    let v2_id = begin(&mut collector, "v2");
    let (head, tail) = two_chunks(&course(COURSE, 4, "v2"), 7);
    assert_eq!(add(&mut collector, v2_id, &head) + add(&mut collector, v2_id, &tail), 1 + 4 * 4);
    let v2: Option<String> =
        completer.query_one("SELECT coursenav.complete_rebuild($1)::text", &[&v2_id]).unwrap().get(0);
    let tree = tree(&mut completer).unwrap();
    assert_eq!(tree["blocks"].as_object().unwrap().len(), 1 + 4 * 3);
    assert_eq!(serving(&mut completer), (Some("v2".into()), v2.clone()));
    assert_ne!(v2, Some(v1));

    // A block given in two committed chunks is refused when the rebuild
    // completes, naming the block; v2 keeps serving.
    let v3_id = begin(&mut collector, "v3");
    let (head, _) = two_chunks(&course(COURSE, 2, "v3"), 3);
    add(&mut collector, v3_id, &head);
    add(&mut collector, v3_id, &serde_json::json!({"blocks": head["blocks"]}));
    let error = completer.query_one("SELECT coursenav.complete_rebuild($1)", &[&v3_id]).unwrap_err();
    let db_error = error.as_db_error().expect("a database error");
    assert_eq!(db_error.code().code(), "23505");
    assert!(
        db_error.message().contains("given twice") && db_error.message().contains(COURSE),
        "{}",
        db_error.message()
    );
    assert_eq!(serving(&mut completer), (Some("v2".into()), v2));
    assert_eq!(status_of(&mut completer, v3_id), "building");
}

#[test]
fn two_concurrent_rebuilds_of_one_course_serialise_on_completion() {
    let cluster = Cluster::start("concurrent", &[]);
    let mut first = cluster.connect();
    let mut setup = cluster.connect();
    rebuild(&mut setup, "v1", 1).unwrap();
    setup.batch_execute("SELECT coursenav.publish_course('course-v1:OpenedX+DemoX+DemoCourse', 'v2'); SELECT coursenav.publish_course('course-v1:OpenedX+DemoX+DemoCourse', 'v3')").unwrap();

    // The older publish completes first but does not commit yet.
    first.batch_execute("BEGIN").unwrap();
    rebuild(&mut first, "v2", 2).unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    let url = cluster.connection_string();
    let second = thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let version = rebuild(&mut client, "v3", 3);
        done_tx.send(()).unwrap();
        version
    });
    // The second completion waits for the first transaction...
    assert!(done_rx.recv_timeout(Duration::from_millis(700)).is_err(), "second completion did not wait");
    first.batch_execute("COMMIT").unwrap();
    // ...then sees it and bumps past it.
    let v3 = second.join().unwrap().expect("v3 is newer and wins");
    assert_eq!(serving(&mut setup), (Some("v3".into()), Some(v3)));
    let bumps: i64 = setup
        .query_one("SELECT count(*) FROM coursenav.version_history WHERE course_id = $1", &[&COURSE])
        .unwrap()
        .get(0);
    assert_eq!(bumps, 3);
}

#[test]
fn the_newer_publish_wins_whichever_commits_first() {
    let cluster = Cluster::start("concurrent2", &[]);
    let mut newer = cluster.connect();
    let mut setup = cluster.connect();
    setup.batch_execute("SELECT coursenav.publish_course('course-v1:OpenedX+DemoX+DemoCourse', 'v2'); SELECT coursenav.publish_course('course-v1:OpenedX+DemoX+DemoCourse', 'v3')").unwrap();
    newer.batch_execute("BEGIN").unwrap();
    let v3 = rebuild(&mut newer, "v3", 3).unwrap();
    let url = cluster.connection_string();
    let older = thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        rebuild(&mut client, "v2", 2)
    });
    thread::sleep(Duration::from_millis(300));
    newer.batch_execute("COMMIT").unwrap();
    assert_eq!(older.join().unwrap(), None, "the older publish is superseded");
    assert_eq!(serving(&mut setup), (Some("v3".into()), Some(v3)));
}

#[test]
fn a_backend_killed_mid_rebuild_leaves_the_old_version_serving() {
    let cluster = Cluster::start("crash", &[]);
    let mut setup = cluster.connect();
    let v1 = rebuild(&mut setup, "v1", 2).unwrap();
    let rebuild_id: i64 = setup.query_one("SELECT coursenav.begin_rebuild($1, 'v2')", &[&COURSE]).unwrap().get(0);
    let blocks = course(COURSE, 4, "v2").to_string();
    setup.execute("SELECT coursenav.add_blocks($1, $2::text::jsonb)", &[&rebuild_id, &blocks]).unwrap();

    let url = cluster.connection_string();
    let (pid_tx, pid_rx) = mpsc::channel();
    let victim = thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let pid: i32 = client.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
        client.batch_execute("BEGIN").unwrap();
        client.execute("SELECT coursenav.complete_rebuild($1)", &[&rebuild_id]).unwrap();
        pid_tx.send(pid).unwrap();
        // Still inside the transaction when it dies.
        client.batch_execute("SELECT pg_sleep(60)").is_err()
    });
    let pid = pid_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let killed = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
    assert!(killed.success());
    assert!(victim.join().unwrap(), "the killed session saw its connection fail");
    // The postmaster answers a crashed backend by ending every session and
    // recovering; wait until it has ended this one before reconnecting.
    let reset = (0..300).any(|_| {
        thread::sleep(Duration::from_millis(100));
        setup.simple_query("SELECT 1").is_err()
    });
    assert!(reset, "the postmaster did not reset after the crash");

    // The postmaster restarts every backend after a crash; then nothing was lost.
    let mut after = cluster.connect_when_ready(Duration::from_secs(60));
    assert_eq!(serving(&mut after), (Some("v1".into()), Some(v1)));
    assert_eq!(status_of(&mut after, rebuild_id), "building");
    let lagging: bool =
        after.query_one("SELECT lagging FROM coursenav.course_status WHERE course_id = $1", &[&COURSE]).unwrap().get(0);
    assert!(lagging);
    // The interrupted rebuild can still be completed afterwards.
    let v2: Option<String> =
        after.query_one("SELECT coursenav.complete_rebuild($1)::text", &[&rebuild_id]).unwrap().get(0);
    assert_eq!(serving(&mut after), (Some("v2".into()), v2));
    assert!(cluster.server_log().contains("terminated by signal 9"));
}

#[test]
fn a_committed_bump_is_announced_to_listeners() {
    let cluster = Cluster::start("notify", &[]);
    let mut listener = cluster.connect();
    listener.batch_execute("LISTEN coursenav_version").unwrap();
    let mut writer = cluster.connect();
    writer.batch_execute("BEGIN").unwrap();
    let version = rebuild(&mut writer, "v1", 1).unwrap();
    let early = listener.notifications().timeout_iter(Duration::from_millis(300)).next().unwrap();
    assert!(early.is_none(), "nothing is announced before commit");
    writer.batch_execute("COMMIT").unwrap();
    let note = listener.notifications().timeout_iter(Duration::from_secs(5)).next().unwrap().expect("a notification");
    let payload: Value = serde_json::from_str(note.payload()).unwrap();
    assert_eq!(payload["course_id"], COURSE);
    assert_eq!(payload["block_structure_version"], version);
    assert_eq!(payload["course_version"], "v1");
}

#[test]
fn a_read_replica_serves_the_same_tree() {
    let primary = Cluster::start("primary", &["wal_level = replica", "max_wal_senders = 4"]);
    let mut writer = primary.connect();
    rebuild(&mut writer, "v1", 2).unwrap();
    let standby = primary.start_standby("standby");
    let v2 = rebuild(&mut writer, "v2", 3).unwrap();
    let lsn: String = writer.query_one("SELECT pg_current_wal_lsn()::text", &[]).unwrap().get(0);

    let mut reader = standby.connect_when_ready(Duration::from_secs(30));
    for _ in 0..300 {
        let caught_up: bool =
            reader.query_one("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", &[&lsn]).unwrap().get(0);
        if caught_up {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let in_recovery: bool = reader.query_one("SELECT pg_is_in_recovery()", &[]).unwrap().get(0);
    assert!(in_recovery);
    assert_eq!(serving(&mut reader), (Some("v2".into()), Some(v2)));
    assert_eq!(tree(&mut reader), tree(&mut writer));
}
