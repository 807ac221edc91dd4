//! `#[pg_test]`s of hostile documents: what each is refused with, inside one
//! rolled-back transaction each. What needs a memory limit, a crash check
//! or two-phase commit is in tests/blackbox/hostile_documents.rs.

#[pgrx::pg_schema]
mod tests {
    use crate::pg::jsonb_reader::JsonbValue;
    use crate::pg::parsed_chunks::{self, ChunkRow, ROW_VERSION};
    use crate::pg::sql_checks::{assert_error, error_of, quote};
    use coursenav_domain::testing::usage_key;
    use pgrx::prelude::*;
    use serde_json::{json, Value};

    const COURSE: &str = "course-v1:OpenedX+Documents+2030";

    fn key(block_type: &str, name: &str) -> String {
        usage_key(COURSE, block_type, name)
    }

    /// A course of one chapter, one sequential and one vertical.
    fn course() -> Value {
        let (root, chapter, sequential, vertical) =
            (key("course", "course"), key("chapter", "c"), key("sequential", "s"), key("vertical", "v"));
        json!({"root": root, "blocks": {
            root.clone(): {"type": "course", "display_name": "Demo", "children": [chapter]},
            chapter.clone(): {"type": "chapter", "display_name": "Week 1", "children": [sequential]},
            sequential.clone(): {"type": "sequential", "display_name": "Homework", "children": [vertical]},
            vertical.clone(): {"type": "vertical", "display_name": "Unit", "children": []}
        }})
    }

    fn begin(version: &str) -> i64 {
        Spi::get_one::<i64>(&format!("SELECT coursenav.begin_rebuild({}, {})", quote(COURSE), quote(version)))
            .unwrap()
            .unwrap()
    }

    fn serving_version() -> Option<String> {
        Spi::get_one::<String>(&format!("SELECT coursenav.block_structure_version({})::text", quote(COURSE))).unwrap()
    }

    /// A rebuild of a version of its own: the #[pg_test]s run at once, each in
    /// a transaction that is never committed, and two publishing one version
    /// of one course would wait on each other's publish log row (and could
    /// deadlock with the course's version row).
    fn rebuild_statement(document: &str) -> String {
        format!(
            "SELECT coursenav.rebuild({}, 'v-bad-' || gen_random_uuid(), {}::jsonb)",
            quote(COURSE),
            quote(document)
        )
    }

