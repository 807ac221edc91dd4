//! The fuzzer's Course Blocks family: valid documents (the small course of
//! `courses.rs` and richer ones with dates, graded subsections, staff-only
//! units, shared components and ignored fields), mutated, then rebuilt in
//! one call, in chunks in one transaction, or in chunks committed first and
//! completed from storage. A refusal must carry a documented SQLSTATE and
//! leave the serving version as it was; an accepted rebuild must serve what
//! `fuzz_reference` reads from the stored chunks.

use crate::fuzz::{
    check_cluster, fuzz_cluster, judge_refusal, refusal, Batch, CaseInfo, Died, Failures, Fuzz, Refusal, Session,
    JSONB_INPUT_SQLSTATES,
};
use crate::fuzz_json::{
    bad_date, deep, duplicate_a_key, edge_number, long_length, long_string, many, other_type, pick, pick_object,
    with_nul, Json,
};
use crate::fuzz_reference::check_served;
use coursenav_domain::testing::{small_course, usage_key as key};
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

const COURSES: usize = 4;
const OTHER_COURSE: &str = "course-v1:Other+X+2030";
/// The fields navigation reads, where mutations aim most often.
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

fn course_id(k: usize) -> String {
    format!("course-v1:FuzzU+B{k}+2030")
}

/// A valid course with what navigation reads filled in: start dates with
/// offsets, graded subsections with formats and due dates, staff-only and
/// hidden units, a problem shared by two units, fields navigation ignores.
fn rich(course_id: &str, rng: &mut ChaCha8Rng, label: &str) -> Value {
    let mut blocks = Map::new();
    let root = key(course_id, "course", "course");
    let mut chapters = Vec::new();
    for c in 0..rng.random_range(1..=3) {
        let mut sequentials = Vec::new();
        for s in 0..rng.random_range(1..=2) {
            let shared = key(course_id, "problem", &format!("p{c}{s}"));
            blocks.insert(
                shared.clone(),
                json!({"type": "problem", "display_name": "Problem", "weight": 2.5, "graded": true}),
            );
            let mut verticals = Vec::new();
            for v in 0..rng.random_range(1..=2) {
                let html = key(course_id, "html", &format!("h{c}{s}{v}"));
                blocks.insert(
                    html.clone(),
                    json!({"id": html, "type": "html", "display_name": "Text", "student_view_url": "/x"}),
                );
                let vertical = key(course_id, "vertical", &format!("v{c}{s}{v}"));
                blocks.insert(
                    vertical.clone(),
                    json!({"type": "vertical", "display_name": format!("{label} unit {c}.{s}.{v}"), "children": [html, shared],
                           "visible_to_staff_only": rng.random_bool(0.2), "hide_from_toc": rng.random_bool(0.1),
                           "block_counts": {"problem": 1, "html": 1}, "completion": 0.5}),
                );
                verticals.push(vertical);
            }
            let sequential = key(course_id, "sequential", &format!("s{c}{s}"));
            let graded = rng.random_bool(0.5);
            blocks.insert(
                sequential.clone(),
                json!({"id": sequential, "type": "sequential", "display_name": format!("{label} subsection {c}.{s}"),
                       "children": verticals, "graded": graded, "format": if graded { json!("Homework") } else { Value::Null },
                       "due": if graded { json!(format!("2030-0{}-15T12:00:00-05:00", s + 2)) } else { Value::Null },
                       "start": if rng.random_bool(0.3) { json!("2031-01-01T00:00:00.250+01:00") } else { Value::Null }}),
            );
            sequentials.push(sequential);
        }
        let chapter = key(course_id, "chapter", &format!("c{c}"));
        blocks.insert(
            chapter.clone(),
            json!({"type": "chapter", "display_name": format!("{label} section {c}"), "children": sequentials,
                   "start": format!("2030-0{}-01T00:00:00+02:00", c + 1), "lms_web_url": "https://lms.example/x"}),
        );
        chapters.push(chapter);
    }
    blocks.insert(
        root.clone(),
        json!({"id": root, "type": "course", "display_name": format!("{label} course"), "children": chapters,
               "start": "2030-01-01T00:00:00Z", "visible_to_staff_only": false}),
    );
    json!({"root": root, "blocks": blocks})
}

/// How a case's document reaches coursenav.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Delivery {
    /// `coursenav.rebuild`: begin, add, complete in one call.
    Rebuild,
    /// begin_rebuild, add_blocks per chunk, complete_rebuild, in one transaction.
    ChunksInOneTransaction,
    /// Chunks added and committed, then completed in a transaction of its
    /// own, which reads them back from storage.
    ChunksCommitted,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Op {
    Control,
    TypeSwap,
    EdgeNumber,
    DeepNesting,
    LongString,
    Nul,
    BadDate,
    ManyPairs,
    DuplicateKey,
    WrongKey,
    MissingField,
    ExtraField,
    Structure,
    NumberAmplification,
    AnotherCoursesDocument,
    LongVersion,
    LongCourseKey,
}

