//! Small Course Blocks documents for the black-box tests.

use serde_json::{json, Map, Value};

pub fn key(course: &str, block_type: &str, name: &str) -> String {
    let body = course.strip_prefix("course-v1:").expect("a course-v1 key");
    format!("block-v1:{body}+type@{block_type}+block@{name}")
}

/// A course with `chapters` chapters, each one sequential with one vertical
/// holding one html block. `label` goes into every display name, so a
/// reader can tell two versions of the course apart.
pub fn course(course_id: &str, chapters: usize, label: &str) -> Value {
    let mut blocks = Map::new();
    let mut add = |block_type: &str, name: String, children: Vec<String>| {
        let id = key(course_id, block_type, &name);
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
