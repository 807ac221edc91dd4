//! `coursenav_internal.store_overview(course_id, overview)`: called by
//! `publish_course` with the overview a publish sent, read through the same
//! jsonb reader as blocks (every refusal is 22023 naming the course). Upserts the
//! course-owned columns in one statement; the catalog-owned columns are not
//! in the statement at all, so no publish can change them.

use crate::pg::errors::{required, OrRaise};
use crate::pg::jsonb_reader::JsonbValue;
use crate::pg::records::{columns, record};
use coursenav_domain::keys::CourseKey;
use coursenav_domain::overview::{read_overview, Overview};
use pgrx::prelude::*;
use std::sync::OnceLock;

/// The upsert of the course-owned columns: every field of `Overview`, from
/// one jsonb record. Made once per backend from the struct's field names.
fn upsert() -> &'static str {
    static UPSERT: OnceLock<String> = OnceLock::new();
    UPSERT.get_or_init(|| {
        let columns = columns(&Overview::default()).join(", ");
        let updates: Vec<String> = columns.split(", ").map(|column| format!("{column} = excluded.{column}")).collect();
        format!(
            "INSERT INTO coursenav.course_overviews AS o (course_id, {columns})
             SELECT $1, {columns} FROM pg_catalog.jsonb_populate_record(NULL::coursenav.course_overviews, $2)
             ON CONFLICT (course_id) DO UPDATE SET {}, modified = pg_catalog.clock_timestamp()",
            updates.join(", ")
        )
    })
}

#[pg_extern(volatile, parallel_unsafe, schema = "coursenav_internal")]
#[search_path(pg_catalog, pg_temp)]
fn store_overview(course_id: Option<&str>, overview: Option<JsonbValue>) {
    let course_id = required(course_id, "course_id", "store_overview");
    let document = required(overview, "overview", "store_overview");
    let course = CourseKey::parse(course_id).or_raise();
    // Read from jsonb's binary form, as blocks are: no text round trip, no
    // JSON tree, unread fields passed over whatever they hold.
    let parsed = read_overview(&course, &mut document.reader()).or_raise();
    Spi::run_with_args(upsert(), &[course_id.into(), record(&parsed).into()]).or_raise();
}
