//! The fuzzer's JSON: a tree that holds what serde_json's `Value` cannot
//! (numbers exactly as written, `1e400` and `1e131071` among them; keys given
//! twice; nesting thousands deep), written out as text for `jsonb` or for an
//! HTTP body, and the mutations every fuzzed document shares.

use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// A number exactly as it is written.
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    /// Pairs in order; a key may be given twice.
    Obj(Vec<(String, Json)>),
    /// `depth` arrays (or objects keyed "a") inside one another around a 0,
    /// written without recursion.
    Deep {
        depth: usize,
        objects: bool,
    },
}

/// Numbers at the edges: beyond f64 either way, negative zero, the largest
/// and smallest exponents PostgreSQL's numeric takes (printed in full, they
/// are 131,072 and 16,383 digits long), beyond u64 and i64.
pub(crate) const EDGE_NUMBERS: [&str; 16] = [
    "1e400",
    "-1e400",
    "1e131071",
    "-1e131071",
    "1e-400",
    "1e-16383",
    "-0",
    "-0.0",
    "0e0",
    "1E+308",
    "4.9e-324",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890.123456789",
    "0.1",
    "-1",
];

/// Dates PostgreSQL or chrono (or both) refuse or read differently: year 0
/// (given, or reached through the offset), year 10000 (given, or reached
/// through the offset), offsets beyond PostgreSQL's +-15:59, days and hours
/// that do not exist, a leap second, dates without time or offset, words.
pub(crate) const BAD_DATES: [&str; 28] = [
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:30:00+01:00",
    "10000-01-01T00:00:00Z",
    "+10000-01-01T00:00:00Z",
    "9999-12-31T23:30:00-05:00",
    "9999-12-31T23:59:59-00:01",
    "2030-01-01T00:00:00+16:00",
    "2030-01-01T00:00:00-16:00",
    "2030-01-01T00:00:00+15:59",
    "2030-01-01T00:00:00-15:59",
    "2030-01-01T00:00:00+23:59",
    "2030-01-01T00:00:00-24:00",
    "2030-02-30T00:00:00Z",
    "2030-13-01T00:00:00Z",
    "2030-01-01T24:00:00Z",
    "2030-06-30T23:59:60Z",
    "2030-01-01",
    "2030-01-01T00:00:00",
    "2030-01-01 00:00:00Z",
    "2030-01-01t00:00:00z",
    "1969-12-31T23:59:59.5Z",
    "2030-01-01T00:00:00.123456789123Z",
    "garbage",
    "",
    " 2030-01-01T00:00:00Z",
    "epoch",
    "infinity",
    "-infinity",
];

