//! Reads one page of the course-discovery catalog's course runs, a Django
//! REST Framework page `{"count", "next", "previous", "results": [...]}`,
//! into what the sync writes: per course run key, the catalog-owned fields.
//!
//! A page is taken whole or not at all: anything that makes it not a page
//! (not UTF-8, not JSON, no `results`, more results than asked for, a
//! result without `key`) is an error for the whole page, so the sync never
//! writes half a page. A marketing URL that is not http(s) is the one thing
//! skipped alone: that run's other fields are still written.

use crate::catalog_json::{read_page, shown, Loose, RawPage, RawResult, RawResults};
use url::Url;

/// What a sync does with one catalog-owned field of an overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update<T> {
    /// The catalog said nothing usable: the overview keeps its value.
    Keep,
    /// The catalog's value, possibly null.
    Set(Option<T>),
}

impl<T> Update<T> {
    pub fn is_keep(&self) -> bool {
        matches!(self, Update::Keep)
    }
}

/// `Set(value)` is written as the value (null included); `Keep` is never
/// written, its field is left out (`skip_serializing_if`).
impl<T: serde::Serialize> serde::Serialize for Update<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Update::Set(value) => value.serialize(serializer),
            Update::Keep => serializer.serialize_none(),
        }
    }
}

/// The catalog-owned fields of one overview, as the catalog gave them.
///
/// Serialized, it is the change to make: `course_id` and each field to set,
/// named as its `coursenav.course_overviews` column; a field to keep is left
/// out. A new catalog-owned field is this struct, `CATALOG_FIELDS`, the
/// column and a test (README, "Adding a field").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CatalogRun {
    #[serde(rename = "course_id")]
    pub key: String,
    #[serde(skip_serializing_if = "Update::is_keep")]
    pub marketing_url: Update<String>,
    /// None when the catalog did not say: the overview keeps its value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligible_for_financial_aid: Option<bool>,
    #[serde(skip_serializing_if = "Update::is_keep")]
    pub content_language: Update<String>,
}

/// The overview columns a catalog sync owns: every field of `CatalogRun`
/// but its key (pinned by a unit test below and a #[pg_test] on the table).
pub const CATALOG_FIELDS: [&str; 3] = ["marketing_url", "eligible_for_financial_aid", "content_language"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The catalog's total of course runs, when it gave one.
    pub count: Option<u64>,
    pub next: Option<String>,
    /// How many results the page held, repeats included.
    pub results: usize,
    /// One entry per key; a key repeated on the page keeps its last result.
    pub runs: Vec<CatalogRun>,
    /// Marketing URLs that were not http(s) URLs, skipped.
    pub rejected_urls: usize,
}

fn update_bytes(update: &Update<String>) -> usize {
    match update {
        Update::Set(Some(text)) => text.capacity(),
        _ => 0,
    }
}

impl Page {
    /// The bytes this page takes while the sync holds it until it is
    /// applied: its runs and their strings, its next link. What the
    /// catalog's budget (`coursenav.catalog_max_bytes`) counts; the page's
    /// body and the rest of its JSON are dropped once it is parsed.
    pub fn held_bytes(&self) -> u64 {
        let strings: usize = self
            .runs
            .iter()
            .map(|run| run.key.capacity() + update_bytes(&run.marketing_url) + update_bytes(&run.content_language))
            .sum();
        let next = self.next.as_ref().map_or(0, String::capacity);
        (size_of::<Page>() + self.runs.capacity() * size_of::<CatalogRun>() + strings + next) as u64
    }
}

/// Why a page could not be used, in words for the run's error column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError(pub String);

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, PageError> {
    Err(PageError(message.into()))
}

/// Most bytes a page of `page_size` runs may take. A real course run is a
/// few kilobytes; this leaves ample room while keeping a runaway or hostile
/// catalog from filling the backend's memory.
pub fn max_page_bytes(page_size: u32) -> u64 {
    1024 * 1024 + u64::from(page_size) * 64 * 1024
}

/// The longest marketing URL taken, in bytes: browsers and CDNs cut URLs
/// near 2,000 characters, and an about-page link has no business being
/// longer (Open edX stores it in a 255-character field).
pub const MAX_MARKETING_URL_BYTES: usize = 2048;

/// The URL as it will be stored, if it is an absolute http(s) URL with a
/// host, no user or password, and at most `MAX_MARKETING_URL_BYTES` long;
/// anything else (`javascript:`, `data:`, relative paths, `user:pass@`,
/// megabytes of garbage) must never become a link on an about page.
pub fn accept_marketing_url(text: &str) -> Option<String> {
    if text.len() > MAX_MARKETING_URL_BYTES || text.contains('\0') {
        return None;
    }
    let url = Url::parse(text).ok()?;
    let web = matches!(url.scheme(), "http" | "https");
    let has_host = url.host_str().is_some_and(|h| !h.is_empty());
    let no_credentials = url.username().is_empty() && url.password().is_none();
    let url = url.to_string();
    (web && has_host && no_credentials && url.len() <= MAX_MARKETING_URL_BYTES).then_some(url)
}