const OPS: [(Op, &str, u32); 17] = [
    (Op::Control, "control (no mutation)", 4),
    (Op::TypeSwap, "type swap", 12),
    (Op::EdgeNumber, "huge and tiny numbers", 12),
    (Op::DeepNesting, "deep nesting", 5),
    (Op::LongString, "long string", 5),
    (Op::Nul, "NUL", 3),
    (Op::BadDate, "bad date", 12),
    (Op::ManyPairs, "many pairs", 5),
    (Op::DuplicateKey, "duplicate key", 8),
    (Op::WrongKey, "wrong key", 9),
    (Op::MissingField, "missing field", 5),
    (Op::ExtraField, "extra field", 5),
    (Op::Structure, "structure", 8),
    (Op::NumberAmplification, "number amplification", 3),
    (Op::AnotherCoursesDocument, "another course's document", 2),
    (Op::LongVersion, "long course_version", 2),
    (Op::LongCourseKey, "long course key", 2),
];

/// Light mutations stacked on top of the first one now and then.
const EXTRA_OPS: [Op; 6] =
    [Op::TypeSwap, Op::ExtraField, Op::MissingField, Op::DuplicateKey, Op::EdgeNumber, Op::BadDate];

fn op_name(op: Op) -> &'static str {
    OPS.iter().find(|o| o.0 == op).map(|o| o.1).unwrap()
}

struct DocCase {
    info: CaseInfo,
    course: String,
    version: String,
    delivery: Delivery,
    /// The text of each add_blocks chunk (one for `Rebuild`).
    chunks: Vec<String>,
    op: Op,
    /// For the argument families: the valid document to rebuild with.
    valid: String,
}

fn blocks_len(doc: &Json) -> usize {
    match doc.get("blocks") {
        Some(Json::Obj(pairs)) => pairs.len(),
        _ => 0,
    }
}

/// A random block that is an object, if any.
fn random_object_block<'a>(doc: &'a mut Json, rng: &mut ChaCha8Rng) -> Option<(String, &'a mut Json)> {
    let objects: Vec<usize> = match doc.get("blocks") {
        Some(Json::Obj(pairs)) => {
            pairs.iter().enumerate().filter(|(_, (_, v))| matches!(v, Json::Obj(_))).map(|(i, _)| i).collect()
        }
        _ => vec![],
    };
    let i = *objects.choose(rng)?;
    let pairs = doc.get_mut("blocks")?.pairs_mut()?;
    let (k, v) = &mut pairs[i];
    Some((k.clone(), v))
}

/// Where a mutation lands: mostly a navigation field of a block, otherwise
/// any node of the document.
fn target<'a>(doc: &'a mut Json, rng: &mut ChaCha8Rng) -> (String, &'a mut Json) {
    let has_object_block =
        matches!(doc.get("blocks"), Some(Json::Obj(p)) if p.iter().any(|(_, v)| matches!(v, Json::Obj(_))));
    if has_object_block && rng.random_bool(0.65) {
        let field = *NAVIGATION_FIELDS.choose(rng).unwrap();
        let (block, value) = random_object_block(doc, rng).expect("an object block");
        return (format!("{field} of {block}"), value.slot(field).expect("an object"));
    }
    ("a random node".into(), pick(doc, rng))
}

/// The ids of the blocks of `block_type` in the document.
fn ids_of_type(doc: &Json, block_type: &str) -> Vec<String> {
    match doc.get("blocks") {
        Some(Json::Obj(pairs)) => pairs
            .iter()
            .filter(|(_, v)| v.get("type") == Some(&Json::str(block_type)))
            .map(|(k, _)| k.clone())
            .collect(),
        _ => vec![],
    }
}

fn block_mut<'a>(doc: &'a mut Json, id: &str) -> Option<&'a mut Json> {
    doc.get_mut("blocks")?.get_mut(id)
}

/// Appends `child` to the children of block `parent` (made a list if need be).
fn add_child(doc: &mut Json, parent: &str, child: Json) {
    if let Some(block) = block_mut(doc, parent) {
        if let Some(children) = block.slot("children") {
            match children {
                Json::Arr(items) => items.push(child),
                other => *other = Json::Arr(vec![child]),
            }
        }
    }
}

fn first_child(doc: &Json, parent: &str) -> Option<String> {
    match doc.get("blocks")?.get(parent)?.get("children")? {
        Json::Arr(items) => items.iter().find_map(|c| if let Json::Str(s) = c { Some(s.clone()) } else { None }),
        _ => None,
    }
}

