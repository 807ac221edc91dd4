//! Builds the navigation sidebar document: the Open edX
//! `api/course_home/v1/navigation` shape, a flat map of the course, its
//! chapters, sequentials and verticals, with the version stamps on top.
//!
//! The document is built once per completed rebuild and stored as `json`
//! text, so a read is a primary-key lookup that returns bytes as they are.

use crate::course_blocks::Block;
use crate::problem::{Problem, ProblemKind};
use crate::structure::{Structure, NAVIGATION_CONTAINERS};
use crate::visibility::{scheduled_content, Inherited};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// The versions a tree is stamped with, so a client can tell what it holds.
pub struct Stamp<'a> {
    pub course_id: &'a str,
    pub course_version: &'a str,
    pub block_structure_version: &'a str,
}

#[derive(Serialize)]
struct NavBlock<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    block_type: &'a str,
    display_name: Option<&'a str>,
    children: Vec<&'a str>,
    due: Option<&'a str>,
    format: Option<&'a str>,
    graded: bool,
    has_scheduled_content: bool,
    hide_from_toc: bool,
    visible_to_staff_only: bool,
    start: Option<String>,
}

/// Serialises blocks as a JSON object in the order they were visited, so the
/// stored document reads top-down like the course.
struct InVisitOrder<'a>(Vec<NavBlock<'a>>);

impl Serialize for InVisitOrder<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for block in &self.0 {
            map.serialize_entry(block.id, block)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Document<'a> {
    course_id: &'a str,
    course_version: &'a str,
    block_structure_version: &'a str,
    root: &'a str,
    blocks: InVisitOrder<'a>,
}

/// Walks the navigation hierarchy from the root, depth first in authored
/// order, carrying inherited start dates and staff-only flags down.
fn visit<'a>(structure: &Structure<'a, Block>, scheduled: &[bool]) -> Vec<NavBlock<'a>> {
    let nodes = structure.nodes;
    let mut out = Vec::new();
    let mut stack = vec![(structure.root, Inherited::default())];
    while let Some((i, above)) = stack.pop() {
        let block = &nodes[i];
        let effective = above.for_child(block);
        let children: Vec<usize> = structure
            .children_of(i)
            .iter()
            .copied()
            .filter(|&c| NAVIGATION_CONTAINERS.contains(&nodes[c].block_type.as_str()))
            .collect();
        out.push(NavBlock {
            id: &block.id,
            block_type: &block.block_type,
            display_name: block.display_name.as_deref(),
            children: children.iter().map(|&c| nodes[c].id.as_str()).collect(),
            due: block.due.as_deref(),
            format: block.format.as_deref(),
            graded: block.graded,
            has_scheduled_content: scheduled[i],
            hide_from_toc: block.hide_from_toc,
            visible_to_staff_only: effective.staff_only,
            start: effective.start.clone(),
        });
        // Reversed so the first child is popped, and so emitted, first.
        stack.extend(children.into_iter().rev().map(|c| (c, effective.clone())));
    }
    out
}

/// A buffer serde_json writes into that grows fallibly: a failed
/// reservation ends the write with an error instead of aborting the backend.
struct FallibleBuffer(Vec<u8>);

