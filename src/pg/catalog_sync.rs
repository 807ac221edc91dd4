//! `coursenav_internal.run_catalog_sync()`: one run of the catalog sync. Pages
//! through the catalog's course runs, then applies each page read to the
//! overviews in one set-based statement, recording the run in
//! `catalog_sync_runs`.
//!
//! The run is one transaction (the caller's), so a catalog failure must not
//! raise an ERROR: that would roll back the pages already applied and the
//! run row with them. Catalog failures are values here; they end the walk
//! and are recorded. Query cancel and statement_timeout are honoured
//! between requests and do raise, rolling the whole run back.

use crate::pg::catalog_http::CatalogClient;
use crate::pg::catalog_token::catalog_token;
use crate::pg::errors::OrRaise;
use crate::pg::records::record;
use crate::pg::settings::{
    text, CATALOG_API_URL, CATALOG_CONNECT_TIMEOUT_MS, CATALOG_MAX_BYTES_KB, CATALOG_MAX_PAGES, CATALOG_PAGE_SIZE,
    CATALOG_READ_TIMEOUT_MS,
};
use coursenav_domain::catalog_page::{max_page_bytes, parse_page, CatalogRun, Page, CATALOG_FIELDS};
use coursenav_domain::catalog_walk::{redacted, Budget, Status, Tally, Walk};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use std::sync::OnceLock;
use std::time::Duration;

/// One run at a time per database: a second run while one is going is
/// recorded as skipped instead of doubling the work. The lock is the row of
/// `coursenav.catalog_sync_lock`, which no role but the owner may lock: an
/// advisory lock, which any role may take, let a stranger holding its key
/// turn every run into `skipped`. It is released when the run's transaction
/// ends, however it ends.
fn try_lock() -> bool {
    Spi::get_one::<bool>(
        "SELECT count(*) > 0 FROM (SELECT 1 FROM coursenav.catalog_sync_lock FOR UPDATE SKIP LOCKED) l",
    )
    .or_raise()
    .unwrap_or(false)
}

fn start_run(status: Status, catalog_url: Option<&str>) -> i64 {
    Spi::get_one_with_args::<i64>(
        "INSERT INTO coursenav.catalog_sync_runs (status, catalog_url) VALUES ($1, $2) RETURNING run_id",
        &[status.as_str().into(), catalog_url.into()],
    )
    .or_raise()
    .expect("INSERT ... RETURNING gives the run id")
}

fn finish_run(run_id: i64, status: Status, tally: &Tally, error: Option<&str>) {
    let args: Vec<DatumWithOid> = vec![
        run_id.into(),
        status.as_str().into(),
        (tally.pages_fetched as i32).into(),
        (tally.runs_seen as i64).into(),
        (tally.matched as i64).into(),
        (tally.not_found as i64).into(),
        (tally.updated as i64).into(),
        (tally.rejected_urls as i64).into(),
        error.into(),
    ];
    Spi::run_with_args(
        "UPDATE coursenav.catalog_sync_runs
            SET finished_at = clock_timestamp(), status = $2, pages_fetched = $3, runs_seen = $4,
                overviews_matched = $5, not_found = $6, updated = $7, urls_rejected = $8, error = $9
          WHERE run_id = $1",
        &args,
    )
    .or_raise();
}

/// Applies one page in one statement: every matched overview gets the
/// catalog's fields and a fresh catalog_synced_at; keys without an
/// overview are only counted. Returns (matched, updated), where updated
/// counts overviews whose catalog fields actually changed.
///
/// The page is one jsonb array of `CatalogRun` records; each is laid over
/// the overview's row (`jsonb_populate_record(before, run)`), so a field a
/// run leaves out keeps its value. The columns are `CATALOG_FIELDS`.
fn apply_page_statement() -> &'static str {
    static APPLY_PAGE: OnceLock<String> = OnceLock::new();
    APPLY_PAGE.get_or_init(|| {
        let quoted: Vec<String> = CATALOG_FIELDS.iter().map(|f| format!("\"{f}\"")).collect();
        let of = |alias: &str| quoted.iter().map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ");
        format!(
            "WITH page AS (
                 SELECT r ->> 'course_id' AS key, r AS run FROM pg_catalog.jsonb_array_elements($1) r
             ), applied AS (
                 UPDATE coursenav.course_overviews o
                    SET ({columns}) = (SELECT {new} FROM pg_catalog.jsonb_populate_record(before, p.run) n),
                        catalog_synced_at = pg_catalog.clock_timestamp()
                   FROM page p, coursenav.course_overviews before
                  WHERE o.course_id = p.key AND before.course_id = p.key
                 RETURNING ({after}) IS DISTINCT FROM ({before}) AS changed
             )
             SELECT count(*), count(*) FILTER (WHERE changed) FROM applied",
            columns = quoted.join(", "),
            new = of("n"),
            after = of("o"),
            before = of("before"),
        )
    })
}

fn apply_page(runs: &[CatalogRun]) -> (u64, u64) {
    let (matched, updated) =
        Spi::get_two_with_args::<i64, i64>(apply_page_statement(), &[record(&runs).into()]).or_raise();
    (matched.unwrap_or(0) as u64, updated.unwrap_or(0) as u64)
}

fn count_page(tally: &mut Tally, page: &Page, matched: u64, updated: u64) {
    tally.pages_fetched += 1;
    tally.runs_seen += page.results as u64;
    tally.matched += matched;
    tally.not_found += page.runs.len() as u64 - matched;
    tally.updated += updated;
    tally.rejected_urls += page.rejected_urls as u64;
}

