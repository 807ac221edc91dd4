//! Reads the Open edX Course Blocks shape,
//! `{"root": id, "blocks": {id: {"id", "type", "display_name", "children", ...}}}`,
//! into typed blocks, checking every field navigation relies on and naming
//! the block at fault when one is wrong.

use crate::domain::json_fields;
use crate::domain::keys::{block_key_of_course, CourseKey};
use crate::domain::problem::{Problem, ProblemKind};
use crate::domain::structure::Node;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;

/// The fields navigation reads; everything else a block carried is left in
/// the stored document.
const NAVIGATION_FIELDS: [&str; 10] = [
    "id",
    "type",
    "display_name",
    "children",
    "graded",
    "format",
    "start",
    "due",
    "visible_to_staff_only",
    "hide_from_toc",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub id: String,
    pub block_type: String,
    pub display_name: Option<String>,
    pub children: Vec<String>,
    pub graded: bool,
    pub format: Option<String>,
    /// RFC 3339 in UTC to the second (`2030-01-01T00:00:00Z`), so that
    /// Postgres always accepts it and dates compare as text.
    pub start: Option<String>,
    pub due: Option<String>,
    pub visible_to_staff_only: bool,
    pub hide_from_toc: bool,
}

impl Node for Block {
    fn id(&self) -> &str {
        &self.id
    }
    fn block_type(&self) -> &str {
        &self.block_type
    }
    fn children(&self) -> &[String] {
        &self.children
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub root: Option<String>,
    pub blocks: Vec<Block>,
}

fn shape(course: &CourseKey, what: impl std::fmt::Display) -> Problem {
    Problem::new(
        ProblemKind::BadShape,
        format!("course \"{course}\": not the Course Blocks shape: {what}"),
    )
}

fn field_problem(id: &str, field: &str, expected: &str) -> Problem {
    Problem::new(ProblemKind::BadShape, format!("block \"{id}\": field \"{field}\" must be {expected}"))
}

/// Parses one `add_blocks` payload from its JSON text (see `read_chunk`).
pub fn parse_chunk(course: &CourseKey, text: &str) -> Result<Chunk, Problem> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let chunk = read_chunk(course, &mut reader)?;
    reader.end().map_err(|_| not_a_document(course))?;
    Ok(chunk)
}

fn not_a_document(course: &CourseKey) -> Problem {
    shape(course, "expected a JSON object with \"root\" and \"blocks\"")
}

/// Reads one `add_blocks` payload from any serde source of JSON (text in
/// tests, the binary `jsonb` form in the database) in a single pass, one
/// block at a time: memory holds one block's JSON tree at a time, never a
/// tree of the whole document (a 100,000-block course is some 40 MB of text
/// and would be five times that as a tree).
pub fn read_chunk<'de, D: Deserializer<'de>>(course: &CourseKey, source: D) -> Result<Chunk, Problem> {
    let (root, blocks) = source.deserialize_map(DocumentVisitor { course }).map_err(|_| not_a_document(course))??;
    let root = match root {
        None | Some(Value::Null) => None,
        Some(Value::String(root)) => {
            block_key_of_course(&root, course)?;
            Some(root)
        }
        Some(_) => return Err(shape(course, "\"root\" must be a block id")),
    };
    let blocks = blocks.ok_or_else(|| shape(course, "\"blocks\" must be an object of blocks keyed by id"))??;
    Ok(Chunk { root, blocks })
}

/// What the top level yields: the root as given, and the blocks (or the
/// first problem found in them). A problem is a value here, not a serde
/// error, so it keeps its kind and its message naming the block.
type TopLevel = Result<(Option<Value>, Option<Result<Vec<Block>, Problem>>), Problem>;

struct DocumentVisitor<'c> {
    course: &'c CourseKey,
}

impl<'de> Visitor<'de> for DocumentVisitor<'_> {
    type Value = TopLevel;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Course Blocks document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
        let (mut root, mut blocks) = (None, None);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "root" => root = Some(map.next_value::<Value>()?),
                "blocks" => match map.next_value_seed(BlocksSeed { course: self.course }) {
                    Ok(parsed) => blocks = Some(parsed),
                    Err(_) => {
                        return Ok(Err(shape(self.course, "\"blocks\" must be an object of blocks keyed by id")))
                    }
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Ok((root, blocks)))
    }
}

