//! Reads the course-owned part of a course overview from the JSON a publish
//! sends (Open edX's `CourseOverview` field names), checking each field's
//! type and naming the course when one is wrong.
//!
//! Only course-owned fields are read. The catalog-owned ones
//! (`marketing_url`, `eligible_for_financial_aid`, the catalog's language)
//! are written by the catalog sync alone, so they are ignored here even when
//! a publisher sends them: a publish must never undo a sync. Other unknown
//! fields are ignored too, so a publisher may send its whole overview.

use crate::domain::json_fields;
use crate::domain::keys::CourseKey;
use crate::domain::problem::{Problem, ProblemKind};
use serde_json::{Map, Value};

/// The course-owned fields of one overview, ready to be written. Dates are
/// RFC 3339 in UTC to the second, which Postgres always accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Overview {
    pub org: String,
    pub number: String,
    pub run: String,
    pub display_name: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub enrollment_start: Option<String>,
    pub enrollment_end: Option<String>,
    pub self_paced: bool,
    pub language: Option<String>,
    pub course_image_url: Option<String>,
    pub short_description: Option<String>,
    pub effort: Option<String>,
    pub invitation_only: bool,
    pub visible_to_staff_only: bool,
    pub social_sharing_url: Option<String>,
}

fn bad(course: &CourseKey, what: impl std::fmt::Display) -> Problem {
    Problem::new(ProblemKind::BadShape, format!("course \"{course}\": bad overview: {what}"))
}

/// The overview's fields, each taken out as it is read.
struct Fields<'a> {
    course: &'a CourseKey,
    map: Map<String, Value>,
}

impl Fields<'_> {
    fn wrong(&self, name: &str) -> impl Fn(json_fields::Expected) -> Problem + '_ {
        let name = name.to_string();
        move |expected| bad(self.course, format!("field \"{name}\" must be {expected}"))
    }

    fn text(&mut self, name: &str) -> Result<Option<String>, Problem> {
        json_fields::optional_string(self.map.remove(name)).map_err(self.wrong(name))
    }

    fn flag(&mut self, name: &str) -> Result<bool, Problem> {
        json_fields::flag(self.map.remove(name)).map_err(self.wrong(name))
    }

    fn date(&mut self, name: &str) -> Result<Option<String>, Problem> {
        json_fields::optional_date(self.map.remove(name)).map_err(self.wrong(name))
    }
}

/// An overview whose `id`, when given, must be the course being published:
/// an overview sent to the wrong course is refused, not stored.
fn check_id(course: &CourseKey, map: &Map<String, Value>) -> Result<(), Problem> {
    match map.get("id") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(id)) if *id == course.to_string() => Ok(()),
        Some(other) => Err(bad(course, format!("its \"id\" {other} names another course"))),
    }
}

/// Parses the overview a publish of `course` sent. Organisation, number and
/// run always come from the course key, as Open edX derives them.
pub fn parse_overview(course: &CourseKey, document: Value) -> Result<Overview, Problem> {
    let Value::Object(map) = document else {
        return Err(bad(course, format!("expected a JSON object of overview fields, not {document}")));
    };
    check_id(course, &map)?;
    let mut f = Fields { course, map };
    Ok(Overview {
        org: course.org().to_string(),
        number: course.number().to_string(),
        run: course.run().to_string(),
        display_name: f.text("display_name")?,
        start: f.date("start")?,
        end: f.date("end")?,
        enrollment_start: f.date("enrollment_start")?,
        enrollment_end: f.date("enrollment_end")?,
        self_paced: f.flag("self_paced")?,
        language: f.text("language")?,
        course_image_url: f.text("course_image_url")?,
        short_description: f.text("short_description")?,
        effort: f.text("effort")?,
        invitation_only: f.flag("invitation_only")?,
        visible_to_staff_only: f.flag("visible_to_staff_only")?,
        social_sharing_url: f.text("social_sharing_url")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn course() -> CourseKey {
        CourseKey::parse("course-v1:OpenedX+DemoX+DemoCourse").unwrap()
    }

    #[test]
    fn reads_the_course_owned_fields_and_takes_org_number_run_from_the_key() {
        let doc = json!({
            "id": "course-v1:OpenedX+DemoX+DemoCourse",
            "display_name": "Demo", "start": "2030-01-15T12:00:00+02:00", "end": null,
            "self_paced": true, "language": "en", "effort": "4 hours",
            "social_sharing_url": "https://social.example/demo", "org": "Ignored"
        });
        let o = parse_overview(&course(), doc).unwrap();
        assert_eq!((o.org.as_str(), o.number.as_str(), o.run.as_str()), ("OpenedX", "DemoX", "DemoCourse"));
        assert_eq!(o.display_name.as_deref(), Some("Demo"));
        assert_eq!(o.start.as_deref(), Some("2030-01-15T10:00:00Z"));
        assert_eq!(o.end, None);
        assert!(o.self_paced && !o.invitation_only && !o.visible_to_staff_only);
        assert_eq!(o.social_sharing_url.as_deref(), Some("https://social.example/demo"));
    }

    #[test]
    fn catalog_owned_fields_in_a_publish_are_not_read() {
        let doc = json!({"marketing_url": "https://evil.example", "eligible_for_financial_aid": false});
        let o = parse_overview(&course(), doc).unwrap();
        assert_eq!(o, Overview { org: "OpenedX".into(), number: "DemoX".into(), run: "DemoCourse".into(), ..Default::default() });
    }

    #[test]
    fn bad_fields_name_the_course_and_the_field() {
        for (doc, needle) in [
            (json!("text"), "expected a JSON object"),
            (json!([1]), "expected a JSON object"),
            (json!({"display_name": 5}), "\"display_name\" must be a string"),
            (json!({"self_paced": "yes"}), "\"self_paced\" must be true, false or null"),
            (json!({"start": "next tuesday"}), "\"start\" must be an RFC 3339 date, not \"next tuesday\""),
            (json!({"id": "course-v1:Other+DemoX+DemoCourse"}), "names another course"),
        ] {
            let err = parse_overview(&course(), doc).unwrap_err();
            assert_eq!(err.kind, ProblemKind::BadShape);
            assert!(err.message.contains("course \"course-v1:OpenedX+DemoX+DemoCourse\""), "{}", err.message);
            assert!(err.message.contains(needle), "{}", err.message);
        }
    }
}
