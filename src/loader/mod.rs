//! The loader strategies, one file each, behind one trait, as SQLAlchemy's
//! `orm/strategies.py` keeps one class per `lazy=` value. Each answers two
//! questions: what to do right after the parents are loaded, and what to
//! do when the attribute is first touched. Joined loading, the third
//! hook, adds its JOIN while the parent statement is built
//! (`Session::joined_tree`).

pub mod dynamic;
pub mod immediate;
pub mod joined;
pub mod noload;
pub mod raise;
pub mod raise_on_sql;
pub mod select;
pub mod selectin;
pub mod sql;

pub mod subquery;
pub mod write_only;

use crate::db::StatementKind;
use crate::plan::NodeId;
use crate::session::{Access, ObjId, PostLoad, Session};
pub use crate::strategy::Strategy;
use anyhow::Result;

pub trait Loader: Sync {
    /// After a statement loaded the targets of `load` (see
    /// `Session::execute` for when).
    fn after_parents_loaded(&self, _session: &mut Session<'_>, _load: &PostLoad) -> Result<()> {
        Ok(())
    }

    /// The attribute at `node` of `parent` is touched and not loaded.
    fn access(&self, session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Access>;

    /// What the statements this loader issues are: by default one per
    /// parent.
    fn statement_kind(&self) -> StatementKind {
        StatementKind::PerParent
    }
}

/// The registry: one line per strategy.
pub fn for_strategy(strategy: Strategy) -> &'static dyn Loader {
    match strategy {
        Strategy::Select => &select::SelectLoader,
        Strategy::Immediate => &immediate::ImmediateLoader,
        Strategy::Joined | Strategy::JoinedInner => &joined::JoinedLoader,
        Strategy::Subquery => &subquery::SubqueryLoader,
        Strategy::Selectin => &selectin::SelectinLoader,
        Strategy::Raise => &raise::RaiseLoader,
        Strategy::RaiseOnSql => &raise_on_sql::RaiseOnSqlLoader,
        Strategy::NoLoad => &noload::NoLoader,
        Strategy::Dynamic => &dynamic::DynamicLoader,
        Strategy::WriteOnly => &write_only::WriteOnlyLoader,
    }
}

/// Strategies whose `after_parents_loaded` does something. (`noload`
/// acts earlier, as rows are read: `Session::first_sight`.)
pub fn fires_after_load(strategy: Strategy) -> bool {
    matches!(
        strategy,
        Strategy::Immediate | Strategy::Subquery | Strategy::Selectin
    )
}

/// A batch load's rows grouped by the parent key each row carries (the
/// lead or trail column), children in row order. `may_repeat`: joins in
/// the statement can repeat a child over rows; only then is a set kept (a
/// set, not `contains`: a parent with 100,000 children must not cost
/// 100,000² comparisons).
pub(crate) fn group_by_key(
    rows: Vec<(Option<crate::db::Key>, Option<ObjId>)>,
    may_repeat: bool,
) -> rustc_hash::FxHashMap<crate::db::Key, Vec<ObjId>> {
    let mut by_key: rustc_hash::FxHashMap<crate::db::Key, Vec<ObjId>> = Default::default();
    let mut seen = rustc_hash::FxHashSet::default();
    for (key, child) in rows {
        let (Some(key), Some(child)) = (key, child) else {
            continue;
        };
        if may_repeat {
            if seen.insert((key.clone(), child)) {
                by_key.entry(key).or_default().push(child);
            }
        } else {
            by_key.entry(key).or_default().push(child);
        }
    }
    by_key
}
