//! `lazy="dynamic"` (legacy): the attribute is a query object. Every
//! access runs a SELECT, with whatever filter, order and limit the caller
//! adds; nothing is cached on the parent. Being the legacy `Query`, its
//! columns are labelled `posts.id AS posts_id`.

use super::select::{parent_key, per_parent_spec};
use super::sql::{LabelStyle, SelectSpec};
use super::{Loader, Strategy};
use crate::plan::NodeId;
use crate::session::{Access, ObjId, Related, Session};
use anyhow::{Result, bail};
use rusqlite::types::Value;

pub struct DynamicLoader;

impl Loader for DynamicLoader {
    fn access(&self, session: &mut Session<'_>, parent: ObjId, node: NodeId) -> Result<Access> {
        let objects = query(session, parent, node, &DynamicQuery::default())?;
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

/// Refuses text that is more than one SQL expression: several statements,
/// comments, unbalanced quotes or parentheses, or a huge input. The
/// connection is read-only anyway; this keeps the error message clear.
pub fn check_clause(what: &str, text: &str) -> Result<()> {
    if text.len() > MAX_CLAUSE_LEN {
        bail!(
            "{what} is too long ({} bytes; at most {MAX_CLAUSE_LEN})",
            text.len()
        );
    }
    let mut quote: Option<char> = None;
    let mut depth = 0i32;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
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
    if let Some(q) = quote {
        bail!("{what} has an unclosed quote `{q}`");
    }
    if depth > 0 {
        bail!("{what} has a `(` without its `)`");
    }
    Ok(())
}

/// Runs the dynamic relationship's query for one parent.
pub fn query(
    session: &mut Session<'_>,
    parent: ObjId,
    node: NodeId,
    q: &DynamicQuery,
) -> Result<Vec<ObjId>> {
    let (sql_spec, params) = statement(session, parent, node, q)?;
    let Some((mut prepared, params)) = sql_spec.map(|s| (session.render(s), params)) else {
        return Ok(Vec::new());
    };
    let mut params = params;
    if q.limit.is_some() || q.offset.is_some() {
        let mut sql = prepared.sql.to_string();
        sql.push_str(" LIMIT ? OFFSET ?");
        prepared.sql = sql.into();
        params.push(Value::Integer(q.limit.unwrap_or(-1)));
        params.push(Value::Integer(q.offset.unwrap_or(0)));
    }
    let origin = session.origin(node, Strategy::Dynamic);
    Ok(session
        .execute(&prepared, params, origin, node, None)?
        .objects())
}

/// `query.count()`: SQLAlchemy wraps the query and counts its rows.
pub fn count(
    session: &mut Session<'_>,
    parent: ObjId,
    node: NodeId,
    q: &DynamicQuery,
) -> Result<i64> {
    let (spec, mut params) = statement(session, parent, node, q)?;
    let Some(spec) = spec else { return Ok(0) };
    let prepared = session.render(spec);
    let mut inner = prepared.sql.to_string();
    if q.limit.is_some() || q.offset.is_some() {
        inner.push_str(" LIMIT ? OFFSET ?");
        params.push(Value::Integer(q.limit.unwrap_or(-1)));
        params.push(Value::Integer(q.offset.unwrap_or(0)));
    }
    let sql: std::sync::Arc<str> =
        format!("SELECT count(*) AS count_1 FROM ({inner}) AS anon_1").into();
    let mut n = 0;
    session.conn.run(
        &sql,
        params,
        session.origin(node, Strategy::Dynamic),
        |row| {
            n = row.get(0)?;
            Ok(())
        },
    )?;
    Ok(n)
}

fn statement(
    session: &mut Session<'_>,
    parent: ObjId,
    node: NodeId,
    q: &DynamicQuery,
) -> Result<(Option<SelectSpec>, Vec<Value>)> {
    if let Some(filter) = &q.filter {
        check_clause("the filter", filter)?;
    }
    if let Some(order) = &q.order_by {
        check_clause("the order", order)?;
    }
    let Some(key) = parent_key(session, parent, node) else {
        return Ok((None, Vec::new()));
    };
    let mut spec = per_parent_spec(session, node, LabelStyle::TablenamePlusCol);
    if let Some(filter) = q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        let base = spec.where_clause.take().unwrap_or_default();
        spec.where_clause = Some(format!("{base} AND {filter}"));
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
    Ok((Some(spec), vec![key.to_value()]))
}
