//! `coursenav.add_blocks(rebuild_id, blocks)`: one chunk of a course's blocks
//! into a building rebuild, checked block by block and written in one
//! set-based statement.

use crate::domain::course_blocks::{parse_chunk, Block, Chunk};
use crate::domain::keys::CourseKey;
use crate::pg::errors::{raise, required, OrRaise};
use crate::pg::settings::MAX_BLOCKS;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

struct Rebuild {
    course_id: String,
    status: String,
    block_count: i32,
    root_key: Option<String>,
}

/// Locks the rebuild row, so a concurrent complete_rebuild waits for this
/// chunk or this chunk sees the rebuild completed.
fn lock_rebuild(rebuild_id: i64) -> Rebuild {
    Spi::connect_mut(|client| {
        let rows = client.update(
            "SELECT course_id, status, block_count, root_key FROM coursenav.block_structures
              WHERE rebuild_id = $1 FOR UPDATE",
            Some(1),
            &[rebuild_id.into()],
        )?;
        if rows.is_empty() {
            return Ok(None);
        }
        let row = rows.first();
        Ok::<_, pgrx::spi::Error>(Some(Rebuild {
            course_id: row.get(1)?.unwrap_or_default(),
            status: row.get(2)?.unwrap_or_default(),
            block_count: row.get(3)?.unwrap_or_default(),
            root_key: row.get(4)?,
        }))
    })
    .or_raise()
    .unwrap_or_else(|| {
        raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, format!("coursenav: rebuild {rebuild_id} does not exist"))
    })
}

fn check_room(rebuild_id: i64, rebuild: &Rebuild, adding: usize) {
    let max = MAX_BLOCKS.get() as usize;
    let total = rebuild.block_count as usize + adding;
    if total > max {
        raise(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "coursenav: course \"{}\": rebuild {rebuild_id} would hold {total} blocks, more than coursenav.max_blocks ({max})",
                rebuild.course_id
            ),
        );
    }
}

/// The root this rebuild ends up with; two chunks may not name different roots.
fn merged_root(rebuild: &Rebuild, chunk: &Chunk) -> Option<String> {
    match (&rebuild.root_key, &chunk.root) {
        (Some(old), Some(new)) if old != new => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("coursenav: course \"{}\": root \"{new}\" differs from root \"{old}\" given earlier", rebuild.course_id),
        ),
        (old, new) => new.clone().or_else(|| old.clone()),
    }
}

/// A block given in an earlier chunk of the same rebuild, if any. Only asked
/// when the rebuild already has blocks, so a one-chunk rebuild pays nothing.
fn first_repeated_block(rebuild_id: i64, rebuild: &Rebuild, blocks: &[Block]) -> Option<String> {
    if rebuild.block_count == 0 {
        return None;
    }
    let ids: Vec<&str> = blocks.iter().map(|b| b.id.as_str()).collect();
    Spi::get_one_with_args::<String>(
        "SELECT usage_key FROM coursenav.blocks
          WHERE course_id = $1 AND rebuild_id = $2 AND usage_key = ANY($3) LIMIT 1",
        &[rebuild.course_id.as_str().into(), rebuild_id.into(), ids.into()],
    )
    .ok()
    .flatten()
}

/// Keys hold no comma, brace, quote or space (see `domain::keys`), so a
/// child list is written as an array literal without escaping.
fn array_literal(children: &[String]) -> String {
    format!("{{{}}}", children.join(","))
}

fn insert_blocks(rebuild_id: i64, course_id: &str, blocks: Vec<Block>) {
    let n = blocks.len();
    let mut ids = Vec::with_capacity(n);
    let mut types = Vec::with_capacity(n);
    let mut names = Vec::with_capacity(n);
    let mut children = Vec::with_capacity(n);
    let mut graded = Vec::with_capacity(n);
    let mut formats = Vec::with_capacity(n);
    let mut starts = Vec::with_capacity(n);
    let mut dues = Vec::with_capacity(n);
    let mut staff_only = Vec::with_capacity(n);
    let mut hidden = Vec::with_capacity(n);
    let mut extras = Vec::with_capacity(n);
    for b in blocks {
        children.push(array_literal(&b.children));
        extras.push((!b.extra.is_empty()).then(|| serde_json::Value::Object(b.extra).to_string()));
        ids.push(b.id);
        types.push(b.block_type);
        names.push(b.display_name);
        graded.push(b.graded);
        formats.push(b.format);
        starts.push(b.start);
        dues.push(b.due);
        staff_only.push(b.visible_to_staff_only);
        hidden.push(b.hide_from_toc);
    }
    let args: Vec<DatumWithOid> = vec![
        course_id.into(),
        rebuild_id.into(),
        ids.into(),
        types.into(),
        names.into(),
        children.into(),
        graded.into(),
        formats.into(),
        starts.into(),
        dues.into(),
        staff_only.into(),
        hidden.into(),
        extras.into(),
    ];
    Spi::run_with_args(
        "INSERT INTO coursenav.blocks (course_id, rebuild_id, usage_key, block_type, display_name, children,
                                       graded, format, start, due, visible_to_staff_only, hide_from_toc, fields)
         SELECT $1, $2, b.id, b.block_type, b.display_name, b.children::text[],
                b.graded, b.format, b.start::timestamptz, b.due::timestamptz, b.staff_only, b.hidden, b.extra::jsonb
           FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::text[],
                       $9::text[], $10::text[], $11::bool[], $12::bool[], $13::text[])
                AS b(id, block_type, display_name, children, graded, format, start, due, staff_only, hidden, extra)",
        &args,
    )
    .or_raise();
}

/// Adds a chunk of blocks (the Course Blocks shape, as the text of a jsonb
/// value) to a building rebuild and returns how many blocks it added. SQL
/// calls it through `coursenav.add_blocks(bigint, jsonb)`.
#[pg_extern(volatile, parallel_unsafe)]
fn add_blocks_from_text(rebuild_id: Option<i64>, blocks: Option<&str>) -> i32 {
    let rebuild_id = required(rebuild_id, "rebuild_id", "add_blocks");
    let document = required(blocks, "blocks", "add_blocks");
    let rebuild = lock_rebuild(rebuild_id);
    if rebuild.status != "building" {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "coursenav: rebuild {rebuild_id} of course \"{}\" is {}; blocks can only be added while it is building",
                rebuild.course_id, rebuild.status
            ),
        );
    }
    let course = CourseKey::parse(&rebuild.course_id).or_raise();
    let chunk = parse_chunk(&course, document).or_raise();
    check_room(rebuild_id, &rebuild, chunk.blocks.len());
    let root = merged_root(&rebuild, &chunk);
    if let Some(repeated) = first_repeated_block(rebuild_id, &rebuild, &chunk.blocks) {
        raise(
            PgSqlErrorCode::ERRCODE_UNIQUE_VIOLATION,
            format!("coursenav: course \"{}\": block \"{repeated}\" is given twice", rebuild.course_id),
        );
    }
    let added = chunk.blocks.len() as i32;
    insert_blocks(rebuild_id, &rebuild.course_id, chunk.blocks);
    Spi::run_with_args(
        "UPDATE coursenav.block_structures SET block_count = block_count + $3, root_key = $4
          WHERE course_id = $1 AND rebuild_id = $2",
        &[rebuild.course_id.as_str().into(), rebuild_id.into(), added.into(), root.into()],
    )
    .or_raise();
    added
}
