//! The blocks this transaction has already read and checked, so that a
//! rebuild completed in the transaction that added its blocks (as
//! `coursenav.rebuild` does) is not read and checked a second time: for a
//! 100,000-block course that second pass cost a third of the rebuild.
//!
//! A chunk is known by the very row version add_blocks stored: rebuild,
//! chunk number, and the version's `xmin` (the transaction that wrote it),
//! `cmin` (the command within that transaction) and `ctid` (where it lies).
//! Any change to the stored row makes a new version: an UPDATE, or a DELETE
//! and an INSERT of the same chunk number, writes it at another `ctid` in a
//! later command, even within this transaction (the owner of the table has
//! that DML), so the completion reads the stored row back through the
//! checks and never serves blocks that are not the stored ones. A chunk
//! another transaction wrote, even one reusing the number of a chunk this
//! transaction rolled back, has another `xmin`. Everything is dropped when
//! the transaction ends.

use coursenav_domain::course_blocks::Block;
use pgrx::{register_xact_callback, PgXactCallbackEvent};
use std::cell::RefCell;

#[derive(PartialEq, Eq, Clone, Debug)]
pub(super) struct ChunkRow {
    pub rebuild_id: i64,
    pub chunk_no: i32,
    /// `ROW_VERSION` of the row.
    pub version: String,
}

/// The SQL expression naming a `block_chunks` row version (see the module comment).
pub(super) const ROW_VERSION: &str = "xmin::text || '/' || cmin::text || '/' || ctid::text";

#[derive(Default)]
struct Parsed {
    chunks: Vec<(ChunkRow, Vec<Block>)>,
    cleared_at_transaction_end: bool,
}

thread_local! {
    static PARSED: RefCell<Parsed> = RefCell::new(Parsed::default());
}

fn clear() {
    PARSED.with(|parsed| *parsed.borrow_mut() = Parsed::default());
}

/// Keeps the blocks of a chunk this transaction just stored.
pub(super) fn remember(row: ChunkRow, blocks: Vec<Block>) {
    PARSED.with(|parsed| {
        let mut parsed = parsed.borrow_mut();
        if !parsed.cleared_at_transaction_end {
            for event in [PgXactCallbackEvent::Commit, PgXactCallbackEvent::Abort, PgXactCallbackEvent::Prepare] {
                register_xact_callback(event, clear);
            }
            parsed.cleared_at_transaction_end = true;
        }
        parsed.chunks.push((row, blocks));
    });
}

/// The blocks of `row` if this transaction parsed them, handed over once.
pub(super) fn take(row: &ChunkRow) -> Option<Vec<Block>> {
    PARSED.with(|parsed| {
        let mut parsed = parsed.borrow_mut();
        let position = parsed.chunks.iter().position(|(known, _)| known == row)?;
        Some(parsed.chunks.swap_remove(position).1)
    })
}

/// Whether the blocks of `row` are held for this transaction's completion.
#[cfg(any(test, feature = "pg_test"))]
pub(super) fn holds(row: &ChunkRow) -> bool {
    PARSED.with(|parsed| parsed.borrow().chunks.iter().any(|(known, _)| known == row))
}
