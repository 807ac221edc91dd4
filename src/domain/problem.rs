//! What went wrong with a caller's input, in words that name the course or
//! block at fault. The pgrx shell maps each kind to a SQLSTATE.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// A course or block key that is malformed or belongs to another course.
    BadKey,
    /// JSON that is not the Course Blocks shape, or a field of the wrong type.
    BadShape,
    /// A structure that cannot be a course tree: no root, a dangling child, a cycle...
    BadStructure,
    /// The same block id given twice.
    DuplicateBlock,
    /// More blocks than `coursenav.max_blocks` allows, found before any
    /// memory was reserved for them.
    TooManyBlocks,
    /// Memory for the input could not be reserved: the statement fails and
    /// the backend lives on (an infallible Rust allocation would abort it).
    OutOfMemory,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
}

impl Problem {
    pub fn new(kind: ProblemKind, message: impl Into<String>) -> Self {
        Problem { kind, message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}
