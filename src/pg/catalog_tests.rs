//! `#[pg_test]`s for course overviews, the about-page link, delete_course
//! and the catalog sync's failures that need no catalog server. Real HTTP,
//! pg_cron and several sessions are in tests/blackbox/catalog.rs.

#[pgrx::pg_schema]
mod tests {
    use crate::pg::sql_checks::{error_of, quote};
    use pgrx::prelude::*;
    use serde_json::json;

    const COURSE: &str = "course-v1:OpenedX+DemoX+DemoCourse";

    fn publish(course: &str, version: &str, overview: serde_json::Value) {
        Spi::run(&format!(
            "SELECT coursenav.publish_course({}, {}, {}::jsonb)",
            quote(course),
            quote(version),
            quote(&overview.to_string())
        ))
        .unwrap();
    }

    fn text(query: &str) -> Option<String> {
        Spi::get_one::<String>(query).unwrap()
    }

    fn about(course: &str) -> Option<String> {
        text(&format!("SELECT coursenav.course_about_url({})", quote(course)))
    }

    /// What the catalog sync writes, written directly.
    fn sync_marketing_url(course: &str, url: &str) {
        Spi::run(&format!(
            "UPDATE coursenav.course_overviews SET marketing_url = {}, eligible_for_financial_aid = false,
                    content_language = 'fr', catalog_synced_at = now() WHERE course_id = {}",
            quote(url),
            quote(course)
        ))
        .unwrap();
    }

    #[pg_test]
    fn a_publish_keeps_what_the_catalog_synced() {
        publish(COURSE, "v1", json!({"display_name": "Demo", "start": "2030-01-01T00:00:00Z", "self_paced": true}));
        let row = Spi::get_three::<String, String, String>(&format!(
            "SELECT org, number, run FROM coursenav.course_overviews WHERE course_id = {}",
            quote(COURSE)
        ))
        .unwrap();
        assert_eq!(row, (Some("OpenedX".into()), Some("DemoX".into()), Some("DemoCourse".into())));
        sync_marketing_url(COURSE, "https://www.example.org/course/demo");

        // Today's publish sends a new overview, even one naming catalog fields.
        publish(
            COURSE,
            "v2",
            json!({"display_name": "Demo, second edition", "self_paced": false,
                                      "marketing_url": "https://publisher.example/wrong",
                                      "eligible_for_financial_aid": true}),
        );
        let kept = Spi::get_three::<String, bool, String>(&format!(
            "SELECT marketing_url, eligible_for_financial_aid, content_language FROM coursenav.course_overviews
              WHERE course_id = {}",
            quote(COURSE)
        ))
        .unwrap();
        assert_eq!(kept, (Some("https://www.example.org/course/demo".into()), Some(false), Some("fr".into())));
        let course_owned = Spi::get_three::<String, bool, bool>(&format!(
            "SELECT display_name, self_paced, start IS NULL FROM coursenav.course_overviews WHERE course_id = {}",
            quote(COURSE)
        ))
        .unwrap();
        assert_eq!(course_owned, (Some("Demo, second edition".into()), Some(false), Some(true)));
        let rows = Spi::get_one::<i64>("SELECT count(*) FROM coursenav.course_overviews").unwrap();
        assert_eq!(rows, Some(1));
        // A publish without an overview leaves the overview alone.
        Spi::run(&format!("SELECT coursenav.publish_course({}, 'v3')", quote(COURSE))).unwrap();
        assert_eq!(
            text(&format!("SELECT display_name FROM coursenav.course_overviews WHERE course_id = {}", quote(COURSE))),
            Some("Demo, second edition".into())
        );
        assert_eq!(
            text(&format!(
                "SELECT published_version FROM coursenav.course_versions WHERE course_id = {}",
                quote(COURSE)
            )),
            Some("v3".into())
        );
    }

    #[pg_test]
    fn a_bad_overview_names_the_course_and_records_nothing() {
        for (overview, needle) in [
            (json!(["not", "an", "object"]), "expected a JSON object"),
            (json!({"start": "tomorrow"}), "\"start\" must be an RFC 3339 date"),
            (json!({"invitation_only": "yes"}), "\"invitation_only\""),
        ] {
            let error = error_of(&format!(
                "SELECT coursenav.publish_course({}, 'v1', {}::jsonb)",
                quote(COURSE),
                quote(&overview.to_string())
            ));
            assert!(error.starts_with("22023: "), "{error}");
            assert!(error.contains(COURSE) && error.contains(needle), "{error}");
        }
        assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM coursenav.publish_log").unwrap(), Some(0));
        assert_eq!(Spi::get_one::<i64>("SELECT count(*) FROM coursenav.course_overviews").unwrap(), Some(0));
    }

