//! The `coursenav.*` settings (GUCs).

use coursenav_domain::course_blocks::Room;
use pgrx::prelude::*;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;

/// Most blocks one structure may hold; guards the server against a runaway
/// payload, so only a superuser may change it (a caller could lift it otherwise).
pub(crate) static MAX_BLOCKS: GucSetting<i32> = GucSetting::<i32>::new(200_000);

/// How long a rebuild may stay `building` with nothing added before it is
/// failed as abandoned, in seconds; 0 turns the timeout off.
pub(crate) static REBUILD_TIMEOUT_S: GucSetting<i32> = GucSetting::<i32>::new(3600);

/// How many finished structures of a course keep their blocks.
pub(crate) static KEEP_STRUCTURES: GucSetting<i32> = GucSetting::<i32>::new(5);

/// The about-page link's switches and the LMS root (Open edX's
/// social sharing switch, ENABLE_MKTG_SITE and LMS_ROOT_URL).
pub(crate) static ENABLE_CUSTOM_COURSE_URLS: GucSetting<bool> = GucSetting::<bool>::new(false);
pub(crate) static ENABLE_MARKETING_SITE: GucSetting<bool> = GucSetting::<bool>::new(false);
pub(crate) static LMS_ROOT_URL: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

/// Where the catalog sync reads course runs, and how.
pub(crate) static CATALOG_API_URL: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
/// A file holding the catalog token, read by each sync (superuser only).
pub(crate) static CATALOG_TOKEN_FILE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub(crate) static CATALOG_PAGE_SIZE: GucSetting<i32> = GucSetting::<i32>::new(100);
pub(crate) static CATALOG_CONNECT_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(5_000);
pub(crate) static CATALOG_READ_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(30_000);
/// What one sync may read and hold, whatever the catalog says (superuser only).
pub(crate) static CATALOG_MAX_PAGES: GucSetting<i32> = GucSetting::<i32>::new(10_000);
pub(crate) static CATALOG_MAX_BYTES_KB: GucSetting<i32> = GucSetting::<i32>::new(128 * 1024);

/// How many more blocks rebuild `rebuild_id`, which holds `held`, may take
/// under `coursenav.max_blocks`: checked before anything is reserved.
pub(crate) fn block_room(rebuild_id: i64, held: i32) -> Room {
    Room { rebuild_id, held: held.max(0) as usize, max: MAX_BLOCKS.get().max(0) as usize }
}

