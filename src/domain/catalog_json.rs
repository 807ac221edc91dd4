//! Reads a catalog page's JSON into the few values the sync uses, and
//! nothing else: no JSON tree is built.
//!
//! Why not `serde_json::Value`: a tree costs far more than its text. 60 MB
//! of `0,0,0,...` in a field the sync ignores, on a page within the bound
//! for page size 1000, is 30 million `Value`s of 32 bytes, 1 GB with the
//! vector's doubling; under a 1 GiB address-space limit the backend aborted
//! and the cluster restarted (tests/blackbox/catalog_limits.rs). Here every
//! field but four per result is skipped by serde_json's `IgnoredAny`, which
//! reads numbers without converting them and nesting with one byte a level,
//! so what a page takes beyond its body is the strings the sync keeps.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// Most characters of a catalog's value quoted back in an error message.
const SHOWN_CHARS: usize = 64;

/// A catalog's value quoted in an error message, cut short: a value can be
/// megabytes long, and the message goes into the runs table.
pub fn shown(text: &str) -> String {
    cut(text, SHOWN_CHARS)
}

/// `text` up to `most` characters, then how long it was; NULs escaped.
pub fn cut(text: &str, most: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(most).collect();
    let head = head.replace('\0', "\\u0000");
    match chars.next() {
        None => head,
        Some(_) => format!("{head}... ({} bytes)", text.len()),
    }
}

/// One value of a field the sync reads: strings and booleans kept, anything
/// else only described, for the error that names it.
#[derive(Debug, Clone, PartialEq)]
pub enum Loose {
    Null,
    Bool(bool),
    Text(String),
    Unsigned(u64),
    /// Any other number, as JSON writes it.
    Number(String),
    Array,
    Object,
}

