//! Whole-structure checks, run once every block of a rebuild is in: the
//! structure must be a course tree that navigation can walk without surprises.

use crate::problem::{Problem, ProblemKind};
use std::collections::HashMap;

/// Block types that make up the navigation hierarchy below the course.
pub const NAVIGATION_CONTAINERS: [&str; 3] = ["chapter", "sequential", "vertical"];

/// The part of a block the structure checks look at.
pub trait Node {
    fn id(&self) -> &str;
    fn block_type(&self) -> &str;
    fn children(&self) -> &[String];
}

/// A validated structure: every block's children resolved to indices once,
/// so after validation nothing looks a key up again.
pub struct Structure<'a, N: Node> {
    pub nodes: &'a [N],
    pub root: usize,
    /// The children of block i are `child_list[child_start[i]..child_start[i + 1]]`.
    child_start: Vec<usize>,
    child_list: Vec<usize>,
}

impl<N: Node> Structure<'_, N> {
    /// The children of block `i`, as indices into `nodes`, in authored order.
    pub fn children_of(&self, i: usize) -> &[usize] {
        &self.child_list[self.child_start[i]..self.child_start[i + 1]]
    }
}

fn structure_problem(course: &str, what: String) -> Problem {
    Problem::new(ProblemKind::BadStructure, format!("course \"{course}\": {what}"))
}

/// Checks that `nodes` form a course tree rooted at `root` and returns it resolved.
/// Containers of the navigation hierarchy must have exactly one parent;
/// components may be shared (Open edX structures are DAGs below units).
pub fn validate<'a, N: Node>(course: &str, root: Option<&str>, nodes: &'a [N]) -> Result<Structure<'a, N>, Problem> {
    let index = index_blocks(course, nodes)?;
    let root_id = root.ok_or_else(|| structure_problem(course, "the structure has no root".into()))?;
    let root =
        *index.get(root_id).ok_or_else(|| structure_problem(course, format!("root \"{root_id}\" has no block")))?;
    if nodes[root].block_type() != "course" {
        return Err(structure_problem(
            course,
            format!("root \"{root_id}\" is a {}, not a course", nodes[root].block_type()),
        ));
    }
    let (child_start, child_list) = resolve_children(course, nodes, &index)?;
    let structure = Structure { nodes, root, child_start, child_list };
    check_acyclic(course, &structure)?;
    Ok(structure)
}

/// Memory for the structure's own tables, sized by the blocks read (at
/// most `coursenav.max_blocks`), reserved fallibly: a failure is an error
/// for the statement, never an abort.
fn no_memory(course: &str, what: &str) -> Problem {
    Problem::new(ProblemKind::OutOfMemory, format!("course \"{course}\": no memory could be reserved for {what}"))
}

fn index_blocks<'a, N: Node>(course: &str, nodes: &'a [N]) -> Result<HashMap<&'a str, usize>, Problem> {
    let mut index = HashMap::new();
    index.try_reserve(nodes.len()).map_err(|_| no_memory(course, "the index of its blocks"))?;
    for (i, node) in nodes.iter().enumerate() {
        if index.insert(node.id(), i).is_some() {
            return Err(Problem::new(
                ProblemKind::DuplicateBlock,
                format!("course \"{course}\": block \"{}\" is given twice", node.id()),
            ));
        }
    }
    Ok(index)
}

/// Every child exists, appears once in its parent's list, and no navigation
/// container has two parents. Returns the children as indices.
fn resolve_children<N: Node>(
    course: &str,
    nodes: &[N],
    index: &HashMap<&str, usize>,
) -> Result<(Vec<usize>, Vec<usize>), Problem> {
    let (mut child_start, mut child_list) = (Vec::new(), Vec::new());
    let children = nodes.iter().map(|n| n.children().len()).sum();
    child_start.try_reserve_exact(nodes.len() + 1).map_err(|_| no_memory(course, "the children of its blocks"))?;
    child_list.try_reserve_exact(children).map_err(|_| no_memory(course, "the children of its blocks"))?;
    // The last parent each block was seen under, and the parent of each container.
    let mut last_parent = vec![usize::MAX; nodes.len()];
    let mut container_parent: Vec<Option<usize>> = vec![None; nodes.len()];
    for (p, parent) in nodes.iter().enumerate() {
        child_start.push(child_list.len());
        for child in parent.children() {
            let Some(&c) = index.get(child.as_str()) else {
                return Err(structure_problem(
                    course,
                    format!("block \"{}\" lists child \"{child}\", which has no block", parent.id()),
                ));
            };
            if last_parent[c] == p {
                return Err(structure_problem(
                    course,
                    format!("block \"{}\" lists child \"{child}\" twice", parent.id()),
                ));
            }
            last_parent[c] = p;
            if NAVIGATION_CONTAINERS.contains(&nodes[c].block_type()) {
                if let Some(first) = container_parent[c].replace(p) {
                    return Err(structure_problem(
                        course,
                        format!(
                            "{} \"{child}\" has two parents, \"{}\" and \"{}\"",
                            nodes[c].block_type(),
                            nodes[first].id(),
                            parent.id()
                        ),
                    ));
                }
            }
            child_list.push(c);
        }
    }
    child_start.push(child_list.len());
    Ok((child_start, child_list))
}

