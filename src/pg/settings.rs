//! The `coursenav.*` settings (GUCs).

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

/// Most blocks one structure may hold; guards the server against a runaway payload.
pub static MAX_BLOCKS: GucSetting<i32> = GucSetting::<i32>::new(200_000);

/// How many finished structures of a course keep their blocks.
pub static KEEP_STRUCTURES: GucSetting<i32> = GucSetting::<i32>::new(5);

pub fn register() {
    GucRegistry::define_int_guc(
        c"coursenav.max_blocks",
        c"Most blocks one block structure may hold.",
        c"add_blocks refuses a payload that would take a rebuild past this many blocks.",
        &MAX_BLOCKS,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"coursenav.keep_structures",
        c"How many finished block structures of a course keep their blocks.",
        c"Older structures keep their row as history; their blocks are deleted when a newer rebuild completes.",
        &KEEP_STRUCTURES,
        1,
        1000,
        GucContext::Suset,
        GucFlags::default(),
    );
}