/// Reads the `blocks` object entry by entry, turning each into a `Block`
/// as soon as it is read.
struct BlocksSeed<'c> {
    course: &'c CourseKey,
}

impl<'de> DeserializeSeed<'de> for BlocksSeed<'_> {
    type Value = Result<Vec<Block>, Problem>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BlocksSeed<'_> {
    type Value = Result<Vec<Block>, Problem>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of blocks keyed by id")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut blocks = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(id) = map.next_key::<String>()? {
            let fields = map.next_value_seed(FieldsSeed)?;
            match parse_block(self.course, id, fields) {
                Ok(block) => blocks.push(block),
                Err(problem) => {
                    // The rest must still be read for the document to parse.
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    return Ok(Err(problem));
                }
            }
        }
        Ok(Ok(blocks))
    }
}

/// Where a navigation field is kept in `Fields`.
fn field_slot(name: &str) -> Option<usize> {
    NAVIGATION_FIELDS.iter().position(|known| *known == name)
}

/// The navigation fields of one block, by their place in
/// `NAVIGATION_FIELDS`; None when the block is not a JSON object.
type Fields = Option<[Option<Value>; NAVIGATION_FIELDS.len()]>;

/// Reads one block's object, keeping only the fields navigation reads (the
/// rest stay in the stored document): no map of the whole block is built.
struct FieldsSeed;