impl Json {
    pub(crate) fn from_value(value: &Value) -> Json {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Num(n.to_string()),
            Value::String(s) => Json::Str(s.clone()),
            Value::Array(items) => Json::Arr(items.iter().map(Json::from_value).collect()),
            Value::Object(map) => Json::Obj(map.iter().map(|(k, v)| (k.clone(), Json::from_value(v))).collect()),
        }
    }

    pub(crate) fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => write_string(s, out),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Obj(pairs) => {
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
            Json::Deep { depth, objects } => {
                let (open, close) = if *objects { ("{\"a\":", "}") } else { ("[", "]") };
                out.reserve(depth * (open.len() + close.len()) + 1);
                for _ in 0..*depth {
                    out.push_str(open);
                }
                out.push('0');
                for _ in 0..*depth {
                    out.push_str(close);
                }
            }
        }
    }

    /// The value of `key` as jsonb reads it (the last one given).
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(pairs) => pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Json> {
        match self {
            Json::Obj(pairs) => pairs.iter_mut().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn pairs_mut(&mut self) -> Option<&mut Vec<(String, Json)>> {
        match self {
            Json::Obj(pairs) => Some(pairs),
            _ => None,
        }
    }

    /// The value of `key`, added as null when missing; None if not an object.
    pub(crate) fn slot(&mut self, key: &str) -> Option<&mut Json> {
        let pairs = self.pairs_mut()?;
        let at = match pairs.iter().rposition(|(k, _)| k == key) {
            Some(at) => at,
            None => {
                pairs.push((key.to_string(), Json::Null));
                pairs.len() - 1
            }
        };
        Some(&mut pairs[at].1)
    }

    pub(crate) fn remove(&mut self, key: &str) {
        if let Some(pairs) = self.pairs_mut() {
            pairs.retain(|(k, _)| k != key);
        }
    }

    fn kind(&self) -> usize {
        match self {
            Json::Null => 0,
            Json::Bool(_) => 1,
            Json::Num(_) => 2,
            Json::Str(_) => 3,
            Json::Arr(_) | Json::Deep { objects: false, .. } => 4,
            Json::Obj(_) | Json::Deep { objects: true, .. } => 5,
        }
    }
}

/// serde_json escapes every control character, NUL included, as JSON must.
fn write_string(s: &str, out: &mut String) {
    out.push_str(&serde_json::to_string(s).expect("a string always serialises"));
}

/// A node reached by walking down from `node`, stopping at each level with
/// some chance, so shallow and deep nodes both come up.
pub(crate) fn pick<'a>(node: &'a mut Json, rng: &mut ChaCha8Rng) -> &'a mut Json {
    let n = match node {
        Json::Arr(items) => items.len(),
        Json::Obj(pairs) => pairs.len(),
        _ => 0,
    };
    if n == 0 || rng.random_bool(0.3) {
        return node;
    }
    let i = rng.random_range(0..n);
    match node {
        Json::Arr(items) => pick(&mut items[i], rng),
        Json::Obj(pairs) => pick(&mut pairs[i].1, rng),
        _ => unreachable!("only containers have children"),
    }
}

/// Some object inside `node` (or `node` itself), if there is one.
pub(crate) fn pick_object<'a>(node: &'a mut Json, rng: &mut ChaCha8Rng) -> Option<&'a mut Json> {
    let mut path = Vec::new();
    let mut objects = Vec::new();
    collect_objects(node, &mut path, &mut objects, 4);
    let chosen = objects.choose(rng)?.clone();
    let mut at = node;
    for i in chosen {
        at = match at {
            Json::Arr(items) => &mut items[i],
            Json::Obj(pairs) => &mut pairs[i].1,
            _ => unreachable!("a path runs through containers"),
        };
    }
    Some(at)
}

fn collect_objects(node: &Json, path: &mut Vec<usize>, out: &mut Vec<Vec<usize>>, depth: usize) {
    if matches!(node, Json::Obj(_)) {
        out.push(path.clone());
    }
    if depth == 0 || out.len() > 10_000 {
        return;
    }
    let children: Box<dyn Iterator<Item = &Json>> = match node {
        Json::Arr(items) => Box::new(items.iter()),
        Json::Obj(pairs) => Box::new(pairs.iter().map(|(_, v)| v)),
        _ => return,
    };
    for (i, child) in children.enumerate() {
        path.push(i);
        collect_objects(child, path, out, depth - 1);
        path.pop();
    }
}

/// A value of a JSON type other than `current`'s.
pub(crate) fn other_type(current: &Json, rng: &mut ChaCha8Rng) -> Json {
    loop {
        let candidate = match rng.random_range(0..9) {
            0 => Json::Null,
            1 => Json::Bool(rng.random_bool(0.5)),
            2 => Json::Num(["0", "1", "-1", "2.5", "1e3"].choose(rng).unwrap().to_string()),
            3 => Json::str(["", "x", "true", "null", "0", "[]"].choose(rng).unwrap().to_string()),
            4 => Json::Arr(vec![]),
            5 => Json::Arr(vec![Json::str("x"), Json::Null]),
            6 => Json::Obj(vec![]),
            7 => Json::Obj(vec![("x".into(), Json::Num("1".into()))]),
            _ => Json::Num(EDGE_NUMBERS.choose(rng).unwrap().to_string()),
        };
        if candidate.kind() != current.kind() {
            return candidate;
        }
    }
}

