//! `#[pg_test]`s: the SQL functions inside one rolled-back transaction each.

use pgrx::prelude::*;

#[pg_schema]
mod pg_tests {}
