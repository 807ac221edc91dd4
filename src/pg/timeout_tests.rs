//! Abandoned rebuilds, failed by `coursenav.rebuild_timeout`, in one
//! transaction; the black-box test (`tests/blackbox/timeout.rs`) does the
//! same across sessions with a dead collector.

#[pgrx::pg_schema]
mod tests {
    use crate::pg::sql_checks::quote;
    use pgrx::prelude::*;

    const COURSE: &str = "course-v1:OpenedX+Timeout+2030";

    /// A rebuild of the course with one chunk.
    fn rebuild_with_a_chunk() -> i64 {
        let root = "block-v1:OpenedX+Timeout+2030+type@course+block@course";
        let id =
            Spi::get_one::<i64>(&format!("SELECT coursenav.begin_rebuild({}, 'v1')", quote(COURSE))).unwrap().unwrap();
        let blocks = format!(r#"{{"root": "{root}", "blocks": {{"{root}": {{"type": "course"}}}}}}"#);
        Spi::run(&format!("SELECT coursenav.add_blocks({id}, {}::jsonb)", quote(&blocks))).unwrap();
        id
    }

    /// Makes a rebuild look begun and last added to `age` ago.
    fn age(id: i64, age: &str) {
        Spi::run(&format!(
            "UPDATE coursenav.block_structures SET started_at = clock_timestamp() - interval '{age}' WHERE rebuild_id = {id};
             UPDATE coursenav.block_chunks SET added_at = clock_timestamp() - interval '{age}' WHERE rebuild_id = {id}"
        ))
        .unwrap();
    }

    fn abandoned_rebuild(idle: &str) -> i64 {
        let id = rebuild_with_a_chunk();
        age(id, idle);
        id
    }

    fn status_and_chunks(id: i64) -> (String, i64, Option<String>) {
        let status =
            Spi::get_one::<String>(&format!("SELECT status FROM coursenav.block_structures WHERE rebuild_id = {id}"));
        let chunks =
            Spi::get_one::<i64>(&format!("SELECT count(*) FROM coursenav.block_chunks WHERE rebuild_id = {id}"));
        let error =
            Spi::get_one::<String>(&format!("SELECT error FROM coursenav.block_structures WHERE rebuild_id = {id}"));
        (status.unwrap().unwrap(), chunks.unwrap().unwrap(), error.unwrap())
    }

    #[pg_test]
    fn a_rebuild_idle_past_the_timeout_is_failed_and_its_chunks_dropped() {
        Spi::run("SET LOCAL coursenav.rebuild_timeout = '1h'").unwrap();
        // Both begun first: beginning a rebuild fails the course's stale ones itself.
        let (stale, recent) = (rebuild_with_a_chunk(), rebuild_with_a_chunk());
        age(stale, "2 hours");
        age(recent, "10 minutes");
        assert_eq!(Spi::get_one::<i32>("SELECT coursenav.fail_stale_rebuilds()").unwrap(), Some(1));
        let (status, chunks, error) = status_and_chunks(stale);
        assert_eq!((status.as_str(), chunks), ("failed", 0));
        assert!(error.unwrap().contains("longer than coursenav.rebuild_timeout (3600 s)"));
        assert_eq!(status_and_chunks(recent), ("building".into(), 1, None));
    }

    #[pg_test]
    fn a_timeout_of_zero_fails_nothing() {
        Spi::run("SET LOCAL coursenav.rebuild_timeout = 0").unwrap();
        let stale = abandoned_rebuild("30 days");
        assert_eq!(Spi::get_one::<i32>("SELECT coursenav.fail_stale_rebuilds()").unwrap(), Some(0));
        Spi::run(&format!("SELECT coursenav.begin_rebuild({}, 'v2')", quote(COURSE))).unwrap();
        assert_eq!(status_and_chunks(stale), ("building".into(), 1, None));
    }

    #[pg_test]
    fn the_next_rebuild_of_the_course_fails_its_abandoned_ones_and_no_other_courses() {
        Spi::run("SET LOCAL coursenav.rebuild_timeout = '1h'").unwrap();
        let stale = abandoned_rebuild("2 hours");
        let other = Spi::get_one::<i64>("SELECT coursenav.begin_rebuild('course-v1:OpenedX+Other+2030', 'v1')")
            .unwrap()
            .unwrap();
        Spi::run(&format!("UPDATE coursenav.block_structures SET started_at = clock_timestamp() - interval '2 hours' WHERE rebuild_id = {other}")).unwrap();
        Spi::run(&format!("SELECT coursenav.begin_rebuild({}, 'v2')", quote(COURSE))).unwrap();
        assert_eq!(status_and_chunks(stale).0, "failed");
        assert_eq!(status_and_chunks(other).0, "building");
    }
}
