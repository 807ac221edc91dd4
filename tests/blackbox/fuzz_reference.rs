//! The fuzzer's own reader of a rebuild's stored chunks, independent of
//! coursenav's Rust: it reads `coursenav.block_chunks` with PostgreSQL's
//! jsonb operators, checks what the README promises a stored structure is
//! (the Course Blocks shape, fields of the right types, dates PostgreSQL
//! can read, keys of the course, one root, a tree below it), builds the
//! sidebar that structure must give (course, chapters, sequentials and
//! verticals, children in order, display names, the inherited start and
//! staff-only flags, dates compared as PostgreSQL reads them) and compares
//! it with what `coursenav.navigation_tree` serves.

use crate::fuzz::{refusal, CaseInfo, Died, Failures, Refusal};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

const NAVIGATION_CONTAINERS: [&str; 3] = ["chapter", "sequential", "vertical"];
const TEXT_FIELDS: [&str; 6] = ["id", "type", "display_name", "format", "start", "due"];
const FLAG_FIELDS: [&str; 3] = ["graded", "visible_to_staff_only", "hide_from_toc"];

/// One field of a stored block, as PostgreSQL's jsonb operators see it.
#[derive(Debug, Default, Clone)]
struct Stored {
    /// jsonb_typeof; None when the field is missing.
    json_type: Option<String>,
    text: Option<String>,
    flag: Option<bool>,
}

#[derive(Debug, Clone)]
struct RefBlock {
    block_type: String,
    display_name: Option<String>,
    children: Vec<String>,
    graded: bool,
    format: Option<String>,
    start: Option<String>,
    due: Option<String>,
    staff_only: bool,
    hide_from_toc: bool,
}

struct Reference {
    root: String,
    blocks: HashMap<String, RefBlock>,
}

/// The query: one row per stored block (a chunk without blocks gives one
/// row with no key), each field's jsonb type and, when it has the type
/// navigation wants, its value. What belongs to a chunk is computed once per
/// chunk (OFFSET 0 keeps the planner from pulling it up into every block's
/// row, which would inflate the whole chunk again for each block).
fn chunk_query() -> String {
    let mut columns = vec![
        "c.chunk_no".to_string(),
        "c.root_type".into(),
        "c.root".into(),
        "c.blocks_type".into(),
        "b.key".into(),
        "jsonb_typeof(b.value)".into(),
    ];
    for f in TEXT_FIELDS {
        columns.push(format!("jsonb_typeof(b.value -> '{f}')"));
        columns.push(format!("CASE WHEN jsonb_typeof(b.value -> '{f}') = 'string' THEN b.value ->> '{f}' END"));
    }
    for f in FLAG_FIELDS {
        columns.push(format!("jsonb_typeof(b.value -> '{f}')"));
        columns.push(format!(
            "CASE WHEN jsonb_typeof(b.value -> '{f}') = 'boolean' THEN (b.value ->> '{f}')::boolean END"
        ));
    }
    let elements = "jsonb_array_elements(CASE WHEN jsonb_typeof(b.value -> 'children') = 'array' THEN b.value -> 'children' ELSE '[]' END)
                    WITH ORDINALITY e(v, n)";
    columns.push("jsonb_typeof(b.value -> 'children')".into());
    columns.push(format!("ARRAY(SELECT jsonb_typeof(e.v) FROM {elements} ORDER BY e.n)"));
    columns.push(format!(
        "ARRAY(SELECT CASE WHEN jsonb_typeof(e.v) = 'string' THEN e.v #>> '{{}}' END FROM {elements} ORDER BY e.n)"
    ));
    format!(
        "SELECT {}
           FROM (SELECT chunk_no, document AS d, jsonb_typeof(document -> 'root') AS root_type,
                        CASE WHEN jsonb_typeof(document -> 'root') = 'string' THEN document ->> 'root' END AS root,
                        jsonb_typeof(document -> 'blocks') AS blocks_type
                   FROM coursenav.block_chunks WHERE course_id = $1 AND rebuild_id = $2
                 OFFSET 0) c
           LEFT JOIN LATERAL jsonb_each(CASE WHEN c.blocks_type = 'object' THEN c.d -> 'blocks' ELSE '{{}}' END) b ON true
          ORDER BY c.chunk_no, b.key",
        columns.join(",\n                  ")
    )
}

