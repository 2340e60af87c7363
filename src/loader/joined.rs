//! `lazy="joined"` (and `innerjoin=True`): the relationship is loaded by a
//! JOIN inside the statement that loads its parents; `Session::joined_tree`
//! collects these and `sql::SelectSpec::render` writes them, wrapping the
//! parent query as `anon_1` when it has a LIMIT and a collection is joined.
//!
//! Touched without having been joined (the parent came from somewhere
//! else), the attribute loads lazily, as in SQLAlchemy.

use super::select::lazy_load;
use super::{Loader, Strategy};
use crate::plan::NodeId;
use crate::session::{Access, ObjId, Session};
use anyhow::Result;

pub struct JoinedLoader;

/// An inner join: `joined+innerjoin`, or `joined` over a mapping with
/// `innerjoin=True` (a `joinedload()` option that does not say otherwise
/// keeps it).
pub fn is_inner(strategy: Strategy, mapping_innerjoin: bool) -> bool {
    strategy == Strategy::JoinedInner || (strategy == Strategy::Joined && mapping_innerjoin)
}

impl Loader for JoinedLoader {
    fn load_time(&self) -> super::LoadTime {
        super::LoadTime::InParentStatement
    }

    fn access(&self, session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Access> {
        lazy_load(session, parent, node, Strategy::Select).map(Access::Loaded)
    }
}