    #[pg_test]
    fn a_blocks_object_claiming_more_pairs_than_max_blocks_is_refused_before_a_block_is_read() {
        Spi::run("SET LOCAL coursenav.max_blocks = 1000").unwrap();
        let id = begin("v1");
        // Not one of these pairs is a block: the count alone refuses them.
        let bomb = format!(
            "SELECT coursenav.add_blocks({id}, jsonb_build_object('blocks',
                 (SELECT jsonb_object_agg('k' || g, g) FROM generate_series(1, 5000) g)))"
        );
        assert_error(
            &bomb,
            "54000",
            &[COURSE, &format!("rebuild {id} would hold 5000 blocks"), "coursenav.max_blocks (1000)"],
        );
    }

    #[pg_test]
    fn the_room_left_counts_the_blocks_the_rebuild_already_holds() {
        Spi::run("SET LOCAL coursenav.max_blocks = 6").unwrap();
        let id = begin("v1");
        Spi::run(&format!("SELECT coursenav.add_blocks({id}, {}::jsonb)", quote(&course().to_string()))).unwrap();
        let mut more = json!({"blocks": {}});
        for name in ["x", "y", "z"] {
            more["blocks"][key("html", name)] = json!({"type": "html"});
        }
        let statement = format!("SELECT coursenav.add_blocks({id}, {}::jsonb)", quote(&more.to_string()));
        assert_error(&statement, "54000", &[COURSE, "would hold 7 blocks", "coursenav.max_blocks (6)"]);
        more["blocks"].as_object_mut().unwrap().remove(&key("html", "z"));
        let statement = format!("SELECT coursenav.add_blocks({id}, {}::jsonb)", quote(&more.to_string()));
        assert_eq!(error_of(&statement), "no error");
    }

    #[pg_test]
    fn a_children_list_longer_than_max_blocks_is_refused_before_it_is_read() {
        Spi::run("SET LOCAL coursenav.max_blocks = 100").unwrap();
        let id = begin("v1");
        let statement = format!(
            "SELECT coursenav.add_blocks({id}, jsonb_build_object('blocks', jsonb_build_object({}, jsonb_build_object(
                 'type', 'course', 'children', (SELECT jsonb_agg(g) FROM generate_series(1, 1000) g)))))",
            quote(&key("course", "course"))
        );
        assert_error(&statement, "54000", &[COURSE, "lists 1000 children", "coursenav.max_blocks (100)"]);
    }

    #[pg_test]
    fn numbers_beyond_a_double_in_navigation_fields_are_refused_naming_block_and_field() {
        let serving = {
            Spi::run(&rebuild_statement(&course().to_string()).replace("v-bad", "v1")).unwrap();
            serving_version()
        };
        let chapter = key("chapter", "c");
        for field in
            ["graded", "hide_from_toc", "visible_to_staff_only", "start", "due", "children", "display_name", "format"]
        {
            for number in ["1e400", "-1e400", "1e-400", "1e131071"] {
                // Spliced in as text: serde_json cannot hold these numbers.
                let mut document = course();
                document["blocks"][&chapter][field] = json!("NUMBER");
                let document = document.to_string().replacen("\"NUMBER\"", number, 1);
                assert!(document.contains(&format!("\"{field}\":{number}")));
                assert_error(&rebuild_statement(&document), "22023", &[&chapter, &format!("field \"{field}\"")]);
            }
        }
        assert_eq!(serving_version(), serving);
    }

    #[pg_test]
    fn numbers_in_fields_navigation_does_not_read_are_passed_over_unexpanded() {
        let chapter = key("chapter", "c");
        let document = course().to_string().replacen(
            &format!("\"{chapter}\":{{"),
            &format!("\"{chapter}\":{{\"weight\":1e131071,\"grading\":[1e131071,{{\"x\":-1e-16383}}],"),
            1,
        );
        assert_eq!(error_of(&rebuild_statement(&document)), "no error");
        // The stored document keeps the number as it came.
        let kept = Spi::get_one::<bool>(
            "SELECT bool_or(document::text LIKE '%\"weight\": 1000%') FROM coursenav.block_chunks",
        )
        .unwrap();
        assert_eq!(kept, Some(true));
    }

    #[pg_test]
    fn a_root_that_is_a_number_beyond_a_double_is_not_read_as_a_missing_root() {
        let document =
            course().to_string().replacen(&format!("\"root\":\"{}\"", key("course", "course")), "\"root\":1e400", 1);
        assert!(document.contains("1e400"));
        assert_error(&rebuild_statement(&document), "22023", &[COURSE, "\"root\" must be a block id"]);
    }

    #[pg_test]
    fn numbers_are_read_from_their_stored_digits_as_a_json_parser_reads_their_text() {
        let numbers = [
            "0",
            "1",
            "-1",
            "2.5",
            "1.0",
            "0.000001",
            "1e300",
            "-1e-300",
            "123456789.123456789",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
            "123456789012345678901234567890",
            "3.14159265358979323846264338327950288",
            "1.7976931348623157e308",
            "5e-324",
            "0.1",
            "100000000",
            "99999999999999999999",
        ];
        let text = format!("[{}]", numbers.join(","));
        let expected: Value = serde_json::from_str(&text).unwrap();
        let read = Spi::connect(|client| {
            let rows = client.select(&format!("SELECT {}::jsonb", quote(&text)), Some(1), &[])?;
            let value = rows.first().get_one::<JsonbValue>()?.expect("a jsonb");
            let read: Value = serde::Deserialize::deserialize(&mut value.reader()).unwrap();
            Ok::<_, pgrx::spi::Error>(read)
        })
        .unwrap();
        assert_eq!(read, expected);
    }

    #[pg_test]
    fn dates_postgresql_would_refuse_or_misorder_are_refused_naming_the_block() {
        let chapter = key("chapter", "c");
        for date in ["0000-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00", "2030-01-01T00:00:00+16:00"] {
            let mut document = course();
            document["blocks"][&chapter]["start"] = json!(date);
            assert_error(&rebuild_statement(&document.to_string()), "22023", &[&chapter, "\"start\"", date]);
        }
        // The edges that are taken: coursenav.blocks reads them as timestamptz.
        let mut document = course();
        document["blocks"][&chapter]["start"] = json!("0001-01-01T00:00:00Z");
        document["blocks"][&chapter]["due"] = json!("9999-12-31T18:59:59-05:00");
        Spi::run(&rebuild_statement(&document.to_string())).unwrap();
        let read = Spi::get_two::<String, String>(&format!(
            "SELECT to_char(start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), to_char(due AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
               FROM coursenav.blocks WHERE usage_key = {}",
            quote(&chapter)
        ))
        .unwrap();
        assert_eq!(read, (Some("0001-01-01 00:00:00".into()), Some("9999-12-31 23:59:59".into())));
    }

    fn publish_statement(overview: &str) -> String {
        format!("SELECT coursenav.publish_course({}, 'v1', {}::jsonb)", quote(COURSE), quote(overview))
    }

    #[pg_test]
    fn bad_overview_dates_are_22023_naming_the_course_and_field() {
        for (field, date) in [
            ("start", "9999-12-31T23:00:00-05:00"),
            ("end", "0000-01-01T00:00:00Z"),
            ("enrollment_start", "2030-01-01T00:00:00-16:00"),
        ] {
            let overview = json!({ field: date }).to_string();
            assert_error(&publish_statement(&overview), "22023", &[COURSE, &format!("\"{field}\""), date]);
        }
        assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM coursenav.course_overviews").unwrap(), Some(0));
    }

    #[pg_test]
    fn overview_fields_not_read_are_passed_over_whatever_they_hold() {
        let deep = format!("{}1{}", "[".repeat(1000), "]".repeat(1000));
        let overview = format!(r#"{{"pacing": 1e400, "tiny": 1e-400, "tabs": {deep}, "display_name": "Demo"}}"#);
        assert_eq!(error_of(&publish_statement(&overview)), "no error");
        let name = Spi::get_one::<String>("SELECT display_name FROM coursenav.course_overviews").unwrap();
        assert_eq!(name.as_deref(), Some("Demo"));
    }

    #[pg_test]
    fn bad_overview_fields_are_22023_naming_the_course_never_xx000() {
        let deep = format!("{}1{}", "[".repeat(1000), "]".repeat(1000));
        for (overview, needle) in [
            (r#"{"start": 1e400}"#.to_string(), "\"start\""),
            (r#"{"self_paced": -1e-400}"#.to_string(), "\"self_paced\""),
            (format!(r#"{{"display_name": {deep}}}"#), "\"display_name\" must be a string or null, not an array"),
            (format!(r#"{{"course_image_url": "{}"}}"#, "u".repeat(2 << 20)), "at most 16384 bytes"),
            ("1e400".to_string(), "expected a JSON object"),
            (r#"[1, 2]"#.to_string(), "expected a JSON object"),
        ] {
            let error = error_of(&publish_statement(&overview));
            assert!(error.starts_with("22023: ") && error.contains(COURSE) && error.contains(needle), "{error}");
            assert!(error.len() < 600, "the message echoes the input: {} bytes", error.len());
        }
        assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM coursenav.publish_log").unwrap(), Some(0));
    }

    #[pg_test]
    fn a_display_name_longer_than_a_field_may_hold_is_refused_naming_the_block() {
        let chapter = key("chapter", "c");
        let mut document = course();
        document["blocks"][&chapter]["display_name"] = json!("n".repeat(3 << 20));
        let error = error_of(&rebuild_statement(&document.to_string()));
        assert!(
            error.starts_with("22023: ") && error.contains(&chapter) && error.contains("at most 16384 bytes"),
            "{}",
            &error[..200.min(error.len())]
        );
    }

    /// Whether the blocks add_blocks parsed for chunk 1 of rebuild `id` are
    /// handed to the completion for the row stored now.
    fn handed_over(id: i64) -> bool {
        let version = Spi::get_one::<String>(&format!(
            "SELECT {ROW_VERSION} FROM coursenav.block_chunks WHERE rebuild_id = {id} AND chunk_no = 1"
        ))
        .unwrap()
        .unwrap();
        parsed_chunks::holds(&ChunkRow { rebuild_id: id, chunk_no: 1, version })
    }

    /// Adds `course()` to a new rebuild, then lets `rewrite` change the stored
    /// chunk in the same transaction, then completes.
    fn complete_after_rewrite(rewrite: impl Fn(i64, &str), handed: bool) -> String {
        let id = begin("v1");
        Spi::run(&format!("SELECT coursenav.add_blocks({id}, {}::jsonb)", quote(&course().to_string()))).unwrap();
        assert!(handed_over(id), "the chunk add_blocks stored is known by its row version");
        let mut cycle = course();
        // A cycle, and a child with no block.
        cycle["blocks"][key("vertical", "v")]["children"] = json!([key("chapter", "c"), key("html", "ghost")]);
        rewrite(id, &cycle.to_string());
        assert_eq!(handed_over(id), handed);
        error_of(&format!("SELECT coursenav.complete_rebuild({id})"))
    }

    #[pg_test]
    fn a_chunk_updated_before_completion_is_read_as_stored() {
        let error = complete_after_rewrite(
            |id, document| {
                Spi::run(&format!(
                    "UPDATE coursenav.block_chunks SET document = {}::jsonb WHERE rebuild_id = {id} AND chunk_no = 1",
                    quote(document)
                ))
                .unwrap();
            },
            false,
        );
        assert!(error.starts_with("23514: ") && error.contains(COURSE), "{error}");
        assert_eq!(serving_version(), None);
    }

    #[pg_test]
    fn a_chunk_deleted_and_inserted_again_with_its_number_is_read_as_stored() {
        let error = complete_after_rewrite(
            |id, document| {
                Spi::run(&format!("DELETE FROM coursenav.block_chunks WHERE rebuild_id = {id} AND chunk_no = 1"))
                    .unwrap();
                Spi::run(&format!(
                    "INSERT INTO coursenav.block_chunks (course_id, rebuild_id, chunk_no, block_count, document)
                 VALUES ({}, {id}, 1, 4, {}::jsonb)",
                    quote(COURSE),
                    quote(document)
                ))
                .unwrap();
                let number = Spi::get_one::<i32>(&format!(
                    "SELECT chunk_no FROM coursenav.block_chunks WHERE rebuild_id = {id}"
                ));
                assert_eq!(number.unwrap(), Some(1));
            },
            false,
        );
        assert!(error.starts_with("23514: ") && error.contains(COURSE), "{error}");
        assert_eq!(serving_version(), None);
    }

    #[pg_test]
    fn a_chunk_left_as_stored_is_still_handed_over_and_serves() {
        let error = complete_after_rewrite(|_, _| {}, true);
        assert_eq!(error, "no error");
        assert!(serving_version().is_some());
    }
}