    #[pg_test]
    fn the_about_url_follows_the_priority_rules() {
        Spi::run("SET LOCAL coursenav.lms_root_url = 'https://lms.example/'").unwrap();
        publish(COURSE, "v1", json!({"social_sharing_url": "https://social.example/demo"}));
        sync_marketing_url(COURSE, "https://www.example.org/course/demo");
        let lms = format!("https://lms.example/courses/{COURSE}/about");

        assert_eq!(about(COURSE), Some(lms.clone()), "both switches are off by default");
        Spi::run("SET LOCAL coursenav.enable_marketing_site = on").unwrap();
        assert_eq!(about(COURSE).as_deref(), Some("https://www.example.org/course/demo"));
        Spi::run("SET LOCAL coursenav.enable_custom_course_urls = on").unwrap();
        assert_eq!(about(COURSE).as_deref(), Some("https://social.example/demo"));
        // Without a social sharing URL the marketing URL serves, then the LMS.
        publish(COURSE, "v2", json!({}));
        assert_eq!(about(COURSE).as_deref(), Some("https://www.example.org/course/demo"));
        Spi::run("SET LOCAL coursenav.enable_marketing_site = off").unwrap();
        assert_eq!(about(COURSE), Some(lms));

        assert_eq!(about("course-v1:Nobody+Knows+This"), None, "an unknown course has no link");
        let error = error_of("SELECT coursenav.course_about_url('not-a-course')");
        assert!(error.starts_with("22023: ") && error.contains("not-a-course"), "{error}");
    }

    #[pg_test]
    fn a_ccx_course_takes_its_parents_marketing_url() {
        Spi::run("SET LOCAL coursenav.lms_root_url = 'https://lms.example'").unwrap();
        Spi::run("SET LOCAL coursenav.enable_marketing_site = on").unwrap();
        let ccx = "ccx-v1:OpenedX+DemoX+DemoCourse+ccx@4";
        publish(COURSE, "v1", json!({}));
        sync_marketing_url(COURSE, "https://www.example.org/course/demo");
        assert_eq!(about(ccx).as_deref(), Some("https://www.example.org/course/demo"));
        publish(ccx, "c1", json!({"display_name": "Demo for my class"}));
        assert_eq!(about(ccx).as_deref(), Some("https://www.example.org/course/demo"));
        let ccx_org = text(&format!(
            "SELECT org || '/' || number || '/' || run FROM coursenav.course_overviews WHERE course_id = {}",
            quote(ccx)
        ));
        assert_eq!(ccx_org.as_deref(), Some("OpenedX/DemoX/DemoCourse"));
        Spi::run("SET LOCAL coursenav.enable_marketing_site = off").unwrap();
        assert_eq!(about(ccx), Some(format!("https://lms.example/courses/{ccx}/about")));
        assert_eq!(about("ccx-v1:OpenedX+Other+Run+ccx@1"), None);
    }

    #[pg_test]
    fn delete_course_removes_everything_of_that_course_only() {
        let blocks = json!({"root": "block-v1:OpenedX+DemoX+DemoCourse+type@course+block@course", "blocks": {
            "block-v1:OpenedX+DemoX+DemoCourse+type@course+block@course": {"type": "course", "children": []}}});
        let other = "course-v1:OpenedX+Other+Run";
        let other_blocks = json!({"root": "block-v1:OpenedX+Other+Run+type@course+block@course", "blocks": {
            "block-v1:OpenedX+Other+Run+type@course+block@course": {"type": "course", "children": []}}});
        for (course, blocks) in [(COURSE, &blocks), (other, &other_blocks)] {
            publish(course, "v1", json!({"display_name": course}));
            Spi::run(&format!(
                "SELECT coursenav.rebuild({}, 'v1', {}::jsonb)",
                quote(course),
                quote(&blocks.to_string())
            ))
            .unwrap();
            Spi::run(&format!("SELECT coursenav.begin_rebuild({}, 'v2')", quote(course))).unwrap();
        }
        let tables = [
            "course_overviews",
            "navigation_trees",
            "course_versions",
            "version_history",
            "blocks",
            "block_structures",
            "publish_log",
        ];
        let count = |course: &str| -> i64 {
            tables
                .iter()
                .map(|t| {
                    Spi::get_one::<i64>(&format!(
                        "SELECT count(*) FROM coursenav.{t} WHERE course_id = {}",
                        quote(course)
                    ))
                    .unwrap()
                    .unwrap()
                })
                .sum()
        };
        let other_before = count(other);
        assert!(count(COURSE) >= 8);
        assert_eq!(
            Spi::get_one::<bool>(&format!("SELECT coursenav.delete_course({})", quote(COURSE))).unwrap(),
            Some(true)
        );
        assert_eq!(count(COURSE), 0);
        assert_eq!(count(other), other_before);
        assert_eq!(text(&format!("SELECT coursenav.navigation_tree({})::text", quote(COURSE))), None);
        assert_eq!(about(COURSE), None);
        assert_eq!(
            Spi::get_one::<bool>(&format!("SELECT coursenav.delete_course({})", quote(COURSE))).unwrap(),
            Some(false)
        );
        // The course can be published again from scratch.
        publish(COURSE, "v1", json!({}));
    }