impl Loose {
    /// The value in words for an error message: `"no"`, `5`, `an array`.
    pub fn describe(&self) -> String {
        match self {
            Loose::Null => "null".into(),
            Loose::Bool(b) => b.to_string(),
            Loose::Text(s) => format!("\"{}\"", shown(s)),
            Loose::Unsigned(n) => n.to_string(),
            Loose::Number(n) => n.clone(),
            Loose::Array => "an array".into(),
            Loose::Object => "an object".into(),
        }
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Loose, E> {
        Ok(Loose::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Loose, E> {
        Ok(Loose::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Loose, E> {
        Ok(Loose::Unsigned(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Loose, E> {
        Ok(Loose::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Loose, E> {
        Ok(Loose::Number(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Loose, E> {
        Ok(Loose::Text(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Loose, E> {
        Ok(Loose::Text(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Object)
    }
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Loose, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

/// The fields of a course run the sync reads; each `None` when absent. A
/// field given twice keeps its last value, as a JSON object would.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRun {
    pub key: Option<Loose>,
    pub marketing_url: Option<Loose>,
    pub eligible_for_financial_aid: Option<Loose>,
    pub content_language: Option<Loose>,
}

/// One entry of `results`: a course run, or something that is not an object.
#[derive(Debug, Clone, PartialEq)]
pub enum RawResult {
    Run(RawRun),
    NotAnObject,
}

/// A field name, matched without keeping it.
enum RunField {
    Key,
    MarketingUrl,
    FinancialAid,
    ContentLanguage,
    Other,
}

impl<'de> Deserialize<'de> for RunField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RunField, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = RunField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<RunField, E> {
                Ok(match v {
                    "key" => RunField::Key,
                    "marketing_url" => RunField::MarketingUrl,
                    "eligible_for_financial_aid" => RunField::FinancialAid,
                    "content_language" => RunField::ContentLanguage,
                    _ => RunField::Other,
                })
            }
        }
        deserializer.deserialize_identifier(Name)
    }
}

struct ResultVisitor;

impl<'de> Visitor<'de> for ResultVisitor {
    type Value = RawResult;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a course run")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawResult, A::Error> {
        let mut run = RawRun::default();
        while let Some(field) = map.next_key::<RunField>()? {
            let slot = match field {
                RunField::Key => &mut run.key,
                RunField::MarketingUrl => &mut run.marketing_url,
                RunField::FinancialAid => &mut run.eligible_for_financial_aid,
                RunField::ContentLanguage => &mut run.content_language,
                RunField::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value::<Loose>()?);
        }
        Ok(RawResult::Run(run))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawResult, A::Error> {
        LooseVisitor.visit_seq(seq).map(|_| RawResult::NotAnObject)
    }
    fn visit_unit<E>(self) -> Result<RawResult, E> {
        Ok(RawResult::NotAnObject)
    }
    fn visit_bool<E>(self, _: bool) -> Result<RawResult, E> {
        Ok(RawResult::NotAnObject)
    }
    fn visit_u64<E>(self, _: u64) -> Result<RawResult, E> {
        Ok(RawResult::NotAnObject)
    }
    fn visit_i64<E>(self, _: i64) -> Result<RawResult, E> {
        Ok(RawResult::NotAnObject)
    }
    fn visit_f64<E>(self, _: f64) -> Result<RawResult, E> {
        Ok(RawResult::NotAnObject)
    }
    fn visit_str<E>(self, _: &str) -> Result<RawResult, E> {
        Ok(RawResult::NotAnObject)
    }
}

impl<'de> Deserialize<'de> for RawResult {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawResult, D::Error> {
        deserializer.deserialize_any(ResultVisitor)
    }
}

/// `results`: at most `keep` entries kept, every entry counted.
#[derive(Debug, Clone, PartialEq)]
pub enum RawResults {
    Array { kept: Vec<RawResult>, total: usize },
    NotAnArray,
}

struct ResultsSeed {
    keep: usize,
}

impl<'de> de::DeserializeSeed<'de> for ResultsSeed {
    type Value = RawResults;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawResults, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResultsSeed {
    type Value = RawResults;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of course runs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawResults, A::Error> {
        // Only the entries a page may hold are kept; the rest are counted,
        // for the error that says how many there were.
        let mut kept = Vec::new();
        let mut total = 0;
        loop {
            let more = match total < self.keep {
                true => seq.next_element::<RawResult>()?.map(|r| kept.push(r)).is_some(),
                false => seq.next_element::<IgnoredAny>()?.is_some(),
            };
            if !more {
                return Ok(RawResults::Array { kept, total });
            }
            total += 1;
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawResults, A::Error> {
        LooseVisitor.visit_map(map).map(|_| RawResults::NotAnArray)
    }
    fn visit_unit<E>(self) -> Result<RawResults, E> {
        Ok(RawResults::NotAnArray)
    }
    fn visit_bool<E>(self, _: bool) -> Result<RawResults, E> {
        Ok(RawResults::NotAnArray)
    }
    fn visit_u64<E>(self, _: u64) -> Result<RawResults, E> {
        Ok(RawResults::NotAnArray)
    }
    fn visit_i64<E>(self, _: i64) -> Result<RawResults, E> {
        Ok(RawResults::NotAnArray)
    }
    fn visit_f64<E>(self, _: f64) -> Result<RawResults, E> {
        Ok(RawResults::NotAnArray)
    }
    fn visit_str<E>(self, _: &str) -> Result<RawResults, E> {
        Ok(RawResults::NotAnArray)
    }
}

/// The page's top level: `None` for a field that is absent.
#[derive(Debug, Clone, PartialEq)]
pub enum RawPage {
    Object { count: Option<Loose>, next: Option<Loose>, results: Option<RawResults> },
    NotAnObject,
}

enum PageField {
    Count,
    Next,
    Results,
    Other,
}

impl<'de> Deserialize<'de> for PageField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PageField, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = PageField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<PageField, E> {
                Ok(match v {
                    "count" => PageField::Count,
                    "next" => PageField::Next,
                    "results" => PageField::Results,
                    _ => PageField::Other,
                })
            }
        }
        deserializer.deserialize_identifier(Name)
    }
}

struct PageSeed {
    keep: usize,
}

impl<'de> de::DeserializeSeed<'de> for PageSeed {
    type Value = RawPage;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawPage, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PageSeed {
    type Value = RawPage;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a course-run page")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawPage, A::Error> {
        let (mut count, mut next, mut results) = (None, None, None);
        while let Some(field) = map.next_key::<PageField>()? {
            match field {
                PageField::Count => count = Some(map.next_value::<Loose>()?),
                PageField::Next => next = Some(map.next_value::<Loose>()?),
                PageField::Results => results = Some(map.next_value_seed(ResultsSeed { keep: self.keep })?),
                PageField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(RawPage::Object { count, next, results })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawPage, A::Error> {
        LooseVisitor.visit_seq(seq).map(|_| RawPage::NotAnObject)
    }
    fn visit_unit<E>(self) -> Result<RawPage, E> {
        Ok(RawPage::NotAnObject)
    }
    fn visit_bool<E>(self, _: bool) -> Result<RawPage, E> {
        Ok(RawPage::NotAnObject)
    }
    fn visit_u64<E>(self, _: u64) -> Result<RawPage, E> {
        Ok(RawPage::NotAnObject)
    }
    fn visit_i64<E>(self, _: i64) -> Result<RawPage, E> {
        Ok(RawPage::NotAnObject)
    }
    fn visit_f64<E>(self, _: f64) -> Result<RawPage, E> {
        Ok(RawPage::NotAnObject)
    }
    fn visit_str<E>(self, _: &str) -> Result<RawPage, E> {
        Ok(RawPage::NotAnObject)
    }
}

/// Reads `text` (one JSON document) keeping at most `keep` results.
pub fn read_page(text: &str, keep: usize) -> Result<RawPage, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let page = de::DeserializeSeed::deserialize(PageSeed { keep }, &mut deserializer)?;
    deserializer.end()?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(page: &RawPage, i: usize) -> RawRun {
        let RawPage::Object { results: Some(RawResults::Array { kept, .. }), .. } = page else { panic!("{page:?}") };
        match &kept[i] {
            RawResult::Run(run) => run.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keeps_the_four_fields_of_each_run_and_skips_the_rest() {
        let page = read_page(
            r#"{"count": 2, "next": null, "previous": null, "results": [
                 {"key": "k", "title": "T", "seats": [{"price": "49.00"}], "staff": [{"bio": "..."}],
                  "marketing_url": "https://x/", "eligible_for_financial_aid": false, "content_language": "en",
                  "weeks_to_complete": 1e131071},
                 7]}"#,
            10,
        )
        .unwrap();
        let RawPage::Object { count, next, results: Some(RawResults::Array { kept, total }) } = &page else { panic!() };
        assert_eq!((count, next, *total), (&Some(Loose::Unsigned(2)), &Some(Loose::Null), 2));
        assert_eq!(
            run(&page, 0),
            RawRun {
                key: Some(Loose::Text("k".into())),
                marketing_url: Some(Loose::Text("https://x/".into())),
                eligible_for_financial_aid: Some(Loose::Bool(false)),
                content_language: Some(Loose::Text("en".into())),
            }
        );
        assert_eq!(kept[1], RawResult::NotAnObject);
    }

    #[test]
    fn results_past_the_page_size_are_counted_not_kept() {
        let page = read_page(r#"{"next": null, "results": [{"key": "a"}, {"key": "b"}, {"key": "c"}]}"#, 1).unwrap();
        let RawPage::Object { results: Some(RawResults::Array { kept, total }), .. } = page else { panic!() };
        assert_eq!((kept.len(), total), (1, 3));
    }

    #[test]
    fn a_field_given_twice_keeps_its_last_value() {
        let page = read_page(r#"{"next": null, "results": [{"key": "a", "key": "b"}]}"#, 5).unwrap();
        assert_eq!(run(&page, 0).key, Some(Loose::Text("b".into())));
    }

    #[test]
    fn other_shapes_are_described_not_refused_here() {
        assert_eq!(read_page("[1, 2]", 5).unwrap(), RawPage::NotAnObject);
        let page = read_page(r#"{"results": {"a": 1}, "next": 5, "count": -1}"#, 5).unwrap();
        assert_eq!(
            page,
            RawPage::Object {
                count: Some(Loose::Number("-1".into())),
                next: Some(Loose::Unsigned(5)),
                results: Some(RawResults::NotAnArray)
            }
        );
        let page = read_page(r#"{"next": null, "results": [{"key": [[1], {"a": [2]}]}]}"#, 5).unwrap();
        assert_eq!(run(&page, 0).key.unwrap().describe(), "an array");
    }

    #[test]
    fn what_is_not_json_is_an_error() {
        for bad in ["", "{", "{\"next\": null} x", "{\"next\": nul}", "[1,]"] {
            assert!(read_page(bad, 5).is_err(), "{bad}");
        }
    }

    #[test]
    fn deep_nesting_in_an_ignored_field_is_skipped_without_recursion() {
        let deep = format!(
            "{{\"next\": null, \"results\": [{{\"key\": \"k\", \"x\": {}{}}}]}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let page = read_page(&deep, 5).unwrap();
        assert_eq!(run(&page, 0).key, Some(Loose::Text("k".into())));
    }

    #[test]
    fn a_value_quoted_in_an_error_is_cut_short() {
        assert_eq!(Loose::Text("no".into()).describe(), "\"no\"");
        let long = "x".repeat(5000);
        assert_eq!(Loose::Text(long).describe(), format!("\"{}... (5000 bytes)\"", "x".repeat(64)));
        assert_eq!(shown("a\0b"), "a\\u0000b");
    }
}
