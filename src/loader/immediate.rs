//! `lazy="immediate"`: the same per-parent SELECT as `select`, fired for
//! every parent as soon as the parents are loaded, touched or not. An
//! eager N+1 (SQLAlchemy: "superseded in general by selectinload").
//!
//! It is a post-load: its statements serve the top-level statement, so the
//! selectin and immediate loads they fire wait in that statement's queue
//! and then run once per path over all their parents (all posts first,
//! then one selectin for all their comments); see `Session::execute`.

use super::select::{lazy_load, lazy_load_on, many_to_one_without_sql};
use super::{Loader, Strategy};
use crate::model::Direction;
use crate::plan::NodeId;
use crate::session::{Access, ObjId, PostLoad, Related, Session};
use anyhow::Result;

pub struct ImmediateLoader;

impl Loader for ImmediateLoader {
    fn loads_per_parent(&self) -> bool {
        true
    }

    fn goes_on_at_loops(&self) -> bool {
        true
    }

    fn load_time(&self) -> super::LoadTime {
        super::LoadTime::AfterParentsLoaded
    }

    fn after_parents_loaded(&self, session: &mut Session<'_>, load: &PostLoad) -> Result<()> {
        let rel = session.plan.node(load.node).rel.expect("relationship node");
        let immediate = Strategy::Immediate;
        for target in &load.targets {
            // Even with `overwrite`: SQLAlchemy's lazy load returns at once
            // for an attribute that is loaded (`ATTR_WAS_SET`).
            if session.is_loaded(target.object, rel) {
                continue;
            }
            if load.no_fetch {
                // No-fetch flags: a many-to-one comes from the identity map
                // or stays unloaded; a collection still loads.
                match many_to_one_without_sql(session, target.object, load.node) {
                    Some(found) => session.set_related(target.object, rel, Related::One(found)),
                    None if session.model.rel(rel).direction == Direction::ManyToOne => {}
                    None => {
                        lazy_load_on(session, target.object, load.node, immediate, load.segment)?;
                    }
                }
                continue;
            }
            lazy_load_on(session, target.object, load.node, immediate, load.segment)?;
        }
        Ok(())
    }

    fn access(&self, session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Access> {
        lazy_load(session, parent, node, Strategy::Immediate).map(Access::Loaded)
    }
}
