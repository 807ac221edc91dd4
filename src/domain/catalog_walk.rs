//! The catalog sync's walk through the course-run pages: where it starts,
//! which `next` links it follows, what it counts and how a run ends.
//!
//! The bearer token goes with every request, so a `next` link may only lead
//! to the catalog's own origin; and a link back to a page already read
//! would loop for ever, so it ends the run.

use crate::catalog_json::cut;
use std::collections::HashSet;
use url::Url;

/// Most characters of a URL shown in an error: a next link is the
/// catalog's to make, megabytes if it likes.
const SHOWN_URL_CHARS: usize = 256;

/// Where a run is, as stored in `catalog_sync_runs.status` (whose CHECK
/// constraint a #[pg_test] pins to `Status::ALL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Started and not yet finished (or its backend died).
    Running,
    /// Every page was read and applied.
    Ok,
    /// Some pages were applied before one failed; they stay applied.
    Partial,
    /// Nothing was applied.
    Failed,
    /// Another run was going; this one did nothing.
    Skipped,
}

impl Status {
    pub const ALL: [Status; 5] = [Status::Running, Status::Ok, Status::Partial, Status::Failed, Status::Skipped];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Ok => "ok",
            Status::Partial => "partial",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }

    /// A run that stopped at `error` (or not) after applying `pages_applied` pages.
    pub fn after(pages_applied: u32, error: Option<&str>) -> Status {
        match (error, pages_applied) {
            (None, _) => Status::Ok,
            (Some(_), 0) => Status::Failed,
            (Some(_), _) => Status::Partial,
        }
    }
}

/// The counts a run reports and stores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub pages_fetched: u32,
    /// Course runs the catalog listed on the pages applied.
    pub runs_seen: u64,
    /// Runs whose key has an overview.
    pub matched: u64,
    /// Runs whose key has no overview: counted, never created.
    pub not_found: u64,
    /// Matched overviews whose catalog fields changed.
    pub updated: u64,
    /// Marketing URLs that were not http(s), skipped.
    pub rejected_urls: u64,
}

/// The catalog URL with any password removed, for log lines and the runs
/// table: a URL carrying credentials must not leak them there.
pub fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    cut(shown.as_str(), SHOWN_URL_CHARS)
}

/// A page's identity: its URL with the query pairs sorted, so that
/// `?page=1&page_size=5` and `?page_size=5&page=1` are one page.
fn identity(url: &Url) -> String {
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    pairs.sort();
    let mut key = url.clone();
    key.set_query(None);
    if !pairs.is_empty() {
        key.query_pairs_mut().extend_pairs(pairs);
    }
    key.set_fragment(None);
    key.to_string()
}

/// What one run may read, whatever the catalog says: the operator's
/// bounds (`coursenav.catalog_max_pages`, `coursenav.catalog_max_bytes`,
/// superuser settings), which no catalog can lift.
///
/// Why bytes held and not bytes read: the run reads every page before it
/// writes (see catalog_sync.rs), so what it holds is what it keeps of each
/// page (keys, URLs, languages, next links) plus the one body being read.
/// Open edX sends kilobytes per course run (description, staff, seats,
/// programs) that the sync drops once parsed: counting bytes read, a 1 MB
/// budget stopped a catalog of 300 such runs at page 7 while they held 60 KB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub max_pages: u64,
    /// Bytes of pages held until they are applied, and of the body being
    /// read, together.
    pub max_bytes: u64,
}

pub struct Walk {
    first: Url,
    visited: HashSet<String>,
    page_size: u32,
    /// Pages the catalog's own count allows, once the first page gave it:
    /// a catalog that keeps inventing pages is cut off.
    most_pages: Option<u64>,
    budget: Budget,
    /// Bytes the pages read take while held (their runs, next links and
    /// the walk's record of them), counted against the budget.
    held: u64,
}

