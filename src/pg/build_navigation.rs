//! `coursenav.build_navigation(...)`: called by the completion trigger only.
//! Reads every block of a rebuild, validates the whole structure and returns
//! the navigation document to store, as text the trigger casts to `json`
//! (pgrx 0.18 cannot return `json` without a round trip through serde).

use crate::domain::course_blocks::Block;
use crate::domain::navigation::{navigation_json, Stamp};
use crate::domain::structure::validate;
use crate::pg::errors::{required, OrRaise};
use pgrx::prelude::*;

/// Dates come back in the same normalised form `course_blocks` writes them in.
const READ_BLOCKS: &str = r#"
    SELECT usage_key, block_type, display_name, children, graded, format,
           to_char(start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           to_char(due AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
           visible_to_staff_only, hide_from_toc
      FROM coursenav.blocks
     WHERE course_id = $1 AND rebuild_id = $2"#;

fn read_blocks(course_id: &str, rebuild_id: i64) -> Vec<Block> {
    Spi::connect(|client| {
        let rows = client.select(READ_BLOCKS, None, &[course_id.into(), rebuild_id.into()])?;
        let mut blocks = Vec::with_capacity(rows.len());
        for row in rows {
            blocks.push(Block {
                id: row.get(1)?.unwrap_or_default(),
                block_type: row.get(2)?.unwrap_or_default(),
                display_name: row.get(3)?,
                children: row.get(4)?.unwrap_or_default(),
                graded: row.get(5)?.unwrap_or_default(),
                format: row.get(6)?,
                start: row.get(7)?,
                due: row.get(8)?,
                visible_to_staff_only: row.get(9)?.unwrap_or_default(),
                hide_from_toc: row.get(10)?.unwrap_or_default(),
                extra: Default::default(),
            });
        }
        Ok::<_, pgrx::spi::Error>(blocks)
    })
    .or_raise()
}

#[pg_extern(volatile, parallel_unsafe)]
fn build_navigation(
    course_id: Option<&str>,
    rebuild_id: Option<i64>,
    root_key: Option<&str>,
    course_version: Option<&str>,
    block_structure_version: Option<&str>,
) -> String {
    let course_id = required(course_id, "course_id", "build_navigation");
    let rebuild_id = required(rebuild_id, "rebuild_id", "build_navigation");
    let blocks = read_blocks(course_id, rebuild_id);
    let structure = validate(course_id, root_key, &blocks).or_raise();
    let stamp = Stamp {
        course_id,
        course_version: required(course_version, "course_version", "build_navigation"),
        block_structure_version: required(block_structure_version, "block_structure_version", "build_navigation"),
    };
    navigation_json(&stamp, &structure)
}
