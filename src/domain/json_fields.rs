//! Typed reads of the fields of Open edX documents (course blocks, course
//! overviews), shared by their readers.
//!
//! A field is read into a `FieldValue`, never into a JSON tree: a string is
//! copied only when it is short enough to be a field and memory for it
//! could be reserved, and arrays and objects (never what a scalar field
//! may be) are passed over without being built. Then the typed functions
//! below check it: a missing field and `null` mean the same; a value of the
//! wrong type is refused with words saying what was expected, which the
//! caller puts in a message that names the course or block at fault.

use crate::problem::{Problem, ProblemKind};
use chrono::{DateTime, Datelike, Duration, FixedOffset, SecondsFormat, Timelike, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The longest text any field may hold, in bytes. A display name, a URL, a
/// language code, an effort or a short description: Open edX's own forms
/// hold far less (Studio's short description is 150 characters, URLs past
/// 8 KiB are refused by common HTTP servers), and every display name is
/// copied into the navigation tree, so a field of many megabytes would make
/// every read of the course that much slower.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// A field as read, before its type is checked.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Null,
    Bool(bool),
    Number,
    Text(String),
    /// A string longer than `MAX_TEXT_BYTES`, left in the document: its length.
    LongText(usize),
    Array,
    Object,
    /// A string whose copy could not be reserved: its length.
    OutOfMemory(usize),
}

impl FieldValue {
    /// What the value is, for "must be X, not Y".
    pub fn described(&self) -> String {
        match self {
            FieldValue::Null => "null".into(),
            FieldValue::Bool(b) => b.to_string(),
            FieldValue::Number => "a number".into(),
            FieldValue::Text(text) => format!("\"{}\"", shown(text)),
            FieldValue::LongText(len) | FieldValue::OutOfMemory(len) => format!("a string of {len} bytes"),
            FieldValue::Array => "an array".into(),
            FieldValue::Object => "an object".into(),
        }
    }
}

/// At most 64 characters of a text, for an error message: a message must
/// not echo kilobytes of input.
pub fn shown(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(64) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}...", &text[..end])),
    }
}

/// Why a field was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    /// What the field must be, and what it was ("a string or null, not 7").
    Wrong(String),
    /// Memory for a string of this many bytes could not be reserved.
    OutOfMemory(usize),
}

impl FieldError {
    /// A problem naming `at` (`block "..."` or `course "...": bad overview`) and the field.
    pub fn problem(self, at: &str, field: &str) -> Problem {
        match self {
            FieldError::Wrong(expected) => {
                Problem::new(ProblemKind::BadShape, format!("{at}: field \"{field}\" must be {expected}"))
            }
            FieldError::OutOfMemory(bytes) => Problem::new(
                ProblemKind::OutOfMemory,
                format!("{at}: no memory could be reserved for the {bytes} bytes of field \"{field}\""),
            ),
        }
    }
}

/// A wrong value, in words: what was expected and what came.
pub fn wrong(expected: &str, value: &FieldValue) -> FieldError {
    match value {
        FieldValue::OutOfMemory(len) => FieldError::OutOfMemory(*len),
        FieldValue::LongText(len) => {
            FieldError::Wrong(format!("{expected} of at most {MAX_TEXT_BYTES} bytes, not a string of {len} bytes"))
        }
        other => FieldError::Wrong(format!("{expected}, not {}", other.described())),
    }
}

pub fn optional_string(field: Option<FieldValue>) -> Result<Option<String>, FieldError> {
    match field {
        None | Some(FieldValue::Null) => Ok(None),
        Some(FieldValue::Text(s)) => Ok(Some(s)),
        Some(other) => Err(wrong("a string or null", &other)),
    }
}

pub fn flag(field: Option<FieldValue>) -> Result<bool, FieldError> {
    match field {
        None | Some(FieldValue::Null) => Ok(false),
        Some(FieldValue::Bool(b)) => Ok(b),
        Some(other) => Err(wrong("true, false or null", &other)),
    }
}

/// PostgreSQL refuses a time zone offset beyond ±15:59 (`time zone
/// displacement out of range`).
const MAX_OFFSET_SECONDS: i32 = 15 * 3600 + 59 * 60;