impl Walk {
    /// Starts at `{catalog_api_url}/api/v1/course_runs/?page_size=N&exclude_utm=1`.
    /// The URL may be given as Open edX's `COURSE_CATALOG_API_URL` writes
    /// it, ending in `/api/v1` (with or without a slash): that suffix is not
    /// added twice.
    pub fn new(catalog_api_url: &str, page_size: u32, budget: Budget) -> Result<Walk, String> {
        if catalog_api_url.trim().is_empty() {
            return Err("coursenav.catalog_api_url is not set".into());
        }
        let trimmed = catalog_api_url.trim().trim_end_matches('/');
        let root = trimmed.strip_suffix("/api/v1").unwrap_or(trimmed);
        let base = Url::parse(root).map_err(|e| format!("coursenav.catalog_api_url is not a URL ({e})"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err("coursenav.catalog_api_url must be an http or https URL".into());
        }
        let mut first = Url::parse(&format!("{}/api/v1/course_runs/", base.as_str().trim_end_matches('/')))
            .map_err(|e| format!("coursenav.catalog_api_url is not a URL ({e})"))?;
        first.query_pairs_mut().append_pair("page_size", &page_size.to_string()).append_pair("exclude_utm", "1");
        Ok(Walk { first, visited: HashSet::new(), page_size, most_pages: None, budget, held: 0 })
    }

    pub fn first(&self) -> &Url {
        &self.first
    }

    /// Most bytes the next page's body may take: the bound for a page of
    /// the size asked for, or what the pages held leave of the budget.
    pub fn body_limit(&self, page_bound: u64) -> u64 {
        page_bound.min(self.budget.max_bytes.saturating_sub(self.held))
    }

    /// Why a body longer than `body_limit(page_bound)` is not read.
    pub fn body_too_large(&self, page_bound: u64) -> String {
        let limit = self.body_limit(page_bound);
        match limit < page_bound {
            true => format!(
                "the page is larger than the {limit} bytes left of coursenav.catalog_max_bytes ({} bytes) by the {} bytes the pages before it hold",
                self.budget.max_bytes, self.held
            ),
            false => format!("the page is larger than {limit} bytes, far more than the page size asked for"),
        }
    }

    /// Records that `url` was read and that its page, taking `page_bytes`,
    /// is held until it is applied; the first page's count bounds the walk.
    /// A page that would take the run past its budget is refused.
    pub fn read(&mut self, url: &Url, count: Option<u64>, page_bytes: u64) -> Result<(), String> {
        let identity = identity(url);
        let held = self.held + page_bytes + (identity.capacity() + size_of::<String>()) as u64;
        if held > self.budget.max_bytes {
            return Err(format!(
                "holding this page would take the run to {held} bytes, more than coursenav.catalog_max_bytes ({} bytes)",
                self.budget.max_bytes
            ));
        }
        if self.visited.is_empty() {
            // One page of slack: runs added to the catalog during the walk
            // may push the last results onto one more page.
            self.most_pages = count.map(|c| c.div_ceil(u64::from(self.page_size)).max(1) + 1);
        }
        self.visited.insert(identity);
        self.held = held;
        Ok(())
    }

    /// The page to read after the one at `current`, whose `next` was `next`.
    pub fn follow(&self, current: &Url, next: &str) -> Result<Url, String> {
        if self.visited.len() as u64 >= self.budget.max_pages {
            return Err(format!(
                "the catalog has more than coursenav.catalog_max_pages ({}) pages",
                self.budget.max_pages
            ));
        }
        let url = current
            .join(next)
            .map_err(|e| format!("the next link \"{}\" is not a URL ({e})", cut(next, SHOWN_URL_CHARS)))?;
        if url.origin() != self.first.origin() {
            return Err(format!(
                "the next link {} leaves the catalog at {}; the token is only ever sent to the catalog",
                redacted(&url),
                self.first.origin().ascii_serialization()
            ));
        }
        if self.visited.contains(&identity(&url)) {
            return Err(format!("the next link {} leads back to a page already read", redacted(&url)));
        }
        if let Some(most) = self.most_pages {
            if self.visited.len() as u64 >= most {
                return Err(format!("the catalog keeps giving next links past the {most} pages its count allows"));
            }
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: Budget = Budget { max_pages: 1_000, max_bytes: 1 << 30 };

    #[test]
    fn the_catalog_url_may_end_in_api_v1_as_open_edx_writes_it() {
        let expected = "https://discovery.example/api/v1/course_runs/?page_size=100&exclude_utm=1";
        for given in [
            "https://discovery.example",
            "https://discovery.example/",
            "https://discovery.example/api/v1",
            "https://discovery.example/api/v1/",
            " https://discovery.example/api/v1/ ",
        ] {
            assert_eq!(Walk::new(given, 100, ROOMY).unwrap().first().as_str(), expected, "{given}");
        }
        let prefixed = Walk::new("http://127.0.0.1:8381/catalog/api/v1", 5, ROOMY).unwrap();
        assert_eq!(
            prefixed.first().as_str(),
            "http://127.0.0.1:8381/catalog/api/v1/course_runs/?page_size=5&exclude_utm=1"
        );
    }

    #[test]
    fn no_catalog_can_lift_the_runs_page_budget() {
        let budget = Budget { max_pages: 3, max_bytes: 1 << 20 };
        let mut walk = Walk::new("https://discovery.example", 10, budget).unwrap();
        let mut current = walk.first().clone();
        // A catalog that claims a count far beyond the budget, and never ends.
        walk.read(&current, Some(1_000_000), 0).unwrap();
        for page in 2..=3 {
            current = walk.follow(&current, &format!("?page={page}")).unwrap();
            walk.read(&current, Some(1_000_000), 0).unwrap();
        }
        let e = walk.follow(&current, "?page=4").unwrap_err();
        assert!(e.contains("more than coursenav.catalog_max_pages (3)"), "{e}");
    }

    #[test]
    fn the_byte_budget_counts_what_the_pages_read_hold_and_bounds_the_next_body() {
        let (page_bound, max) = (10_000, 19_000);
        let mut walk = Walk::new("https://discovery.example", 10, Budget { max_pages: 100, max_bytes: max }).unwrap();
        let mut current = walk.first().clone();
        // Bodies of any size within the page bound, as long as what is held
        // stays within the budget: nine pages of big bodies and 1,000 bytes kept.
        assert_eq!(walk.body_limit(page_bound), page_bound);
        for page in 2..=10 {
            walk.read(&current, None, 1_000).unwrap();
            current = walk.follow(&current, &format!("?page={page}")).unwrap();
        }
        // The nine pages, and their URLs: the next body may take the rest.
        let held = max - walk.body_limit(page_bound);
        assert!(held > 9_000 && held < 12_000, "{held}");
        let e = walk.body_too_large(page_bound);
        assert!(
            e.contains(&format!(
                "larger than the {} bytes left of coursenav.catalog_max_bytes (19000 bytes)",
                max - held
            )),
            "{e}"
        );
        assert!(e.contains(&format!("by the {held} bytes the pages before it hold")), "{e}");
        assert!(walk.body_too_large(5_000).contains("larger than 5000 bytes, far more than the page size asked for"));
        // A page that would take the run past the budget is refused, and not held.
        let e = walk.read(&current, None, max - held).unwrap_err();
        assert!(e.contains("more than coursenav.catalog_max_bytes (19000 bytes)"), "{e}");
        assert_eq!(walk.body_limit(page_bound), max - held);
        walk.read(&current, None, 10).unwrap();
    }

    #[test]
    fn starts_at_the_course_runs_endpoint_with_page_size_and_exclude_utm() {
        let walk = Walk::new("https://discovery.example/", 100, ROOMY).unwrap();
        assert_eq!(walk.first().as_str(), "https://discovery.example/api/v1/course_runs/?page_size=100&exclude_utm=1");
        let walk = Walk::new("http://127.0.0.1:8381/catalog", 5, ROOMY).unwrap();
        assert_eq!(
            walk.first().as_str(),
            "http://127.0.0.1:8381/catalog/api/v1/course_runs/?page_size=5&exclude_utm=1"
        );
    }

    #[test]
    fn refuses_a_missing_or_odd_catalog_url() {
        for (bad, needle) in [
            ("", "not set"),
            ("not a url", "not a URL"),
            ("ftp://x/", "http or https"),
            ("file:///etc", "http or https"),
        ] {
            let e = Walk::new(bad, 100, ROOMY).err().unwrap();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn follows_next_links_on_the_same_origin_only() {
        let mut walk = Walk::new("https://discovery.example", 2, ROOMY).unwrap();
        let first = walk.first().clone();
        walk.read(&first, Some(6), 0).unwrap();
        let second = walk.follow(&first, "https://discovery.example/api/v1/course_runs/?page=2&page_size=2").unwrap();
        assert_eq!(second.query(), Some("page=2&page_size=2"));
        assert_eq!(
            walk.follow(&first, "?page=2").unwrap().as_str(),
            "https://discovery.example/api/v1/course_runs/?page=2"
        );
        for elsewhere in [
            "https://evil.example/api/v1/course_runs/?page=2",
            "http://discovery.example/api/v1/course_runs/?page=2",
            "https://discovery.example:444/x",
        ] {
            let e = walk.follow(&first, elsewhere).unwrap_err();
            assert!(e.contains("leaves the catalog at https://discovery.example"), "{e}");
        }
    }

    #[test]
    fn a_link_back_to_a_page_already_read_ends_the_walk() {
        let mut walk = Walk::new("https://discovery.example", 2, ROOMY).unwrap();
        let first = walk.first().clone();
        walk.read(&first, None, 0).unwrap();
        let second = walk.follow(&first, "/api/v1/course_runs/?page=2").unwrap();
        walk.read(&second, None, 0).unwrap();
        let e = walk.follow(&second, first.as_str()).unwrap_err();
        assert!(e.contains("leads back to a page already read"), "{e}");
        let reordered = walk.follow(&second, "?exclude_utm=1&page_size=2#top").unwrap_err();
        assert!(reordered.contains("leads back to a page already read"), "{reordered}");
    }

    #[test]
    fn the_first_pages_count_bounds_the_walk() {
        let mut walk = Walk::new("https://discovery.example", 10, ROOMY).unwrap();
        let mut current = walk.first().clone();
        walk.read(&current, Some(25), 0).unwrap();
        for page in 2..=4 {
            current = walk.follow(&current, &format!("?page={page}")).unwrap();
            walk.read(&current, Some(25), 0).unwrap();
        }
        let e = walk.follow(&current, "?page=5").unwrap_err();
        assert!(e.contains("past the 4 pages its count allows"), "{e}");
    }

    #[test]
    fn a_run_is_partial_only_when_pages_were_applied_before_the_failure() {
        assert_eq!(Status::after(0, None), Status::Ok);
        assert_eq!(Status::after(4, None), Status::Ok);
        assert_eq!(Status::after(0, Some("HTTP 500")), Status::Failed);
        assert_eq!(Status::after(3, Some("HTTP 500")), Status::Partial);
        assert_eq!(Status::Partial.as_str(), "partial");
    }

    #[test]
    fn a_password_in_the_catalog_url_is_never_shown() {
        let url = Url::parse("https://svc:s3cret@discovery.example/api/").unwrap();
        assert_eq!(redacted(&url), "https://svc@discovery.example/api/");
    }
}
