//! `coursenav.add_blocks(rebuild_id, blocks)`: one chunk of a course's blocks
//! into a building rebuild, every block checked, then the chunk stored as
//! the jsonb it came as.

use crate::pg::errors::{raise, required, with_sql_errors, OrRaise};
use crate::pg::jsonb_reader::JsonbValue;
use crate::pg::parsed_chunks::{self, ChunkRow, ROW_VERSION};
use crate::pg::settings::block_room;
use coursenav_domain::course_blocks::{read_chunk, Chunk};
use coursenav_domain::keys::CourseKey;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use std::ffi::{c_char, c_int, CStr};

struct Rebuild {
    course_id: String,
    block_count: i32,
    root_key: Option<String>,
}

/// Locks the rebuild row, so a concurrent complete_rebuild waits for this
/// chunk or this chunk sees the rebuild completed. Whether the rebuild
/// exists and is building is decided in one place for every lifecycle call:
/// `coursenav_internal.lock_building_rebuild` (sql/lifecycle.sql).
fn lock_rebuild(rebuild_id: i64) -> Rebuild {
    let statement = format!(
        "SELECT course_id, block_count, root_key FROM {}.lock_building_rebuild($1, 'take blocks')",
        internal_schema()
    );
    with_sql_errors(|| {
        Spi::connect_mut(|client| {
            let rows = client.update(&statement, Some(1), &[rebuild_id.into()])?;
            let row = rows.first();
            Ok::<_, pgrx::spi::Error>(Rebuild {
                course_id: row.get(1)?.unwrap_or_default(),
                block_count: row.get(2)?.unwrap_or_default(),
                root_key: row.get(3)?,
            })
        })
    })
    .or_raise()
}

/// Where the lifecycle's helpers are: `coursenav_internal` since 0.3.0. A
/// library installed before `ALTER EXTENSION coursenav UPDATE` has run
/// still serves the older release's SQL, which kept them in `coursenav`
/// (tests/blackbox/upgrade.rs rebuilds on every kept release with the
/// current library).
fn internal_schema() -> &'static str {
    let upgraded = Spi::get_one::<bool>("SELECT pg_catalog.to_regnamespace('coursenav_internal') IS NOT NULL")
        .or_raise()
        .unwrap_or(false);
    if upgraded {
        "coursenav_internal"
    } else {
        "coursenav"
    }
}

/// The root this rebuild ends up with; two chunks may not name different roots.
fn merged_root(rebuild: &Rebuild, chunk: &Chunk) -> Option<String> {
    match (&rebuild.root_key, &chunk.root) {
        (Some(old), Some(new)) if old != new => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "coursenav: course \"{}\": root \"{new}\" differs from root \"{old}\" given earlier",
                rebuild.course_id
            ),
        ),
        (old, new) => new.clone().or_else(|| old.clone()),
    }
}

const INSERT_CHUNK: &CStr = c"
    INSERT INTO coursenav.block_chunks (course_id, rebuild_id, chunk_no, block_count, document)
    SELECT $1, $2, coalesce(max(c.chunk_no), 0) + 1, $3, $4
      FROM coursenav.block_chunks c WHERE c.course_id = $1 AND c.rebuild_id = $2";

/// Stores the checked document as it came, as the rebuild's next chunk, and
/// says which row holds it. The rebuild row is locked, so no other call
/// numbers a chunk meanwhile.
///
/// The insert runs as a generic plan, where the document stays a parameter:
/// the custom plan SPI would otherwise make folds it into a constant, which
/// inflates and copies the whole document (tens of MB for a large course),
/// where a parameter that is already compressed is stored as it is.
fn store_chunk(rebuild_id: i64, course_id: &str, block_count: i32, document: JsonbValue) -> ChunkRow {
    let mut values = [
        course_id.into_datum().expect("text is never NULL"),
        rebuild_id.into(),
        block_count.into(),
        document.into_stored(),
    ];
    let mut types = [pg_sys::TEXTOID, pg_sys::INT8OID, pg_sys::INT4OID, pg_sys::JSONBOID];
    let not_null = [b' ' as c_char; 4];
    Spi::connect_mut(|_| {
        // SAFETY: SPI is connected (inside connect_mut) and INSERT_CHUNK is a
        // NUL-terminated C string SPI_prepare_cursor copies. `types` holds one type
        // per $n, and `values` one datum of that type: the course id as a text
        // palloc'd before SPI connected (in the call's memory context), two by-value
        // integers, and the jsonb argument as it came (`into_stored`), which lives
        // for the whole call. All four outlive the insert, which reads them while
        // the arrays are borrowed and copies what it stores. `not_null` says no
        // value is NULL. A plan that failed to prepare is not used; a prepared one
        // is freed once, after its only execution. A Postgres error raised inside
        // unwinds through pgrx's guard, and SPI's memory (an unfreed plan with it)
        // goes with the aborting transaction.
        let status = unsafe {
            let plan = pg_sys::SPI_prepare_cursor(
                INSERT_CHUNK.as_ptr(),
                values.len() as c_int,
                types.as_mut_ptr(),
                pg_sys::CURSOR_OPT_GENERIC_PLAN as c_int,
            );
            if plan.is_null() {
                pg_sys::SPI_result
            } else {
                let status = pg_sys::SPI_execute_plan(plan, values.as_mut_ptr(), not_null.as_ptr(), false, 0);
                pg_sys::SPI_freeplan(plan);
                status
            }
        };
        if status != pg_sys::SPI_OK_INSERT as c_int {
            raise(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("coursenav: storing a chunk failed: SPI status {status}"),
            );
        }
    });
    let query = format!(
        "SELECT chunk_no, {ROW_VERSION} FROM coursenav.block_chunks
          WHERE course_id = $1 AND rebuild_id = $2 ORDER BY chunk_no DESC LIMIT 1"
    );
    let (chunk_no, version) =
        Spi::get_two_with_args::<i32, String>(&query, &[course_id.into(), rebuild_id.into()]).or_raise();
    ChunkRow { rebuild_id, chunk_no: chunk_no.unwrap_or_default(), version: version.unwrap_or_default() }
}

/// Adds a chunk of blocks (the Course Blocks shape) to a building rebuild
/// and returns how many blocks it added. A block repeated from an earlier
/// chunk is found when the rebuild completes, where every block is in.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn add_blocks(rebuild_id: Option<i64>, blocks: Option<JsonbValue>) -> i32 {
    let rebuild_id = required(rebuild_id, "rebuild_id", "add_blocks");
    let document = required(blocks, "blocks", "add_blocks");
    let rebuild = lock_rebuild(rebuild_id);
    let course = CourseKey::parse(&rebuild.course_id).or_raise();
    let room = block_room(rebuild_id, rebuild.block_count);
    let chunk = read_chunk(&course, room, &mut document.reader()).or_raise();
    let root = merged_root(&rebuild, &chunk);
    let added = chunk.blocks.len() as i32;
    let row = store_chunk(rebuild_id, &rebuild.course_id, added, document);
    parsed_chunks::remember(row, chunk.blocks);
    Spi::run_with_args(
        "UPDATE coursenav.block_structures SET block_count = block_count + $3, root_key = $4
          WHERE course_id = $1 AND rebuild_id = $2",
        &[rebuild.course_id.as_str().into(), rebuild_id.into(), added.into(), root.into()],
    )
    .or_raise();
    added
}