/// An RFC 3339 date, normalised to UTC to the second
/// (`2030-01-01T00:00:00Z`), so that PostgreSQL's `timestamptz` takes it as
/// the same instant and dates compare correctly as text. Refused, as
/// PostgreSQL would refuse them or read them differently, or as they would
/// sort wrongly as text: a year 0000 (PostgreSQL has no year 0), an offset
/// beyond ±15:59, a date outside the years 0001 to 9999 once in UTC
/// (`9999-12-31T23:00:00-05:00` is in year 10000, written `+10000-...`,
/// which sorts before `2030-...`), and a leap second with a fraction.
/// Fractions are rounded to the microsecond first, as PostgreSQL rounds
/// them, then dropped; a leap second (`:60`) is the next minute, as in
/// PostgreSQL.
pub fn optional_date(field: Option<FieldValue>) -> Result<Option<String>, FieldError> {
    let text = match field {
        None | Some(FieldValue::Null) => return Ok(None),
        Some(FieldValue::Text(text)) => text,
        Some(other) => return Err(wrong("an RFC 3339 date or null", &other)),
    };
    normalised_date(&text).map(Some).map_err(|why| {
        FieldError::Wrong(format!("an RFC 3339 date in the years 0001 to 9999, not \"{}\" ({why})", shown(&text)))
    })
}

fn normalised_date(text: &str) -> Result<String, &'static str> {
    let parsed: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(text).map_err(|_| "not RFC 3339")?;
    if parsed.year() < 1 {
        return Err("PostgreSQL has no year 0");
    }
    if parsed.offset().local_minus_utc().abs() > MAX_OFFSET_SECONDS {
        return Err("an offset beyond ±15:59");
    }
    let nanos = parsed.nanosecond();
    let leap = nanos >= 1_000_000_000;
    let fraction = nanos % 1_000_000_000;
    // PostgreSQL rounds a fraction to the microsecond, half to even (rint).
    let (micros, rest) = (fraction / 1000, fraction % 1000);
    let micros = if rest > 500 || (rest == 500 && micros % 2 == 1) { micros + 1 } else { micros };
    if leap && micros > 0 {
        return Err("a leap second with a fraction");
    }
    let whole = parsed.with_nanosecond(0).ok_or("not RFC 3339")?.with_timezone(&Utc);
    let carried = i64::from(leap) + i64::from(micros == 1_000_000);
    let utc = whole.checked_add_signed(Duration::seconds(carried)).ok_or("out of range")?;
    if !(1..=9999).contains(&utc.year()) {
        return Err("outside the years 0001 to 9999 in UTC");
    }
    Ok(utc.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Reads one field's value into a `FieldValue`.
pub struct FieldSeed;

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = FieldValue;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<FieldValue, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A copy of a field's text, if it is short enough and memory for it
/// could be reserved.
fn copied(text: &str) -> FieldValue {
    if text.len() > MAX_TEXT_BYTES {
        return FieldValue::LongText(text.len());
    }
    let mut copy = String::new();
    match copy.try_reserve_exact(text.len()) {
        Ok(()) => {
            copy.push_str(text);
            FieldValue::Text(copy)
        }
        Err(_) => FieldValue::OutOfMemory(text.len()),
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = FieldValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Null)
    }

    fn visit_none<E>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<FieldValue, E> {
        Ok(FieldValue::Bool(b))
    }

    fn visit_i64<E>(self, _: i64) -> Result<FieldValue, E> {
        Ok(FieldValue::Number)
    }

    fn visit_u64<E>(self, _: u64) -> Result<FieldValue, E> {
        Ok(FieldValue::Number)
    }

    fn visit_f64<E>(self, _: f64) -> Result<FieldValue, E> {
        Ok(FieldValue::Number)
    }

    fn visit_str<E>(self, text: &str) -> Result<FieldValue, E> {
        Ok(copied(text))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FieldValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FieldValue::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(FieldValue::Object)
    }
}

/// An object's key (or any string), borrowed from the document when the
/// source allows it; copied only when short.
#[derive(Debug, Clone, PartialEq)]
pub enum Key<'de> {
    Text(Cow<'de, str>),
    /// A transient string longer than `MAX_TEXT_BYTES`, not copied: its length.
    TooLong(usize),
    /// Not a string at all (an element of an array of ids can be anything).
    NotText,
}

