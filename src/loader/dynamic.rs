//! `lazy="dynamic"` (legacy): the attribute is a query object. Every
//! access runs a SELECT, with whatever filter, order and limit the caller
//! adds; nothing is cached on the parent. Being the legacy `Query`, its
//! columns are labelled `posts.id AS posts_id`.

use super::select::{parent_key, per_parent_spec};
use super::sql::{LabelStyle, SelectSpec};
use super::{Loader, Strategy};
use crate::db::TracedConnection;
use crate::plan::NodeId;
use crate::session::{Access, ObjId, Related, Session};
use anyhow::{Result, bail};
use rusqlite::types::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

pub struct DynamicLoader;

impl Loader for DynamicLoader {
    fn statement_kind(&self) -> crate::db::StatementKind {
        crate::db::StatementKind::UserQuery
    }

    fn access(&self, session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Access> {
        let q = session.queries.get(&node).cloned().unwrap_or_default();
        let objects = query(session, parent, node, &q)?;
        Ok(Access::Loaded(Related::Many(objects)))
    }
}

/// What can be added to a dynamic relationship's query:
/// `user.posts.filter(...).order_by(...).limit(...).offset(...)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DynamicQuery {
    /// A SQL condition over the target's columns (`posts.title LIKE '%a%'`).
    pub filter: Option<String>,
    /// Replaces the relationship's order_by (`posts.created_at DESC`).
    pub order_by: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The longest filter or order text accepted.
pub const MAX_CLAUSE_LEN: usize = 1000;

/// The longest a statement with text the user typed may run before it is
/// interrupted (a recursive CTE in a filter would otherwise never end).
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Words that begin an SQL statement and never appear in an expression:
/// text holding one (outside quotes) is a statement, not a filter. (`END`
/// is not one: `CASE ... END` is an expression.)
const STATEMENT_WORDS: [&str; 16] = [
    "ALTER",
    "ANALYZE",
    "ATTACH",
    "BEGIN",
    "COMMIT",
    "CREATE",
    "DELETE",
    "DETACH",
    "DROP",
    "INSERT",
    "PRAGMA",
    "REINDEX",
    "RELEASE",
    "ROLLBACK",
    "SAVEPOINT",
    "VACUUM",
];

/// Refuses text that is more than one SQL expression: several statements,
/// comments, unbalanced quotes or parentheses, statement keywords (`ATTACH`,
/// `DROP`, ...), control characters, or a huge input. The connection is
/// read-only anyway; this keeps the error message clear.
pub fn check_clause(what: &str, text: &str) -> Result<()> {
    check_clause_refusing(what, text, &[])
}

/// Words that would end a WHERE clause and begin another part of the
/// statement; refused outside parentheses (a subquery may use them).
const CLAUSE_WORDS: [&str; 6] = ["UNION", "INTERSECT", "EXCEPT", "GROUP", "HAVING", "WINDOW"];

/// A filter: one condition. The clause words of a SELECT are refused
/// outside parentheses, with words that say why.
pub fn check_filter(text: &str) -> Result<()> {
    check_clause_refusing("the filter", text, &CLAUSE_WORDS)
}

/// An order: ORDER BY terms only; LIMIT and OFFSET have their own line.
pub fn check_order(text: &str) -> Result<()> {
    let mut words = CLAUSE_WORDS.to_vec();
    words.extend(["LIMIT", "OFFSET"]);
    check_clause_refusing("the order", text, &words)
}

fn check_clause_refusing(what: &str, text: &str, refused: &[&str]) -> Result<()> {
    if text.len() > MAX_CLAUSE_LEN {
        bail!(
            "{what} is too long ({} bytes; at most {MAX_CLAUSE_LEN})",
            text.len()
        );
    }
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        bail!(
            "{what} may not contain control characters (found U+{:04X})",
            c as u32
        );
    }
    let mut quote: Option<char> = None;
    let mut depth = 0i32;
    let mut word = String::new();
    let mut previous = ' ';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quote.is_none() && (c.is_alphanumeric() || c == '_') {
            if word.is_empty() && previous == '.' {
                word.push('.'); // a qualified column name, never a keyword
            }
            word.push(c);
            previous = c;
            continue;
        }
        check_word(what, &word)?;
        refuse_at_top(what, &word, depth, refused)?;
        word.clear();
        previous = c;
        match quote {
            Some(q) if c == q => {
                if chars.peek() == Some(&q) {
                    chars.next(); // a doubled quote stays inside the literal
                } else {
                    quote = None;
                }
            }
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '[' => quote = Some(']'),
                ';' => bail!("{what} must be one expression, not several statements (found `;`)"),
                '-' if chars.peek() == Some(&'-') => {
                    bail!("{what} may not contain comments (`--`)")
                }
                '/' if chars.peek() == Some(&'*') => {
                    bail!("{what} may not contain comments (`/*`)")
                }
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth < 0 {
                        bail!("{what} has a `)` without its `(`");
                    }
                }
                _ => {}
            },
        }
    }
    check_word(what, &word)?;
    refuse_at_top(what, &word, depth, refused)?;
    if let Some(q) = quote {
        bail!("{what} has an unclosed quote `{q}`");
    }
    if depth > 0 {
        bail!("{what} has a `(` without its `)`");
    }
    Ok(())
}