/// Applies one mutation and says what it did.
fn mutate(op: Op, doc: &mut Json, course: &str, rng: &mut ChaCha8Rng) -> String {
    match op {
        Op::Control | Op::LongVersion | Op::LongCourseKey => "none".into(),
        Op::TypeSwap => {
            let (where_, node) = target(doc, rng);
            *node = other_type(node, rng);
            format!("type swap at {where_}: {}", node.text())
        }
        Op::EdgeNumber => {
            let (where_, node) = target(doc, rng);
            *node = edge_number(rng);
            format!("number {} at {where_}", node.text())
        }
        Op::DeepNesting => {
            let value = deep(rng);
            let description = match &value {
                Json::Deep { depth, objects } => {
                    format!("{depth} deep {}", if *objects { "objects" } else { "arrays" })
                }
                _ => unreachable!(),
            };
            if rng.random_bool(0.5) {
                if let Some((block, b)) = random_object_block(doc, rng) {
                    *b.slot("nested").unwrap() = value;
                    return format!("{description} in an ignored field of {block}");
                }
            }
            let (where_, node) = target(doc, rng);
            *node = value;
            format!("{description} at {where_}")
        }
        Op::LongString => {
            let len = long_length(rng);
            let text = long_string(rng, len);
            let len = text.len();
            if rng.random_bool(0.5) {
                if let Some((block, b)) = random_object_block(doc, rng) {
                    let field = *["display_name", "format", "notes"].choose(rng).unwrap();
                    *b.slot(field).unwrap() = Json::Str(text);
                    return format!("a {len}-byte {field} of {block}");
                }
            }
            let (where_, node) = target(doc, rng);
            *node = Json::Str(text);
            format!("a {len}-byte string at {where_}")
        }
        Op::Nul => {
            if rng.random_bool(0.3) {
                if let Some(pairs) = doc.get_mut("blocks").and_then(Json::pairs_mut) {
                    if !pairs.is_empty() {
                        let i = rng.random_range(0..pairs.len());
                        pairs[i].0.push('\u{0}');
                        return "NUL at the end of a block key".into();
                    }
                }
            }
            let (where_, node) = target(doc, rng);
            *node = with_nul(node, rng);
            format!("NUL in {where_}")
        }
        Op::BadDate => {
            let field = if rng.random_bool(0.5) { "start" } else { "due" };
            match random_object_block(doc, rng) {
                Some((block, b)) => {
                    let date = bad_date(rng);
                    let text = date.text();
                    *b.slot(field).unwrap() = date;
                    format!("{field} {text} of {block}")
                }
                None => "no block to date".into(),
            }
        }
        Op::ManyPairs => {
            let n = many(rng);
            let into_blocks = rng.random_bool(0.6);
            if into_blocks {
                let valid = rng.random_bool(0.7);
                if let Some(pairs) = doc.get_mut("blocks").and_then(Json::pairs_mut) {
                    pairs.reserve(n);
                    for i in 0..n {
                        if valid {
                            pairs.push((
                                key(course, "html", &format!("m{i}")),
                                Json::Obj(vec![("type".into(), Json::str("html"))]),
                            ));
                        } else {
                            pairs.push((format!("k{i}"), Json::Null));
                        }
                    }
                    return format!("{n} {} pairs added to blocks", if valid { "orphan html block" } else { "null" });
                }
            }
            match pick_object(doc, rng) {
                Some(object) => {
                    let pairs = object.pairs_mut().unwrap();
                    pairs.reserve(n);
                    for i in 0..n {
                        pairs.push((format!("f{i}"), Json::Num("0".into())));
                    }
                    format!("{n} ignored pairs added to an object")
                }
                None => "no object for pairs".into(),
            }
        }
        Op::DuplicateKey => {
            if rng.random_bool(0.3) {
                let root = match rng.random_range(0..3) {
                    0 => Json::str(key(OTHER_COURSE, "course", "course")),
                    1 => ids_of_type(doc, "chapter").first().map(|c| Json::str(c.clone())).unwrap_or(Json::Null),
                    _ => Json::str(key(course, "course", "course")),
                };
                if let Some(pairs) = doc.pairs_mut() {
                    let text = root.text();
                    pairs.insert(0, ("root".into(), root));
                    return format!("\"root\" given twice, first as {text}");
                }
            }
            match pick_object(doc, rng) {
                Some(object) => {
                    duplicate_a_key(object.pairs_mut().unwrap(), rng);
                    "a key given twice in an object".into()
                }
                None => "no object for a duplicate key".into(),
            }
        }
        Op::WrongKey => wrong_key(doc, course, rng),
        Op::MissingField => {
            if rng.random_bool(0.3) {
                let field = *["root", "blocks"].choose(rng).unwrap();
                doc.remove(field);
                return format!("\"{field}\" removed");
            }
            match random_object_block(doc, rng) {
                Some((block, b)) => {
                    let field = *NAVIGATION_FIELDS.choose(rng).unwrap();
                    b.remove(field);
                    format!("\"{field}\" removed from {block}")
                }
                None => "no block to remove from".into(),
            }
        }
        Op::ExtraField => {
            let name = *[
                "weight",
                "student_view_url",
                "block_counts",
                "completion",
                "x",
                "",
                "\u{1F600}",
                "children ",
                "Type",
                "ID",
            ]
            .choose(rng)
            .unwrap();
            let value = other_type(&Json::Null, rng);
            let text = value.text();
            if rng.random_bool(0.2) {
                *doc.slot(name).unwrap_or(&mut Json::Null) = value;
                return format!("top-level field {name:?} = {text}");
            }
            match random_object_block(doc, rng) {
                Some((block, b)) => {
                    *b.slot(name).unwrap() = value;
                    format!("field {name:?} = {text} added to {block}")
                }
                None => "no block for a field".into(),
            }
        }
        Op::Structure => structure(doc, course, rng),
        Op::NumberAmplification => {
            // 20,000 copies are 180 KB of JSON and 2.6 GB of digits when
            // each is printed in full: past the backends' limit.
            let copies = *[(1, 5), (10, 5), (100, 5), (1_000, 4), (3_000, 2), (20_000, 2)]
                .choose_weighted(rng, |c| c.1)
                .map(|c| &c.0)
                .unwrap();
            let number = *["1e131071", "-1e131071", "1e-16383", "1e131071"].choose(rng).unwrap();
            let value = Json::Arr((0..copies).map(|_| Json::Num(number.into())).collect());
            match random_object_block(doc, rng) {
                Some((block, b)) if rng.random_bool(0.7) => {
                    *b.slot("amplified").unwrap() = value;
                    format!("{copies} copies of {number} in an ignored field of {block}")
                }
                _ => {
                    *doc.slot("amplified").unwrap_or(&mut Json::Null) = value;
                    format!("{copies} copies of {number} in an ignored top-level field")
                }
            }
        }
        Op::AnotherCoursesDocument => {
            let other = if rng.random_bool(0.5) {
                OTHER_COURSE.to_string()
            } else {
                course_id((course_index(course) + 1) % COURSES)
            };
            *doc = Json::from_value(&small_course(&other, 2, "foreign"));
            format!("the document of {other}")
        }
    }
}