/// Applies a page inside a memory context of its own, emptied after each
/// page: the arrays and SPI work of a page do not pile up in the run's
/// transaction however many pages a catalog has (pgrx #2211).
fn apply_page_in(context: &mut PgMemoryContexts, runs: &[CatalogRun]) -> (u64, u64) {
    // SAFETY: `context` is the Owned context this function's one caller,
    // apply_pages, made for the run (PgMemoryContexts::new): a valid MemoryContext
    // until it drops after the last page, so switching to it is sound; the switch
    // is undone when the closure returns (after an error, the aborting transaction
    // resets the current context). Resetting it frees only what this page
    // allocated in it: the page's jsonb argument and the statement's work. Nothing
    // kept points into it: the result is two plain integers, and `runs` lives on
    // the Rust heap.
    unsafe {
        let counts = context.switch_to(|_| apply_page(runs));
        context.reset();
        counts
    }
}

/// Reads pages until the last one or the first failure. Nothing is written
/// while the catalog is being read, so the overviews' row locks are held
/// for the writes alone, never across network waits: a publish during a
/// run against a slow catalog does not wait for the catalog.
///
/// Why read everything before writing, rather than apply pages in batches
/// as they come: the run is one transaction (the caller's; a function
/// cannot commit), so a batch applied mid-run would keep its overviews'
/// row locks until the run ends, across every later page's network time,
/// and a publish of one of those courses would wait for the catalog. What
/// is held until the writes is bounded instead (`Budget`): the runs kept
/// of each page and the one body being read, within
/// coursenav.catalog_max_bytes, and at most coursenav.catalog_max_pages.
fn fetch_pages(walk: &mut Walk, client: &CatalogClient, page_size: u32) -> (Vec<Page>, Option<String>) {
    let page_bound = max_page_bytes(page_size);
    let mut pages = Vec::new();
    let mut url = walk.first().clone();
    loop {
        // Between requests, never during one: a cancel or statement_timeout
        // stops the run here; a stalled request is cut off by its timeouts.
        pgrx::check_for_interrupts!();
        let page_number = pages.len() + 1;
        let at = |e: String| format!("page {page_number} ({}): {e}", redacted(&url));
        let read = client
            .get(&url, walk.body_limit(page_bound), || walk.body_too_large(page_bound))
            .and_then(|body| parse_page(&body, page_size).map_err(|e| e.0))
            .and_then(|page| walk.read(&url, page.count, page.held_bytes()).map(|()| page));
        let page = match read {
            Ok(page) => page,
            Err(error) => return (pages, Some(at(error))),
        };
        let next = page.next.clone();
        pages.push(page);
        match next {
            None => return (pages, None),
            Some(next) => match walk.follow(&url, &next) {
                Ok(next_url) => url = next_url,
                Err(error) => return (pages, Some(at(error))),
            },
        }
    }
}

/// Applies the pages read, in order, one statement each.
fn apply_pages(pages: &[Page], tally: &mut Tally) {
    let mut page_context = PgMemoryContexts::new("coursenav catalog page");
    for page in pages {
        let (matched, updated) = apply_page_in(&mut page_context, &page.runs);
        count_page(tally, page, matched, updated);
    }
}

/// Everything a run needs before its first request, or why it cannot start.
fn prepare(page_size: u32) -> Result<(Walk, CatalogClient), String> {
    let budget = Budget {
        max_pages: CATALOG_MAX_PAGES.get().max(1) as u64,
        max_bytes: CATALOG_MAX_BYTES_KB.get().max(1) as u64 * 1024,
    };
    let walk = Walk::new(&text(&CATALOG_API_URL), page_size, budget)?;
    let token = catalog_token()?;
    let millis = |ms: i32| Duration::from_millis(ms.max(1) as u64);
    let client =
        CatalogClient::new(&token, millis(CATALOG_CONNECT_TIMEOUT_MS.get()), millis(CATALOG_READ_TIMEOUT_MS.get()));
    Ok((walk, client))
}

fn shown_catalog_url() -> Option<String> {
    url::Url::parse(&text(&CATALOG_API_URL)).ok().map(|u| redacted(&u))
}

/// Runs one catalog sync and returns its run id.
#[pg_extern(volatile, parallel_unsafe, schema = "coursenav_internal")]
#[search_path(pg_catalog, pg_temp)]
fn run_catalog_sync() -> i64 {
    let catalog_url = shown_catalog_url();
    if !try_lock() {
        let run_id = start_run(Status::Skipped, catalog_url.as_deref());
        let error = "another catalog sync is running";
        finish_run(run_id, Status::Skipped, &Tally::default(), Some(error));
        log!("coursenav: catalog sync run {run_id} skipped: {error}");
        return run_id;
    }
    let run_id = start_run(Status::Running, catalog_url.as_deref());
    let page_size = CATALOG_PAGE_SIZE.get().max(1) as u32;
    log!(
        "coursenav: catalog sync run {run_id} started: catalog {}, page size {page_size}",
        catalog_url.as_deref().unwrap_or("(not set)")
    );
    let mut tally = Tally::default();
    let (pages, error) = match prepare(page_size) {
        Ok((mut walk, client)) => fetch_pages(&mut walk, &client, page_size),
        Err(error) => (Vec::new(), Some(error)),
    };
    apply_pages(&pages, &mut tally);
    let status = Status::after(tally.pages_fetched, error.as_deref());
    finish_run(run_id, status, &tally, error.as_deref());
    log!(
        "coursenav: catalog sync run {run_id} {}: {} pages, {} course runs in the catalog, {} overviews matched, {} not found, {} updated, {} marketing URLs rejected{}",
        status.as_str(),
        tally.pages_fetched,
        tally.runs_seen,
        tally.matched,
        tally.not_found,
        tally.updated,
        tally.rejected_urls,
        error.map(|e| format!("; stopped: {e}")).unwrap_or_default()
    );
    run_id
}