fn refuse_at_top(what: &str, word: &str, depth: i32, refused: &[&str]) -> Result<()> {
    if depth > 0 {
        return Ok(());
    }
    if let Some(found) = refused.iter().find(|k| k.eq_ignore_ascii_case(word)) {
        let hint = match *found {
            "LIMIT" | "OFFSET" => "use the `limit:` line".to_string(),
            _ => format!(
                "`{found}` would end the condition and start another part of the statement (inside parentheses, a subquery may use it)"
            ),
        };
        bail!("{what} may not use `{found}` here: {hint}");
    }
    Ok(())
}

fn check_word(what: &str, word: &str) -> Result<()> {
    if let Some(keyword) = STATEMENT_WORDS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(word))
    {
        bail!("{what} must be a condition, not an SQL statement (found `{keyword}`)");
    }
    Ok(())
}

/// Runs `run`, interrupting its statement if it takes longer than
/// [`QUERY_TIMEOUT`]. Only used for statements holding typed text. (A
/// PostgreSQL server stops any statement at its `statement_timeout`.)
fn with_deadline<T>(conn: &TracedConnection, run: impl FnOnce() -> Result<T>) -> Result<T> {
    let Some(conn) = conn.sqlite() else {
        return run();
    };
    let handle = conn.get_interrupt_handle();
    let fired = Arc::new(AtomicBool::new(false));
    let (done, wait) = mpsc::channel::<()>();
    let watchdog = {
        let fired = fired.clone();
        thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = wait.recv_timeout(QUERY_TIMEOUT) {
                fired.store(true, Ordering::SeqCst);
                // A no-op when no statement is running any more.
                handle.interrupt();
            }
        })
    };
    let result = run();
    let _ = done.send(());
    let _ = watchdog.join();
    result.map_err(|e| {
        if fired.load(Ordering::SeqCst) {
            e.context(format!(
                "stopped after {} s: the query took too long",
                QUERY_TIMEOUT.as_secs()
            ))
        } else {
            e
        }
    })
}

fn has_typed_text(q: &DynamicQuery) -> bool {
    [&q.filter, &q.order_by]
        .iter()
        .any(|t| t.as_deref().is_some_and(|t| !t.trim().is_empty()))
}

/// Runs the dynamic relationship's query for one parent.
pub fn query(
    session: &mut Session<'_>,
    parent: ObjId,
    node: NodeId,
    q: &DynamicQuery,
) -> Result<Vec<ObjId>> {
    let (sql_spec, params) = statement(session, parent, node, q)?;
    let Some(prepared) = sql_spec.map(|s| session.render(s)) else {
        return Ok(Vec::new());
    };
    let origin = session.origin(node, Strategy::Dynamic);
    if !has_typed_text(q) {
        return Ok(session
            .execute(&prepared, params, origin, node, None)?
            .objects());
    }
    let conn = session.conn;
    with_deadline(conn, || {
        session
            .execute(&prepared, params, origin, node, None)
            .map(|fetched| fetched.objects())
            .map_err(the_databases_words)
    })
}

/// A typed query's failure in the database's own words, on one line
/// (`no such column: posts.nope`), without the statement around them.
fn the_databases_words(error: anyhow::Error) -> anyhow::Error {
    let words = match error
        .chain()
        .find_map(|e| e.downcast_ref::<rusqlite::Error>())
    {
        Some(rusqlite::Error::SqlInputError { msg, .. }) => msg.clone(),
        Some(rusqlite::Error::SqliteFailure(_, Some(msg))) => msg.clone(),
        _ => error.root_cause().to_string(),
    };
    anyhow::anyhow!(
        "the query failed: {}",
        words.lines().next().unwrap_or_default()
    )
}

/// `query.count()`: SQLAlchemy wraps the query and counts its rows.
pub fn count(
    session: &mut Session<'_>,
    parent: ObjId,
    node: NodeId,
    q: &DynamicQuery,
) -> Result<i64> {
    let (spec, params) = statement(session, parent, node, q)?;
    let Some(spec) = spec else { return Ok(0) };
    let prepared = session.render(spec);
    let params = crate::dialect::Bind::resolve(&prepared.binds, params);
    let sql: std::sync::Arc<str> = format!(
        "SELECT count(*) AS count_1 FROM ({}) AS anon_1",
        prepared.sql
    )
    .into();
    let mut n = 0;
    let origin = session.origin(node, Strategy::Dynamic);
    with_deadline(session.conn, || {
        session.conn.run(&sql, params, origin, |row| {
            n = row.get_i64(0)?;
            Ok(())
        })
    })?;
    Ok(n)
}

fn statement(
    session: &mut Session<'_>,
    parent: ObjId,
    node: NodeId,
    q: &DynamicQuery,
) -> Result<(Option<SelectSpec>, Vec<Value>)> {
    if let Some(filter) = &q.filter {
        check_filter(filter)?;
    }
    if let Some(order) = &q.order_by {
        check_order(order)?;
    }
    let Some(key) = parent_key(session, parent, node) else {
        return Ok((None, Vec::new()));
    };
    let mut spec = per_parent_spec(session, node, LabelStyle::TablenamePlusCol);
    if let Some(filter) = q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        // In parentheses: a typed `a OR b` must not escape the parent's
        // condition.
        let base = spec.where_clause.take().unwrap_or_default();
        spec.where_clause = Some(format!("{base} AND ({filter})"));
    }
    if let Some(order) = q
        .order_by
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        // A user order replaces the relationship's; kept as typed.
        spec.order_by.clear();
        spec.order_text = Some(order.to_string());
    }
    if q.limit.is_some() || q.offset.is_some() {
        // After the whole statement, joined eager loads included.
        spec.suffix = Some(session.conn.dialect().limit_offset(q.limit, q.offset));
    }
    Ok((Some(spec), key.params()))
}
