//! The traced connection: the only way SQL reaches the database (SQLite or
//! PostgreSQL). Every statement is timed with `Instant` and recorded with
//! the loader that issued it.

use super::log::{NoSql, Origin, QueryLog, Statement, Step};
use super::postgresql::PgConnection;
use super::row::Row;
use crate::dialect::Dialect;
use crate::strategy::Strategy;
use anyhow::{Context, Result};
use rusqlite::{Connection, params_from_iter, types::Value};
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::Instant;

/// The longest string or blob a statement may make (256 MB).
pub const MAX_VALUE_LEN: i32 = 256 * 1024 * 1024;

/// The database a session's statements go to.
pub enum Backend {
    Sqlite(Connection),
    /// Boxed: a PostgreSQL client is three times a SQLite handle.
    Postgres(Box<PgConnection>),
}

pub struct TracedConnection {
    conn: Backend,
    dialect: &'static dyn Dialect,
    log: RefCell<QueryLog>,
    step: Cell<Option<usize>>,
    /// The step begun but not yet in the log (it has caused no statement).
    pending: RefCell<Option<Step>>,
    /// Accesses that need no SQL are logged too.
    keep_no_sql: Cell<bool>,
    /// Bumped whenever the log's statements change, so a reader (the
    /// explorer's log pane) can keep what it worked out from them.
    version: Cell<u64>,
}

