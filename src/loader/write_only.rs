//! `lazy="write_only"` (2.0+): never loads implicitly. Iterating the
//! collection is an error; only an explicit `select()` runs SQL, the same
//! per-parent statement as `select` (plain column names).

use super::Loader;
use super::Strategy;
use super::select::{per_parent_spec, run_per_parent};
use super::sql::LabelStyle;
use crate::plan::NodeId;
use crate::session::{Access, ObjId, QueryKind, Session};
use anyhow::Result;

pub struct WriteOnlyLoader;

/// SQLAlchemy's `TypeError`, word for word.
pub const ITERATION_ERROR: &str = "WriteOnly collections don't support iteration in-place";

impl Loader for WriteOnlyLoader {
    fn statement_kind(&self) -> crate::db::StatementKind {
        crate::db::StatementKind::UserQuery
    }

    fn access(&self, _session: &mut Session<'_>, _parent: ObjId, _node: NodeId) -> Result<Access> {
        Ok(Access::Refused(ITERATION_ERROR.to_string()))
    }
}

/// `session.scalars(user.posts.select())`: runs every time, caches nothing.
pub fn select(session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Vec<ObjId>> {
    let prepared = session.prepare(QueryKind::WriteOnly, node, node, |s| {
        per_parent_spec(s, node, LabelStyle::Disambiguate)
    });
    Ok(run_per_parent(session, parent, node, Strategy::WriteOnly, &prepared, node)?.objects())
}
