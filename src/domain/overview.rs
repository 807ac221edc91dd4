//! Reads the course-owned part of a course overview from the JSON a publish
//! sends (Open edX's `CourseOverview` field names), checking each field's
//! type and naming the course when one is wrong.
//!
//! Only course-owned fields are read. The catalog-owned ones
//! (`marketing_url`, `eligible_for_financial_aid`, the catalog's language)
//! are written by the catalog sync alone, so they are ignored here even when
//! a publisher sends them: a publish must never undo a sync. Other unknown
//! fields are ignored too, so a publisher may send its whole overview.

use crate::json_fields::{self, FieldError, FieldSeed, FieldValue, KeySeed, Stop};
use crate::keys::CourseKey;
use crate::problem::{Problem, ProblemKind};
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The course-owned fields of one overview, ready to be written. Dates are
/// RFC 3339 in UTC to the second, which Postgres always accepts.
///
/// Each field is the `coursenav.course_overviews` column of its name: the
/// shell writes the struct as one jsonb record (`jsonb_populate_record`),
/// so a new course-owned field is this struct, the column and a test (see
/// the README, "Adding a field"). A #[pg_test] pins every field to a column.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
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

/// The fields read; every other field of an overview is passed over unread.
const FIELDS: [&str; 14] = [
    "id",
    "display_name",
    "start",
    "end",
    "enrollment_start",
    "enrollment_end",
    "self_paced",
    "language",
    "course_image_url",
    "short_description",
    "effort",
    "invitation_only",
    "visible_to_staff_only",
    "social_sharing_url",
];

/// The overview's fields, each taken out as it is checked.
struct Fields<'a> {
    course: &'a CourseKey,
    values: [Option<FieldValue>; FIELDS.len()],
}

impl Fields<'_> {
    fn take(&mut self, name: &str) -> Option<FieldValue> {
        self.values[FIELDS.iter().position(|known| *known == name).expect("an overview field")].take()
    }

    fn checked<T>(&mut self, name: &str, check: fn(Option<FieldValue>) -> Result<T, FieldError>) -> Result<T, Problem> {
        let at = format!("course \"{}\": bad overview", self.course);
        check(self.take(name)).map_err(|e| e.problem(&at, name))
    }
}

/// An overview whose `id`, when given, must be the course being published:
/// an overview sent to the wrong course is refused, not stored.
fn check_id(course: &CourseKey, id: Option<FieldValue>) -> Result<(), Problem> {
    match id {
        None | Some(FieldValue::Null) => Ok(()),
        Some(FieldValue::Text(id)) if id == course.to_string() => Ok(()),
        Some(other) => Err(bad(course, format!("its \"id\" {} names another course", other.described()))),
    }
}

/// Parses an overview from JSON text (see `read_overview`).
pub fn parse_overview(course: &CourseKey, text: &str) -> Result<Overview, Problem> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let overview = read_overview(course, &mut reader)?;
    reader.end().map_err(|_| not_an_object(course))?;
    Ok(overview)
}

fn not_an_object(course: &CourseKey) -> Problem {
    bad(course, "expected a JSON object of overview fields")
}

/// Reads the overview a publish of `course` sent, from any serde source of
/// JSON (the binary jsonb form in the database), one field at a time: the
/// fields read are checked as `json_fields` checks them (strings of at most
/// `MAX_TEXT_BYTES`, dates PostgreSQL takes as they are meant), and every
/// other field is passed over unread, however deep or large. Every refusal
/// names the course. Organisation, number and run always come from the
/// course key, as Open edX derives them.
pub fn read_overview<'de, D: Deserializer<'de>>(course: &CourseKey, source: D) -> Result<Overview, Problem> {
    let stop = Stop::new();
    let read = source.deserialize_any(OverviewVisitor { course, stop: &stop });
    if let Some(problem) = stop.take() {
        return Err(problem);
    }
    let values = read.map_err(|_| not_an_object(course))?;
    let mut f = Fields { course, values };
    check_id(course, f.take("id"))?;
    Ok(Overview {
        org: course.org().to_string(),
        number: course.number().to_string(),
        run: course.run().to_string(),
        display_name: f.checked("display_name", json_fields::optional_string)?,
        start: f.checked("start", json_fields::optional_date)?,
        end: f.checked("end", json_fields::optional_date)?,
        enrollment_start: f.checked("enrollment_start", json_fields::optional_date)?,
        enrollment_end: f.checked("enrollment_end", json_fields::optional_date)?,
        self_paced: f.checked("self_paced", json_fields::flag)?,
        language: f.checked("language", json_fields::optional_string)?,
        course_image_url: f.checked("course_image_url", json_fields::optional_string)?,
        short_description: f.checked("short_description", json_fields::optional_string)?,
        effort: f.checked("effort", json_fields::optional_string)?,
        invitation_only: f.checked("invitation_only", json_fields::flag)?,
        visible_to_staff_only: f.checked("visible_to_staff_only", json_fields::flag)?,
        social_sharing_url: f.checked("social_sharing_url", json_fields::optional_string)?,
    })
}