fn course_index(course: &str) -> usize {
    (0..COURSES).find(|&k| course_id(k) == course).unwrap_or(0)
}

/// A key where it does not belong: another course's, a malformed one, one
/// with no block, a different id or type.
fn wrong_key(doc: &mut Json, course: &str, rng: &mut ChaCha8Rng) -> String {
    let foreign = key(OTHER_COURSE, "chapter", "c0");
    let malformed = *[
        "block-v1:garbage",
        "",
        "course-v1:FuzzU+B0+2030",
        "i4x://FuzzU/B0/chapter/c0",
        " block-v1:FuzzU+B0+2030+type@chapter+block@c0",
    ]
    .choose(rng)
    .unwrap();
    let choice = rng.random_range(0..9);
    match choice {
        0 => {
            *doc.slot("root").unwrap_or(&mut Json::Null) = Json::str(key(OTHER_COURSE, "course", "course"));
            "root of another course".into()
        }
        1 => {
            let chapter = ids_of_type(doc, "chapter").first().cloned().unwrap_or_default();
            *doc.slot("root").unwrap_or(&mut Json::Null) = Json::str(chapter.clone());
            format!("root {chapter:?}, a chapter")
        }
        2..=4 => {
            let parents: Vec<String> =
                ["course", "chapter", "sequential", "vertical"].iter().flat_map(|t| ids_of_type(doc, t)).collect();
            let Some(parent) = parents.choose(rng).cloned() else { return "no parent".into() };
            let child = match choice {
                2 => foreign.clone(),
                3 => malformed.to_string(),
                _ => key(course, "vertical", "ghost"),
            };
            add_child(doc, &parent, Json::str(child.clone()));
            format!("child {child:?} added to {parent}")
        }
        5 | 6 => {
            let Some(pairs) = doc.get_mut("blocks").and_then(Json::pairs_mut) else { return "no blocks".into() };
            if pairs.is_empty() {
                return "no blocks".into();
            }
            let i = rng.random_range(0..pairs.len());
            let old =
                std::mem::replace(&mut pairs[i].0, if choice == 5 { foreign.clone() } else { malformed.to_string() });
            format!("block {old} renamed {:?}", pairs[i].0)
        }
        7 => {
            let ids: Vec<String> = match doc.get("blocks") {
                Some(Json::Obj(pairs)) => pairs.iter().map(|(k, _)| k.clone()).collect(),
                _ => vec![],
            };
            let other = ids.choose(rng).cloned().unwrap_or_default();
            match random_object_block(doc, rng) {
                Some((block, b)) => {
                    *b.slot("id").unwrap() = Json::str(other.clone());
                    format!("\"id\" of {block} set to {other:?}")
                }
                None => "no block".into(),
            }
        }
        _ => {
            let new_type = *["problem", "chapter", "course", "", "Chapter"].choose(rng).unwrap();
            match random_object_block(doc, rng) {
                Some((block, b)) => {
                    *b.slot("type").unwrap() = Json::str(new_type);
                    format!("\"type\" of {block} set to {new_type:?}")
                }
                None => "no block".into(),
            }
        }
    }
}