/// Depth-first search with an explicit stack (a 100,000-block course must not
/// overflow the backend's stack), colouring blocks as they are entered and left.
fn check_acyclic<N: Node>(course: &str, structure: &Structure<'_, N>) -> Result<(), Problem> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let nodes = structure.nodes;
    let mut mark = vec![Mark::New; nodes.len()];
    for start in 0..nodes.len() {
        if mark[start] != Mark::New {
            continue;
        }
        mark[start] = Mark::Open;
        let mut stack = vec![(start, 0usize)];
        while let Some((node, next_child)) = stack.pop() {
            let Some(&c) = structure.children_of(node).get(next_child) else {
                mark[node] = Mark::Done;
                continue;
            };
            stack.push((node, next_child + 1));
            match mark[c] {
                Mark::Open => {
                    return Err(structure_problem(
                        course,
                        format!(
                            "block \"{}\" is its own ancestor (a cycle through \"{}\")",
                            nodes[c].id(),
                            nodes[node].id()
                        ),
                    ))
                }
                Mark::New => {
                    mark[c] = Mark::Open;
                    stack.push((c, 0));
                }
                Mark::Done => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[derive(Debug, Clone)]
    pub(crate) struct TestNode(pub String, pub String, pub Vec<String>);

    impl Node for TestNode {
        fn id(&self) -> &str {
            &self.0
        }
        fn block_type(&self) -> &str {
            &self.1
        }
        fn children(&self) -> &[String] {
            &self.2
        }
    }

    pub(crate) fn node(id: &str, block_type: &str, children: &[&str]) -> TestNode {
        TestNode(id.into(), block_type.into(), children.iter().map(|c| c.to_string()).collect())
    }

    fn check(root: Option<&str>, nodes: &[TestNode]) -> Result<(), Problem> {
        validate("course-v1:A+B+C", root, nodes).map(|_| ())
    }

    fn small_course() -> Vec<TestNode> {
        vec![
            node("r", "course", &["c1"]),
            node("c1", "chapter", &["s1"]),
            node("s1", "sequential", &["v1"]),
            node("v1", "vertical", &["h1", "h2"]),
            node("h1", "html", &[]),
            node("h2", "problem", &[]),
        ]
    }

    fn expect(result: Result<(), Problem>, kind: ProblemKind, needles: &[&str]) {
        let err = result.unwrap_err();
        assert_eq!(err.kind, kind, "{}", err.message);
        for needle in needles {
            assert!(err.message.contains(needle), "{} lacks {needle}", err.message);
        }
    }

    #[test]
    fn accepts_a_course_tree() {
        check(Some("r"), &small_course()).unwrap();
    }

    #[test]
    fn components_may_be_shared() {
        let mut nodes = small_course();
        nodes[3] = node("v1", "vertical", &["h1"]);
        nodes.push(node("v2", "vertical", &["h1"]));
        nodes[2] = node("s1", "sequential", &["v1", "v2"]);
        check(Some("r"), &nodes).unwrap();
    }

    #[test]
    fn root_must_exist_and_be_a_course() {
        let nodes = small_course();
        expect(check(None, &nodes), ProblemKind::BadStructure, &["no root", "course-v1:A+B+C"]);
        expect(check(Some("zz"), &nodes), ProblemKind::BadStructure, &["\"zz\" has no block"]);
        expect(check(Some("c1"), &nodes), ProblemKind::BadStructure, &["\"c1\" is a chapter"]);
    }

    #[test]
    fn finds_dangling_and_repeated_children() {
        let mut nodes = small_course();
        nodes[1] = node("c1", "chapter", &["s1", "ghost"]);
        expect(check(Some("r"), &nodes), ProblemKind::BadStructure, &["\"c1\"", "\"ghost\""]);
        nodes[1] = node("c1", "chapter", &["s1", "s1"]);
        expect(check(Some("r"), &nodes), ProblemKind::BadStructure, &["\"s1\" twice"]);
    }

    #[test]
    fn a_container_with_two_parents_is_named() {
        let mut nodes = small_course();
        nodes.push(node("c2", "chapter", &["s1"]));
        nodes[0] = node("r", "course", &["c1", "c2"]);
        expect(
            check(Some("r"), &nodes),
            ProblemKind::BadStructure,
            &["sequential \"s1\" has two parents", "\"c1\"", "\"c2\""],
        );
    }

    #[test]
    fn finds_cycles_even_among_components() {
        let mut nodes = small_course();
        nodes[4] = node("h1", "html", &["h2"]);
        nodes[5] = node("h2", "problem", &["h1"]);
        expect(check(Some("r"), &nodes), ProblemKind::BadStructure, &["cycle"]);
        let mut nodes = small_course();
        nodes[3] = node("v1", "vertical", &["c1"]);
        expect(check(Some("r"), &nodes), ProblemKind::BadStructure, &["two parents"]);
    }

    #[test]
    fn a_self_loop_is_a_cycle() {
        let mut nodes = small_course();
        nodes[4] = node("h1", "html", &["h1"]);
        expect(check(Some("r"), &nodes), ProblemKind::BadStructure, &["\"h1\" is its own ancestor"]);
    }

    #[test]
    fn the_same_id_twice_is_a_duplicate() {
        let mut nodes = small_course();
        nodes.push(node("h1", "html", &[]));
        expect(check(Some("r"), &nodes), ProblemKind::DuplicateBlock, &["\"h1\" is given twice"]);
    }

    #[test]
    fn a_deep_chain_does_not_overflow() {
        let depth = 200_000;
        let mut nodes = vec![node("r", "course", &["n0"])];
        for i in 0..depth {
            let next = format!("n{}", i + 1);
            let children: Vec<&str> = if i + 1 < depth { vec![next.as_str()] } else { vec![] };
            nodes.push(node(&format!("n{i}"), "html", &children));
        }
        check(Some("r"), &nodes).unwrap();
    }
}