impl<'de> DeserializeSeed<'de> for FieldsSeed {
    type Value = Fields;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Fields, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed {
    type Value = Fields;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a block")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut fields: [Option<Value>; NAVIGATION_FIELDS.len()] = Default::default();
        while let Some(name) = map.next_key::<Cow<'de, str>>()? {
            match field_slot(&name) {
                Some(slot) => fields[slot] = Some(map.next_value::<Value>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fields, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Fields, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Fields, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Fields, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Fields, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Fields, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Fields, E> {
        Ok(None)
    }
}

fn parse_block(course: &CourseKey, id: String, fields: Fields) -> Result<Block, Problem> {
    let key_type = block_key_of_course(&id, course)?.block_type;
    let Some(mut fields) = fields else {
        return Err(Problem::new(ProblemKind::BadShape, format!("block \"{id}\": expected an object")));
    };
    let mut field = |name: &str| fields[field_slot(name).expect("a navigation field")].take();
    match field("id") {
        None => {}
        Some(Value::String(inner)) if inner == id => {}
        Some(other) => {
            return Err(Problem::new(
                ProblemKind::BadShape,
                format!("block \"{id}\" is listed under its key with a different \"id\": {other}"),
            ))
        }
    }
    let block_type = match field("type") {
        Some(Value::String(t)) if t == key_type => t,
        Some(Value::String(t)) => {
            return Err(Problem::new(
                ProblemKind::BadShape,
                format!("block \"{id}\": type \"{t}\" does not match the type \"{key_type}\" in its key"),
            ))
        }
        _ => return Err(field_problem(&id, "type", "a string")),
    };
    let name_at_fault = id.as_str();
    let wrong = |name: &'static str| move |expected: json_fields::Expected| field_problem(name_at_fault, name, &expected);
    let display_name = json_fields::optional_string(field("display_name")).map_err(wrong("display_name"))?;
    let children = children(course, name_at_fault, field("children"))?;
    let graded = json_fields::flag(field("graded")).map_err(wrong("graded"))?;
    let format = json_fields::optional_string(field("format")).map_err(wrong("format"))?;
    let start = json_fields::optional_date(field("start")).map_err(wrong("start"))?;
    let due = json_fields::optional_date(field("due")).map_err(wrong("due"))?;
    let visible_to_staff_only = json_fields::flag(field("visible_to_staff_only")).map_err(wrong("visible_to_staff_only"))?;
    let hide_from_toc = json_fields::flag(field("hide_from_toc")).map_err(wrong("hide_from_toc"))?;
    Ok(Block {
        id,
        block_type,
        display_name,
        children,
        graded,
        format,
        start,
        due,
        visible_to_staff_only,
        hide_from_toc,
    })
}

fn children(course: &CourseKey, id: &str, field: Option<Value>) -> Result<Vec<String>, Problem> {
    let list = match field {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(field_problem(id, "children", "an array of block ids")),
    };
    list.into_iter()
        .map(|child| match child {
            Value::String(child) => {
                block_key_of_course(&child, course).map_err(|p| {
                    Problem::new(p.kind, format!("block \"{id}\" lists a bad child: {}", p.message))
                })?;
                Ok(child)
            }
            _ => Err(field_problem(id, "children", "an array of block ids")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COURSE: &str = "course-v1:OpenedX+DemoX+DemoCourse";

    fn key(t: &str, n: &str) -> String {
        format!("block-v1:OpenedX+DemoX+DemoCourse+type@{t}+block@{n}")
    }

    fn course() -> CourseKey {
        CourseKey::parse(COURSE).unwrap()
    }

    fn parse(doc: Value) -> Result<Chunk, Problem> {
        parse_chunk(&course(), &doc.to_string())
    }

    #[test]
    fn reads_navigation_fields_and_passes_over_the_rest() {
        let (root, ch) = (key("course", "course"), key("chapter", "c1"));
        let chunk = parse(json!({
            "root": root,
            "blocks": {
                root.clone(): {"id": root, "type": "course", "display_name": "Demo", "children": [ch]},
                ch.clone(): {"type": "chapter", "display_name": "One", "graded": true, "format": "Homework",
                             "start": "2030-01-01T02:00:00+02:00", "due": null, "hide_from_toc": false,
                             "weight": 2.5, "student_view_url": "/x"}
            }
        }))
        .unwrap();
        assert_eq!(chunk.root.as_deref(), Some(root.as_str()));
        let chapter = chunk.blocks.iter().find(|b| b.id == ch).unwrap();
        assert!(chapter.graded);
        assert_eq!(chapter.start.as_deref(), Some("2030-01-01T00:00:00Z"));
        assert_eq!(chapter.format.as_deref(), Some("Homework"));
        let course_block = chunk.blocks.iter().find(|b| b.id == root).unwrap();
        assert_eq!(course_block.children, vec![ch]);
    }

    #[test]
    fn rejects_documents_that_are_not_course_blocks() {
        for doc in [json!([]), json!({"root": 3, "blocks": {}}), json!({"root": key("course", "c")}), json!({"blocks": []})] {
            let err = parse(doc).unwrap_err();
            assert_eq!(err.kind, ProblemKind::BadShape);
            assert!(err.message.contains(COURSE), "{}", err.message);
        }
    }

    #[test]
    fn names_the_block_with_a_bad_field() {
        let ch = key("chapter", "c1");
        let cases = [
            (json!({"type": "chapter", "graded": "yes"}), "graded"),
            (json!({"type": "chapter", "start": "tomorrow"}), "start"),
            (json!({"type": "chapter", "children": "x"}), "children"),
            (json!({"type": "chapter", "display_name": 7}), "display_name"),
            (json!({"display_name": "no type"}), "type"),
            (json!({"type": "vertical"}), "does not match"),
            (json!({"type": "chapter", "id": key("chapter", "c2")}), "different \"id\""),
            (json!("chapter"), "expected an object"),
        ];
        for (block, needle) in cases {
            let err = parse(json!({"blocks": {ch.clone(): block}})).unwrap_err();
            assert_eq!(err.kind, ProblemKind::BadShape, "{needle}");
            assert!(err.message.contains(&ch) && err.message.contains(needle), "{}", err.message);
        }
    }

    #[test]
    fn rejects_keys_of_another_course_anywhere() {
        let foreign = "block-v1:Other+X+Y+type@chapter+block@c1";
        let root = key("course", "course");
        for doc in [
            json!({"blocks": {foreign: {"type": "chapter"}}}),
            json!({"blocks": {root.clone(): {"type": "course", "children": [foreign]}}}),
            json!({"root": foreign, "blocks": {}}),
        ] {
            let err = parse(doc).unwrap_err();
            assert_eq!(err.kind, ProblemKind::BadKey);
            assert!(err.message.contains(foreign), "{}", err.message);
        }
    }
}
