//! The object tree of the left pane: root rows, their relationships, the
//! related objects, to any depth, flattened into the lines on screen.
//!
//! A node is named by its path of keys (`User 1 / posts / Post 2`), not by
//! session objects, so the same nodes stay expanded when a replay loads
//! everything again in a fresh session.

use crate::db::Key;
use crate::model::RelId;
use crate::session::ObjId;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Seg {
    Obj(Key),
    Rel(RelId),
}

pub type TreePath = Vec<Seg>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteKind {
    /// A loader refused (raise), or a query failed.
    Error,
    /// An empty collection, or a many-to-one with nothing.
    Empty,
    /// What a strategy means here (write-only, dynamic).
    Info,
    /// Children not drawn (a large collection).
    More,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TreeLine {
    Object {
        obj: ObjId,
        depth: usize,
        path: TreePath,
    },
    Relation {
        parent: ObjId,
        rel: RelId,
        depth: usize,
        path: TreePath,
    },
    Note {
        depth: usize,
        text: String,
        kind: NoteKind,
        /// The relationship the note belongs to.
        path: TreePath,
        /// False for the continuation lines of a wrapped note.
        first: bool,
    },
}

impl TreeLine {
    pub fn path(&self) -> &TreePath {
        match self {
            TreeLine::Object { path, .. }
            | TreeLine::Relation { path, .. }
            | TreeLine::Note { path, .. } => path,
        }
    }

    pub fn depth(&self) -> usize {
        match self {
            TreeLine::Object { depth, .. }
            | TreeLine::Relation { depth, .. }
            | TreeLine::Note { depth, .. } => *depth,
        }
    }
}

/// The relationship path (`posts.comments`) of a tree path: its names
/// without the keys, as the load plan spells paths.
pub fn rel_chain(path: &TreePath) -> Vec<RelId> {
    path.iter()
        .filter_map(|s| match s {
            Seg::Rel(r) => Some(*r),
            Seg::Obj(_) => None,
        })
        .collect()
}

/// At most this many children of one relationship are drawn; the rest is
/// one "… more" line (a parent with 100,000 children stays usable).
pub const MAX_CHILDREN: usize = 500;
