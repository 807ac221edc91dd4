//! Course key checks callable from SQL.

use crate::pg::errors::{required, OrRaise};
use coursenav_domain::keys::CourseKey;
use pgrx::prelude::*;

/// Raises invalid_parameter_value unless `course_id` is a valid course key;
/// returns it unchanged so SQL can use it inline.
#[pg_extern(immutable, parallel_safe)]
#[search_path(pg_catalog, pg_temp)]
fn assert_course_key(course_id: Option<&str>) -> &str {
    let course_id = required(course_id, "course_id", "assert_course_key");
    CourseKey::parse(course_id).or_raise();
    course_id
}
