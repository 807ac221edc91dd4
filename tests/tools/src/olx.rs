//! Converter from an Open edX OLX export (`.tar.gz`) to the
//! Course Blocks shape that `coursenav.rebuild` accepts:
//! `{"root": id, "blocks": {id: {"id", "type", "display_name", "children", ...}}}`.
//!
//! It follows the OLX rules edx-platform applies on import, as far as
//! navigation needs them:
//! - an element is a *pointer* when it has a `url_name` and nothing else
//!   (the root `course` also carries `org` and `course`): its definition is
//!   then read from `<tag>/<url_name>.xml`; any other element is an inline
//!   definition, even when it also has a `url_name`;
//! - only the element children of container blocks are blocks; everything
//!   inside a component (`<option>`, `<assessment>`, `<choiceresponse>`, ...)
//!   is the component's own content;
//! - `policies/<run>/policy.json` entries (`"<type>/<url_name>": {fields}`)
//!   override the XML attributes.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat};
use coursenav_domain::course_blocks::NAVIGATION_FIELDS;
use coursenav_domain::keys::is_key_part;
use flate2::read::GzDecoder;
use roxmltree::{Document, Node};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Component, Path};

/// Block types whose element children are child blocks.
const CONTAINERS: [&str; 9] = [
    "course",
    "chapter",
    "sequential",
    "vertical",
    "library_content",
    "conditional",
    "split_test",
    "randomize",
    "itembank",
];

/// Elements that may sit among a container's children without being blocks
/// (the course's wiki and textbooks, a conditional's `<show>`).
const NOT_BLOCKS: [&str; 3] = ["wiki", "textbook", "show"];

/// The navigation fields copied into each block when the OLX or the policy
/// sets them: the ones coursenav reads, but for those the reader makes itself.
fn copied_fields() -> impl Iterator<Item = &'static str> {
    NAVIGATION_FIELDS.into_iter().filter(|field| !matches!(*field, "id" | "type" | "children"))
}

/// Reads an OLX course export and returns its Course Blocks document.
pub fn course_blocks_from_olx_tar_gz(path: &Path) -> Result<serde_json::Value, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    course_blocks_from_olx_archive(std::io::BufReader::new(file)).map_err(|e| format!("{}: {e}", path.display()))
}

/// The same from any gzip-compressed tar stream, so tests can feed archives built in memory.
pub fn course_blocks_from_olx_archive(reader: impl Read) -> Result<Value, String> {
    let files = course_files(reader)?;
    let course_xml = files.get("course.xml").ok_or("no course.xml in the archive")?;
    let doc = Document::parse(course_xml).map_err(|e| format!("course.xml: {e}"))?;
    let top = doc.root_element();
    let attr = |name: &str| top.attribute(name).ok_or_else(|| format!("course.xml: no \"{name}\" attribute"));
    let (org, number, run) = (attr("org")?, attr("course")?, attr("url_name")?);
    check_name(run)?;
    let policy = match read_policy(&files, run)? {
        Value::Object(policy) => policy,
        _ => return Err(format!("policies/{run}/policy.json: expected an object")),
    };
    let mut builder =
        Builder { files: &files, policy, key_prefix: format!("{org}+{number}+{run}"), blocks: Map::new() };
    // Open edX names the course block itself "course", whatever the run.
    let root = builder.add_element(top, run, "course")?;
    Ok(json!({"root": root, "blocks": builder.blocks}))
}

