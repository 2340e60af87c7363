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

/// When a loader loads an attribute, relative to the statement that loaded
/// the objects: what tells SQLAlchemy's strategies apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadTime {
    /// When the attribute is first touched (select, raise, dynamic, ...).
    OnAccess,
    /// In the parents' statement itself, as a JOIN (`Session::joined_tree`).
    InParentStatement,
    /// While the parents' rows are read (subquery).
    WhileRowsRead,
    /// Once the parents' rows are all in (selectin, immediate).
    AfterParentsLoaded,
}

impl LoadTime {
    /// Runs as part of loading the parents (a post-load or a subquery).
    pub fn with_parents(self) -> bool {
        matches!(self, LoadTime::WhileRowsRead | LoadTime::AfterParentsLoaded)
    }
}

/// What a loader sets up on an object that a statement meets for the
/// first time at its path (SQLAlchemy's "new" populators).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstSight {
    Nothing,
    /// The attribute is loaded, empty (noload).
    Empty,
    /// The loader becomes the attribute's own (a per-instance lazy
    /// callable), where it is not the relationship's class-level loader.
    LazyCallable,
}

pub trait Loader: Sync {
    /// When it loads (see [`LoadTime`]).
    fn load_time(&self) -> LoadTime {
        LoadTime::OnAccess
    }

    /// What it does to an object first met at its path.
    fn on_first_sight(&self) -> FirstSight {
        FirstSight::Nothing
    }

    /// It loads with one SELECT per parent (select, immediate): a lazy
    /// load, whose way back SQLAlchemy loads lazily too.
    fn loads_per_parent(&self) -> bool {
        false
    }

    /// An eager loader that reaches an entity already on its path goes on
    /// (immediate, with no-fetch flags) instead of stopping.
    fn goes_on_at_loops(&self) -> bool {
        false
    }

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

/// The loader an attribute has on its class: the relationship's own lazy
/// loader (`select` for an eager relationship, whose attribute lazy-loads
/// where its eager load did not run).
pub fn class_level(lazy: Strategy) -> Strategy {
    if for_strategy(lazy).load_time() == LoadTime::OnAccess {
        lazy
    } else {
        Strategy::Select
    }
}

/// Loaded by a JOIN in the parents' statement (joined, with or without
/// innerjoin).
pub fn is_joined(strategy: Strategy) -> bool {
    load_time(strategy) == LoadTime::InParentStatement
}

/// Loaded as part of, or right after, the parents' statement.
pub fn loads_with_parents(strategy: Strategy) -> bool {
    load_time(strategy) != LoadTime::OnAccess
}

/// When `strategy` loads (see [`LoadTime`]).
pub fn load_time(strategy: Strategy) -> LoadTime {
    for_strategy(strategy).load_time()
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