/// A string setting's value, "" when unset.
pub(crate) fn text(setting: &GucSetting<Option<CString>>) -> String {
    setting.get().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

pub(crate) fn register() {
    GucRegistry::define_int_guc(
        c"coursenav.max_blocks",
        c"Most blocks one block structure may hold.",
        c"add_blocks refuses a payload that would take a rebuild past this many blocks, before reserving memory \
for it. Superuser only: it bounds the memory a caller can make a backend take.",
        &MAX_BLOCKS,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"coursenav.keep_structures",
        c"How many finished block structures of a course keep their blocks.",
        c"Older structures keep their row as history; their blocks are deleted when a newer rebuild completes.",
        &KEEP_STRUCTURES,
        1,
        1000,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"coursenav.rebuild_timeout",
        c"How long a rebuild may stay building with nothing added before it is failed as abandoned.",
        c"0 turns it off. Checked by the next rebuild of the course and by coursenav.fail_stale_rebuilds().",
        &REBUILD_TIMEOUT_S,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_S,
    );
    register_about_page();
    register_catalog();
}

/// `coursenav_internal.rebuild_timeout_seconds()`: the setting, for the SQL that
/// fails abandoned rebuilds. The setting has one owner, here: SQL asks for
/// it rather than repeating its default (and calling this loads the library
/// that defines it, in a session that has not used coursenav yet).
#[pg_extern(stable, parallel_safe, schema = "coursenav_internal")]
#[search_path(pg_catalog, pg_temp)]
fn rebuild_timeout_seconds() -> i32 {
    REBUILD_TIMEOUT_S.get()
}

/// `coursenav_internal.keep_structures()`: the setting, for the SQL that
/// prunes old structures; as above, its default lives only here.
#[pg_extern(stable, parallel_safe, schema = "coursenav_internal")]
#[search_path(pg_catalog, pg_temp)]
fn keep_structures() -> i32 {
    KEEP_STRUCTURES.get()
}

fn register_about_page() {
    GucRegistry::define_bool_guc(
        c"coursenav.enable_custom_course_urls",
        c"Whether course_about_url prefers a course's social_sharing_url.",
        c"Open edX's custom course URL (social sharing) switch.",
        &ENABLE_CUSTOM_COURSE_URLS,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"coursenav.enable_marketing_site",
        c"Whether course_about_url uses a course's marketing_url from the catalog.",
        c"Open edX's ENABLE_MKTG_SITE.",
        &ENABLE_MARKETING_SITE,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"coursenav.lms_root_url",
        c"The LMS root URL, for {lms_root_url}/courses/{course_id}/about.",
        c"Open edX's LMS_ROOT_URL. Empty gives a root-relative link.",
        &LMS_ROOT_URL,
        GucContext::Userset,
        GucFlags::default(),
    );
}

fn register_catalog() {
    // Superuser only: the sync sends the catalog token to this URL.
    GucRegistry::define_string_guc(
        c"coursenav.catalog_api_url",
        c"The course-discovery catalog the catalog sync reads.",
        c"catalog_sync reads {catalog_api_url}/api/v1/course_runs/ with the token set by set_catalog_token.",
        &CATALOG_API_URL,
        GucContext::Suset,
        GucFlags::default(),
    );
    // Superuser only: whoever names the file chooses what is sent as the token.
    GucRegistry::define_string_guc(
        c"coursenav.catalog_token_file",
        c"A file holding the catalog's bearer token, which then never passes through SQL.",
        c"Read by every catalog sync; when set, it is used instead of set_catalog_token's.",
        &CATALOG_TOKEN_FILE,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"coursenav.catalog_page_size",
        c"Course runs asked for per catalog page.",
        c"Open edX's default of 20 made far too many calls for thousands of runs.",
        &CATALOG_PAGE_SIZE,
        1,
        1000,
        GucContext::Userset,
        GucFlags::default(),
    );
    // Superuser only, like max_blocks: they bound the backend's memory, and
    // a caller who could raise them could lift the bound.
    GucRegistry::define_int_guc(
        c"coursenav.catalog_max_pages",
        c"Most catalog pages one sync reads.",
        c"A catalog that keeps giving next links past this ends the run, partial, with the pages before applied.",
        &CATALOG_MAX_PAGES,
        1,
        1_000_000,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"coursenav.catalog_max_bytes",
        c"Most bytes one catalog sync holds at once: the course runs read and not yet applied, and the page being read.",
        c"A page that would take a run past this ends it: partial, the pages before applied (failed on the first page). What the sync does not keep of a page is not counted once the page is parsed.",
        &CATALOG_MAX_BYTES_KB,
        1024,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_KB,
    );
    GucRegistry::define_int_guc(
        c"coursenav.catalog_connect_timeout",
        c"Longest wait for a connection to the catalog.",
        c"Includes the TLS handshake.",
        &CATALOG_CONNECT_TIMEOUT_MS,
        1,
        600_000,
        GucContext::Userset,
        GucFlags::UNIT_MS,
    );
    GucRegistry::define_int_guc(
        c"coursenav.catalog_read_timeout",
        c"Longest wait for a catalog page's answer, and again for its body.",
        c"A catalog that stalls longer ends the run with an error; query cancel takes effect between pages.",
        &CATALOG_READ_TIMEOUT_MS,
        1,
        3_600_000,
        GucContext::Userset,
        GucFlags::UNIT_MS,
    );
}