/// A structure navigation cannot walk (cycles, children with no block, two
/// parents, a child twice, no root) or an odd one it can (orphans, children
/// reversed, a chapter under a unit).
fn structure(doc: &mut Json, course: &str, rng: &mut ChaCha8Rng) -> String {
    let root = key(course, "course", "course");
    let chapters = ids_of_type(doc, "chapter");
    let sequentials = ids_of_type(doc, "sequential");
    let verticals = ids_of_type(doc, "vertical");
    match rng.random_range(0..9) {
        0 => {
            let Some(v) = verticals.choose(rng) else { return "no unit".into() };
            add_child(doc, v, Json::str(root.clone()));
            format!("cycle: {v} lists the course")
        }
        1 => {
            let Some(s) = sequentials.choose(rng) else { return "no subsection".into() };
            let parent =
                chapters.iter().find(|c| first_child(doc, c).as_deref() == Some(s)).cloned().unwrap_or(root.clone());
            add_child(doc, s, Json::str(parent.clone()));
            format!("cycle: {s} lists {parent}")
        }
        2 => {
            let Some(c) = chapters.choose(rng) else { return "no chapter".into() };
            let ghost = key(course, "sequential", "ghost");
            add_child(doc, c, Json::str(ghost.clone()));
            format!("{c} lists {ghost}, which has no block")
        }
        3 => {
            let (Some(c), Some(s)) = (chapters.choose(rng), sequentials.choose(rng)) else {
                return "no chapter".into();
            };
            add_child(doc, c, Json::str(s.clone()));
            format!("{s} added to {c}: two parents or listed twice")
        }
        4 => {
            let Some(c) = chapters.choose(rng) else { return "no chapter".into() };
            let Some(s) = first_child(doc, c) else { return "no child".into() };
            add_child(doc, c, Json::str(s.clone()));
            format!("{c} lists {s} twice")
        }
        5 => {
            doc.remove("root");
            "no root".into()
        }
        6 => {
            let orphan = key(course, "chapter", "orphan");
            if let Some(pairs) = doc.get_mut("blocks").and_then(Json::pairs_mut) {
                pairs.push((
                    orphan.clone(),
                    Json::Obj(vec![
                        ("type".into(), Json::str("chapter")),
                        ("display_name".into(), Json::str("Orphan")),
                    ]),
                ));
            }
            format!("orphan chapter {orphan}")
        }
        7 => {
            let parents: Vec<String> =
                [&chapters, &sequentials, &vec![root.clone()]].iter().flat_map(|l| l.iter().cloned()).collect();
            let Some(p) = parents.choose(rng).cloned() else { return "no parent".into() };
            if let Some(Json::Arr(items)) = block_mut(doc, &p).and_then(|b| b.get_mut("children")) {
                items.reverse();
            }
            format!("children of {p} reversed")
        }
        _ => {
            let (Some(v), Some(c)) = (verticals.choose(rng).cloned(), chapters.choose(rng).cloned()) else {
                return "no unit".into();
            };
            let nested = key(course, "chapter", "nested");
            if let Some(pairs) = doc.get_mut("blocks").and_then(Json::pairs_mut) {
                pairs.push((
                    nested.clone(),
                    Json::Obj(vec![
                        ("type".into(), Json::str("chapter")),
                        ("display_name".into(), Json::str("Nested")),
                    ]),
                ));
            }
            add_child(doc, &v, Json::str(nested.clone()));
            format!("chapter {nested} under unit {v} (beside {c})")
        }
    }
}

/// Splits a document into add_blocks chunks: the first with the root and
/// part of the blocks, the second with the rest (and the root again, now
/// and then).
fn split(doc: Json, rng: &mut ChaCha8Rng) -> Vec<Json> {
    let n = blocks_len(&doc);
    if n < 2 {
        return vec![doc];
    }
    let mut first = doc;
    let cut = rng.random_range(1..n);
    let rest = first.get_mut("blocks").and_then(Json::pairs_mut).map(|pairs| pairs.split_off(cut)).unwrap_or_default();
    let mut second = vec![("blocks".to_string(), Json::Obj(rest))];
    if rng.random_bool(0.3) {
        if let Some(root) = first.get("root") {
            second.insert(0, ("root".into(), root.clone()));
        }
    }
    vec![first, Json::Obj(second)]
}

