//! `#[pg_test]`s: the SQL API inside one rolled-back transaction each.
//! Several sessions, commits, crashes and replicas are in tests/blackbox.

#[pgrx::pg_schema]
mod tests {
    use crate::pg::sql_checks::{assert_error, error_of, quote};
    use coursenav_domain::testing::{small_course, usage_key};
    use pgrx::prelude::*;
    use serde_json::{json, Value};

    const COURSE: &str = "course-v1:OpenedX+DemoX+DemoCourse";

    fn key(block_type: &str, name: &str) -> String {
        usage_key(COURSE, block_type, name)
    }

    /// A course with `chapters` chapters of one sequential, one vertical and one html each.
    fn course(chapters: usize) -> Value {
        small_course(COURSE, chapters, "v")
    }

    fn rebuild(version: &str, blocks: &Value) -> Option<String> {
        Spi::get_one::<String>(&format!(
            "SELECT coursenav.rebuild({}, {}, {}::jsonb)::text",
            quote(COURSE),
            quote(version),
            quote(&blocks.to_string())
        ))
        .unwrap()
    }

    fn tree() -> Option<Value> {
        Spi::get_one::<pgrx::Json>(&format!("SELECT coursenav.navigation_tree({})", quote(COURSE)))
            .unwrap()
            .map(|j| j.0)
    }

    fn serving_version() -> Option<String> {
        Spi::get_one::<String>(&format!("SELECT coursenav.block_structure_version({})::text", quote(COURSE))).unwrap()
    }

    fn rebuild_statement(blocks: &Value) -> String {
        format!("SELECT coursenav.rebuild({}, 'v-bad', {}::jsonb)", quote(COURSE), quote(&blocks.to_string()))
    }

    #[pg_test]
    fn rebuild_materialises_the_tree_and_bumps_the_version() {
        assert_eq!(tree(), None, "never rebuilt");
        let version = rebuild("v1", &course(3)).expect("a version");
        let tree = tree().unwrap();
        assert_eq!(tree["block_structure_version"], version);
        assert_eq!(tree["course_version"], "v1");
        assert_eq!(tree["course_id"], COURSE);
        assert_eq!(tree["root"], key("course", "course"));
        let blocks = tree["blocks"].as_object().unwrap();
        assert_eq!(blocks.len(), 1 + 3 * 3, "course, chapters, sequentials, verticals; no html");
        assert_eq!(
            tree["blocks"][key("course", "course")]["children"],
            json!([key("chapter", "c0"), key("chapter", "c1"), key("chapter", "c2")])
        );
        assert_eq!(serving_version(), Some(version));
    }

    #[pg_test]
    fn a_publish_alone_changes_nothing_that_serves() {
        let first = rebuild("v1", &course(2)).unwrap();
        Spi::run(&format!("SELECT coursenav.publish_course({}, 'v2')", quote(COURSE))).unwrap();
        assert_eq!(serving_version(), Some(first.clone()));
        assert_eq!(tree().unwrap()["course_version"], "v1");
        let lagging = Spi::get_two::<bool, String>(&format!(
            "SELECT lagging, published_version FROM coursenav.course_status WHERE course_id = {}",
            quote(COURSE)
        ))
        .unwrap();
        assert_eq!(lagging, (Some(true), Some("v2".into())));
        let second = rebuild("v2", &course(3)).unwrap();
        assert_ne!(first, second);
        assert_eq!(tree().unwrap()["blocks"].as_object().unwrap().len(), 10);
        let history = Spi::get_one::<i64>("SELECT count(*) FROM coursenav.structure_versions").unwrap();
        assert_eq!(history, Some(2));
    }

    #[pg_test]
    fn chunks_build_one_structure() {
        let whole = course(2);
        let id =
            Spi::get_one::<i64>(&format!("SELECT coursenav.begin_rebuild({}, 'v1')", quote(COURSE))).unwrap().unwrap();
        let blocks = whole["blocks"].as_object().unwrap();
        let (first, second): (Vec<_>, Vec<_>) = blocks.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        for (part, with_root) in [(first, false), (second, true)] {
            let map: serde_json::Map<String, Value> =
                part.into_iter().map(|(_, (k, v))| (k.clone(), v.clone())).collect();
            let chunk = if with_root { json!({"root": whole["root"], "blocks": map}) } else { json!({"blocks": map}) };
            Spi::run(&format!("SELECT coursenav.add_blocks({id}, {}::jsonb)", quote(&chunk.to_string()))).unwrap();
        }
        Spi::run(&format!("SELECT coursenav.complete_rebuild({id})")).unwrap();
        assert_eq!(tree().unwrap()["blocks"].as_object().unwrap().len(), 7);
        let count =
            Spi::get_one::<i32>(&format!("SELECT block_count FROM coursenav.block_structures WHERE rebuild_id = {id}"))
                .unwrap();
        assert_eq!(count, Some(9));
        assert_error(
            &format!("SELECT coursenav.add_blocks({id}, {}::jsonb)", quote(&course(1).to_string())),
            "55000",
            &[COURSE, "is already complete", "take blocks"],
        );
        assert_error(&format!("SELECT coursenav.complete_rebuild({id})"), "55000", &["already complete"]);
    }