impl Key<'_> {
    /// The key as text, or "" when it is not one (no field or block has that name).
    pub fn as_str(&self) -> &str {
        match self {
            Key::Text(text) => text,
            _ => "",
        }
    }
}

pub struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Key<'de>, E> {
        match copied(text) {
            FieldValue::Text(copy) => Ok(Key::Text(Cow::Owned(copy))),
            _ => Ok(Key::TooLong(text.len())),
        }
    }

    fn visit_string<E>(self, text: String) -> Result<Key<'de>, E> {
        Ok(Key::Text(Cow::Owned(text)))
    }

    fn visit_unit<E>(self) -> Result<Key<'de>, E> {
        Ok(Key::NotText)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Key<'de>, E> {
        Ok(Key::NotText)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Key<'de>, E> {
        Ok(Key::NotText)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Key<'de>, E> {
        Ok(Key::NotText)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Key<'de>, E> {
        Ok(Key::NotText)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Key<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Key::NotText)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Key<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Key::NotText)
    }
}

/// Reads a whole value with `seed` from JSON text (for tests and callers
/// that hold text): the same checks as the binary reader.
pub fn from_text<'de, S: DeserializeSeed<'de>>(seed: S, text: &'de str) -> Result<S::Value, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let value = seed.deserialize(&mut reader)?;
    reader.end()?;
    Ok(value)
}

/// Lets a visitor stop the whole read with a problem (the first wins): the
/// problem keeps its kind and its words, and the reader gives up at once
/// instead of reading on through the rest of a document already refused.
pub struct Stop {
    problem: std::cell::RefCell<Option<Problem>>,
}

impl Stop {
    pub fn new() -> Self {
        Stop { problem: std::cell::RefCell::new(None) }
    }

    /// Records `problem` (unless one was recorded first) and gives the
    /// error that unwinds the read.
    pub fn stop<E: de::Error>(&self, problem: Problem) -> E {
        let mut slot = self.problem.borrow_mut();
        if slot.is_none() {
            *slot = Some(problem);
        }
        E::custom("coursenav stopped reading")
    }

    /// Whether a problem was recorded.
    pub fn stopped(&self) -> bool {
        self.problem.borrow().is_some()
    }

    /// A reader's own error (a number beyond a double, nesting too deep)
    /// while reading `what`: recorded as a problem naming it, unless a
    /// problem was recorded already.
    pub fn reading<E: de::Error>(&self, error: E, what: impl FnOnce(&E) -> Problem) -> E {
        if self.stopped() {
            return error;
        }
        let problem = what(&error);
        self.stop(problem)
    }

    pub fn take(&self) -> Option<Problem> {
        self.problem.borrow_mut().take()
    }
}

