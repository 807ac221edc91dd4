//! `coursenav.store_overview(course_id, overview)`: called by
//! `publish_course` with the overview a publish sent, read through the same
//! jsonb reader as blocks (every refusal is 22023 naming the course). Upserts the
//! course-owned columns in one statement; the catalog-owned columns are not
//! in the statement at all, so no publish can change them.

use crate::domain::keys::CourseKey;
use crate::domain::overview::{read_overview, Overview};
use crate::pg::errors::{required, OrRaise};
use crate::pg::jsonb_reader::JsonbValue;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;

const UPSERT: &str = r#"
    INSERT INTO coursenav.course_overviews AS o
           (course_id, org, number, run, display_name, start, "end", enrollment_start, enrollment_end,
            self_paced, language, course_image_url, short_description, effort, invitation_only,
            visible_to_staff_only, social_sharing_url)
    VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7::timestamptz, $8::timestamptz, $9::timestamptz,
            $10, $11, $12, $13, $14, $15, $16, $17)
    ON CONFLICT (course_id) DO UPDATE
       SET org = excluded.org, number = excluded.number, run = excluded.run,
           display_name = excluded.display_name, start = excluded.start, "end" = excluded."end",
           enrollment_start = excluded.enrollment_start, enrollment_end = excluded.enrollment_end,
           self_paced = excluded.self_paced, language = excluded.language,
           course_image_url = excluded.course_image_url, short_description = excluded.short_description,
           effort = excluded.effort, invitation_only = excluded.invitation_only,
           visible_to_staff_only = excluded.visible_to_staff_only,
           social_sharing_url = excluded.social_sharing_url,
           modified = clock_timestamp()"#;

fn arguments(course_id: &str, o: Overview) -> Vec<DatumWithOid<'static>> {
    vec![
        course_id.to_string().into(),
        o.org.into(),
        o.number.into(),
        o.run.into(),
        o.display_name.into(),
        o.start.into(),
        o.end.into(),
        o.enrollment_start.into(),
        o.enrollment_end.into(),
        o.self_paced.into(),
        o.language.into(),
        o.course_image_url.into(),
        o.short_description.into(),
        o.effort.into(),
        o.invitation_only.into(),
        o.visible_to_staff_only.into(),
        o.social_sharing_url.into(),
    ]
}

#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn store_overview(course_id: Option<&str>, overview: Option<JsonbValue>) {
    let course_id = required(course_id, "course_id", "store_overview");
    let document = required(overview, "overview", "store_overview");
    let course = CourseKey::parse(course_id).or_raise();
    // Read from jsonb's binary form, as blocks are: no text round trip, no
    // JSON tree, unread fields passed over whatever they hold.
    let parsed = read_overview(&course, &mut document.reader()).or_raise();
    Spi::run_with_args(UPSERT, &arguments(course_id, parsed)).or_raise();
}
