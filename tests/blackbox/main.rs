//! Black-box tests: real clusters, several sessions, commits, crashes and a
//! replica, against the installed extension. Built only with
//! `--features blackbox`; the test command installs the extension first.

mod catalog;
mod catalog_limits;
mod cluster;
mod cron;
mod demo_course;
mod foundation;
mod fuzz;
mod fuzz_blocks;
mod fuzz_catalog;
mod fuzz_json;
mod fuzz_overview;
mod fuzz_reference;
mod hostile_documents;
mod limits;
mod production;
mod readme;
mod timeout;
mod upgrade;
