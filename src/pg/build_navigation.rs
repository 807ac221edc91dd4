//! `coursenav_internal.build_navigation(...)`: called by the completion trigger only.
//! Reads every chunk of a rebuild, validates the whole structure and returns
//! the navigation document to store, as `json`.

use crate::pg::errors::{raise_problem, raise_with_hint, required, OrRaise};
use crate::pg::jsonb_reader::JsonbValue;
use crate::pg::parsed_chunks::{self, ChunkRow, ROW_VERSION};
use crate::pg::settings::block_room;
use coursenav_domain::course_blocks::{read_chunk, Block};
use coursenav_domain::keys::CourseKey;
use coursenav_domain::navigation::{navigation_json, Stamp};
use coursenav_domain::problem::{Problem, ProblemKind};
use coursenav_domain::structure::validate;
use pgrx::callconv::{BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::prelude::*;
use pgrx::{register_xact_callback, PgSqlErrorCode, PgXactCallbackEvent};

/// JSON text coursenav wrote itself with serde, returned as `json` as it is:
/// a text-to-json cast would lex the whole document again (tens of ms for a
/// large course), and pgrx's own `Json` would parse and print it again.
struct JsonText(String);

impl IntoDatum for JsonText {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        self.0.as_str().into_datum()
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONOID
    }
}

// SAFETY: `box_into` returns what it boxes, as BoxRet asks, and what it boxes
// is what a `json` result must be: a text varlena (json's representation is
// text's), palloc'd in the memory context current during the call, which the
// executor keeps until it has used the result. No NULL is returned as a value.
unsafe impl BoxRet for JsonText {
    /// # Safety
    /// As `BoxRet::box_into`: the Datum returned is returned from the function
    /// whose `fcinfo` this is, a function declared to return `json`.
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        match self.into_datum() {
            // SAFETY: the function returns `json` (impl_sql_translatable below),
            // by reference, and `datum` is a valid text varlena, JSON coursenav wrote
            // itself, in the call's memory context, which lasts as long as the caller
            // needs it; the return is not NULL.
            Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
            None => fcinfo.return_null(),
        }
    }
}

impl_sql_translatable!(JsonText, "json");

/// Every block of the rebuild: the chunks this transaction added as it
/// parsed them, the others read back through the same checks add_blocks
/// ran, each released once read. The whole structure is held to
/// `coursenav.max_blocks` as it is read, so chunks written to the table
/// directly cannot make the completion reserve more.
fn read_blocks(course_id: &str, rebuild_id: i64) -> Vec<Block> {
    let course = CourseKey::parse(course_id).or_raise();
    let query = format!(
        "SELECT chunk_no, {ROW_VERSION}, document FROM coursenav.block_chunks
          WHERE course_id = $1 AND rebuild_id = $2
          ORDER BY chunk_no"
    );
    Spi::connect(|client| {
        let rows = client.select(&query, None, &[course_id.into(), rebuild_id.into()])?;
        let mut blocks: Vec<Block> = Vec::new();
        for row in rows {
            let stored = ChunkRow {
                rebuild_id,
                chunk_no: row.get(1)?.unwrap_or_default(),
                version: row.get(2)?.unwrap_or_default(),
            };
            let held = i32::try_from(blocks.len()).unwrap_or(i32::MAX);
            let chunk = match parsed_chunks::take(&stored) {
                Some(parsed) => parsed,
                None => match row.get::<JsonbValue>(3)? {
                    // Dropped (its detoasted copy freed) once read.
                    Some(document) => {
                        read_chunk(&course, block_room(rebuild_id, held), &mut document.reader()).or_raise().blocks
                    }
                    None => continue,
                },
            };
            let room = block_room(rebuild_id, held);
            if chunk.len() > room.max.saturating_sub(blocks.len()) {
                raise_problem(room.exceeded(&course, chunk.len()));
            }
            if blocks.is_empty() {
                blocks = chunk;
            } else {
                if blocks.try_reserve(chunk.len()).is_err() {
                    let what = format!("{} blocks", blocks.len() + chunk.len());
                    raise_problem(Problem::new(
                        ProblemKind::OutOfMemory,
                        format!("course \"{course}\": no memory could be reserved for {what}"),
                    ));
                }
                blocks.extend(chunk);
            }
        }
        Ok::<_, pgrx::spi::Error>(blocks)
    })
    .or_raise()
}

/// A completion announces the new version with NOTIFY, which PostgreSQL
/// refuses to prepare (PREPARE TRANSACTION fails with its own 0A000, "cannot
/// PREPARE a transaction that has executed LISTEN, UNLISTEN, or NOTIFY",
/// naming neither coursenav nor the course). So a transaction that
/// completed a rebuild is refused at PREPARE by coursenav, with the course
/// and what to do instead; the transaction rolls back and the previous
/// version keeps serving. The callback runs before PostgreSQL's own check,
/// and is dropped with the transaction when it commits or aborts.
fn refuse_two_phase_commit(course_id: &str) {
    let course_id = course_id.to_string();
    register_xact_callback(PgXactCallbackEvent::PrePrepare, move || {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!(
                "coursenav: course \"{course_id}\": a transaction that completes a rebuild cannot be prepared \
                 for two-phase commit"
            ),
            "The completion announces the new version with NOTIFY, which PREPARE TRANSACTION does not allow. \
             Complete the rebuild in a transaction that ends with COMMIT.",
        )
    });
}

#[pg_extern(volatile, parallel_unsafe, schema = "coursenav_internal")]
#[search_path(pg_catalog, pg_temp)]
fn build_navigation(
    course_id: Option<&str>,
    rebuild_id: Option<i64>,
    root_key: Option<&str>,
    course_version: Option<&str>,
    block_structure_version: Option<&str>,
) -> JsonText {
    let course_id = required(course_id, "course_id", "build_navigation");
    let rebuild_id = required(rebuild_id, "rebuild_id", "build_navigation");
    let blocks = read_blocks(course_id, rebuild_id);
    let structure = validate(course_id, root_key, &blocks).or_raise();
    refuse_two_phase_commit(course_id);
    let stamp = Stamp {
        course_id,
        course_version: required(course_version, "course_version", "build_navigation"),
        block_structure_version: required(block_structure_version, "block_structure_version", "build_navigation"),
    };
    JsonText(navigation_json(&stamp, &structure).or_raise())
}