fn course_body(course: &str) -> &str {
    course.strip_prefix("course-v1:").unwrap_or(course)
}

/// Reads the stored rows into the structure they must be, or says why they
/// are not one that should have been accepted.
fn build_reference(course: &str, rows: &[postgres::Row]) -> Result<Reference, String> {
    let block_prefix = format!("block-v1:{}+type@", course_body(course));
    let mut roots = HashSet::new();
    let mut blocks = HashMap::new();
    let mut chunks_seen = HashSet::new();
    for row in rows {
        let chunk: i32 = row.get(0);
        if chunks_seen.insert(chunk) {
            let root_type: Option<String> = row.get(1);
            match root_type.as_deref() {
                None | Some("null") => {}
                Some("string") => {
                    roots.insert(row.get::<_, String>(2));
                }
                Some(other) => return Err(format!("chunk {chunk}: \"root\" is a {other}")),
            }
            let blocks_type: Option<String> = row.get(3);
            if blocks_type.as_deref() != Some("object") {
                return Err(format!("chunk {chunk}: \"blocks\" is {blocks_type:?}, not an object"));
            }
        }
        let Some(id) = row.get::<_, Option<String>>(4) else { continue };
        let value_type: Option<String> = row.get(5);
        if value_type.as_deref() != Some("object") {
            return Err(format!("block {id:?} is a {value_type:?}, not an object"));
        }
        let mut col = 6;
        let mut field = |with_flag: bool| {
            let stored = Stored {
                json_type: row.get(col),
                text: if with_flag { None } else { row.get(col + 1) },
                flag: if with_flag { row.get(col + 1) } else { None },
            };
            col += 2;
            stored
        };
        let text: Vec<Stored> = TEXT_FIELDS.iter().map(|_| field(false)).collect();
        let flags: Vec<Stored> = FLAG_FIELDS.iter().map(|_| field(true)).collect();
        let children_type: Option<String> = row.get(col);
        let child_types: Vec<Option<String>> = row.get(col + 1);
        let child_ids: Vec<Option<String>> = row.get(col + 2);
        let optional = |name: &str, s: &Stored| -> Result<Option<String>, String> {
            match s.json_type.as_deref() {
                None | Some("null") => Ok(None),
                Some("string") => Ok(s.text.clone()),
                Some(other) => Err(format!("block {id:?}: field \"{name}\" is a {other}")),
            }
        };
        let flag = |name: &str, s: &Stored| -> Result<bool, String> {
            match s.json_type.as_deref() {
                None | Some("null") => Ok(false),
                Some("boolean") => Ok(s.flag.unwrap_or(false)),
                Some(other) => Err(format!("block {id:?}: field \"{name}\" is a {other}")),
            }
        };
        if let (Some("string"), Some(inner)) = (text[0].json_type.as_deref(), &text[0].text) {
            if *inner != id {
                return Err(format!("block {id:?} has \"id\" {inner:?}"));
            }
        }
        let Some(block_type) = optional("type", &text[1])? else { return Err(format!("block {id:?} has no \"type\"")) };
        if !id.starts_with(&format!("{block_prefix}{block_type}+block@")) {
            return Err(format!("block {id:?} of type {block_type:?} is not a block of {course} of that type"));
        }
        let children = match children_type.as_deref() {
            None | Some("null") => vec![],
            Some("array") => {
                let mut children = Vec::new();
                for (t, c) in child_types.iter().zip(child_ids) {
                    match (t.as_deref(), c) {
                        (Some("string"), Some(c)) if c.starts_with(&block_prefix) => children.push(c),
                        (t, c) => {
                            return Err(format!(
                                "block {id:?} lists a child {c:?} of type {t:?}, not a block of {course}"
                            ))
                        }
                    }
                }
                children
            }
            Some(other) => return Err(format!("block {id:?}: field \"children\" is a {other}")),
        };
        let block = RefBlock {
            block_type,
            display_name: optional("display_name", &text[2])?,
            format: optional("format", &text[3])?,
            start: optional("start", &text[4])?,
            due: optional("due", &text[5])?,
            children,
            graded: flag("graded", &flags[0])?,
            staff_only: flag("visible_to_staff_only", &flags[1])?,
            hide_from_toc: flag("hide_from_toc", &flags[2])?,
        };
        if blocks.insert(id.clone(), block).is_some() {
            return Err(format!("block {id:?} is stored in two chunks"));
        }
    }
    if roots.len() > 1 {
        return Err(format!("two different roots: {roots:?}"));
    }
    let root = roots.into_iter().next().ok_or("no root")?;
    match blocks.get(&root) {
        Some(b) if b.block_type == "course" => {}
        Some(b) => return Err(format!("root {root:?} is a {}", b.block_type)),
        None => return Err(format!("root {root:?} has no block")),
    }
    check_tree(&root, &blocks)?;
    Ok(Reference { root, blocks })
}

