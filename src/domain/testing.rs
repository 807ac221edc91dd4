//! Builders the tests share: usage keys and small Course Blocks documents.
//! The extension's `#[pg_test]`s and the black-box tests both depend on the
//! core with its `testing` feature, so there is one of each.

use serde_json::{json, Map, Value};

/// The usage key of a block of a `course-v1:` course, as Open edX writes it.
///
/// # Panics
/// When `course_id` is not a `course-v1:` key (a mistake in the test).
pub fn usage_key(course_id: &str, block_type: &str, name: &str) -> String {
    let body = course_id.strip_prefix("course-v1:").expect("a course-v1 key");
    format!("block-v1:{body}+type@{block_type}+block@{name}")
}

/// A course with `chapters` chapters, each with one sequential holding one
/// vertical holding one html block. Every display name is `"{label} {name}"`
/// (names `c0`, `s0`, `v0`, `h0`, ... and `course`), so a reader can tell two
/// versions of a course apart by their label.
pub fn small_course(course_id: &str, chapters: usize, label: &str) -> Value {
    let mut blocks = Map::new();
    let mut add = |block_type: &str, name: String, children: Vec<String>| {
        let id = usage_key(course_id, block_type, &name);
        blocks.insert(
            id.clone(),
            json!({"id": id, "type": block_type, "display_name": format!("{label} {name}"), "children": children}),
        );
        id
    };
    let mut chapter_ids = Vec::new();
    for c in 0..chapters {
        let html = add("html", format!("h{c}"), vec![]);
        let vertical = add("vertical", format!("v{c}"), vec![html]);
        let sequential = add("sequential", format!("s{c}"), vec![vertical]);
        chapter_ids.push(add("chapter", format!("c{c}"), vec![sequential]));
    }
    let root = add("course", "course".into(), chapter_ids);
    json!({"root": root, "blocks": blocks})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course_blocks::parse_chunk;
    use crate::course_blocks::Room;
    use crate::keys::CourseKey;

    #[test]
    fn a_small_course_is_a_valid_course_blocks_document() {
        let course = CourseKey::parse("course-v1:Org+Num+Run").unwrap();
        let chunk =
            parse_chunk(&course, Room::unlimited(), &small_course("course-v1:Org+Num+Run", 2, "v1").to_string())
                .unwrap();
        assert_eq!(chunk.blocks.len(), 1 + 2 * 4);
        assert_eq!(chunk.root.as_deref(), Some("block-v1:Org+Num+Run+type@course+block@course"));
    }
}
