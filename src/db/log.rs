//! The statement log: every statement a session ran, with who ran it and why.

use crate::strategy::Strategy;
use rusqlite::types::Value;
use std::sync::Arc;
use std::time::Duration;

/// Which loader issued a statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    /// `User` for a root query, `User.posts` for a relationship loader.
    pub loader: Arc<str>,
    /// The navigation path from the root (`posts.comments`), `None` for the root.
    pub path: Option<Arc<str>>,
    pub strategy: Option<Strategy>,
    /// What the statement is, as the loader that made it says.
    pub kind: StatementKind,
}

/// What a statement is for, recorded where it is made, so that reading a
/// log never has to guess from its SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatementKind {
    /// The root query of the navigation.
    Root,
    /// One parent's relationship (a lazy load): many of them with the
    /// same SQL are an N+1.
    PerParent,
    /// Many parents' relationship at once (selectin, subquery).
    Batch,
    /// A query the user runs on one parent's relationship (dynamic,
    /// write_only): one per parent, like a lazy load.
    UserQuery,
}

impl StatementKind {
    /// Issued once per parent: the same SQL for many parents is an N+1.
    pub fn is_per_parent(self) -> bool {
        matches!(self, StatementKind::PerParent | StatementKind::UserQuery)
    }
}

impl Origin {
    pub fn root(entity: &str) -> Origin {
        Origin {
            loader: entity.into(),
            path: None,
            strategy: None,
            kind: StatementKind::Root,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Statement {
    /// 1-based position in the session's log.
    pub seq: usize,
    pub origin: Origin,
    /// Shared between statements of the same shape, so a thousand lazy loads
    /// keep one copy of their SQL.
    pub sql: Arc<str>,
    pub params: Vec<Value>,
    pub rows: usize,
    pub duration: Duration,
    /// Index into [`QueryLog::steps`]: the navigation step that caused it.
    pub step: Option<usize>,
    /// Log section (incremented by a session reset).
    pub section: usize,
    /// Distinct objects the rows held, when they were objects: fewer than
    /// `rows` when a join repeated a parent.
    pub distinct: Option<usize>,
}

/// What the user (or a navigation) did that caused statements.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Said in words: "expand posts of User 1 John".
    Text(String),
    /// A navigation touching a relationship: "posts of User 1". Kept as
    /// parts so that touching ten thousand loaded collections costs no
    /// formatting.
    Touch {
        relationship: Arc<str>,
        entity: Arc<str>,
        pk: crate::db::Key,
    },
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Text(text) => f.write_str(text),
            Step::Touch {
                relationship,
                entity,
                pk,
            } => write!(f, "{relationship} of {entity} {pk}"),
        }
    }
}

impl From<String> for Step {
    fn from(text: String) -> Step {
        Step::Text(text)
    }
}

impl From<&str> for Step {
    fn from(text: &str) -> Step {
        Step::Text(text.to_string())
    }
}

/// An access that needed no SQL: a many-to-one found in the identity map,
/// a collection already loaded. Kept beside the statements (they are not
/// statements: counts and analysis never see them).
#[derive(Clone, Debug, PartialEq)]
pub struct NoSql {
    /// How many statements the log held when it happened.
    pub after: usize,
    pub section: usize,
    pub loader: Arc<str>,
    pub strategy: Strategy,
    /// Why no SQL: `identity map`, `already loaded`, `NULL foreign key`.
    pub reason: &'static str,
}

#[derive(Clone, Debug, Default)]
pub struct QueryLog {
    pub statements: Vec<Statement>,
    /// Accesses that needed no SQL, when the log keeps them (the
    /// explorer's does: [`super::TracedConnection::keep_no_sql`]).
    pub no_sql: Vec<NoSql>,
    /// The steps that caused statements, in order.
    pub steps: Vec<Step>,
    pub section: usize,
}

impl QueryLog {
    pub fn total_rows(&self) -> usize {
        self.statements.iter().map(|s| s.rows).sum()
    }

    pub fn total_duration(&self) -> Duration {
        self.statements.iter().map(|s| s.duration).sum()
    }

    /// The step that caused a statement, in words.
    pub fn step_of(&self, statement: &Statement) -> Option<String> {
        statement
            .step
            .and_then(|i| self.steps.get(i))
            .map(Step::to_string)
    }
}