/// Below the root: every child has a block, no child is listed twice by one
/// parent, no container has two parents, no cycle.
fn check_tree(root: &str, blocks: &HashMap<String, RefBlock>) -> Result<(), String> {
    // 0 unseen, 1 on the path, 2 done.
    let mut state: HashMap<&str, u8> = HashMap::new();
    let mut parent_of: HashMap<&str, &str> = HashMap::new();
    let mut stack: Vec<(&str, usize)> = vec![(root, 0)];
    state.insert(root, 1);
    while let Some((id, next)) = stack.pop() {
        let block = &blocks[id];
        let Some(child) = block.children.get(next) else {
            state.insert(id, 2);
            continue;
        };
        stack.push((id, next + 1));
        if next == 0 {
            let distinct: HashSet<&String> = block.children.iter().collect();
            if distinct.len() != block.children.len() {
                return Err(format!("{id:?} lists a child twice"));
            }
        }
        let Some(child_block) = blocks.get(child) else {
            return Err(format!("{id:?} lists {child:?}, which has no block"));
        };
        if NAVIGATION_CONTAINERS.contains(&child_block.block_type.as_str()) {
            if let Some(other) = parent_of.insert(child, id) {
                if other != id {
                    return Err(format!("{child:?} has two parents, {other:?} and {id:?}"));
                }
            }
        }
        match state.get(child.as_str()).copied().unwrap_or(0) {
            1 => return Err(format!("a cycle through {child:?}")),
            2 => {}
            _ => {
                state.insert(child, 1);
                stack.push((child, 0));
            }
        }
    }
    Ok(())
}

/// One sidebar block as the reference says it must be served; dates as
/// seconds since the epoch, as PostgreSQL reads them.
#[derive(Debug, PartialEq)]
struct Expected {
    block_type: String,
    display_name: Option<String>,
    children: Vec<String>,
    graded: bool,
    format: Option<String>,
    due: Option<f64>,
    start: Option<f64>,
    staff_only: bool,
    hide_from_toc: bool,
    has_scheduled_content: bool,
}

fn later(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Whether a block or anything below it has a due date.
fn scheduled<'a>(id: &'a str, blocks: &'a HashMap<String, RefBlock>, memo: &mut HashMap<&'a str, bool>) -> bool {
    if let Some(&known) = memo.get(id) {
        return known;
    }
    let block = &blocks[id];
    let mut any = block.due.is_some();
    for child in &block.children {
        any |= scheduled(child, blocks, memo);
    }
    memo.insert(id, any);
    any
}

fn expected_sidebar(reference: &Reference, epoch: &HashMap<String, Option<f64>>) -> HashMap<String, Expected> {
    let date = |d: &Option<String>| d.as_ref().and_then(|d| epoch.get(d).copied().flatten());
    let mut out = HashMap::new();
    let mut memo = HashMap::new();
    let mut stack = vec![(reference.root.clone(), None::<f64>, false)];
    while let Some((id, start_above, staff_above)) = stack.pop() {
        let (key, block) = reference.blocks.get_key_value(&id).expect("a block of the reference");
        let start = later(start_above, date(&block.start));
        let staff_only = staff_above || block.staff_only;
        let children: Vec<String> = block
            .children
            .iter()
            .filter(|c| NAVIGATION_CONTAINERS.contains(&reference.blocks[*c].block_type.as_str()))
            .cloned()
            .collect();
        for child in &children {
            stack.push((child.clone(), start, staff_only));
        }
        let has_scheduled_content = scheduled(key, &reference.blocks, &mut memo);
        out.insert(
            id,
            Expected {
                block_type: block.block_type.clone(),
                display_name: block.display_name.clone(),
                children,
                graded: block.graded,
                format: block.format.clone(),
                due: date(&block.due),
                start,
                staff_only,
                hide_from_toc: block.hide_from_toc,
                has_scheduled_content,
            },
        );
    }
    out
}

