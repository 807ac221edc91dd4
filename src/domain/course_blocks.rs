//! Reads the Open edX Course Blocks shape,
//! `{"root": id, "blocks": {id: {"id", "type", "display_name", "children", ...}}}`,
//! into typed blocks, checking every field navigation relies on and naming
//! the block at fault when one is wrong.

use crate::json_fields::{self, shown, FieldError, FieldSeed, FieldValue, Key, KeySeed, Stop};
use crate::keys::{block_key_of_course, CourseKey, MAX_KEY_BYTES};
use crate::problem::{Problem, ProblemKind};
use crate::structure::Node;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The fields navigation reads; everything else a block carried is left in
/// the stored document. The `coursenav.blocks` view shows each as a column
/// (pinned by a #[pg_test]) and the OLX reader copies them from the OLX.
pub const NAVIGATION_FIELDS: [&str; 10] = [
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

/// How many blocks a chunk may add: `coursenav.max_blocks` less the blocks
/// the rebuild already holds. Checked against the count a container claims
/// before anything is reserved for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    pub rebuild_id: i64,
    pub held: usize,
    pub max: usize,
}

impl Room {
    /// No limit (for tests and for callers that hold text).
    pub fn unlimited() -> Room {
        Room { rebuild_id: 0, held: 0, max: usize::MAX }
    }

    fn left(&self) -> usize {
        self.max.saturating_sub(self.held)
    }

    /// The problem of adding `adding` blocks past the room.
    pub fn exceeded(&self, course: &CourseKey, adding: usize) -> Problem {
        Problem::new(
            ProblemKind::TooManyBlocks,
            format!(
                "course \"{course}\": rebuild {} would hold {} blocks, more than coursenav.max_blocks ({})",
                self.rebuild_id,
                self.held.saturating_add(adding),
                self.max
            ),
        )
    }
}

fn shape(course: &CourseKey, what: impl std::fmt::Display) -> Problem {
    Problem::new(ProblemKind::BadShape, format!("course \"{course}\": not the Course Blocks shape: {what}"))
}

fn field_problem(id: &str, field: &str, expected: &str) -> Problem {
    Problem::new(ProblemKind::BadShape, format!("block \"{id}\": field \"{field}\" must be {expected}"))
}

fn out_of_memory(course: &CourseKey, what: impl std::fmt::Display) -> Problem {
    Problem::new(ProblemKind::OutOfMemory, format!("course \"{course}\": no memory could be reserved for {what}"))
}

/// Parses one `add_blocks` payload from its JSON text (see `read_chunk`); the
/// extension reads jsonb instead, so only tests and tools read text.
#[cfg(any(test, feature = "testing"))]
pub fn parse_chunk(course: &CourseKey, room: Room, text: &str) -> Result<Chunk, Problem> {
    let mut reader = serde_json::Deserializer::from_str(text);
    let chunk = read_chunk(course, room, &mut reader)?;
    reader.end().map_err(|_| not_a_document(course))?;
    Ok(chunk)
}

fn not_a_document(course: &CourseKey) -> Problem {
    shape(course, "expected a JSON object with \"root\" and \"blocks\"")
}

/// Reads one `add_blocks` payload from any serde source of JSON (text in
/// tests, the binary `jsonb` form in the database) in a single pass, one
/// block at a time, keeping only the fields navigation reads: memory holds
/// the blocks read, never a tree of the document.
///
/// Memory is bounded by what was checked: the `blocks` object's count of
/// pairs (which a source such as jsonb knows before reading them) is
/// checked against `room` before room for them is reserved, so a value
/// claiming millions of pairs is refused with `TooManyBlocks` at once; every
/// buffer that grows with the input is reserved fallibly (`OutOfMemory`,
/// never an abort); strings are copied only when short enough to be a
/// field. The first problem found stops the read.
pub fn read_chunk<'de, D: Deserializer<'de>>(course: &CourseKey, room: Room, source: D) -> Result<Chunk, Problem> {
    let context = Context { course, room, stop: Stop::new() };
    let read = source.deserialize_map(DocumentVisitor { context: &context });
    if let Some(problem) = context.stop.take() {
        return Err(problem);
    }
    let (root, blocks) = read.map_err(|_| not_a_document(course))?;
    let root = match root {
        None | Some(FieldValue::Null) => None,
        Some(FieldValue::Text(root)) => {
            block_key_of_course(&root, course)?;
            Some(root)
        }
        Some(_) => return Err(shape(course, "\"root\" must be a block id")),
    };
    let blocks = blocks.ok_or_else(|| shape(course, "\"blocks\" must be an object of blocks keyed by id"))?;
    Ok(Chunk { root, blocks })
}

