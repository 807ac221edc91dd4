//! Typed reads of optional fields of a JSON object (the field's value, taken
//! out of the object so strings move rather than copy, or None when it is
//! missing), shared by the readers of Open edX documents
//! (course blocks, course overviews). A missing field and `null` mean the same; a value of the wrong type is refused with a
//! phrase saying what was expected, which the caller puts in a message that
//! names the course or block at fault.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

/// What a field must be, as in "field \"start\" must be {Expected}".
pub type Expected = String;

pub fn optional_string(field: Option<Value>) -> Result<Option<String>, Expected> {
    match field {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err("a string or null".into()),
    }
}

pub fn flag(field: Option<Value>) -> Result<bool, Expected> {
    match field {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(_) => Err("true, false or null".into()),
    }
}

/// An RFC 3339 date, normalised to UTC to the second
/// (`2030-01-01T00:00:00Z`): Postgres always accepts it, and dates compare
/// as text.
pub fn optional_date(field: Option<Value>) -> Result<Option<String>, Expected> {
    let Some(text) = optional_string(field)? else {
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

    #[test]
    fn missing_and_null_are_the_same() {
        let null = json!(null);
        assert_eq!(optional_string(Some(null.clone())), Ok(None));
        assert_eq!(optional_string(None), Ok(None));
        assert_eq!(flag(Some(null)), Ok(false));
        assert_eq!(optional_date(None), Ok(None));
    }

    #[test]
    fn dates_are_normalised_to_utc_seconds() {
        let (start, due) = (json!("2030-01-01T02:00:00.5+02:00"), json!("soon"));
        assert_eq!(optional_date(Some(start)), Ok(Some("2030-01-01T00:00:00Z".into())));
        assert_eq!(optional_date(Some(due)), Err("an RFC 3339 date, not \"soon\"".into()));
    }

    #[test]
    fn wrong_types_say_what_was_expected() {
        let (number, word) = (json!(3), json!("yes"));
        assert_eq!(optional_string(Some(number)), Err("a string or null".into()));
        assert_eq!(flag(Some(word)), Err("true, false or null".into()));
    }
}
