//! One owner per rule: where a list lives in the core and SQL must agree
//! with it, these `#[pg_test]`s pin the SQL side (CHECK constraints, view
//! and table columns) to the Rust side, so changing one without the other
//! fails here by name.

#[pgrx::pg_schema]
mod tests {
    use crate::pg::records::columns;
    use crate::pg::sql_checks::{quote, texts};
    use coursenav_domain::catalog_page::CATALOG_FIELDS;
    use coursenav_domain::catalog_walk::Status;
    use coursenav_domain::course_blocks::NAVIGATION_FIELDS;
    use coursenav_domain::overview::Overview;
    use coursenav_domain::rebuild::RebuildStatus;
    use coursenav_domain::testing::usage_key;
    use pgrx::prelude::*;
    use serde_json::json;

    /// The values a CHECK constraint on `table` allows, in its order.
    fn allowed_by_check(table: &str) -> Vec<String> {
        texts(&format!(
            "SELECT m[1] FROM pg_constraint c, regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''::text', 'g') m
              WHERE c.conrelid = {}::regclass AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%status%'",
            quote(table)
        ))
    }

    fn columns_of(relation: &str) -> Vec<String> {
        texts(&format!(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = {}::regclass AND attnum > 0 AND NOT attisdropped",
            quote(relation)
        ))
    }

    #[pg_test]
    fn the_rebuild_statuses_are_the_ones_the_table_allows() {
        let core: Vec<&str> = RebuildStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(allowed_by_check("coursenav.block_structures"), core);
    }

    #[pg_test]
    fn the_catalog_run_statuses_are_the_ones_the_table_allows() {
        let core: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(allowed_by_check("coursenav.catalog_sync_runs"), core);
    }

    #[pg_test]
    fn every_overview_field_and_catalog_field_is_a_column_of_the_overviews_and_none_is_both() {
        let table = columns_of("coursenav.course_overviews");
        let course_owned: Vec<String> =
            columns(&Overview::default()).into_iter().map(|c| c.trim_matches('"').to_string()).collect();
        for field in course_owned.iter().map(String::as_str).chain(CATALOG_FIELDS) {
            assert!(table.iter().any(|c| c == field), "{field} is not a column of course_overviews: {table:?}");
        }
        for field in CATALOG_FIELDS {
            assert!(!course_owned.iter().any(|c| c == field), "{field} is both course-owned and catalog-owned");
        }
    }

    #[pg_test]
    fn the_blocks_view_has_a_column_for_each_navigation_field_and_keeps_every_other_field() {
        let view = columns_of("coursenav.blocks");
        for field in NAVIGATION_FIELDS {
            let column = match field {
                "id" => "usage_key",
                "type" => "block_type",
                other => other,
            };
            assert!(view.iter().any(|c| c == column), "coursenav.blocks has no column for {field}: {view:?}");
        }
        let course = "course-v1:OpenedX+Fields+2030";
        let root = usage_key(course, "course", "course");
        let mut block = json!({"extra": 1, "children": []});
        for field in NAVIGATION_FIELDS {
            if block.get(field).is_none() {
                block[field] = match field {
                    "id" => json!(root),
                    "type" => json!("course"),
                    "graded" | "visible_to_staff_only" | "hide_from_toc" => json!(false),
                    "start" | "due" => json!("2030-01-01T00:00:00Z"),
                    _ => json!("text"),
                };
            }
        }
        let document = json!({"root": root, "blocks": {root.clone(): block}});
        Spi::run(&format!(
            "SELECT coursenav.rebuild({}, 'fields-v1', {}::jsonb)",
            quote(course),
            quote(&document.to_string())
        ))
        .unwrap();
        let kept = texts(&format!("SELECT fields::text FROM coursenav.blocks WHERE course_id = {}", quote(course)));
        assert_eq!(kept, [r#"{"extra": 1}"#], "the view leaves out exactly the navigation fields");
    }
}
