//! The functional core: plain Rust with no pgrx, covered by plain unit tests
//! (`cargo test -p coursenav-domain`, no PostgreSQL needed). The extension
//! (`src/pg`) and the tests depend on it; it depends on neither.

#![forbid(unsafe_code)]

pub mod about;
pub mod catalog_json;
pub mod catalog_page;
pub mod catalog_walk;
pub mod course_blocks;
pub mod json_fields;
pub mod keys;
pub mod navigation;
pub mod number;
pub mod overview;
pub mod problem;
pub mod rebuild;
pub mod structure;
#[cfg(feature = "testing")]
pub mod testing;
pub mod visibility;