fn generate(fuzz: &Fuzz, number: usize) -> DocCase {
    let mut rng = fuzz.rng(number);
    let course = course_id(rng.random_range(0..COURSES));
    let label = format!("case {number}");
    let base = if rng.random_bool(0.5) {
        small_course(&course, rng.random_range(1..=4), &label)
    } else {
        rich(&course, &mut rng, &label)
    };
    let valid = base.to_string();
    let mut doc = Json::from_value(&base);
    let op = OPS.choose_weighted(&mut rng, |o| o.2).unwrap().0;
    let mut recipe = vec![mutate(op, &mut doc, &course, &mut rng)];
    if !matches!(op, Op::Control | Op::LongVersion | Op::LongCourseKey) && rng.random_bool(0.25) {
        for _ in 0..rng.random_range(1..=2) {
            let extra = *EXTRA_OPS.choose(&mut rng).unwrap();
            recipe.push(mutate(extra, &mut doc, &course, &mut rng));
        }
    }
    let delivery = if matches!(op, Op::LongVersion | Op::LongCourseKey) {
        Delivery::Rebuild
    } else {
        *[Delivery::Rebuild, Delivery::Rebuild, Delivery::ChunksInOneTransaction, Delivery::ChunksCommitted]
            .choose(&mut rng)
            .unwrap()
    };
    let mut version = format!("fz{number}");
    let mut course_key = course;
    match op {
        Op::LongVersion => {
            let len = *[7_900, 7_990, 8_000, 8_100, 20_000, 300_000].choose(&mut rng).unwrap();
            version = format!("v{}", "7".repeat(len));
            recipe.push(format!("course_version of {} bytes", version.len()));
        }
        Op::LongCourseKey => {
            let len = *[200, 2_000, 7_900, 8_100, 30_000].choose(&mut rng).unwrap();
            course_key = format!("course-v1:FuzzL+N{}+2030", "n".repeat(len));
            recipe.push(format!("course key of {} bytes", course_key.len()));
        }
        _ => {}
    }
    let chunks: Vec<String> = match delivery {
        Delivery::Rebuild => vec![doc.text()],
        _ => split(doc, &mut rng).iter().map(Json::text).collect(),
    };
    recipe.push(format!("{delivery:?}, {} chunk(s)", chunks.len()));
    let input = if matches!(op, Op::LongVersion) {
        version.clone()
    } else if matches!(op, Op::LongCourseKey) {
        course_key.clone()
    } else {
        chunks.join(" | ")
    };
    let info = CaseInfo::new(number, op_name(op), recipe.join("; "), &input);
    DocCase { info, course: course_key, version, delivery, chunks, op, valid }
}

type Serving = (Option<String>, Option<String>, Option<String>);

/// What a course serves: its block_structure_version, and the version
/// stamps of its navigation tree.
fn serving(client: &mut postgres::Client, course: &str) -> Result<Serving, postgres::Error> {
    let row = client.query_one(
        "SELECT coursenav.block_structure_version($1)::text, s.t->>'block_structure_version', s.t->>'course_version'
           FROM (SELECT coursenav.navigation_tree($1) AS t) s",
        &[&course],
    )?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

/// A harness statement that must not fail; a failure is the backend dying
/// or a broken promise of its own.
fn harness<T>(failures: &mut Failures, case: &CaseInfo, result: Result<T, postgres::Error>) -> Result<Option<T>, Died> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) => match refusal(&e) {
            Refusal::Died(message) => {
                failures.add(case, "backend died (connection lost)", message);
                failures.outcome(case, "backend died");
                Err(Died)
            }
            Refusal::Error { code, message } => {
                failures.add(case, format!("a check query failed with {code}"), message);
                Ok(None)
            }
        },
    }
}

