//! `lazy="immediate"`: the same per-parent SELECT as `select`, fired for
//! every parent as soon as the parents are loaded, touched or not. An
//! eager N+1 (SQLAlchemy: "superseded in general by selectinload").
//!
//! The eager loads that its statements fire wait until the whole batch is
//! done and then run once per path over all their parents, as SQLAlchemy
//! queues them on the top-level load: all posts first, then one selectin
//! for all their comments.

use super::select::lazy_load;
use super::{Loader, Strategy, for_strategy};
use crate::plan::NodeId;
use crate::session::{Access, Deferred, LoadOrigin, ObjId, Session};
use anyhow::Result;
use std::collections::VecDeque;

pub struct ImmediateLoader;

impl Loader for ImmediateLoader {
    fn after_parents_loaded(
        &self,
        session: &mut Session<'_>,
        node: NodeId,
        parents: &[ObjId],
        origin: &LoadOrigin,
    ) -> Result<()> {
        session.deferred = Some(VecDeque::from([Deferred {
            node,
            parents: parents.to_vec(),
            origin: origin.clone(),
        }]));
        let result = drain(session);
        session.deferred = None;
        result
    }

    fn access(&self, session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Access> {
        lazy_load(session, parent, node, Strategy::Immediate).map(Access::Loaded)
    }
}

/// Runs the queued loads in order; what they fire joins the queue.
fn drain(session: &mut Session<'_>) -> Result<()> {
    while let Some(next) = session.deferred.as_mut().and_then(VecDeque::pop_front) {
        let rel = session.plan.node(next.node).rel.expect("relationship node");
        let parents: Vec<ObjId> = next
            .parents
            .into_iter()
            .filter(|p| !session.is_loaded(*p, rel))
            .collect();
        let Some(first) = parents.first() else {
            continue;
        };
        let segment = session.object(*first).segment;
        match session.plan.strategy_of(session.model, next.node, segment) {
            Strategy::Immediate => {
                for parent in parents {
                    lazy_load(session, parent, next.node, Strategy::Immediate)?;
                }
            }
            strategy => for_strategy(strategy).after_parents_loaded(
                session,
                next.node,
                &parents,
                &next.origin,
            )?,
        }
    }
    Ok(())
}