struct OverviewVisitor<'a> {
    course: &'a CourseKey,
    stop: &'a Stop,
}

impl OverviewVisitor<'_> {
    fn not_an_object<T, E: serde::de::Error>(self) -> Result<T, E> {
        Err(self.stop.stop(not_an_object(self.course)))
    }
}

impl<'de> Visitor<'de> for OverviewVisitor<'_> {
    type Value = [Option<FieldValue>; FIELDS.len()];

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object of overview fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values: Self::Value = Default::default();
        while let Some(name) = map.next_key_seed(KeySeed)? {
            let name = name.as_str();
            match FIELDS.iter().position(|known| *known == name) {
                Some(slot) => {
                    let value = map.next_value_seed(FieldSeed).map_err(|e| {
                        self.stop.reading(e, |e| bad(self.course, format!("field \"{name}\" holds {e}")))
                    })?;
                    values[slot] = Some(value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(values)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        self.not_an_object()
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.not_an_object()
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.not_an_object()
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.not_an_object()
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.not_an_object()
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        self.not_an_object()
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        self.not_an_object()
    }
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
        let o = parse_overview(&course(), &doc.to_string()).unwrap();
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
        let o = parse_overview(&course(), &doc.to_string()).unwrap();
        assert_eq!(
            o,
            Overview { org: "OpenedX".into(), number: "DemoX".into(), run: "DemoCourse".into(), ..Default::default() }
        );
    }

    #[test]
    fn bad_fields_name_the_course_and_the_field() {
        for (doc, needle) in [
            (json!("text"), "expected a JSON object"),
            (json!([1]), "expected a JSON object"),
            (json!({"display_name": 5}), "\"display_name\" must be a string"),
            (json!({"self_paced": "yes"}), "\"self_paced\" must be true, false or null"),
            (
                json!({"start": "next tuesday"}),
                "\"start\" must be an RFC 3339 date in the years 0001 to 9999, not \"next tuesday\"",
            ),
            (json!({"end": "9999-12-31T23:00:00-05:00"}), "\"end\" must be an RFC 3339 date in the years 0001 to 9999"),
            (json!({"enrollment_start": "0000-06-01T00:00:00Z"}), "\"enrollment_start\" must be"),
            (json!({"enrollment_end": "2030-01-01T00:00:00+16:00"}), "offset beyond"),
            (
                json!({"course_image_url": "u".repeat(20_000)}),
                "\"course_image_url\" must be a string or null of at most 16384 bytes",
            ),
            (
                json!({"social_sharing_url": {"deep": [1, 2]}}),
                "\"social_sharing_url\" must be a string or null, not an object",
            ),
            (json!({"id": "course-v1:Other+DemoX+DemoCourse"}), "names another course"),
        ] {
            let err = parse_overview(&course(), &doc.to_string()).unwrap_err();
            assert_eq!(err.kind, ProblemKind::BadShape);
            assert!(err.message.contains("course \"course-v1:OpenedX+DemoX+DemoCourse\""), "{}", err.message);
            assert!(err.message.contains(needle), "{}", err.message);
        }
    }

    #[test]
    fn a_number_beyond_a_double_in_a_field_read_is_refused_naming_course_and_field() {
        let err = parse_overview(&course(), r#"{"start": 1e400}"#).unwrap_err();
        assert_eq!(err.kind, ProblemKind::BadShape);
        assert!(
            err.message.contains("course \"course-v1:OpenedX+DemoX+DemoCourse\"") && err.message.contains("\"start\""),
            "{}",
            err.message
        );
    }

    #[test]
    fn fields_not_read_are_passed_over_whatever_they_hold() {
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        let text = format!(
            r#"{{"pacing": 1e300, "tabs": {deep}, "notes": "{}", "display_name": "Demo"}}"#,
            "n".repeat(100_000)
        );
        let o = parse_overview(&course(), &text).unwrap();
        assert_eq!(o.display_name.as_deref(), Some("Demo"));
    }
}
