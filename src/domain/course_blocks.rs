//! Reads the Open edX Course Blocks shape,
//! `{"root": id, "blocks": {id: {"id", "type", "display_name", "children", ...}}}`,
//! into typed blocks, checking every field navigation relies on and naming
//! the block at fault when one is wrong.

use crate::domain::json_fields;
use crate::domain::keys::{block_key_of_course, CourseKey};
use crate::domain::problem::{Problem, ProblemKind};
use crate::domain::structure::Node;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The fields navigation reads; everything else a block carried stays in `extra`.
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
    /// The block's other fields, kept as they came.
    pub extra: Map<String, Value>,
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

/// Parses one `add_blocks` payload from its JSON text in a single pass,
/// one block at a time: memory holds the text and one block's JSON tree,
/// never a tree of the whole document (a 100,000-block course is some 40 MB
/// of text and would be five times that as a tree).
pub fn parse_chunk(course: &CourseKey, text: &str) -> Result<Chunk, Problem> {
    let not_a_document = |_| shape(course, "expected a JSON object with \"root\" and \"blocks\"");
    let mut reader = serde_json::Deserializer::from_str(text);
    let (root, blocks) = reader
        .deserialize_map(DocumentVisitor { course })
        .and_then(|parsed| reader.end().map(|()| parsed))
        .map_err(not_a_document)??;
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
            let value = map.next_value::<Value>()?;
            match parse_block(self.course, id, value) {
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

fn parse_block(course: &CourseKey, id: String, value: Value) -> Result<Block, Problem> {
    let key_type = block_key_of_course(&id, course)?.block_type.to_string();
    let Value::Object(mut fields) = value else {
        return Err(Problem::new(ProblemKind::BadShape, format!("block \"{id}\": expected an object")));
    };
    match fields.get("id") {
        None => {}
        Some(Value::String(inner)) if *inner == id => {}
        Some(other) => {
            return Err(Problem::new(
                ProblemKind::BadShape,
                format!("block \"{id}\" is listed under its key with a different \"id\": {other}"),
            ))
        }
    }
    let block_type = match fields.get("type") {
        Some(Value::String(t)) if *t == key_type => t.clone(),
        Some(Value::String(t)) => {
            return Err(Problem::new(
                ProblemKind::BadShape,
                format!("block \"{id}\": type \"{t}\" does not match the type \"{key_type}\" in its key"),
            ))
        }
        _ => return Err(field_problem(&id, "type", "a string")),
    };
    let block = Block {
        display_name: optional_string(&id, &fields, "display_name")?,
        children: children(course, &id, &fields)?,
        graded: flag(&id, &fields, "graded")?,
        format: optional_string(&id, &fields, "format")?,
        start: optional_date(&id, &fields, "start")?,
        due: optional_date(&id, &fields, "due")?,
        visible_to_staff_only: flag(&id, &fields, "visible_to_staff_only")?,
        hide_from_toc: flag(&id, &fields, "hide_from_toc")?,
        block_type,
        id,
        extra: Map::new(),
    };
    for name in NAVIGATION_FIELDS {
        fields.remove(name);
    }
    Ok(Block { extra: fields, ..block })
}

fn optional_string(id: &str, fields: &Map<String, Value>, name: &str) -> Result<Option<String>, Problem> {
    json_fields::optional_string(fields, name).map_err(|expected| field_problem(id, name, &expected))
}

fn flag(id: &str, fields: &Map<String, Value>, name: &str) -> Result<bool, Problem> {
    json_fields::flag(fields, name).map_err(|expected| field_problem(id, name, &expected))
}

fn optional_date(id: &str, fields: &Map<String, Value>, name: &str) -> Result<Option<String>, Problem> {
    json_fields::optional_date(fields, name).map_err(|expected| field_problem(id, name, &expected))
}

fn children(course: &CourseKey, id: &str, fields: &Map<String, Value>) -> Result<Vec<String>, Problem> {
    let list = match fields.get("children") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(field_problem(id, "children", "an array of block ids")),
    };
    list.iter()
        .map(|child| match child {
            Value::String(child) => {
                block_key_of_course(child, course).map_err(|p| {
                    Problem::new(p.kind, format!("block \"{id}\" lists a bad child: {}", p.message))
                })?;
                Ok(child.clone())
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
    fn reads_navigation_fields_and_keeps_the_rest() {
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
        assert_eq!(chapter.extra, json!({"weight": 2.5, "student_view_url": "/x"}).as_object().unwrap().clone());
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
