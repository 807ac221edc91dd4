//! The catalog sync's walk through the course-run pages: where it starts,
//! which `next` links it follows, what it counts and how a run ends.
//!
//! The bearer token goes with every request, so a `next` link may only lead
//! to the catalog's own origin; and a link back to a page already read
//! would loop for ever, so it ends the run.

use std::collections::HashSet;
use url::Url;

/// How a run ended, as stored in `catalog_sync_runs.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
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
    pub fn as_str(self) -> &'static str {
        match self {
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
    shown.to_string()
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub max_pages: u64,
    /// Bytes of page bodies read and held until they are applied.
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
    bytes_read: u64,
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
        let base = Url::parse(root)
            .map_err(|e| format!("coursenav.catalog_api_url is not a URL ({e})"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err("coursenav.catalog_api_url must be an http or https URL".into());
        }
        let mut first = Url::parse(&format!("{}/api/v1/course_runs/", base.as_str().trim_end_matches('/')))
            .map_err(|e| format!("coursenav.catalog_api_url is not a URL ({e})"))?;
        first
            .query_pairs_mut()
            .append_pair("page_size", &page_size.to_string())
            .append_pair("exclude_utm", "1");
        Ok(Walk { first, visited: HashSet::new(), page_size, most_pages: None, budget, bytes_read: 0 })
    }

    pub fn first(&self) -> &Url {
        &self.first
    }

    /// Records that `url` was read; the first page's count bounds the walk.
    pub fn read(&mut self, url: &Url, count: Option<u64>) {
        if self.visited.is_empty() {
            // One page of slack: runs added to the catalog during the walk
            // may push the last results onto one more page.
            self.most_pages = count.map(|c| c.div_ceil(u64::from(self.page_size)).max(1) + 1);
        }
        self.visited.insert(identity(url));
    }

    /// Counts a page body of `bytes` read, before it is parsed and held;
    /// past the run's budget the walk ends and the page is not used.
    pub fn take(&mut self, bytes: u64) -> Result<(), String> {
        self.bytes_read = self.bytes_read.saturating_add(bytes);
        if self.bytes_read > self.budget.max_bytes {
            return Err(format!(
                "the pages read hold {} bytes, more than coursenav.catalog_max_bytes ({} bytes)",
                self.bytes_read, self.budget.max_bytes
            ));
        }
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
        let url = current.join(next).map_err(|e| format!("the next link {next:?} is not a URL ({e})"))?;
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
                return Err(format!(
                    "the catalog keeps giving next links past the {most} pages its count allows"
                ));
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
        assert_eq!(prefixed.first().as_str(), "http://127.0.0.1:8381/catalog/api/v1/course_runs/?page_size=5&exclude_utm=1");
    }

    #[test]
    fn no_catalog_can_lift_the_runs_page_and_byte_budget() {
        let budget = Budget { max_pages: 3, max_bytes: 1000 };
        let mut walk = Walk::new("https://discovery.example", 10, budget).unwrap();
        let mut current = walk.first().clone();
        // A catalog that claims a count far beyond the budget, and never ends.
        walk.read(&current, Some(1_000_000));
        for page in 2..=3 {
            current = walk.follow(&current, &format!("?page={page}")).unwrap();
            walk.read(&current, Some(1_000_000));
        }
        let e = walk.follow(&current, "?page=4").unwrap_err();
        assert!(e.contains("more than coursenav.catalog_max_pages (3)"), "{e}");
        assert!(walk.take(600).is_ok());
        let e = walk.take(600).unwrap_err();
        assert!(e.contains("1200 bytes, more than coursenav.catalog_max_bytes (1000 bytes)"), "{e}");
    }

    #[test]
    fn starts_at_the_course_runs_endpoint_with_page_size_and_exclude_utm() {
        let walk = Walk::new("https://discovery.example/", 100, ROOMY).unwrap();
        assert_eq!(walk.first().as_str(), "https://discovery.example/api/v1/course_runs/?page_size=100&exclude_utm=1");
        let walk = Walk::new("http://127.0.0.1:8381/catalog", 5, ROOMY).unwrap();
        assert_eq!(walk.first().as_str(), "http://127.0.0.1:8381/catalog/api/v1/course_runs/?page_size=5&exclude_utm=1");
    }

    #[test]
    fn refuses_a_missing_or_odd_catalog_url() {
        for (bad, needle) in [("", "not set"), ("not a url", "not a URL"), ("ftp://x/", "http or https"), ("file:///etc", "http or https")] {
            let e = Walk::new(bad, 100, ROOMY).err().unwrap();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn follows_next_links_on_the_same_origin_only() {
        let mut walk = Walk::new("https://discovery.example", 2, ROOMY).unwrap();
        let first = walk.first().clone();
        walk.read(&first, Some(6));
        let second = walk.follow(&first, "https://discovery.example/api/v1/course_runs/?page=2&page_size=2").unwrap();
        assert_eq!(second.query(), Some("page=2&page_size=2"));
        assert_eq!(walk.follow(&first, "?page=2").unwrap().as_str(), "https://discovery.example/api/v1/course_runs/?page=2");
        for elsewhere in ["https://evil.example/api/v1/course_runs/?page=2", "http://discovery.example/api/v1/course_runs/?page=2", "https://discovery.example:444/x"] {
            let e = walk.follow(&first, elsewhere).unwrap_err();
            assert!(e.contains("leaves the catalog at https://discovery.example"), "{e}");
        }
    }

    #[test]
    fn a_link_back_to_a_page_already_read_ends_the_walk() {
        let mut walk = Walk::new("https://discovery.example", 2, ROOMY).unwrap();
        let first = walk.first().clone();
        walk.read(&first, None);
        let second = walk.follow(&first, "/api/v1/course_runs/?page=2").unwrap();
        walk.read(&second, None);
        let e = walk.follow(&second, first.as_str()).unwrap_err();
        assert!(e.contains("leads back to a page already read"), "{e}");
        let reordered = walk.follow(&second, "?exclude_utm=1&page_size=2#top").unwrap_err();
        assert!(reordered.contains("leads back to a page already read"), "{reordered}");
    }

    #[test]
    fn the_first_pages_count_bounds_the_walk() {
        let mut walk = Walk::new("https://discovery.example", 10, ROOMY).unwrap();
        let mut current = walk.first().clone();
        walk.read(&current, Some(25));
        for page in 2..=4 {
            current = walk.follow(&current, &format!("?page={page}")).unwrap();
            walk.read(&current, Some(25));
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