/// Whether PostgreSQL's own jsonb input takes every chunk; when it does not,
/// the case never reaches coursenav and is counted as such.
fn jsonb_takes(client: &mut postgres::Client, failures: &mut Failures, case: &DocCase) -> Result<bool, Died> {
    for chunk in &case.chunks {
        if let Err(e) = client.query_one("SELECT $1::text::jsonb IS NOT NULL", &[chunk]) {
            match refusal(&e) {
                Refusal::Died(message) => {
                    failures.add(&case.info, "backend died (connection lost)", message);
                    return Err(Died);
                }
                Refusal::Error { code, message } => {
                    if !JSONB_INPUT_SQLSTATES.contains(&code.as_str()) {
                        failures.add(&case.info, format!("jsonb input raised {code}"), message);
                    }
                    failures.outcome(&case.info, format!("not jsonb ({code})"));
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// Runs the statements of a case that stay in the batch's transaction.
fn rebuild_in_transaction(client: &mut postgres::Client, case: &DocCase) -> Result<Option<String>, postgres::Error> {
    match case.delivery {
        Delivery::Rebuild => client
            .query_one(
                "SELECT coursenav.rebuild($1, $2, $3::text::jsonb)::text",
                &[&case.course, &case.version, &case.chunks[0]],
            )?
            .try_get(0),
        _ => {
            let id: i64 =
                client.query_one("SELECT coursenav.begin_rebuild($1, $2)", &[&case.course, &case.version])?.get(0);
            for chunk in &case.chunks {
                client.query_one("SELECT coursenav.add_blocks($1, $2::text::jsonb)", &[&id, chunk])?;
            }
            client.query_one("SELECT coursenav.complete_rebuild($1)::text", &[&id])?.try_get(0)
        }
    }
}

/// One case in its own savepoint of the batch's transaction.
fn run_in_savepoint(session: &mut Session, failures: &mut Failures, case: &DocCase) -> Result<(), Died> {
    let info = &case.info;
    let before = if matches!(case.op, Op::LongCourseKey) {
        None
    } else {
        harness(failures, info, serving(&mut session.client, &case.course))?
    };
    harness(failures, info, session.client.batch_execute("SAVEPOINT fz"))?;
    if !matches!(case.op, Op::LongVersion | Op::LongCourseKey) && !jsonb_takes(&mut session.client, failures, case)? {
        return rollback(session, failures, info);
    }
    if matches!(case.op, Op::LongVersion | Op::LongCourseKey) {
        return run_arguments(session, failures, case, before);
    }
    match rebuild_in_transaction(&mut session.client, case) {
        Err(e) => {
            judge_refusal(failures, info, &e)?;
            rollback(session, failures, info)?;
            unchanged_after_refusal(session, failures, case, before)
        }
        Ok(version) => {
            failures.outcome(info, "accepted");
            let clean =
                check_served(&mut session.client, failures, info, &case.course, &case.version, version.as_deref())?;
            if clean {
                harness(failures, info, session.client.batch_execute("RELEASE SAVEPOINT fz")).map(|_| ())
            } else {
                rollback(session, failures, info)
            }
        }
    }
}

fn rollback(session: &mut Session, failures: &mut Failures, info: &CaseInfo) -> Result<(), Died> {
    harness(failures, info, session.client.batch_execute("ROLLBACK TO SAVEPOINT fz; RELEASE SAVEPOINT fz")).map(|_| ())
}

fn unchanged_after_refusal(
    session: &mut Session,
    failures: &mut Failures,
    case: &DocCase,
    before: Option<Serving>,
) -> Result<(), Died> {
    let after = harness(failures, &case.info, serving(&mut session.client, &case.course))?;
    if let (Some(before), Some(after)) = (before, after) {
        if before != after {
            failures.add(
                &case.info,
                "the serving version changed after a refusal",
                format!("before {before:?}, after {after:?}"),
            );
        }
    }
    Ok(())
}

/// A long course_version or course key: publish_course may refuse it, but
/// what it takes must then rebuild with a valid document, and a course it
/// took must be deletable. Rolled back either way.
fn run_arguments(
    session: &mut Session,
    failures: &mut Failures,
    case: &DocCase,
    before: Option<Serving>,
) -> Result<(), Died> {
    let info = &case.info;
    let client = &mut session.client;
    if let Err(e) = client.query_one("SELECT coursenav.publish_course($1, $2)", &[&case.course, &case.version]) {
        judge_refusal(failures, info, &e)?;
        rollback(session, failures, info)?;
        return if before.is_some() { unchanged_after_refusal(session, failures, case, before) } else { Ok(()) };
    }
    let document = if matches!(case.op, Op::LongCourseKey) {
        small_course(&case.course, 1, "long").to_string()
    } else {
        case.valid.clone()
    };
    match client
        .query_one("SELECT coursenav.rebuild($1, $2, $3::text::jsonb)::text", &[&case.course, &case.version, &document])
    {
        Err(e) => {
            if let Refusal::Died(_) = refusal(&e) {
                judge_refusal(failures, info, &e)?;
            }
            let (code, message) = match refusal(&e) {
                Refusal::Error { code, message } => (code, message),
                Refusal::Died(m) => (String::new(), m),
            };
            failures.add(info, "publish_course took it, a valid rebuild of it fails", format!("{code}: {message}"));
            failures.outcome(info, format!("refused {code} after publish"));
        }
        Ok(row) => {
            failures.outcome(info, "accepted");
            let version: Option<String> = row.get(0);
            let clean = check_served(client, failures, info, &case.course, &case.version, version.as_deref())?;
            if clean && matches!(case.op, Op::LongCourseKey) {
                match client.query_one("SELECT coursenav.delete_course($1)", &[&case.course]) {
                    Ok(row) if row.get::<_, bool>(0) => {}
                    Ok(_) => failures.add(info, "a published course is unknown to delete_course", String::new()),
                    Err(e) => {
                        if let Refusal::Died(_) = refusal(&e) {
                            judge_refusal(failures, info, &e)?;
                        }
                        failures.add(info, "publish_course took it, delete_course of it fails", e.to_string());
                    }
                }
            }
        }
    }
    rollback(session, failures, info)
}

/// One case whose chunks are committed first and completed in a
/// transaction of its own, from storage.
fn run_committed(session: &mut Session, failures: &mut Failures, case: &DocCase) -> Result<(), Died> {
    let info = &case.info;
    let Some(before) = harness(failures, info, serving(&mut session.client, &case.course))? else { return Ok(()) };
    if !jsonb_takes(&mut session.client, failures, case)? {
        return Ok(());
    }
    let client = &mut session.client;
    let Some(row) = harness(
        failures,
        info,
        client.query_one("SELECT coursenav.begin_rebuild($1, $2)", &[&case.course, &case.version]),
    )?
    else {
        return Ok(());
    };
    let id: i64 = row.get(0);
    let mut refused = false;
    for chunk in &case.chunks {
        if let Err(e) = client.query_one("SELECT coursenav.add_blocks($1, $2::text::jsonb)", &[&id, chunk]) {
            judge_refusal(failures, info, &e)?;
            refused = true;
            break;
        }
    }
    if !refused {
        match client.query_one("SELECT coursenav.complete_rebuild($1)::text", &[&id]) {
            Err(e) => {
                judge_refusal(failures, info, &e)?;
                refused = true;
            }
            Ok(row) => {
                failures.outcome(info, "accepted");
                let version: Option<String> = row.get(0);
                harness(failures, info, client.batch_execute("BEGIN"))?;
                check_served(client, failures, info, &case.course, &case.version, version.as_deref())?;
                harness(failures, info, client.batch_execute("ROLLBACK"))?;
            }
        }
    }
    if refused {
        harness(failures, info, client.execute("SELECT coursenav.fail_rebuild($1, 'refused by the fuzzer')", &[&id]))?;
        unchanged_after_refusal(session, failures, case, Some(before))?;
    }
    Ok(())
}

pub(crate) fn run(fuzz: Fuzz) {
    let cluster = fuzz_cluster("fuzz-blocks");
    let mut failures = Failures::new(&fuzz);
    let mut session = Session::open(&cluster);
    let postmaster_started = cluster.postmaster_start_time();
    // Every course serves a valid structure before the cases start.
    for k in 0..COURSES {
        let setup = CaseInfo::new(usize::MAX, "setup", format!("the first rebuild of {}", course_id(k)), "");
        let version: Option<String> = session
            .client
            .query_one(
                "SELECT coursenav.rebuild($1, 'base', $2::text::jsonb)::text",
                &[&course_id(k), &small_course(&course_id(k), 2, "base").to_string()],
            )
            .unwrap()
            .get(0);
        session.client.batch_execute("BEGIN").unwrap();
        assert!(check_served(&mut session.client, &mut failures, &setup, &course_id(k), "base", version.as_deref())
            .unwrap_or(false));
        session.client.batch_execute("COMMIT").unwrap();
    }
    let mut batch = Batch::default();
    for number in 0..fuzz.cases {
        let case = generate(&fuzz, number);
        let started = std::time::Instant::now();
        let outcome = if case.delivery == Delivery::ChunksCommitted {
            batch.commit(&mut session).and_then(|()| run_committed(&mut session, &mut failures, &case))
        } else {
            batch
                .enter(&mut session)
                .and_then(|()| run_in_savepoint(&mut session, &mut failures, &case))
                .and_then(|()| batch.settle(&mut session))
        };
        failures.timed(&case.info, started.elapsed());
        match outcome {
            Ok(()) => session.note_peak("documents", &case.info),
            Err(Died) => {
                batch.lost();
                session.reopen();
            }
        }
    }
    batch.commit(&mut session).unwrap_or_else(|_| panic!("the last batch cannot be committed"));
    check_cluster(&mut failures, &cluster, &postmaster_started);
    let (accepted, refused) = (failures.count("accepted"), failures.count("refused"));
    assert!(accepted > 0 && refused > 0, "the fuzzer must see both outcomes: {accepted} accepted, {refused} refused");
    failures.finish();
}
