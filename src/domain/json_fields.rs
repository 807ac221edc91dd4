//! Typed reads of optional fields of a JSON object, shared by the readers
//! of Open edX documents (course blocks, course overviews). A missing field
//! and `null` mean the same; a value of the wrong type is refused with a
//! phrase saying what was expected, which the caller puts in a message that
//! names the course or block at fault.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

/// What a field must be, as in "field \"start\" must be {Expected}".
pub type Expected = String;

pub fn optional_string(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, Expected> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err("a string or null".into()),
    }
}

pub fn flag(fields: &Map<String, Value>, name: &str) -> Result<bool, Expected> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err("true, false or null".into()),
    }
}

/// An RFC 3339 date, normalised to UTC to the second
/// (`2030-01-01T00:00:00Z`): Postgres always accepts it, and dates compare
/// as text.
pub fn optional_date(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, Expected> {
    let Some(text) = optional_string(fields, name)? else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|d| Some(d.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Secs, true)))
        .map_err(|_| format!("an RFC 3339 date, not \"{text}\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn missing_and_null_are_the_same() {
        let f = fields(json!({"a": null}));
        assert_eq!(optional_string(&f, "a"), Ok(None));
        assert_eq!(optional_string(&f, "b"), Ok(None));
        assert_eq!(flag(&f, "a"), Ok(false));
        assert_eq!(optional_date(&f, "b"), Ok(None));
    }

    #[test]
    fn dates_are_normalised_to_utc_seconds() {
        let f = fields(json!({"start": "2030-01-01T02:00:00.5+02:00", "due": "soon"}));
        assert_eq!(optional_date(&f, "start"), Ok(Some("2030-01-01T00:00:00Z".into())));
        assert_eq!(optional_date(&f, "due"), Err("an RFC 3339 date, not \"soon\"".into()));
    }

    #[test]
    fn wrong_types_say_what_was_expected() {
        let f = fields(json!({"name": 3, "graded": "yes"}));
        assert_eq!(optional_string(&f, "name"), Err("a string or null".into()));
        assert_eq!(flag(&f, "graded"), Err("true, false or null".into()));
    }
}