    #[pg_test]
    fn a_late_rebuild_of_an_older_publish_is_superseded() {
        let old =
            Spi::get_one::<i64>(&format!("SELECT coursenav.begin_rebuild({}, 'v1')", quote(COURSE))).unwrap().unwrap();
        Spi::run(&format!("SELECT coursenav.add_blocks({old}, {}::jsonb)", quote(&course(1).to_string()))).unwrap();
        let newer = rebuild("v2", &course(2)).unwrap();
        let result = Spi::get_one::<String>(&format!("SELECT coursenav.complete_rebuild({old})::text")).unwrap();
        assert_eq!(result, None);
        assert_eq!(serving_version(), Some(newer));
        assert_eq!(tree().unwrap()["course_version"], "v2");
        let status =
            Spi::get_one::<String>(&format!("SELECT status FROM coursenav.block_structures WHERE rebuild_id = {old}"))
                .unwrap();
        assert_eq!(status.as_deref(), Some("superseded"));
    }

    #[pg_test]
    fn versions_are_ordered_by_publish_not_by_text() {
        // "b" sorts after "a", but "a" was published later: "a" is newer.
        Spi::run(&format!("SELECT coursenav.publish_course({}, 'b')", quote(COURSE))).unwrap();
        Spi::run(&format!("SELECT coursenav.publish_course({}, 'a')", quote(COURSE))).unwrap();
        let newer = rebuild("a", &course(1)).unwrap();
        assert_eq!(rebuild("b", &course(2)), None, "the older publish is superseded");
        assert_eq!(serving_version(), Some(newer));
    }

    #[pg_test]
    fn failing_a_rebuild_keeps_the_previous_version() {
        let serving = rebuild("v1", &course(1)).unwrap();
        let id =
            Spi::get_one::<i64>(&format!("SELECT coursenav.begin_rebuild({}, 'v2')", quote(COURSE))).unwrap().unwrap();
        Spi::run(&format!("SELECT coursenav.fail_rebuild({id}, 'collector crashed')")).unwrap();
        assert_eq!(serving_version(), Some(serving));
        let error = Spi::get_one::<String>(&format!(
            "SELECT last_rebuild_error FROM coursenav.course_status WHERE course_id = {}",
            quote(COURSE)
        ))
        .unwrap();
        assert_eq!(error.as_deref(), Some("collector crashed"));
        assert_error(&format!("SELECT coursenav.complete_rebuild({id})"), "55000", &["already failed", COURSE]);
        assert_error(&format!("SELECT coursenav.fail_rebuild({id}, 'again')"), "55000", &["already failed"]);
        assert_error("SELECT coursenav.complete_rebuild(987654321)", "42704", &["987654321"]);
    }

