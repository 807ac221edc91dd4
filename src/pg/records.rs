//! Rows written from serde structs of the core: a struct is passed as one
//! jsonb value and read back with `jsonb_populate_record`, so the column
//! list of a statement is the struct's field names, never a row of
//! positional parameters. Adding a field is the struct, the column and a
//! test; no statement here changes.

use pgrx::JsonB;
use serde::Serialize;

/// The struct as the jsonb record the statements read.
pub(crate) fn record(value: &impl Serialize) -> JsonB {
    JsonB(serde_json::to_value(value).expect("the core's records serialize: plain fields, string keys"))
}

/// The field names of a serialized struct, each quoted as a column (`end`
/// is a keyword). They come from the struct's definition, never from input.
pub(crate) fn columns(value: &impl Serialize) -> Vec<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(fields)) => fields.keys().map(|name| format!("\"{name}\"")).collect(),
        _ => unreachable!("the core's records serialize as JSON objects"),
    }
}