impl TracedConnection {
    pub fn new(conn: Connection) -> TracedConnection {
        // Enough room for every distinct statement shape of a session.
        conn.set_prepared_statement_cache_capacity(256);
        // No string or blob a statement makes may pass MAX_VALUE_LEN: text
        // typed into a filter (`randomblob(1e9)`) cannot allocate
        // gigabytes. (SQLite's default is 1 GB; values stored in the
        // database up to this size read as before.)
        let _ = conn.set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_LEN);
        Self::with_backend(Backend::Sqlite(conn), &crate::dialect::SQLITE)
    }

    /// A PostgreSQL connection, its statements spelt by `dialect`.
    pub fn postgres(conn: PgConnection, dialect: &'static dyn Dialect) -> TracedConnection {
        Self::with_backend(Backend::Postgres(Box::new(conn)), dialect)
    }

    fn with_backend(conn: Backend, dialect: &'static dyn Dialect) -> TracedConnection {
        TracedConnection {
            conn,
            dialect,
            log: RefCell::new(QueryLog::default()),
            step: Cell::new(None),
            pending: RefCell::new(None),
            version: Cell::new(0),
            keep_no_sql: Cell::new(false),
        }
    }

    /// How statements for this database are spelt.
    pub fn dialect(&self) -> &'static dyn Dialect {
        self.dialect
    }

    /// Runs one statement, hands each row to `on_row`, and records it.
    /// Returns the number of rows.
    pub fn run(
        &self,
        sql: &Arc<str>,
        params: Vec<Value>,
        origin: Origin,
        mut on_row: impl FnMut(Row<'_>) -> Result<()>,
    ) -> Result<usize> {
        let started = Instant::now();
        let count = match &self.conn {
            Backend::Sqlite(conn) => {
                let mut stmt = conn
                    .prepare_cached(sql)
                    .with_context(|| format!("preparing `{sql}`"))?;
                let mut rows = stmt
                    .query(params_from_iter(params.iter()))
                    .with_context(|| format!("running `{sql}`"))?;
                let mut count = 0;
                while let Some(row) = rows.next().with_context(|| format!("reading `{sql}`"))? {
                    on_row(Row::Sqlite(row))?;
                    count += 1;
                }
                count
            }
            Backend::Postgres(conn) => conn
                .query(sql, &params, |values| on_row(Row::Values(values)))
                .with_context(|| format!("running `{sql}`"))?,
        };
        let duration = started.elapsed();
        let mut log = self.log.borrow_mut();
        // A step enters the log with its first statement.
        if let Some(step) = self.pending.borrow_mut().take() {
            log.steps.push(step);
            self.step.set(Some(log.steps.len() - 1));
        }
        let seq = log.statements.len() + 1;
        let section = log.section;
        self.bump();
        log.statements.push(Statement {
            seq,
            origin,
            sql: sql.clone(),
            params,
            rows: count,
            duration,
            step: self.step.get(),
            section,
            distinct: None,
        });
        Ok(count)
    }

    /// From now on, accesses that need no SQL are logged (the explorer
    /// shows them; a headless run does not pay for them).
    pub fn keep_no_sql(&self) {
        self.keep_no_sql.set(true);
    }

    pub fn keeps_no_sql(&self) -> bool {
        self.keep_no_sql.get()
    }

    /// An access of `loader` needed no SQL, for `reason`.
    pub fn no_sql(&self, loader: &Arc<str>, strategy: Strategy, reason: &'static str) {
        if !self.keep_no_sql.get() {
            return;
        }
        let mut log = self.log.borrow_mut();
        let (after, section) = (log.statements.len(), log.section);
        log.no_sql.push(NoSql {
            after,
            section,
            loader: loader.clone(),
            strategy,
            reason,
        });
    }

    /// Records how many distinct objects the last statement's rows held.
    pub fn set_last_distinct(&self, distinct: usize) {
        if let Some(last) = self.log.borrow_mut().statements.last_mut() {
            last.distinct = Some(distinct);
        }
    }

    /// Starts a navigation step: statements from now on are attributed to
    /// it. A step that causes no statement never enters the log.
    pub fn begin_step(&self, step: impl Into<Step>) {
        *self.pending.borrow_mut() = Some(step.into());
        self.step.set(None);
    }

    /// Starts a new log section, as a session reset does.
    pub fn new_section(&self) {
        self.log.borrow_mut().section += 1;
        self.bump();
    }

    fn bump(&self) {
        self.version.set(self.version.get() + 1);
    }

    /// Changes whenever the log's statements or its section change.
    pub fn log_version(&self) -> u64 {
        self.version.get()
    }

    pub fn log(&self) -> std::cell::Ref<'_, QueryLog> {
        self.log.borrow()
    }

    /// Hands over the log and starts an empty one.
    pub fn take_log(&self) -> QueryLog {
        self.step.set(None);
        self.pending.take();
        self.bump();
        self.log.take()
    }

    /// Puts back a log handed over by [`Self::take_log`] (after runs that
    /// must not show in it, such as the explorer's what-if replays).
    pub fn restore_log(&self, log: QueryLog) {
        self.step.set(None);
        self.pending.take();
        self.bump();
        *self.log.borrow_mut() = log;
    }

    /// The query plan of a logged statement: SQLite's `EXPLAIN QUERY PLAN`
    /// as a tree, PostgreSQL's `EXPLAIN` (with `analyze`, `EXPLAIN
    /// (ANALYZE, BUFFERS)`, which runs it). Not itself logged: it is the
    /// user's question about a statement, not a loader's work.
    pub fn explain(&self, sql: &str, params: &[Value], analyze: bool) -> Result<Vec<String>> {
        let conn = match &self.conn {
            Backend::Postgres(conn) => return conn.explain(sql, params, analyze),
            Backend::Sqlite(_) if analyze => anyhow::bail!(
                "EXPLAIN ANALYZE is PostgreSQL's; SQLite has EXPLAIN QUERY PLAN only (e)"
            ),
            Backend::Sqlite(conn) => conn,
        };
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let mut lines = Vec::new();
        let mut depth_of: Vec<(i64, usize)> = Vec::new();
        let mut rows = stmt.query(params_from_iter(params.iter()))?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let parent: i64 = row.get(1)?;
            let detail: String = row.get(3)?;
            let depth = depth_of
                .iter()
                .find(|(i, _)| *i == parent)
                .map_or(0, |(_, d)| d + 1);
            depth_of.push((id, depth));
            lines.push(format!("{}{detail}", "  ".repeat(depth)));
        }
        Ok(lines)
    }

    /// A count loadscope asks for itself (not traced: it is loadscope's
    /// own question, not a loader's).
    pub fn count(&self, sql: &str, params: &[Value]) -> Result<i64> {
        match &self.conn {
            Backend::Sqlite(conn) => {
                Ok(conn.query_row(sql, params_from_iter(params), |r| r.get(0))?)
            }
            Backend::Postgres(conn) => {
                let mut n = 0;
                conn.query(sql, params, |row| {
                    if let Some(Value::Integer(i)) = row.first() {
                        n = *i;
                    }
                    Ok(())
                })?;
                Ok(n)
            }
        }
    }

    /// The SQLite connection, for what only SQLite has (interrupting a
    /// statement); `None` on PostgreSQL, whose server stops a statement
    /// itself at its `statement_timeout`.
    pub fn sqlite(&self) -> Option<&Connection> {
        match &self.conn {
            Backend::Sqlite(conn) => Some(conn),
            Backend::Postgres(_) => None,
        }
    }

    pub fn backend(&self) -> &Backend {
        &self.conn
    }

    /// Whether the database is a server (statement times then include
    /// the round trip to it).
    pub fn is_server(&self) -> bool {
        matches!(self.conn, Backend::Postgres(_))
    }

    /// The command-line client a copied statement runs in.
    pub fn shell(&self) -> &'static str {
        match self.conn {
            Backend::Sqlite(_) => "sqlite3",
            Backend::Postgres(_) => "psql",
        }
    }

    /// What [`explain`](Self::explain) shows, as its title.
    pub fn explain_title(&self, analyze: bool) -> &'static str {
        match (&self.conn, analyze) {
            (Backend::Sqlite(_), _) => "EXPLAIN QUERY PLAN",
            (Backend::Postgres(_), false) => "EXPLAIN",
            (Backend::Postgres(_), true) => "EXPLAIN (ANALYZE, BUFFERS)",
        }
    }
}