/// What every visitor of one read shares.
struct Context<'c> {
    course: &'c CourseKey,
    room: Room,
    stop: Stop,
}

struct DocumentVisitor<'a, 'c> {
    context: &'a Context<'c>,
}

impl<'de> Visitor<'de> for DocumentVisitor<'_, '_> {
    type Value = (Option<FieldValue>, Option<Vec<Block>>);

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Course Blocks document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (context, course) = (self.context, self.context.course);
        let (mut root, mut blocks) = (None, None);
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key.as_str() {
                "root" => {
                    let value = map.next_value_seed(FieldSeed).map_err(|e| {
                        context.stop.reading(e, |e| shape(course, format!("\"root\" must be a block id, not {e}")))
                    })?;
                    root = Some(value);
                }
                "blocks" => {
                    let value = map.next_value_seed(BlocksSeed { context }).map_err(|e| {
                        context.stop.reading(e, |_| shape(course, "\"blocks\" must be an object of blocks keyed by id"))
                    })?;
                    blocks = Some(value);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((root, blocks))
    }
}

/// Reads the `blocks` object entry by entry, turning each into a `Block`
/// as soon as it is read.
struct BlocksSeed<'a, 'c> {
    context: &'a Context<'c>,
}

impl<'de> DeserializeSeed<'de> for BlocksSeed<'_, '_> {
    type Value = Vec<Block>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BlocksSeed<'_, '_> {
    type Value = Vec<Block>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of blocks keyed by id")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Context { course, room, stop } = self.context;
        let left = room.left();
        // The count a jsonb container claims is checked before a byte is
        // reserved for it: 8 million pairs in 29 MB once reserved 1.4 GB
        // here, and under a memory limit aborted the backend.
        let claimed = map.size_hint().unwrap_or(0);
        if claimed > left {
            return Err(stop.stop(room.exceeded(course, claimed)));
        }
        let mut blocks: Vec<Block> = Vec::new();
        if blocks.try_reserve_exact(claimed).is_err() {
            return Err(stop.stop(out_of_memory(course, format!("{claimed} blocks"))));
        }
        while let Some(key) = map.next_key_seed(KeySeed)? {
            // A source that claims no count is held to the room as it goes.
            if blocks.len() == left {
                return Err(stop.stop(room.exceeded(course, left + 1)));
            }
            let id = match &key {
                Key::Text(id) => id.as_ref(),
                Key::TooLong(len) => {
                    let what =
                        format!("invalid block key of {len} bytes, more than the {MAX_KEY_BYTES} a key may hold");
                    return Err(stop.stop(Problem::new(ProblemKind::BadKey, what)));
                }
                Key::NotText => return Err(stop.stop(shape(course, "a block key that is not a string"))),
            };
            let key_type = block_key_of_course(id, course).map_err(|p| stop.stop(p))?.block_type;
            let block = map
                .next_value_seed(BlockSeed { context: self.context, id, key_type })
                .map_err(|e| stop.reading(e, |e| shape_of_block(id, e)))?;
            if blocks.try_reserve(1).is_err() {
                return Err(stop.stop(out_of_memory(course, format!("{} blocks", blocks.len() + 1))));
            }
            blocks.push(block);
        }
        Ok(blocks)
    }
}

fn shape_of_block(id: &str, what: impl std::fmt::Display) -> Problem {
    Problem::new(ProblemKind::BadShape, format!("block \"{id}\": {what}"))
}

/// Where a navigation field other than `children` is kept while a block is read.
fn field_slot(name: &str) -> Option<usize> {
    NAVIGATION_FIELDS.iter().position(|known| *known == name)
}

/// Reads one block's object into a `Block`, keeping only the fields
/// navigation reads (the rest stay in the stored document, passed over
/// unread: a number in them is never even looked at).
struct BlockSeed<'a, 'c> {
    context: &'a Context<'c>,
    id: &'a str,
    key_type: &'a str,
}

impl<'de> DeserializeSeed<'de> for BlockSeed<'_, '_> {
    type Value = Block;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Block, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl BlockSeed<'_, '_> {
    fn not_an_object<E: serde::de::Error>(self) -> Result<Block, E> {
        Err(self.context.stop.stop(shape_of_block(self.id, "expected an object")))
    }
}

impl<'de> Visitor<'de> for BlockSeed<'_, '_> {
    type Value = Block;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a block")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Block, A::Error> {
        let stop = &self.context.stop;
        let id = self.id;
        let mut fields: Fields = Default::default();
        let mut children = Vec::new();
        while let Some(name) = map.next_key_seed(KeySeed)? {
            let name = name.as_str();
            if name == "children" {
                let seed = ChildrenSeed { context: self.context, id };
                children =
                    map.next_value_seed(seed).map_err(|e| stop.reading(e, |e| field_holds(id, "children", e)))?;
            } else if let Some(slot) = field_slot(name) {
                let value =
                    map.next_value_seed(FieldSeed).map_err(|e| stop.reading(e, |e| field_holds(id, name, e)))?;
                fields[slot] = Some(value);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        parse_block(id, self.key_type, fields, children).map_err(|p| stop.stop(p))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Block, A::Error> {
        self.not_an_object()
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Block, E> {
        self.not_an_object()
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Block, E> {
        self.not_an_object()
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Block, E> {
        self.not_an_object()
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Block, E> {
        self.not_an_object()
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Block, E> {
        self.not_an_object()
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Block, E> {
        self.not_an_object()
    }
}

fn field_holds(id: &str, field: &str, what: impl std::fmt::Display) -> Problem {
    Problem::new(ProblemKind::BadShape, format!("block \"{id}\": field \"{field}\" holds {what}"))
}

/// The navigation fields of one block but `children`, by their place in
/// `NAVIGATION_FIELDS`.
type Fields = [Option<FieldValue>; NAVIGATION_FIELDS.len()];

/// Reads a block's `children`: an array of block ids of the course, each
/// checked as it is read, so only keys are ever copied; the array's claimed
/// length is checked against `coursenav.max_blocks` first (a longer list can
/// never be valid: every child is a distinct block of the structure).
struct ChildrenSeed<'a, 'c> {
    context: &'a Context<'c>,
    id: &'a str,
}

impl<'de> DeserializeSeed<'de> for ChildrenSeed<'_, '_> {
    type Value = Vec<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<String>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ChildrenSeed<'_, '_> {
    fn not_a_list<E: serde::de::Error>(self) -> Result<Vec<String>, E> {
        Err(self.context.stop.stop(field_problem(self.id, "children", "an array of block ids")))
    }

    fn too_many<E: serde::de::Error>(&self, count: usize) -> E {
        let Context { course, room, stop } = self.context;
        let what = format!(
            "course \"{course}\": block \"{}\" lists {count} children, more than coursenav.max_blocks ({})",
            self.id, room.max
        );
        stop.stop(Problem::new(ProblemKind::TooManyBlocks, what))
    }
}

impl<'de> Visitor<'de> for ChildrenSeed<'_, '_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of block ids")
    }

    fn visit_unit<E>(self) -> Result<Vec<String>, E> {
        Ok(Vec::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let Context { course, room, stop } = self.context;
        let claimed = seq.size_hint().unwrap_or(0);
        if claimed > room.max {
            return Err(self.too_many(claimed));
        }
        let mut children: Vec<String> = Vec::new();
        if children.try_reserve_exact(claimed).is_err() {
            return Err(stop.stop(out_of_memory(course, format!("{claimed} children of block \"{}\"", self.id))));
        }
        while let Some(child) = seq.next_element_seed(KeySeed)? {
            if children.len() == room.max {
                return Err(self.too_many(room.max + 1));
            }
            let Key::Text(child) = child else {
                return self.not_a_list();
            };
            block_key_of_course(&child, course).map_err(|p| {
                let message = format!("block \"{}\" lists a bad child: {}", self.id, p.message);
                stop.stop(Problem::new(p.kind, message))
            })?;
            if children.try_reserve(1).is_err() {
                let what = format!("{} children of block \"{}\"", children.len() + 1, self.id);
                return Err(stop.stop(out_of_memory(course, what)));
            }
            // A valid key: at most MAX_KEY_BYTES.
            children.push(child.into_owned());
        }
        Ok(children)
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Vec<String>, A::Error> {
        self.not_a_list()
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Vec<String>, E> {
        self.not_a_list()
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Vec<String>, E> {
        self.not_a_list()
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Vec<String>, E> {
        self.not_a_list()
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Vec<String>, E> {
        self.not_a_list()
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Vec<String>, E> {
        self.not_a_list()
    }
}

fn parse_block(id: &str, key_type: &str, mut fields: Fields, children: Vec<String>) -> Result<Block, Problem> {
    let mut field = |name: &str| fields[field_slot(name).expect("a navigation field")].take();
    let at = format!("block \"{id}\"");
    let at = at.as_str();
    let wrong = |name: &'static str| move |error: FieldError| error.problem(at, name);
    match field("id") {
        None | Some(FieldValue::Null) => {}
        Some(FieldValue::Text(inner)) if inner == id => {}
        Some(other) => {
            return Err(Problem::new(
                ProblemKind::BadShape,
                format!("block \"{id}\" is listed under its key with a different \"id\": {}", other.described()),
            ))
        }
    }
    let block_type = match field("type") {
        Some(FieldValue::Text(t)) if t == key_type => t,
        Some(FieldValue::Text(t)) => {
            let what = format!("type \"{}\" does not match the type \"{key_type}\" in its key", shown(&t));
            return Err(shape_of_block(id, what));
        }
        None => return Err(field_problem(id, "type", "a string")),
        Some(other) => return Err(json_fields::wrong("a string", &other).problem(&format!("block \"{id}\""), "type")),
    };
    let display_name = json_fields::optional_string(field("display_name")).map_err(wrong("display_name"))?;
    let graded = json_fields::flag(field("graded")).map_err(wrong("graded"))?;
    let format = json_fields::optional_string(field("format")).map_err(wrong("format"))?;
    let start = json_fields::optional_date(field("start")).map_err(wrong("start"))?;
    let due = json_fields::optional_date(field("due")).map_err(wrong("due"))?;
    let visible_to_staff_only =
        json_fields::flag(field("visible_to_staff_only")).map_err(wrong("visible_to_staff_only"))?;
    let hide_from_toc = json_fields::flag(field("hide_from_toc")).map_err(wrong("hide_from_toc"))?;
    Ok(Block {
        id: id.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::value::{Error as ValueError, MapDeserializer};
    use serde_json::{json, Value};

    const COURSE: &str = "course-v1:OpenedX+DemoX+DemoCourse";

    fn key(t: &str, n: &str) -> String {
        format!("block-v1:OpenedX+DemoX+DemoCourse+type@{t}+block@{n}")
    }

    fn course() -> CourseKey {
        CourseKey::parse(COURSE).unwrap()
    }

    fn parse(doc: Value) -> Result<Chunk, Problem> {
        parse_chunk(&course(), Room::unlimited(), &doc.to_string())
    }

    /// The pairs of a `blocks` object that claims `claimed` of them (as a
    /// jsonb container says how many it holds) and holds none.
    struct Claiming(usize);

    impl Iterator for Claiming {
        type Item = (String, String);

        fn next(&mut self) -> Option<Self::Item> {
            None
        }

        fn size_hint(&self) -> (usize, Option<usize>) {
            (self.0, Some(self.0))
        }
    }

    fn read_claiming(claimed: usize, room: Room) -> Result<Vec<Block>, Problem> {
        let course = course();
        let context = Context { course: &course, room, stop: Stop::new() };
        let source = MapDeserializer::<_, ValueError>::new(Claiming(claimed));
        let read = BlocksSeed { context: &context }.deserialize(source);
        match context.stop.take() {
            Some(problem) => Err(problem),
            None => Ok(read.unwrap()),
        }
    }

    #[test]
    fn a_blocks_object_claiming_more_pairs_than_the_room_is_refused_before_anything_is_reserved() {
        // 8 million claimed pairs once reserved 1.4 GB before any check.
        let room = Room { rebuild_id: 7, held: 10, max: 200_000 };
        let err = read_claiming(8_000_000, room).unwrap_err();
        assert_eq!(err.kind, ProblemKind::TooManyBlocks);
        assert!(err.message.contains(COURSE), "{}", err.message);
        assert!(
            err.message.contains("rebuild 7 would hold 8000010 blocks, more than coursenav.max_blocks (200000)"),
            "{}",
            err.message
        );
        // Exactly the room left is taken.
        assert_eq!(read_claiming(199_990, room), Ok(vec![]));
        assert_eq!(read_claiming(199_991, room).unwrap_err().kind, ProblemKind::TooManyBlocks);
    }

    #[test]
    fn memory_that_cannot_be_reserved_is_out_of_memory_not_an_abort() {
        let err = read_claiming(usize::MAX / 4, Room::unlimited()).unwrap_err();
        assert_eq!(err.kind, ProblemKind::OutOfMemory);
        assert!(err.message.contains(COURSE) && err.message.contains("blocks"), "{}", err.message);
    }

    #[test]
    fn a_source_that_claims_no_count_is_held_to_the_room_as_it_goes() {
        let doc = json!({"blocks": {key("chapter", "a"): {"type": "chapter"}, key("chapter", "b"): {"type": "chapter"},
                                    key("chapter", "c"): {"type": "chapter"}}});
        let room = Room { rebuild_id: 3, held: 0, max: 2 };
        let err = parse_chunk(&course(), room, &doc.to_string()).unwrap_err();
        assert_eq!(err.kind, ProblemKind::TooManyBlocks);
        assert!(err.message.contains("rebuild 3 would hold 3 blocks"), "{}", err.message);
        let room = Room { rebuild_id: 3, held: 0, max: 3 };
        assert_eq!(parse_chunk(&course(), room, &doc.to_string()).unwrap().blocks.len(), 3);
    }

    #[test]
    fn a_children_list_longer_than_a_structure_may_be_is_refused() {
        let children: Vec<String> = (0..4).map(|i| key("chapter", &format!("c{i}"))).collect();
        let doc = json!({"blocks": {key("course", "course"): {"type": "course", "children": children}}});
        let room = Room { rebuild_id: 1, held: 0, max: 3 };
        let err = parse_chunk(&course(), room, &doc.to_string()).unwrap_err();
        assert_eq!(err.kind, ProblemKind::TooManyBlocks);
        assert!(err.message.contains("lists 4 children, more than coursenav.max_blocks (3)"), "{}", err.message);
    }

    #[test]
    fn numbers_in_navigation_fields_are_refused_naming_block_and_field_and_never_read_as_null() {
        let ch = key("chapter", "c1");
        for field in
            ["graded", "hide_from_toc", "start", "due", "children", "display_name", "visible_to_staff_only", "format"]
        {
            // 1e300 is a double; 1e400 is beyond one (serde_json's text
            // reader refuses it itself; the jsonb reader does the same).
            for number in ["1e300", "1e400", "-1e400", "1e-400"] {
                let text = format!("{{\"blocks\": {{\"{ch}\": {{\"type\": \"chapter\", \"{field}\": {number}}}}}}}");
                let err = parse_chunk(&course(), Room::unlimited(), &text).unwrap_err();
                assert_eq!(err.kind, ProblemKind::BadShape, "{field} {number}");
                assert!(
                    err.message.contains(&ch) && err.message.contains(&format!("field \"{field}\"")),
                    "{}",
                    err.message
                );
            }
        }
    }

    #[test]
    fn ignored_fields_are_passed_over_whatever_they_hold() {
        let ch = key("chapter", "c1");
        let doc = json!({"blocks": {ch: {"type": "chapter", "weight": 1e300, "data": {"a": [1, [2, [3]], "x"]},
                                         "long": "z".repeat(100_000)}}, "extra": [1, 2, 3]});
        let chunk = parse(doc).unwrap();
        assert_eq!(chunk.blocks.len(), 1);
    }

    #[test]
    fn texts_longer_than_a_field_may_hold_are_refused_naming_block_and_field() {
        let ch = key("chapter", "c1");
        let doc = json!({"blocks": {ch.clone(): {"type": "chapter", "display_name": "n".repeat(20_000)}}});
        let err = parse(doc).unwrap_err();
        assert_eq!(err.kind, ProblemKind::BadShape);
        assert!(
            err.message.contains(&ch)
                && err.message.contains("\"display_name\"")
                && err.message.contains("20000 bytes"),
            "{}",
            err.message
        );
        assert!(err.message.len() < 400, "the message does not echo the text");
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
        for doc in
            [json!([]), json!({"root": 3, "blocks": {}}), json!({"root": key("course", "c")}), json!({"blocks": []})]
        {
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
