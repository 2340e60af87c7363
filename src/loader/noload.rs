//! `lazy="noload"`: never loads; collections are empty and many-to-ones
//! None. Deprecated in SQLAlchemy 2.1 because it "produces incorrect
//! results": the data is in the database, the object says otherwise.

use super::Loader;
use crate::plan::NodeId;
use crate::session::{Access, ObjId, Related, Session};
use anyhow::Result;

pub struct NoLoader;

fn set_empty(session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Related {
    let rel = session.plan.node(node).rel.expect("relationship node");
    let empty = Related::empty(session.model.rel(rel).is_collection());
    session.set_related(parent, rel, empty.clone());
    empty
}

/// Objects a statement loads at a `noload` path get their empty value as
/// the rows are read (`Session::first_sight`); this covers the rest.
impl Loader for NoLoader {
    fn on_first_sight(&self) -> super::FirstSight {
        super::FirstSight::Empty
    }

    fn access(&self, session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Access> {
        Ok(Access::Loaded(set_empty(session, parent, node)))
    }
}
