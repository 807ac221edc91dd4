//! What a block inherits from the blocks above it. Open edX computes these
//! per request in its transformers; coursenav computes them once, when a
//! structure is completed, and stores the result in the navigation tree.

use crate::course_blocks::Block;
use crate::structure::Structure;

/// The effective values a block passes down to its children.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inherited {
    /// The latest start on the path from the course: a block is never open
    /// before its parent.
    pub start: Option<String>,
    /// Staff-only anywhere above makes everything below staff-only.
    pub staff_only: bool,
}

impl Inherited {
    pub fn for_child(&self, block: &Block) -> Inherited {
        Inherited {
            start: later(self.start.as_deref(), block.start.as_deref()).map(str::to_string),
            staff_only: self.staff_only || block.visible_to_staff_only,
        }
    }
}

/// Dates are normalised RFC 3339 UTC strings, which sort as text.
fn later<'a>(a: Option<&'a str>, b: Option<&'a str>) -> Option<&'a str> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// For every block: whether it or anything below it has a due date, which is
/// what the sidebar's `has_scheduled_content` reports. Computed bottom-up in
/// one pass over the blocks reachable from the root.
pub fn scheduled_content(structure: &Structure<'_, Block>) -> Vec<bool> {
    let nodes = structure.nodes;
    let mut scheduled: Vec<bool> = nodes.iter().map(|b| b.due.is_some()).collect();
    let mut finished = vec![false; nodes.len()];
    let mut stack = vec![(structure.root, 0usize)];
    while let Some((node, next)) = stack.pop() {
        if let Some(&c) = structure.children_of(node).get(next) {
            stack.push((node, next + 1));
            if !finished[c] {
                stack.push((c, 0));
            }
            continue;
        }
        finished[node] = true;
        let below = structure.children_of(node).iter().any(|&c| scheduled[c]);
        scheduled[node] |= below;
    }
    scheduled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(start: Option<&str>, staff: bool) -> Block {
        Block {
            id: "x".into(),
            block_type: "chapter".into(),
            display_name: None,
            children: vec![],
            graded: false,
            format: None,
            start: start.map(str::to_string),
            due: None,
            visible_to_staff_only: staff,
            hide_from_toc: false,
        }
    }

    #[test]
    fn start_is_the_latest_on_the_path() {
        let top = Inherited { start: Some("2030-01-01T00:00:00Z".into()), staff_only: false };
        assert_eq!(top.for_child(&block(Some("2020-01-01T00:00:00Z"), false)).start, top.start);
        let later_child = top.for_child(&block(Some("2031-05-01T00:00:00Z"), false));
        assert_eq!(later_child.start.as_deref(), Some("2031-05-01T00:00:00Z"));
        assert_eq!(Inherited::default().for_child(&block(None, false)).start, None);
    }

    #[test]
    fn staff_only_flows_down() {
        let hidden = Inherited::default().for_child(&block(None, true));
        assert!(hidden.staff_only);
        assert!(hidden.for_child(&block(None, false)).staff_only);
        assert!(!Inherited::default().for_child(&block(None, false)).staff_only);
    }
}
