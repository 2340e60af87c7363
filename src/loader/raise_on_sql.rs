//! `lazy="raise_on_sql"`: an error only if loading would need SQL. A
//! many-to-one whose target is already in the identity map (or whose
//! foreign key is NULL) is returned without a statement.

use super::Loader;
use super::raise::not_available;
use super::select::many_to_one_without_sql;
use crate::plan::NodeId;
use crate::session::{Access, ObjId, Related, Session};
use anyhow::Result;

pub struct RaiseOnSqlLoader;

impl Loader for RaiseOnSqlLoader {
    fn on_first_sight(&self) -> super::FirstSight {
        super::FirstSight::LazyCallable
    }

    fn access(&self, session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Access> {
        Ok(match many_to_one_without_sql(session, parent, node) {
            Some(target) => {
                let rel = session.plan.node(node).rel.expect("relationship node");
                session.set_related(parent, rel, Related::One(target));
                Access::Loaded(Related::One(target))
            }
            None => Access::Refused(not_available(session, node, "raise_on_sql")),
        })
    }
}