    #[pg_test]
    fn bad_structures_are_refused_and_the_old_tree_keeps_serving() {
        let serving = rebuild("v1", &course(2)).unwrap();
        let root = key("course", "course");
        let chapter = key("chapter", "c0");
        let mut cases: Vec<(Value, &str, Vec<String>)> = Vec::new();

        let mut no_root = course(1);
        no_root.as_object_mut().unwrap().remove("root");
        cases.push((no_root, "23514", vec!["no root".into()]));

        let mut chapter_root = course(1);
        chapter_root["root"] = json!(chapter);
        cases.push((chapter_root, "23514", vec![format!("\"{chapter}\" is a chapter")]));

        let mut dangling = course(1);
        dangling["blocks"][&chapter]["children"] = json!([key("sequential", "ghost")]);
        cases.push((dangling, "23514", vec![chapter.clone(), key("sequential", "ghost")]));

        let mut cycle = course(1);
        cycle["blocks"][key("html", "h0")]["children"] = json!([key("html", "h0")]);
        cases.push((cycle, "23514", vec!["cycle".into(), key("html", "h0")]));

        let mut two_parents = course(2);
        two_parents["blocks"][key("chapter", "c1")]["children"] =
            json!([key("sequential", "s1"), key("sequential", "s0")]);
        cases.push((two_parents, "23514", vec!["two parents".into(), key("sequential", "s0")]));

        let mut foreign = course(1);
        foreign["blocks"][&root]["children"] = json!(["block-v1:Other+X+Y+type@chapter+block@c0"]);
        cases.push((foreign, "22023", vec!["does not belong".into(), COURSE.into()]));

        let mut malformed = course(1);
        malformed["blocks"]["not-a-key"] = json!({"type": "html"});
        cases.push((malformed, "22023", vec!["not-a-key".into()]));

        cases.push((json!({"root": root, "blocks": [1, 2]}), "22023", vec!["Course Blocks shape".into()]));
        cases.push((json!("just text"), "22023", vec!["Course Blocks shape".into(), COURSE.into()]));

        for (blocks, sqlstate, needles) in cases {
            let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
            assert_error(&rebuild_statement(&blocks), sqlstate, &needles);
        }
        assert_eq!(serving_version(), Some(serving));
        assert_eq!(tree().unwrap()["course_version"], "v1");
    }

    fn begin(version: &str) -> i64 {
        Spi::get_one::<i64>(&format!("SELECT coursenav.begin_rebuild({}, {})", quote(COURSE), quote(version)))
            .unwrap()
            .unwrap()
    }

    fn add_blocks_statement(rebuild_id: i64, blocks: &Value) -> String {
        format!("SELECT coursenav.add_blocks({rebuild_id}, {}::jsonb)", quote(&blocks.to_string()))
    }

    #[pg_test]
    fn the_same_block_in_two_chunks_is_refused_at_completion() {
        let serving = rebuild("v1", &course(1)).unwrap();
        let id = begin("v2");
        let chunk = course(1);
        Spi::run(&add_blocks_statement(id, &chunk)).unwrap();
        Spi::run(&add_blocks_statement(id, &chunk)).unwrap();
        assert_error(&format!("SELECT coursenav.complete_rebuild({id})"), "23505", &["given twice", COURSE]);
        assert_eq!(serving_version(), Some(serving));
    }

    #[pg_test]
    fn a_chunk_rolled_back_is_never_used() {
        // The first chunk is added in a subtransaction that rolls back, the
        // second takes its number: completion must build from the second.
        let id = begin("v1");
        let mut rolled_back = course(1);
        rolled_back["blocks"][key("chapter", "c0")]["display_name"] = json!("rolled back");
        let mut kept = course(1);
        kept["blocks"][key("chapter", "c0")]["display_name"] = json!("kept");
        Spi::run(&format!(
            "DO $$ BEGIN
                 BEGIN
                     PERFORM coursenav.add_blocks({id}, {}::jsonb);
                     RAISE EXCEPTION 'undo';
                 EXCEPTION WHEN raise_exception THEN NULL;
                 END;
                 PERFORM coursenav.add_blocks({id}, {}::jsonb);
             END $$",
            quote(&rolled_back.to_string()),
            quote(&kept.to_string()),
        ))
        .unwrap();
        let chunks =
            Spi::get_one::<i64>(&format!("SELECT count(*) FROM coursenav.block_chunks WHERE rebuild_id = {id}"));
        assert_eq!(chunks.unwrap(), Some(1));
        Spi::run(&format!("SELECT coursenav.complete_rebuild({id})")).unwrap();
        assert_eq!(tree().unwrap()["blocks"][key("chapter", "c0")]["display_name"], "kept");
    }

    #[pg_test]
    fn dbas_read_one_row_per_block() {
        let mut blocks = course(2);
        blocks["blocks"][key("html", "h0")]["student_view_url"] = json!("/xblock/h0");
        rebuild("v1", &blocks).unwrap();
        let count = Spi::get_one::<i64>("SELECT count(*) FROM coursenav.blocks").unwrap();
        assert_eq!(count, Some(1 + 2 * 4));
        let children = Spi::get_one::<Vec<String>>(&format!(
            "SELECT children FROM coursenav.blocks WHERE usage_key = {}",
            quote(&key("course", "course"))
        ))
        .unwrap();
        assert_eq!(children, Some(vec![key("chapter", "c0"), key("chapter", "c1")]));
        let fields = Spi::get_one::<pgrx::JsonB>(&format!(
            "SELECT fields FROM coursenav.blocks WHERE usage_key = {}",
            quote(&key("html", "h0"))
        ))
        .unwrap();
        assert_eq!(fields.map(|f| f.0), Some(json!({"student_view_url": "/xblock/h0"})));
    }