fn served_block(value: &Value, epoch: &HashMap<String, Option<f64>>) -> Result<Expected, String> {
    let text = |name: &str| match value.get(name) {
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Null) => Ok(None),
        other => Err(format!("served \"{name}\" is {other:?}")),
    };
    let flag =
        |name: &str| value.get(name).and_then(Value::as_bool).ok_or(format!("served \"{name}\" is not a boolean"));
    let date = |name: &str| -> Result<Option<f64>, String> {
        match text(name)? {
            None => Ok(None),
            Some(d) => match epoch.get(&d).copied().flatten() {
                Some(e) => Ok(Some(e)),
                None => Err(format!("served \"{name}\" {d:?} is a date PostgreSQL cannot read")),
            },
        }
    };
    let children = match value.get("children") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|c| c.as_str().map(str::to_string).ok_or("a served child is not a string"))
            .collect::<Result<_, _>>()?,
        other => return Err(format!("served \"children\" is {other:?}")),
    };
    Ok(Expected {
        block_type: text("type")?.unwrap_or_default(),
        display_name: text("display_name")?,
        children,
        graded: flag("graded")?,
        format: text("format")?,
        due: date("due")?,
        start: date("start")?,
        staff_only: flag("visible_to_staff_only")?,
        hide_from_toc: flag("hide_from_toc")?,
        has_scheduled_content: flag("has_scheduled_content")?,
    })
}