/// The archive's XML and JSON files, keyed by their path relative to the
/// folder holding `course.xml` (exports wrap the course in one or two folders).
/// Other files (HTML bodies, assets) are skipped: navigation never reads them.
fn course_files(reader: impl Read) -> Result<HashMap<String, String>, String> {
    let mut archive = tar::Archive::new(GzDecoder::new(reader));
    let mut all = HashMap::new();
    for entry in archive.entries().map_err(|e| format!("reading the archive: {e}"))? {
        let mut entry = entry.map_err(|e| format!("reading the archive: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(|e| format!("reading the archive: {e}"))?;
        let path = normal_path(&path);
        if !(path.ends_with(".xml") || path.ends_with(".json")) {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text).map_err(|e| format!("{path}: {e}"))?;
        all.insert(path, text);
    }
    // The shallowest course.xml marks the course folder.
    let root = all
        .keys()
        .filter(|p| p.rsplit('/').next() == Some("course.xml"))
        .min_by_key(|p| (p.matches('/').count(), p.len()))
        .ok_or("no course.xml in the archive")?
        .trim_end_matches("course.xml")
        .to_string();
    Ok(all.into_iter().filter_map(|(path, text)| path.strip_prefix(&root).map(|rel| (rel.to_string(), text))).collect())
}

/// `./demo-course/course/x.xml` -> `demo-course/course/x.xml`.
fn normal_path(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The course policy; newer exports put it in `policies/<run>/policy.json`,
/// older ones in `policies/<run>.json`. A course without one has no overrides.
fn read_policy(files: &HashMap<String, String>, run: &str) -> Result<Value, String> {
    for path in [format!("policies/{run}/policy.json"), format!("policies/{run}.json")] {
        if let Some(text) = files.get(&path) {
            return serde_json::from_str(text).map_err(|e| format!("{path}: {e}"));
        }
    }
    Ok(json!({}))
}

struct Builder<'a> {
    files: &'a HashMap<String, String>,
    policy: Map<String, Value>,
    /// `org+course+run`, shared by every block id.
    key_prefix: String,
    blocks: Map<String, Value>,
}

impl Builder<'_> {
    /// Adds the block an element stands for (and its subtree); returns its id.
    /// `olx_name` finds its file and policy entry, `id_name` goes into its id.
    fn add_element(&mut self, node: Node<'_, '_>, olx_name: &str, id_name: &str) -> Result<String, String> {
        let tag = node.tag_name().name();
        if !is_pointer(node) {
            return self.add_definition(node, olx_name, id_name);
        }
        // A url_name with colons is stored in subfolders.
        let path = format!("{tag}/{}.xml", olx_name.replace(':', "/"));
        let files = self.files;
        let text = files
            .get(&path)
            .ok_or_else(|| format!("{path}: missing, yet <{tag} url_name=\"{olx_name}\"/> points to it"))?;
        let doc = Document::parse(text).map_err(|e| format!("{path}: {e}"))?;
        let definition = doc.root_element();
        if definition.tag_name().name() != tag {
            return Err(format!("{path}: root element is <{}>, expected <{tag}>", definition.tag_name().name()));
        }
        self.add_definition(definition, olx_name, id_name)
    }

    fn add_definition(&mut self, node: Node<'_, '_>, olx_name: &str, id_name: &str) -> Result<String, String> {
        let tag = node.tag_name().name();
        let id = format!("block-v1:{}+type@{tag}+block@{id_name}", self.key_prefix);
        // Reserve the id before descending, so a repeat or a cycle is caught.
        if self.blocks.insert(id.clone(), Value::Null).is_some() {
            return Err(format!("block {id} appears twice in the course"));
        }
        let mut block = self.fields(node, olx_name, &id)?;
        let mut children = Vec::new();
        if CONTAINERS.contains(&tag) {
            let child_elements =
                node.children().filter(|c| c.is_element() && !NOT_BLOCKS.contains(&c.tag_name().name()));
            for (index, child) in child_elements.enumerate() {
                let child_id = match child.attribute("url_name") {
                    Some(name) => {
                        check_name(name)?;
                        self.add_element(child, name, name)?
                    }
                    None => {
                        let name = inline_name(id_name, child.tag_name().name(), index);
                        self.add_element(child, &name, &name)?
                    }
                };
                children.push(Value::String(child_id));
            }
        }
        block.insert("id".into(), Value::String(id.clone()));
        block.insert("type".into(), Value::String(tag.to_string()));
        block.insert("children".into(), Value::Array(children));
        self.blocks.insert(id.clone(), Value::Object(block));
        Ok(id)
    }

    /// The navigation fields set on the element, with the policy's entry for
    /// the block laid over them.
    fn fields(&self, node: Node<'_, '_>, olx_name: &str, id: &str) -> Result<Map<String, Value>, String> {
        let mut raw = Map::new();
        for field in copied_fields() {
            if let Some(value) = node.attribute(field) {
                raw.insert(field.to_string(), Value::String(value.to_string()));
            }
        }
        let key = format!("{}/{olx_name}", node.tag_name().name());
        match self.policy.get(&key) {
            None => {}
            Some(Value::Object(overrides)) => {
                for field in copied_fields() {
                    if let Some(value) = overrides.get(field) {
                        raw.insert(field.to_string(), value.clone());
                    }
                }
            }
            Some(_) => return Err(format!("policy.json: entry \"{key}\" is not an object")),
        }
        let mut fields = Map::new();
        for (field, value) in raw {
            if let Some(value) = normalize(&field, value).map_err(|e| format!("block {id}: field \"{field}\": {e}"))? {
                fields.insert(field, value);
            }
        }
        Ok(fields)
    }
}

/// edx-platform's `is_pointer_tag`: a `url_name` (plus `org` and `course` on
/// the root course) and no content at all.
fn is_pointer(node: Node<'_, '_>) -> bool {
    let allowed: &[&str] =
        if node.tag_name().name() == "course" { &["url_name", "org", "course"] } else { &["url_name"] };
    node.attribute("url_name").is_some()
        && node.attributes().all(|a| allowed.contains(&a.name()))
        && !node.children().any(|c| c.is_element() || (c.is_text() && !c.text().unwrap_or("").trim().is_empty()))
}

/// A deterministic block name for an inline child that has no url_name.
fn inline_name(parent: &str, tag: &str, index: usize) -> String {
    format!("{parent}_{tag}_{index}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' })
        .collect()
}

/// url_names end up in block ids: each must be a key part coursenav takes.
fn check_name(name: &str) -> Result<(), String> {
    if is_key_part(name) {
        Ok(())
    } else {
        Err(format!("url_name \"{name}\" cannot be part of a block id"))
    }
}

/// Turns an XML attribute (always text) or a policy value into the JSON the
/// Course Blocks shape expects; `None` drops a field set to null.
fn normalize(field: &str, value: Value) -> Result<Option<Value>, String> {
    match (field, value) {
        (_, Value::Null) => Ok(None),
        ("graded" | "visible_to_staff_only" | "hide_from_toc", Value::Bool(b)) => Ok(Some(Value::Bool(b))),
        // OLX writes booleans as JSON text; edx-platform also accepts "True".
        ("graded" | "visible_to_staff_only" | "hide_from_toc", Value::String(s)) => {
            match s.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(Some(Value::Bool(true))),
                "false" => Ok(Some(Value::Bool(false))),
                _ => Err(format!("expected true or false, not {s:?}")),
            }
        }
        ("start" | "due", Value::String(s)) => rfc3339(&s).map(|d| Some(Value::String(d))),
        ("display_name" | "format", Value::String(s)) => Ok(Some(Value::String(s))),
        (_, other) => Err(format!("unexpected value {other}")),
    }
}

/// OLX dates come as RFC 3339, sometimes JSON-quoted (`"\"2013-02-05T05:00:00Z\""`),
/// sometimes without a zone, which edx-platform reads as UTC.
fn rfc3339(raw: &str) -> Result<String, String> {
    let text = raw.trim().trim_matches('"');
    if DateTime::parse_from_rfc3339(text).is_ok() {
        return Ok(text.to_string());
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)));
    naive.map(|d| d.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)).ok_or_else(|| format!("not a date: {raw:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};
    use std::path::PathBuf;

    const COURSE: &str = "OpenedX+DemoX+DemoCourse";

    fn key(block_type: &str, name: &str) -> String {
        format!("block-v1:{COURSE}+type@{block_type}+block@{name}")
    }

    /// The Demo Course fixture, or None (after a loud note) in a clone without `shared/`.
    fn demo_course() -> Option<Value> {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/openedx-demo-course-olx.tar.gz");
        if !path.exists() {
            eprintln!("SKIPPED: Demo Course OLX fixture {} not found", path.display());
            return None;
        }
        Some(course_blocks_from_olx_tar_gz(&path).unwrap())
    }

    fn blocks(doc: &Value) -> &Map<String, Value> {
        doc["blocks"].as_object().unwrap()
    }

    fn children<'a>(doc: &'a Value, id: &str) -> Vec<&'a str> {
        doc["blocks"][id]["children"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect()
    }

    /// Ids of the given type in document (pre-order) order from the root.
    fn in_order<'a>(doc: &'a Value, block_type: &str) -> Vec<&'a str> {
        let mut found = Vec::new();
        let mut stack = vec![doc["root"].as_str().unwrap()];
        while let Some(id) = stack.pop() {
            if doc["blocks"][id]["type"] == block_type {
                found.push(id);
            }
            stack.extend(children(doc, id).into_iter().rev());
        }
        found
    }

    fn names<'a>(doc: &'a Value, ids: &[&str]) -> Vec<&'a str> {
        ids.iter().map(|id| doc["blocks"][*id]["display_name"].as_str().unwrap()).collect()
    }

    /// One tree: every listed child exists, no block is listed twice, every
    /// block but the root is someone's child, and ids and types agree.
    fn assert_one_tree(doc: &Value) {
        let blocks = blocks(doc);
        let root = doc["root"].as_str().unwrap();
        assert!(blocks.contains_key(root), "root {root} has no block");
        let mut seen = HashSet::new();
        for (id, block) in blocks {
            assert_eq!(block["id"], *id);
            let block_type = block["type"].as_str().unwrap();
            assert!(id.contains(&format!("+type@{block_type}+block@")), "{id} is not of type {block_type}");
            for child in children(doc, id) {
                assert!(blocks.contains_key(child), "{id} lists {child}, which has no block");
                assert!(seen.insert(child), "{child} is listed twice");
            }
        }
        assert!(!seen.contains(root), "the root is listed as a child");
        assert_eq!(seen.len() + 1, blocks.len(), "some blocks are not in the tree");
    }

    #[test]
    fn demo_course_has_the_expected_outline() {
        let Some(doc) = demo_course() else { return };
        assert_one_tree(&doc);
        let root = key("course", "course");
        assert_eq!(doc["root"], root);
        assert_eq!(doc["blocks"][&root]["display_name"], "Open edX Demo Course");
        assert_eq!(doc["blocks"][&root]["start"], "2020-01-01T00:00:00Z");

        let chapters = in_order(&doc, "chapter");
        assert_eq!(children(&doc, &root), chapters, "the course lists only its chapters (no wiki)");
        assert_eq!(
            names(&doc, &chapters),
            [
                "Module 1: Dive into the Open edX® platform!",
                "Module 2: Crafting Captivating Content",
                "Module 3: Ace the Assessments!",
                "Module 4: Social Learning: Engaging Through Interaction",
                "Module 5: Your Open edX Community",
                "Conclusion",
            ]
        );
        assert_eq!(chapters[0], key("chapter", "30b3fbb840024953b2d4b2e700a53002"));

        let sequentials = in_order(&doc, "sequential");
        let per_chapter: Vec<usize> = chapters.iter().map(|c| children(&doc, c).len()).collect();
        assert_eq!(per_chapter, [2, 4, 5, 3, 2, 1]);
        assert_eq!(
            names(&doc, &sequentials),
            [
                "Introduction to the Open edX® platform",
                "The Structure of the Open edX® platform",
                "Text, Images, and HTML",
                "Videos",
                "Other Learning Tools",
                "Conditional Content",
                "Summary",
                "Basic Assessment Tools",
                "Intermediate  Assessment Tools",
                "Advanced  Assessment Tools",
                "Specialty Assessment Tools",
                "Discussions",
                "Cohorts, Content Groups & Teams",
                "Social Learning Tools",
                "Welcome to the Community",
                "Getting Help",
                "Conclusion",
            ]
        );

        let verticals = in_order(&doc, "vertical");
        let per_sequential: Vec<usize> = sequentials.iter().map(|s| children(&doc, s).len()).collect();
        assert_eq!(per_sequential, [2, 3, 4, 3, 3, 1, 1, 6, 7, 8, 4, 3, 3, 4, 4, 1, 1]);
        assert_eq!(verticals.len(), 58);
        assert_eq!(verticals[0], key("vertical", "78b75020d3894fdfa8b4994f97275294"));
        assert_eq!(verticals[57], key("vertical", "030fda9d7b1a460db96bb8ba9b8b8c1d"));
    }

    #[test]
    fn demo_course_has_every_block_once() {
        let Some(doc) = demo_course() else { return };
        let mut per_type = BTreeMap::new();
        for block in blocks(&doc).values() {
            *per_type.entry(block["type"].as_str().unwrap()).or_insert(0) += 1;
        }
        let expected = [
            ("annotatable", 1),
            ("chapter", 6),
            ("course", 1),
            ("discussion", 1),
            ("done", 1),
            ("drag-and-drop-v2", 1),
            ("edx_sga", 1),
            ("html", 266),
            ("library_content", 1),
            ("lti", 2),
            ("openassessment", 2),
            ("poll", 1),
            ("problem", 29),
            ("sequential", 17),
            ("staffgradedxblock", 1),
            ("survey", 1),
            ("vertical", 58),
            ("video", 11),
        ];
        assert_eq!(per_type, BTreeMap::from(expected));
        assert_eq!(blocks(&doc).len(), 401);
        // Every block is reached from the root, in a tree.
        assert_eq!(in_order(&doc, "html").len(), 266);
    }

    #[test]
    fn demo_course_grades_three_subsections() {
        let Some(doc) = demo_course() else { return };
        let graded: Vec<(&str, &str, &str)> = in_order(&doc, "sequential")
            .into_iter()
            .filter(|id| doc["blocks"][*id]["graded"] == true)
            .map(|id| {
                let block = &doc["blocks"][id];
                (id, block["display_name"].as_str().unwrap(), block["format"].as_str().unwrap())
            })
            .collect();
        assert_eq!(
            graded,
            [
                (
                    key("sequential", "276a277f5a784f53a7525e28b96e9a1b").as_str(),
                    "Basic Assessment Tools",
                    "Basic Assessment Tools"
                ),
                (
                    key("sequential", "e2206f6f2cd449ab85a7aa424fd0fb72").as_str(),
                    "Intermediate  Assessment Tools",
                    "Intermediate Assessment Tools"
                ),
                (
                    key("sequential", "971737e543204551bb34c4ca44e12b86").as_str(),
                    "Advanced  Assessment Tools",
                    "Advanced Assessment Tools"
                ),
            ]
        );
        // Only what the OLX sets is there: no other block says graded at all.
        let marked = blocks(&doc).values().filter(|b| b.get("graded").is_some()).count();
        assert_eq!(marked, 3);
    }

    #[test]
    fn demo_course_components_keep_their_content_to_themselves() {
        let Some(doc) = demo_course() else { return };
        // Inline definitions (url_name plus content) are leaves: their <assessment>,
        // <option>, <criterion> elements are not blocks.
        let ora = key("openassessment", "414407a9e235444cb530c102fd0c66d0");
        assert_eq!(doc["blocks"][&ora]["type"], "openassessment");
        assert!(children(&doc, &ora).is_empty());
        let leaves = ["html", "problem", "video", "openassessment", "poll", "survey", "drag-and-drop-v2"];
        for block in blocks(&doc).values() {
            if leaves.contains(&block["type"].as_str().unwrap()) {
                assert!(block["children"].as_array().unwrap().is_empty(), "{}", block["id"]);
            }
        }
        // The library_content block holds its six problems, read from problem/.
        let library = key("library_content", "34a4d5e71d974c029cbde1956bd7c820");
        let problems = children(&doc, &library);
        assert_eq!(problems.len(), 6);
        assert_eq!(problems[0], key("problem", "0895f1b6c0b329e50b90"));
        // A pointer's display name comes from the file it points to.
        let video = key("video", "078de40d92a54047b951a2e7a8e2a348");
        assert_eq!(doc["blocks"][&video]["display_name"], "The Reach of the Open edX Platform (2023)");
    }

    /// A gzip-compressed tar of the given files, built with the `tar` crate.
    fn archive(files: &[(&str, &str)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (path, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, text.as_bytes()).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    const SMALL_COURSE: &str = r#"<course display_name="Small">
  <chapter url_name="ch1"/>
  <wiki slug="O.C.R1"/>
  <chapter display_name="Inline chapter">
    <sequential url_name="s1" display_name="Quiz" graded="True" format="Homework"
                start="&quot;2013-02-05T05:00:00Z&quot;" due="2013-02-12T05:00">
      <vertical>
        <html>Hello <b>there</b></html>
        <problem url_name="p1"/>
      </vertical>
    </sequential>
  </chapter>
</course>"#;

    fn small_course(extra: &[(&str, &str)]) -> Result<Value, String> {
        let mut files = vec![
            ("export/course/course.xml", r#"<course url_name="R1" org="O" course="C"/>"#),
            ("export/course/course/R1.xml", SMALL_COURSE),
            ("export/course/chapter/ch1.xml", r#"<chapter display_name="One" visible_to_staff_only="true"/>"#),
            ("export/course/problem/p1.xml", r#"<problem display_name="P"><choiceresponse/></problem>"#),
            ("export/course/html/unused.html", "<p>not read</p>"),
            (
                "export/course/policies/R1/policy.json",
                r#"{"course/R1": {"start": "2030-01-01T00:00:00Z"},
                    "chapter/ch1": {"hide_from_toc": true, "display_name": "One (policy)"}}"#,
            ),
        ];
        files.extend_from_slice(extra);
        course_blocks_from_olx_archive(archive(&files).as_slice())
    }

    #[test]
    fn reads_pointers_inline_blocks_policy_and_dates() {
        let doc = small_course(&[]).unwrap();
        assert_one_tree(&doc);
        let k = |t: &str, n: &str| format!("block-v1:O+C+R1+type@{t}+block@{n}");
        let root = k("course", "course");
        assert_eq!(doc["root"], root);
        assert_eq!(doc["blocks"][&root]["start"], "2030-01-01T00:00:00Z", "policy wins over the XML");
        let inline_chapter = k("chapter", "course_chapter_1");
        assert_eq!(children(&doc, &root), [k("chapter", "ch1"), inline_chapter.clone()]);

        let ch1 = &doc["blocks"][k("chapter", "ch1")];
        assert_eq!(ch1["display_name"], "One (policy)");
        assert_eq!(ch1["visible_to_staff_only"], true);
        assert_eq!(ch1["hide_from_toc"], true);

        let seq = &doc["blocks"][k("sequential", "s1")];
        assert_eq!(seq["graded"], true);
        assert_eq!(seq["format"], "Homework");
        assert_eq!(seq["start"], "2013-02-05T05:00:00Z", "JSON quotes stripped");
        assert_eq!(seq["due"], "2013-02-12T05:00:00Z", "a date without zone is UTC");

        let unit = k("vertical", "s1_vertical_0");
        assert_eq!(children(&doc, &k("sequential", "s1")), [unit.as_str()]);
        assert_eq!(children(&doc, &unit), [k("html", "s1_vertical_0_html_0"), k("problem", "p1")]);
        assert_eq!(doc["blocks"][k("problem", "p1")]["display_name"], "P");
        assert!(doc["blocks"][k("html", "s1_vertical_0_html_0")].get("display_name").is_none());
        assert_eq!(blocks(&doc).len(), 7, "no wiki, <b> or <choiceresponse> block");
    }

    #[test]
    fn names_what_is_wrong() {
        let missing = course_blocks_from_olx_archive(
            archive(&[
                ("course.xml", r#"<course url_name="R1" org="O" course="C"/>"#),
                ("course/R1.xml", r#"<course><chapter url_name="gone"/></course>"#),
            ])
            .as_slice(),
        )
        .unwrap_err();
        assert!(missing.contains("chapter/gone.xml"), "{missing}");

        let bad_date = course_blocks_from_olx_archive(
            archive(&[
                ("course.xml", r#"<course url_name="R1" org="O" course="C"/>"#),
                ("course/R1.xml", r#"<course><chapter url_name="c" display_name="x" start="soon"/></course>"#),
            ])
            .as_slice(),
        )
        .unwrap_err();
        assert!(bad_date.contains("block-v1:O+C+R1+type@chapter+block@c") && bad_date.contains("start"), "{bad_date}");

        let twice = course_blocks_from_olx_archive(
            archive(&[
                ("course.xml", r#"<course url_name="R1" org="O" course="C"/>"#),
                ("course/R1.xml", r#"<course><chapter url_name="c"/><chapter url_name="c"/></course>"#),
                ("chapter/c.xml", "<chapter/>"),
            ])
            .as_slice(),
        )
        .unwrap_err();
        assert!(twice.contains("appears twice"), "{twice}");
    }
}