    #[pg_test]
    fn max_blocks_is_a_setting() {
        Spi::run("SET LOCAL coursenav.max_blocks = 5").unwrap();
        assert_error(&rebuild_statement(&course(2)), "54000", &["coursenav.max_blocks (5)", COURSE]);
        Spi::run("SET LOCAL coursenav.max_blocks = 9").unwrap();
        assert!(rebuild("v1", &course(2)).is_some());
    }

    #[pg_test]
    fn null_arguments_and_bad_course_keys_are_named() {
        assert_error("SELECT coursenav.rebuild(NULL, 'v1', '{}')", "22004", &["course_id"]);
        assert_error(
            &format!("SELECT coursenav.rebuild({}, NULL, '{{}}')", quote(COURSE)),
            "22004",
            &["course_version"],
        );
        assert_error(&format!("SELECT coursenav.rebuild({}, 'v1', NULL)", quote(COURSE)), "22004", &["blocks"]);
        assert_error("SELECT coursenav.add_blocks(NULL, '{}')", "22004", &["rebuild_id"]);
        assert_error("SELECT coursenav.complete_rebuild(NULL)", "22004", &["rebuild_id"]);
        assert_error("SELECT coursenav.navigation_tree(NULL)", "22004", &["course_id"]);
        assert_error("SELECT coursenav.publish_course('DemoX', 'v1')", "22023", &["\"DemoX\""]);
        assert_error("SELECT coursenav.navigation_tree('course-v1:Only+Two')", "22023", &["course-v1:Only+Two"]);
        for valid in ["course-v1:A+B+C", "A/B/C", "ccx-v1:A+B+C+ccx@4"] {
            assert_eq!(error_of(&format!("SELECT coursenav.navigation_tree('{valid}')")), "no error");
        }
    }

    #[pg_test]
    fn staff_only_and_start_dates_are_inherited_in_the_tree() {
        let mut blocks = course(1);
        blocks["blocks"][key("chapter", "c0")]["visible_to_staff_only"] = json!(true);
        blocks["blocks"][key("chapter", "c0")]["start"] = json!("2031-09-01T00:00:00Z");
        blocks["blocks"][key("sequential", "s0")]["graded"] = json!(true);
        blocks["blocks"][key("sequential", "s0")]["format"] = json!("Homework");
        blocks["blocks"][key("html", "h0")]["due"] = json!("2031-10-01T12:00:00+02:00");
        rebuild("v1", &blocks).unwrap();
        let tree = tree().unwrap();
        let vertical = &tree["blocks"][key("vertical", "v0")];
        assert_eq!(vertical["visible_to_staff_only"], true);
        assert_eq!(vertical["start"], "2031-09-01T00:00:00Z");
        assert_eq!(vertical["has_scheduled_content"], true);
        let sequential = &tree["blocks"][key("sequential", "s0")];
        assert_eq!((sequential["graded"].clone(), sequential["format"].clone()), (json!(true), json!("Homework")));
        let due = Spi::get_one::<String>("SELECT to_char(due AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM coursenav.blocks WHERE block_type = 'html'").unwrap();
        assert_eq!(due.as_deref(), Some("2031-10-01 10:00"));
    }

    #[pg_test]
    fn old_structures_lose_their_blocks_but_keep_their_rows() {
        Spi::run("SET LOCAL coursenav.keep_structures = 2").unwrap();
        for version in ["v1", "v2", "v3", "v4"] {
            rebuild(version, &course(1)).unwrap();
        }
        let with_blocks = Spi::get_one::<i64>("SELECT count(DISTINCT rebuild_id) FROM coursenav.blocks").unwrap();
        assert_eq!(with_blocks, Some(2));
        let serving_has_blocks = Spi::get_one::<bool>(
            "SELECT EXISTS (SELECT 1 FROM coursenav.blocks b JOIN coursenav.course_versions v USING (course_id, rebuild_id))",
        )
        .unwrap();
        assert_eq!(serving_has_blocks, Some(true));
        let rows = Spi::get_one::<i64>("SELECT count(*) FROM coursenav.block_structures").unwrap();
        assert_eq!(rows, Some(4));
    }
}
