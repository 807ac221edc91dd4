//! coursenav's test tools, shared by the black-box tests (`tests/blackbox`)
//! and, next, the benchmark (`.ci/bench.sh`):
//! - [`olx`]: reads an Open edX OLX export into the Course Blocks document
//!   `coursenav.rebuild` takes;
//! - [`fake_catalog`]: a course-discovery catalog over real HTTP, with every
//!   way a page can fail.
//!
//! Plain Rust with no pgrx: `cargo test -p coursenav-tools` runs in the fast
//! unit phase of `.ci/test.sh`.

pub mod fake_catalog;
pub mod olx;