impl std::io::Write for FallibleBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.try_reserve(bytes.len()).map_err(|_| std::io::Error::from(std::io::ErrorKind::OutOfMemory))?;
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The sidebar document for a validated structure, as JSON text.
pub fn navigation_json(stamp: &Stamp<'_>, structure: &Structure<'_, Block>) -> Result<String, Problem> {
    let scheduled = scheduled_content(structure);
    let document = Document {
        course_id: stamp.course_id,
        course_version: stamp.course_version,
        block_structure_version: stamp.block_structure_version,
        root: &structure.nodes[structure.root].id,
        blocks: InVisitOrder(visit(structure, &scheduled)),
    };
    let mut buffer = FallibleBuffer(Vec::new());
    serde_json::to_writer(&mut buffer, &document).map_err(|_| {
        let what = format!("course \"{}\": no memory could be reserved for the navigation tree", stamp.course_id);
        Problem::new(ProblemKind::OutOfMemory, what)
    })?;
    Ok(String::from_utf8(buffer.0).expect("serde_json writes UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structure::validate;
    use serde_json::{json, Value};

    fn block(id: &str, block_type: &str, children: &[&str]) -> Block {
        Block {
            id: id.into(),
            block_type: block_type.into(),
            display_name: Some(format!("{block_type} {id}")),
            children: children.iter().map(|c| c.to_string()).collect(),
            graded: false,
            format: None,
            start: None,
            due: None,
            visible_to_staff_only: false,
            hide_from_toc: false,
        }
    }

    fn course() -> Vec<Block> {
        let mut blocks = vec![
            block("r", "course", &["c2", "c1"]),
            block("c1", "chapter", &["s1"]),
            block("c2", "chapter", &["s2"]),
            block("s1", "sequential", &["v1"]),
            block("s2", "sequential", &[]),
            block("v1", "vertical", &["p1"]),
            block("p1", "problem", &[]),
        ];
        blocks[1].start = Some("2030-01-01T00:00:00Z".into());
        blocks[1].visible_to_staff_only = true;
        blocks[3].graded = true;
        blocks[3].format = Some("Homework".into());
        blocks[3].start = Some("2029-01-01T00:00:00Z".into());
        blocks[6].due = Some("2030-02-01T00:00:00Z".into());
        blocks
    }

    fn build(blocks: &[Block]) -> Value {
        let structure = validate("course-v1:A+B+C", Some("r"), blocks).unwrap();
        let stamp = Stamp { course_id: "course-v1:A+B+C", course_version: "v1", block_structure_version: "u1" };
        serde_json::from_str(&navigation_json(&stamp, &structure).unwrap()).unwrap()
    }

    #[test]
    fn stops_at_verticals_and_keeps_authored_order() {
        let tree = build(&course());
        let blocks = tree["blocks"].as_object().unwrap();
        assert_eq!(blocks.len(), 6);
        assert!(!blocks.contains_key("p1"));
        assert_eq!(tree["blocks"]["r"]["children"], json!(["c2", "c1"]));
        assert_eq!(tree["blocks"]["v1"]["children"], json!([]));
        assert_eq!(tree["root"], "r");
        assert_eq!(tree["course_version"], "v1");
        assert_eq!(tree["block_structure_version"], "u1");
    }

    #[test]
    fn blocks_come_out_in_course_order() {
        let blocks = course();
        let structure = validate("course-v1:A+B+C", Some("r"), &blocks).unwrap();
        let stamp = Stamp { course_id: "c", course_version: "v", block_structure_version: "u" };
        let text = navigation_json(&stamp, &structure).unwrap();
        let at = |id: &str| text.find(&format!("\"{id}\":{{")).unwrap();
        assert!(at("r") < at("c2") && at("c2") < at("s2") && at("s2") < at("c1") && at("c1") < at("s1"));
    }

    #[test]
    fn inherits_start_and_staff_only_and_marks_scheduled_content() {
        let tree = build(&course());
        let seq = &tree["blocks"]["s1"];
        assert_eq!(seq["start"], "2030-01-01T00:00:00Z", "the chapter's later start wins");
        assert_eq!(seq["visible_to_staff_only"], true);
        assert_eq!(seq["graded"], true);
        assert_eq!(seq["format"], "Homework");
        assert_eq!(seq["has_scheduled_content"], true, "a problem below has a due date");
        assert_eq!(tree["blocks"]["r"]["has_scheduled_content"], true);
        assert_eq!(tree["blocks"]["c2"]["has_scheduled_content"], false);
        assert_eq!(tree["blocks"]["c2"]["visible_to_staff_only"], false);
        assert_eq!(tree["blocks"]["s2"]["start"], Value::Null);
    }
}
