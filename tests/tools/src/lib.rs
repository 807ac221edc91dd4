//! coursenav's test tools, shared by the black-box tests (`tests/blackbox`)
//! and the scripts (`.ci/bench.sh`, `.ci/regress.sh`, `.ci/demo.sh`, through
//! this crate's binaries):
//! - [`cluster`]: throwaway PostgreSQL clusters and hot standbys
//!   (`pg-cluster` starts and stops the scripts' clusters);
//! - [`olx`]: reads an Open edX OLX export into the Course Blocks document
//!   `coursenav.rebuild` takes (`olx-course-blocks`);
//! - [`fake_catalog`]: a course-discovery catalog over real HTTP, with every
//!   way a page can fail (`fake-catalog` serves large generated catalogs).
//!
//! Plain Rust with no pgrx: `cargo test -p coursenav-tools` runs in the fast
//! unit phase of `.ci/test.sh`.

pub mod cluster;
pub mod fake_catalog;
pub mod olx;