/// Every date string of the stored blocks and of the served tree, as
/// PostgreSQL reads it (None when it cannot).
fn read_dates(
    client: &mut postgres::Client,
    dates: Vec<String>,
) -> Result<HashMap<String, Option<f64>>, postgres::Error> {
    let rows = client.query("SELECT u.d, fuzz.epoch(u.d) FROM unnest($1::text[]) u(d)", &[&dates])?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn served_dates(tree: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(Value::Object(blocks)) = tree.get("blocks") {
        for block in blocks.values() {
            for name in ["start", "due"] {
                if let Some(Value::String(d)) = block.get(name) {
                    out.push(d.clone());
                }
            }
        }
    }
    out
}

/// What a failed query means for a check: a dead backend ends the batch; an
/// error is a failure, and the transaction then needs rolling back.
fn failed(failures: &mut Failures, case: &CaseInfo, kind: &str, e: postgres::Error) -> Result<bool, Died> {
    match refusal(&e) {
        Refusal::Died(message) => {
            failures.add(case, "backend died (connection lost)", message);
            Err(Died)
        }
        Refusal::Error { code, message } => {
            failures.add(case, kind, format!("{code}: {message}"));
            Ok(false)
        }
    }
}

/// After an accepted rebuild of `course` at `version` that returned
/// `returned`: the course serves that version, the tree is the one the
/// stored chunks give, and the coursenav.blocks view reads them. Returns
/// whether the transaction is still usable (false after a failed query).
pub(crate) fn check_served(
    client: &mut postgres::Client,
    failures: &mut Failures,
    case: &CaseInfo,
    course: &str,
    version: &str,
    returned: Option<&str>,
) -> Result<bool, Died> {
    let row = match client.query_one(
        "SELECT t.rebuild_id, t.tree::text, v.block_structure_version::text
           FROM coursenav.navigation_trees t JOIN coursenav.course_versions v USING (course_id) WHERE t.course_id = $1",
        &[&course],
    ) {
        Ok(row) => row,
        Err(e) => return failed(failures, case, "an accepted rebuild serves no tree", e),
    };
    let (rebuild_id, tree_text, serving): (i64, String, Option<String>) = (row.get(0), row.get(1), row.get(2));
    if returned.is_none() || returned != serving.as_deref() {
        failures.add(
            case,
            "an accepted rebuild is not the one serving",
            format!("returned {returned:?}, serving {serving:?}"),
        );
        return Ok(true);
    }
    let rows = match client.query(&chunk_query(), &[&course, &rebuild_id]) {
        Ok(rows) => rows,
        Err(e) => return failed(failures, case, "the stored chunks cannot be read", e),
    };
    let reference = match build_reference(course, &rows) {
        Ok(reference) => reference,
        Err(why) => {
            failures.add(case, "accepted a structure the stored chunks show is invalid", why);
            return Ok(true);
        }
    };
    let tree: Value = match serde_json::from_str(&tree_text) {
        Ok(tree) => tree,
        Err(e) => {
            failures.add(case, "the served tree is not JSON", e.to_string());
            return Ok(true);
        }
    };
    let mut dates: Vec<String> =
        reference.blocks.values().flat_map(|b| [b.start.clone(), b.due.clone()]).flatten().collect();
    dates.extend(served_dates(&tree));
    let epoch = match read_dates(client, dates) {
        Ok(epoch) => epoch,
        Err(e) => return failed(failures, case, "the dates cannot be read", e),
    };
    let mut unreadable: Vec<String> = Vec::new();
    for (id, block) in &reference.blocks {
        for (name, d) in [("start", &block.start), ("due", &block.due)] {
            if let Some(d) = d {
                if epoch.get(d).copied().flatten().is_none() {
                    unreadable.push(format!("{name} {d:?} of {id}"));
                }
            }
        }
    }
    if !unreadable.is_empty() {
        unreadable.sort();
        failures.add(case, "accepted a date PostgreSQL cannot read", unreadable.join(", "));
    }
    // With a date PostgreSQL cannot read there is nothing to compare dates
    // with: the failure above says so, and the rest is still compared.
    let differences = compare(&reference, &tree, &epoch, course, version, serving.as_deref(), unreadable.is_empty());
    if !differences.is_empty() {
        failures.add(case, "the served tree differs from the stored chunks", differences.join("; "));
    }
    // The navigation columns (casts of the stored fields); `fields`, the
    // rest of each block as jsonb, is left out: printing it is PostgreSQL's
    // own work and may take as much memory as the ignored fields hold.
    let view = "SELECT usage_key, block_type, display_name, children, graded, format, start, due, visible_to_staff_only, hide_from_toc
                  FROM coursenav.blocks WHERE course_id = $1 AND rebuild_id = $2";
    if let Err(e) = client.query(view, &[&course, &rebuild_id]) {
        return failed(failures, case, "the coursenav.blocks view cannot read an accepted structure", e);
    }
    Ok(true)
}

fn compare(
    reference: &Reference,
    tree: &Value,
    epoch: &HashMap<String, Option<f64>>,
    course: &str,
    version: &str,
    serving: Option<&str>,
    with_dates: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    let stamp = |name: &str| tree.get(name).and_then(Value::as_str).map(str::to_string);
    for (name, want) in [
        ("course_id", Some(course)),
        ("course_version", Some(version)),
        ("block_structure_version", serving),
        ("root", Some(reference.root.as_str())),
    ] {
        if stamp(name).as_deref() != want {
            out.push(format!("\"{name}\" is {:?}, not {want:?}", stamp(name)));
        }
    }
    let expected = expected_sidebar(reference, epoch);
    let Some(Value::Object(served)) = tree.get("blocks") else {
        out.push("the served tree has no blocks object".into());
        return out;
    };
    for id in expected.keys() {
        if !served.contains_key(id) {
            out.push(format!("{id} is not served"));
        }
    }
    for (id, value) in served {
        let Some(want) = expected.get(id) else {
            out.push(format!("{id} is served but is not in the course's navigation"));
            continue;
        };
        if value.get("id").and_then(Value::as_str) != Some(id.as_str()) {
            out.push(format!("{id} is served with \"id\" {:?}", value.get("id")));
        }
        let served = served_block(value, epoch).map(|mut got| {
            if !with_dates {
                (got.due, got.start) = (want.due, want.start);
            }
            got
        });
        match served {
            Ok(got) if got == *want => {}
            Ok(got) => out.push(format!("{id}: {}", differences(&got, want))),
            Err(why) => out.push(format!("{id}: {why}")),
        }
        if out.len() > 5 {
            break;
        }
    }
    out
}

/// The fields in which a served block differs from the reference, in words.
fn differences(got: &Expected, want: &Expected) -> String {
    let mut out = Vec::new();
    macro_rules! field {
        ($name:ident) => {
            if got.$name != want.$name {
                out.push(format!(
                    "{} served {:?}, the stored chunks give {:?}",
                    stringify!($name),
                    got.$name,
                    want.$name
                ));
            }
        };
    }
    field!(block_type);
    field!(display_name);
    field!(children);
    field!(graded);
    field!(format);
    field!(due);
    field!(start);
    field!(staff_only);
    field!(hide_from_toc);
    field!(has_scheduled_content);
    out.join(", ")
}
