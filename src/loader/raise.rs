//! `lazy="raise"`: never loads; touching the attribute is an error. Used to
//! prove a code path has no lazy loads left.

use super::Loader;
use crate::plan::NodeId;
use crate::session::{Access, ObjId, Session};
use anyhow::Result;

pub struct RaiseLoader;

impl Loader for RaiseLoader {
    fn on_first_sight(&self) -> super::FirstSight {
        super::FirstSight::LazyCallable
    }

    fn access(&self, session: &mut Session<'_>, _parent: ObjId, node: NodeId) -> Result<Access> {
        Ok(Access::Refused(not_available(session, node, "raise")))
    }
}

/// SQLAlchemy's message, word for word.
pub fn not_available(session: &Session<'_>, node: NodeId, lazy: &str) -> String {
    let rel = session.plan.node(node).rel.expect("relationship node");
    format!(
        "'{}' is not available due to lazy='{lazy}'",
        session.model.rel_display(rel)
    )
}
