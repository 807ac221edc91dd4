//! The functional core: plain Rust with no pgrx, covered by plain unit tests.

pub mod about;
pub mod catalog_page;
pub mod catalog_walk;
pub mod course_blocks;
pub mod json_fields;
pub mod keys;
pub mod navigation;
pub mod number;
pub mod overview;
pub mod problem;
pub mod structure;
pub mod visibility;