impl Default for Stop {
    fn default() -> Self {
        Stop::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(json: &str) -> Option<FieldValue> {
        Some(from_text(FieldSeed, json).unwrap())
    }

    fn date(text: &str) -> Result<Option<String>, FieldError> {
        optional_date(Some(FieldValue::Text(text.into())))
    }

    fn refused(text: &str) -> String {
        match date(text) {
            Err(FieldError::Wrong(why)) => why,
            other => panic!("{text} was not refused: {other:?}"),
        }
    }

    #[test]
    fn missing_and_null_are_the_same() {
        assert_eq!(optional_string(field("null")), Ok(None));
        assert_eq!(optional_string(None), Ok(None));
        assert_eq!(flag(field("null")), Ok(false));
        assert_eq!(optional_date(None), Ok(None));
    }

    #[test]
    fn dates_are_normalised_to_utc_seconds() {
        assert_eq!(date("2030-01-01T02:00:00.5+02:00"), Ok(Some("2030-01-01T00:00:00Z".into())));
        assert!(refused("soon").contains("an RFC 3339 date in the years 0001 to 9999, not \"soon\""));
    }

    #[test]
    fn dates_at_the_edges_are_taken_as_postgresql_takes_them() {
        // The first and last seconds PostgreSQL and text order agree on.
        assert_eq!(date("0001-01-01T00:00:00Z"), Ok(Some("0001-01-01T00:00:00Z".into())));
        assert_eq!(date("9999-12-31T23:59:59Z"), Ok(Some("9999-12-31T23:59:59Z".into())));
        assert_eq!(date("2030-01-01T00:00:00+15:59"), Ok(Some("2029-12-31T08:01:00Z".into())));
        assert_eq!(date("2030-01-01T12:00:00-15:59"), Ok(Some("2030-01-02T03:59:00Z".into())));
        // A leap second is the next minute; a fraction rounds to the
        // microsecond first (PostgreSQL: 12:00:59.9999999 is 12:01:00).
        assert_eq!(date("2030-01-01T23:59:60Z"), Ok(Some("2030-01-02T00:00:00Z".into())));
        assert_eq!(date("2030-01-01T12:00:60Z"), Ok(Some("2030-01-01T12:01:00Z".into())));
        assert_eq!(date("2030-01-01T12:00:59.9999999Z"), Ok(Some("2030-01-01T12:01:00Z".into())));
        assert_eq!(date("2030-01-01T12:00:59.9999994Z"), Ok(Some("2030-01-01T12:00:59Z".into())));
    }

    #[test]
    fn dates_postgresql_refuses_or_text_would_misorder_are_refused() {
        for (text, why) in [
            ("0000-01-01T00:00:00Z", "no year 0"),
            ("0000-12-31T23:30:00-01:00", "no year 0"),
            ("0001-01-01T00:30:00+01:00", "outside the years"),
            ("9999-12-31T23:00:00-05:00", "outside the years"),
            ("2030-01-01T00:00:00+16:00", "offset beyond"),
            ("2030-01-01T00:00:00-23:59", "offset beyond"),
            ("2030-01-01T23:59:60.5Z", "leap second with a fraction"),
        ] {
            let refusal = refused(text);
            assert!(refusal.contains(text) && refusal.contains(why), "{text}: {refusal}");
        }
    }

    #[test]
    fn wrong_types_say_what_was_expected_and_what_came() {
        assert_eq!(optional_string(field("3")), Err(FieldError::Wrong("a string or null, not a number".into())));
        assert_eq!(flag(field("\"yes\"")), Err(FieldError::Wrong("true, false or null, not \"yes\"".into())));
        assert_eq!(flag(field("[true]")), Err(FieldError::Wrong("true, false or null, not an array".into())));
        assert_eq!(
            optional_date(field("{}")),
            Err(FieldError::Wrong("an RFC 3339 date or null, not an object".into()))
        );
    }

    #[test]
    fn a_text_longer_than_a_field_may_hold_is_not_copied_and_is_refused() {
        let long = format!("\"{}\"", "x".repeat(MAX_TEXT_BYTES + 1));
        assert_eq!(field(&long), Some(FieldValue::LongText(MAX_TEXT_BYTES + 1)));
        let refusal = optional_string(field(&long)).unwrap_err();
        assert_eq!(
            refusal,
            FieldError::Wrong(format!(
                "a string or null of at most 16384 bytes, not a string of {} bytes",
                MAX_TEXT_BYTES + 1
            ))
        );
        let longest = format!("\"{}\"", "x".repeat(MAX_TEXT_BYTES));
        assert_eq!(optional_string(field(&longest)).unwrap().unwrap().len(), MAX_TEXT_BYTES);
        let problem = refusal.problem("block \"b\"", "display_name");
        assert_eq!(problem.kind, ProblemKind::BadShape);
        assert!(problem.message.starts_with("block \"b\": field \"display_name\" must be a string or null"));
        let no_memory = FieldError::OutOfMemory(10).problem("block \"b\"", "format");
        assert_eq!(no_memory.kind, ProblemKind::OutOfMemory);
    }

    #[test]
    fn nested_values_are_passed_over_not_built() {
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(field(&deep), Some(FieldValue::Array));
        assert_eq!(field("{\"a\": {\"b\": [1, 2, {}]}}"), Some(FieldValue::Object));
    }

    #[test]
    fn messages_show_at_most_64_characters_of_a_text() {
        let long = "y".repeat(1000);
        assert_eq!(shown(&long).len(), 64 + 3);
        assert_eq!(shown("short"), "short");
    }
}
