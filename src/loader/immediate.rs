//! `lazy="immediate"`: the same per-parent SELECT as `select`, fired for
//! every parent as soon as the parents are loaded, touched or not. An
//! eager N+1 (SQLAlchemy: "superseded in general by selectinload").

use super::select::lazy_load;
use super::{Loader, Strategy};
use crate::plan::NodeId;
use crate::session::{Access, LoadOrigin, ObjId, Session};
use anyhow::Result;
use std::collections::VecDeque;

pub struct ImmediateLoader;

impl Loader for ImmediateLoader {
    fn after_parents_loaded(
        &self,
        session: &mut Session<'_>,
        node: NodeId,
        parents: &[ObjId],
        _origin: &LoadOrigin,
    ) -> Result<()> {
        // Immediate loads fired by the statements of an immediate load wait
        // until the outer batch is done, as SQLAlchemy queues them on the
        // top-level load: all posts first, then all comments.
        if let Some(queue) = session.deferred_immediate.as_mut() {
            queue.push_back((node, parents.to_vec()));
            return Ok(());
        }
        session.deferred_immediate = Some(VecDeque::from([(node, parents.to_vec())]));
        while let Some((node, parents)) = session
            .deferred_immediate
            .as_mut()
            .and_then(VecDeque::pop_front)
        {
            let rel = session.plan.node(node).rel.expect("relationship node");
            for parent in parents {
                if session.is_loaded(parent, rel) {
                    continue;
                }
                if let Err(e) = lazy_load(session, parent, node, Strategy::Immediate) {
                    session.deferred_immediate = None;
                    return Err(e);
                }
            }
        }
        session.deferred_immediate = None;
        Ok(())
    }

    fn access(&self, session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Access> {
        lazy_load(session, parent, node, Strategy::Immediate).map(Access::Loaded)
    }
}