/// PostgreSQL's text cannot hold a NUL character: a string that has one is
/// refused by name instead of being cut short or failing the whole run.
fn no_nul(key: &str, field: &str, text: &str) -> Result<(), PageError> {
    match text.contains('\0') {
        false => Ok(()),
        true => err(format!("course run \"{}\": \"{field}\" holds a NUL character", shown(key))),
    }
}

/// Parses one page fetched with `page_size`.
pub fn parse_page(body: &[u8], page_size: u32) -> Result<Page, PageError> {
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => return err(format!("the page is not UTF-8 (invalid byte at offset {})", e.valid_up_to())),
    };
    let raw = match read_page(text, page_size as usize) {
        Ok(raw) => raw,
        Err(e) => return err(format!("the page is not JSON: {e}")),
    };
    let RawPage::Object { count, next, results } = raw else {
        return err("the page is not a course-run page: expected an object with \"next\" and \"results\"");
    };
    let next = match next {
        Some(Loose::Null) => None,
        Some(Loose::Text(s)) => Some(s),
        _ => return err("the page is not a course-run page: \"next\" must be a link or null"),
    };
    let Some(RawResults::Array { kept, total }) = results else {
        return err("the page is not a course-run page: \"results\" must be an array");
    };
    if total > page_size as usize {
        return err(format!("the page holds {total} results, more than the page size of {page_size} asked for"));
    }
    let count = match count {
        Some(Loose::Unsigned(n)) => Some(n),
        _ => None,
    };
    let mut page = Page { count, next, results: total, runs: Vec::with_capacity(kept.len()), rejected_urls: 0 };
    let mut index_of_key = std::collections::HashMap::new();
    for (i, result) in kept.into_iter().enumerate() {
        let (run, rejected) = parse_run(i, result)?;
        page.rejected_urls += usize::from(rejected);
        match index_of_key.get(&run.key) {
            Some(&at) => page.runs[at] = run,
            None => {
                index_of_key.insert(run.key.clone(), page.runs.len());
                page.runs.push(run);
            }
        }
    }
    Ok(page)
}

/// One result, and whether its marketing URL was rejected.
fn parse_run(index: usize, result: RawResult) -> Result<(CatalogRun, bool), PageError> {
    let RawResult::Run(fields) = result else {
        return err(format!("result {index} of the page is not an object"));
    };
    let key = match fields.key {
        Some(Loose::Text(k)) if !k.is_empty() => {
            no_nul(&k, "key", &k)?;
            k
        }
        _ => return err(format!("result {index} of the page has no \"key\"")),
    };
    let (marketing_url, rejected) = match fields.marketing_url {
        None => (Update::Keep, false),
        Some(Loose::Null) => (Update::Set(None), false),
        Some(Loose::Text(s)) => match accept_marketing_url(&s) {
            Some(url) => (Update::Set(Some(url)), false),
            None => (Update::Keep, true),
        },
        Some(_) => (Update::Keep, true),
    };
    let run = CatalogRun {
        eligible_for_financial_aid: financial_aid(&key, fields.eligible_for_financial_aid)?,
        content_language: language(&key, fields.content_language)?,
        marketing_url,
        key,
    };
    Ok((run, rejected))
}

fn financial_aid(key: &str, value: Option<Loose>) -> Result<Option<bool>, PageError> {
    match value {
        None | Some(Loose::Null) => Ok(None),
        Some(Loose::Bool(b)) => Ok(Some(b)),
        Some(other) => err(format!(
            "course run \"{}\": \"eligible_for_financial_aid\" must be true or false, not {}",
            shown(key),
            other.describe()
        )),
    }
}