pub(crate) fn edge_number(rng: &mut ChaCha8Rng) -> Json {
    Json::Num(EDGE_NUMBERS.choose(rng).unwrap().to_string())
}

pub(crate) fn bad_date(rng: &mut ChaCha8Rng) -> Json {
    Json::str(*BAD_DATES.choose(rng).unwrap())
}

/// Nesting around and beyond serde_json's default limit of 128, up to a few
/// thousand (PostgreSQL's own jsonb input stops near its stack limit).
pub(crate) fn deep(rng: &mut ChaCha8Rng) -> Json {
    let depth = *[16, 127, 128, 129, 300, 1000, 4000].choose(rng).unwrap();
    Json::Deep { depth, objects: rng.random_bool(0.5) }
}

/// A string of `bytes` bytes or a little fewer, of ASCII, two-byte or
/// four-byte characters.
pub(crate) fn long_string(rng: &mut ChaCha8Rng, bytes: usize) -> String {
    let unit = *["x", "\u{e9}", "\u{1F600}", "ab\u{e9}"].choose(rng).unwrap();
    unit.repeat(bytes / unit.len())
}

/// Lengths for long strings: around PostgreSQL's 8 KB page and NOTIFY
/// payload, and a few megabytes at most (the test must stay quick).
pub(crate) fn long_length(rng: &mut ChaCha8Rng) -> usize {
    *[256, 7_999, 8_192, 65_536, 300_000, 1 << 20, 3 << 20].choose(rng).unwrap()
}

/// NUL put into a string (or a string with NUL in place of any other value).
pub(crate) fn with_nul(node: &Json, rng: &mut ChaCha8Rng) -> Json {
    match node {
        Json::Str(s) => {
            let mut at = rng.random_range(0..=s.len());
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            Json::Str(format!("{}\u{0}{}", &s[..at], &s[at..]))
        }
        _ => Json::str("a\u{0}b"),
    }
}

/// One of `pairs`' entries given again, with the same value, another type,
/// or a copy of another entry's value, before or after the first.
pub(crate) fn duplicate_a_key(pairs: &mut Vec<(String, Json)>, rng: &mut ChaCha8Rng) {
    if pairs.is_empty() {
        return;
    }
    let (key, value) = pairs[rng.random_range(0..pairs.len())].clone();
    let value = match rng.random_range(0..3) {
        0 => value,
        1 => other_type(&value, rng),
        _ => pairs[rng.random_range(0..pairs.len())].1.clone(),
    };
    let at = rng.random_range(0..=pairs.len());
    pairs.insert(at, (key, value));
}

/// How many pairs a "many pairs" mutation adds: mostly a few, rarely past
/// `coursenav.max_blocks` (200,000), never so many that a case is slow.
pub(crate) fn many(rng: &mut ChaCha8Rng) -> usize {
    let sizes = [(10, 20), (100, 20), (1_000, 20), (5_000, 15), (30_000, 8), (210_000, 2)];
    *sizes.choose_weighted(rng, |s| s.1).map(|s| &s.0).unwrap()
}

/// `s` cut to `max` bytes (on a character boundary) with its full length
/// said, for failure messages.
pub(crate) fn truncated(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes in all)", &s[..end], s.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_fuzzers_json_writes_what_serde_json_cannot_hold() {
        let doc = Json::Obj(vec![
            ("a".into(), Json::Num("1e400".into())),
            ("a".into(), Json::str("x\u{0}y")),
            ("d".into(), Json::Deep { depth: 3, objects: false }),
        ]);
        assert_eq!(doc.text(), r#"{"a":1e400,"a":"x\u0000y","d":[[[0]]]}"#);
        let value = json!({"b": [1, true, null], "c": {"d": "e"}});
        assert_eq!(Json::from_value(&value).text(), value.to_string());
    }
}