    #[pg_test]
    fn a_sync_without_settings_is_recorded_as_failed() {
        let run = |_: ()| Spi::get_two::<String, String>("SELECT status, error FROM coursenav.catalog_sync()").unwrap();
        assert_eq!(run(()), (Some("failed".into()), Some("coursenav.catalog_api_url is not set".into())));
        Spi::run("SET LOCAL coursenav.catalog_api_url = 'http://127.0.0.1:9'").unwrap();
        let (status, error) = run(());
        assert_eq!(status.as_deref(), Some("failed"));
        assert!(error.unwrap().contains("coursenav.set_catalog_token"));
        Spi::run("SELECT coursenav.set_catalog_token('tok-123-secret')").unwrap();
        // Nothing listens on the discard port: the connection is refused.
        let (status, error) = run(());
        let error = error.unwrap();
        assert_eq!(status.as_deref(), Some("failed"));
        assert!(error.contains("page 1") && error.contains("cannot reach the catalog"), "{error}");
        assert!(!error.contains("tok-123-secret"));
        let runs = Spi::get_one::<i64>(
            "SELECT count(*) FROM coursenav.catalog_sync_runs WHERE finished_at IS NOT NULL AND status = 'failed'",
        )
        .unwrap();
        assert_eq!(runs, Some(3));
    }

    #[pg_test]
    fn only_the_owner_reads_the_token() {
        Spi::run("CREATE ROLE coursenav_app_reader IN ROLE coursenav_reader, coursenav_writer").unwrap();
        let may = |table: &str| {
            Spi::get_one::<bool>(&format!(
                "SELECT has_table_privilege('coursenav_app_reader', 'coursenav.{table}', 'SELECT')"
            ))
            .unwrap()
            .unwrap()
        };
        assert!(!may("catalog_credentials"));
        assert!(may("course_overviews"));
        let monitor =
            Spi::get_one::<bool>("SELECT has_table_privilege('pg_monitor', 'coursenav.catalog_credentials', 'SELECT')")
                .unwrap();
        assert_eq!(monitor, Some(false));
        let set_token = Spi::get_one::<bool>(
            "SELECT has_function_privilege('coursenav_app_reader', 'coursenav.set_catalog_token(text)', 'EXECUTE')",
        )
        .unwrap();
        assert_eq!(set_token, Some(false));
        let about_url = Spi::get_one::<bool>(
            "SELECT has_function_privilege('coursenav_app_reader', 'coursenav.course_about_url(text)', 'EXECUTE')",
        )
        .unwrap();
        assert_eq!(about_url, Some(true));
    }

    #[pg_test]
    fn scheduling_without_pg_cron_says_how_to_install_it() {
        let error = error_of("SELECT coursenav.schedule_catalog_sync()");
        assert!(error.starts_with("55000: ") && error.contains("pg_cron is not installed"), "{error}");
        let hint = Spi::get_one::<String>(
            "DO $$ BEGIN PERFORM coursenav.schedule_catalog_sync('* * * * *');
               EXCEPTION WHEN OTHERS THEN
                 DECLARE h text; BEGIN GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT; PERFORM set_config('coursenav_test.hint', h, true); END;
             END $$; SELECT current_setting('coursenav_test.hint')",
        );
        let hint = hint.unwrap().unwrap_or_default();
        assert!(hint.contains("shared_preload_libraries") && hint.contains("CREATE EXTENSION pg_cron"), "{hint}");
    }
}