fn language(key: &str, value: Option<Loose>) -> Result<Update<String>, PageError> {
    match value {
        None => Ok(Update::Keep),
        Some(Loose::Null) => Ok(Update::Set(None)),
        Some(Loose::Text(s)) => {
            no_nul(key, "content_language", &s)?;
            Ok(Update::Set(Some(s)))
        }
        Some(other) => err(format!(
            "course run \"{}\": \"content_language\" must be a string or null, not {}",
            shown(key),
            other.describe()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn page(value: Value) -> Result<Page, PageError> {
        parse_page(value.to_string().as_bytes(), 100)
    }

    #[test]
    fn reads_a_drf_page() {
        let p = page(json!({
        "count": 3200, "next": "https://catalog/api/v1/course_runs/?page=2", "previous": null,
        "results": [
            {"key": "course-v1:A+B+C", "marketing_url": "https://www.example.org/course/b",
             "eligible_for_financial_aid": false, "content_language": "fr", "title": "B"},
            {"key": "course-v1:A+D+C", "marketing_url": null, "content_language": null},
            {"key": "course-v1:A+E+C"}
        ]}))
        .unwrap();
        assert_eq!(p.count, Some(3200));
        assert_eq!(p.next.as_deref(), Some("https://catalog/api/v1/course_runs/?page=2"));
        assert_eq!((p.results, p.rejected_urls), (3, 0));
        assert_eq!(
            p.runs[0],
            CatalogRun {
                key: "course-v1:A+B+C".into(),
                marketing_url: Update::Set(Some("https://www.example.org/course/b".into())),
                eligible_for_financial_aid: Some(false),
                content_language: Update::Set(Some("fr".into())),
            }
        );
        assert_eq!(
            (p.runs[1].marketing_url.clone(), p.runs[1].content_language.clone()),
            (Update::Set(None), Update::Set(None))
        );
        assert_eq!(p.runs[2].marketing_url, Update::Keep);
        assert_eq!(p.runs[2].eligible_for_financial_aid, None);
    }

    #[test]
    fn the_last_page_has_no_next_and_a_repeated_key_keeps_its_last_result() {
        let p = page(json!({"count": 2, "next": null, "results": [
            {"key": "k", "content_language": "en"}, {"key": "k", "content_language": "de"}]}))
        .unwrap();
        assert_eq!(p.next, None);
        assert_eq!((p.results, p.runs.len()), (2, 1));
        assert_eq!(p.runs[0].content_language, Update::Set(Some("de".into())));
    }

    #[test]
    fn only_http_and_https_marketing_urls_are_accepted() {
        assert_eq!(
            accept_marketing_url("https://www.edx.org/course/x").as_deref(),
            Some("https://www.edx.org/course/x")
        );
        assert_eq!(accept_marketing_url("http://Example.ORG").as_deref(), Some("http://example.org/"));
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "ftp://x/y",
            "/course/x",
            "www.example.org",
            "garbage",
            "",
            "https://",
        ] {
            assert_eq!(accept_marketing_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn marketing_urls_with_credentials_or_past_the_length_limit_are_rejected() {
        assert_eq!(accept_marketing_url("https://user:pass@www.example.org/c"), None);
        assert_eq!(accept_marketing_url("https://user@www.example.org/c"), None);
        assert_eq!(accept_marketing_url("https://www.example.org/c\0x"), None);
        let longest = format!("https://www.example.org/{}", "c".repeat(MAX_MARKETING_URL_BYTES - 24));
        assert_eq!(longest.len(), MAX_MARKETING_URL_BYTES);
        assert_eq!(accept_marketing_url(&longest).as_deref(), Some(longest.as_str()));
        assert_eq!(accept_marketing_url(&format!("{longest}c")), None);
        assert_eq!(accept_marketing_url(&"x".repeat(2 * 1024 * 1024)), None);
    }

    #[test]
    fn a_nul_in_a_key_or_language_refuses_the_page_naming_the_run() {
        for (result, needle) in [
            (json!({"key": "course-v1:A+B+C", "content_language": "en\0"}), "\"content_language\" holds a NUL"),
            (json!({"key": "course-v1:A+B\0+C"}), "\"key\" holds a NUL"),
        ] {
            let e = page(json!({"next": null, "results": [result]})).unwrap_err();
            assert!(e.0.contains(needle) && e.0.contains("course run \"course-v1:A+B"), "{e}");
        }
    }

    #[test]
    fn a_rejected_url_is_skipped_and_counted_but_the_run_is_kept() {
        let p = page(json!({"next": null, "results": [
            {"key": "a", "marketing_url": "javascript:alert(1)", "eligible_for_financial_aid": false},
            {"key": "b", "marketing_url": 42},
            {"key": "c", "marketing_url": "https://ok.example/c"}]}))
        .unwrap();
        assert_eq!(p.rejected_urls, 2);
        assert_eq!(p.runs[0].marketing_url, Update::Keep);
        assert_eq!(p.runs[0].eligible_for_financial_aid, Some(false));
        assert_eq!(p.runs[1].marketing_url, Update::Keep);
        assert_eq!(p.runs[2].marketing_url, Update::Set(Some("https://ok.example/c".into())));
    }

    #[test]
    fn what_is_not_a_page_is_refused_whole() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"\xff\xfe{}".to_vec(), "not UTF-8"),
            (b"<html>Bad gateway</html>".to_vec(), "not JSON"),
            (b"[]".to_vec(), "not a course-run page"),
            (br#"{"detail": "Authentication credentials were not provided."}"#.to_vec(), "not a course-run page"),
            (br#"{"next": null, "results": {}}"#.to_vec(), "\"results\" must be an array"),
            (br#"{"next": 5, "results": []}"#.to_vec(), "\"next\" must be a link or null"),
            (
                br#"{"next": null, "results": [{"key": "a"}, {"marketing_url": "https://x/"}]}"#.to_vec(),
                "result 1 of the page has no \"key\"",
            ),
            (br#"{"next": null, "results": [{"key": ""}]}"#.to_vec(), "result 0 of the page has no \"key\""),
            (br#"{"next": null, "results": [7]}"#.to_vec(), "result 0 of the page is not an object"),
            (
                br#"{"next": null, "results": [{"key": "a", "eligible_for_financial_aid": "no"}]}"#.to_vec(),
                "course run \"a\"",
            ),
        ];
        for (body, needle) in cases {
            let e = parse_page(&body, 100).unwrap_err();
            assert!(e.0.contains(needle), "{} does not say {needle}", e.0);
        }
    }

    #[test]
    fn fields_the_sync_ignores_are_skipped_whatever_they_hold() {
        // A number beyond f64 and deep nesting, where the sync reads nothing.
        let body = format!(
            r#"{{"count": 1, "next": null, "results": [{{"key": "k", "weeks_to_complete": 1e400,
                 "staff": {}{}, "content_language": "en"}}], "facets": -1e131071}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let p = parse_page(body.as_bytes(), 100).unwrap();
        assert_eq!((p.runs.len(), p.runs[0].content_language.clone()), (1, Update::Set(Some("en".into()))));
    }

    #[test]
    fn a_page_holds_what_the_sync_keeps_not_what_it_was_sent() {
        let description = "x".repeat(100_000);
        let full =
            page(json!({"next": null, "results": [{"key": "course-v1:A+B+C", "full_description": description}]}))
                .unwrap();
        assert!(full.held_bytes() < 1_000, "{}", full.held_bytes());
        let long_key = page(json!({"next": null, "results": [{"key": "k".repeat(100_000)}]})).unwrap();
        assert!(long_key.held_bytes() > 100_000, "{}", long_key.held_bytes());
        let next = page(json!({"next": "n".repeat(50_000), "results": [{"key": "k", "marketing_url": format!("https://x/{}", "u".repeat(1000))}]}))
            .unwrap();
        assert!(next.held_bytes() > 51_000, "{}", next.held_bytes());
    }

    #[test]
    fn a_value_quoted_in_an_error_is_cut_short() {
        let e = page(json!({"next": null, "results": [{"key": "k".repeat(10_000), "eligible_for_financial_aid": "n".repeat(10_000)}]}))
            .unwrap_err();
        assert!(e.0.len() < 300, "{e}");
        assert!(e.0.contains("(10000 bytes)"), "{e}");
    }

    #[test]
    fn a_page_larger_than_asked_for_is_refused() {
        let results: Vec<Value> = (0..11).map(|i| json!({"key": format!("k{i}")})).collect();
        let body = json!({"next": null, "results": results}).to_string();
        assert!(parse_page(body.as_bytes(), 11).is_ok());
        let e = parse_page(body.as_bytes(), 10).unwrap_err();
        assert!(e.0.contains("holds 11 results, more than the page size of 10"), "{e}");
        assert!(max_page_bytes(100) > 100 * 16 * 1024 && max_page_bytes(100) < 64 * 1024 * 1024);
    }

    #[test]
    fn a_catalog_run_writes_its_key_and_the_fields_it_sets_and_leaves_out_those_it_keeps() {
        let every = CatalogRun {
            key: "course-v1:A+B+C".into(),
            marketing_url: Update::Set(None),
            eligible_for_financial_aid: Some(true),
            content_language: Update::Set(Some("fr".into())),
        };
        let written = serde_json::to_value(&every).unwrap();
        let mut fields: Vec<&str> = written.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        let mut expected = CATALOG_FIELDS.to_vec();
        expected.push("course_id");
        expected.sort_unstable();
        assert_eq!(fields, expected, "CATALOG_FIELDS names every field of CatalogRun");
        assert_eq!(written["marketing_url"], Value::Null);
        let kept = CatalogRun {
            marketing_url: Update::Keep,
            eligible_for_financial_aid: None,
            content_language: Update::Keep,
            ..every
        };
        assert_eq!(serde_json::to_value(&kept).unwrap(), json!({"course_id": "course-v1:A+B+C"}));
    }
}
