//! Printing a navigation's outcome: text for people, JSON for programs (a
//! contract, see the README), Markdown for posts.

use crate::analysis::{self, Analysis, Repeat, format_duration};
use crate::db::value::value_to_json;
use crate::navigation::{GraphNode, Outcome};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// The JSON report (the contract in the README), written as it is
/// serialized: no intermediate `Value` tree, nothing copied.
/// The version of the JSON report's shape: 2 added `schema_version`,
/// statements' `kind` and repeat flags, the root and loaders without
/// statements in `loaders`.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Serialize)]
pub struct JsonReport<'a> {
    schema_version: u32,
    root: &'a str,
    limit: Option<i64>,
    strategies: Strategies<'a>,
    statements: Vec<JsonStatement<'a>>,
    loaders: Vec<JsonLoader<'a>>,
    totals: Totals,
    graph: &'a [GraphNode],
    errors: Vec<JsonError<'a>>,
}

struct Strategies<'a>(&'a [(String, crate::strategy::Strategy)]);

impl Serialize for Strategies<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (path, strategy) in self.0 {
            map.serialize_entry(path, strategy.name())?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct JsonStatement<'a> {
    seq: usize,
    loader: &'a str,
    path: Option<&'a str>,
    strategy: Option<&'static str>,
    sql: &'a str,
    params: Params<'a>,
    rows: usize,
    micros: u64,
    step: Option<String>,
    /// `root`, `per_parent`, `batch` or `user_query`.
    kind: &'static str,
    /// The same SQL with other parameters elsewhere in the run.
    similar: bool,
    /// The same SQL with the same parameters elsewhere in the run.
    duplicate: bool,
    /// Similar, and issued once per parent: part of an N+1.
    n_plus_one: bool,
}

/// Parameters as JSON values (`value_to_json`'s forms).
pub struct Params<'a>(pub &'a [rusqlite::types::Value]);

impl Serialize for Params<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(&JsonScalar(v))?;
        }
        seq.end()
    }
}

pub struct JsonScalar<'a>(pub &'a rusqlite::types::Value);

impl Serialize for JsonScalar<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use rusqlite::types::Value as V;
        match self.0 {
            V::Null => serializer.serialize_none(),
            V::Integer(i) => serializer.serialize_i64(*i),
            V::Real(f) if f.is_finite() => serializer.serialize_f64(*f),
            V::Real(_) => serializer.serialize_none(),
            V::Text(t) => serializer.serialize_str(t),
            V::Blob(_) => value_to_json(self.0).serialize(serializer),
        }
    }
}

#[derive(Serialize)]
struct JsonLoader<'a> {
    path: Option<&'a str>,
    /// `User.posts`, or the entity for the root query.
    relationship: &'a str,
    strategy: Option<&'static str>,
    statements: usize,
    rows: usize,
    micros: u64,
    n_plus_one: bool,
}

#[derive(Serialize)]
struct Totals {
    statements: usize,
    rows: usize,
    micros: u64,
    duplicated_rows: usize,
}

#[derive(Serialize)]
struct JsonError<'a> {
    path: &'a str,
    parent_pk: serde_json::Value,
    message: &'a str,
}

impl<'a> JsonReport<'a> {
    pub fn new(outcome: &'a Outcome, analysis: &'a Analysis) -> JsonReport<'a> {
        let log = &outcome.log;
        JsonReport {
            schema_version: SCHEMA_VERSION,
            root: &outcome.root,
            limit: outcome.limit,
            strategies: Strategies(&outcome.strategies),
            statements: log
                .statements
                .iter()
                .zip(&analysis.repeats)
                .map(|(s, repeat)| JsonStatement {
                    seq: s.seq,
                    loader: &s.origin.loader,
                    path: s.origin.path.as_deref(),
                    strategy: s.origin.strategy.map(|st| st.name()),
                    sql: &s.sql,
                    params: Params(&s.params),
                    rows: s.rows,
                    micros: s.duration.as_micros() as u64,
                    step: log.step_of(s),
                    kind: match s.origin.kind {
                        crate::db::StatementKind::Root => "root",
                        crate::db::StatementKind::PerParent => "per_parent",
                        crate::db::StatementKind::Batch => "batch",
                        crate::db::StatementKind::UserQuery => "user_query",
                    },
                    similar: matches!(repeat, Repeat::Similar { .. }),
                    duplicate: matches!(repeat, Repeat::Duplicate { .. }),
                    n_plus_one: matches!(repeat, Repeat::Similar { .. })
                        && s.origin.kind.is_per_parent(),
                })
                .collect(),
            // The root first, then each relationship path, those with no
            // statement of their own (joined, raise, noload) included.
            loaders: analysis
                .loaders
                .iter()
                .filter(|l| l.path.is_none())
                .chain(analysis.loaders.iter().filter(|l| l.path.is_some()))
                .map(|l| JsonLoader {
                    path: l.path.as_deref(),
                    relationship: &l.loader,
                    strategy: l.strategy.map(|s| s.name()),
                    statements: l.statements,
                    rows: l.rows,
                    micros: l.duration.as_micros() as u64,
                    n_plus_one: l.n_plus_one,
                })
                .chain(
                    outcome
                        .strategies
                        .iter()
                        .filter(|(path, _)| {
                            !analysis
                                .loaders
                                .iter()
                                .any(|l| l.path.as_deref() == Some(path))
                        })
                        .map(|(path, strategy)| JsonLoader {
                            path: Some(path),
                            relationship: outcome
                                .relationships
                                .iter()
                                .find(|(p, _)| p == path)
                                .map_or(path.as_str(), |(_, r)| r.as_str()),
                            strategy: Some(strategy.name()),
                            statements: 0,
                            rows: 0,
                            micros: 0,
                            n_plus_one: false,
                        }),
                )
                .collect(),
            totals: Totals {
                statements: log.statements.len(),
                rows: log.total_rows(),
                micros: log.total_duration().as_micros() as u64,
                duplicated_rows: duplicated_rows(outcome),
            },
            graph: &outcome.graph,
            errors: outcome
                .errors
                .iter()
                .map(|e| JsonError {
                    path: &e.path,
                    parent_pk: e.parent_pk.to_json(),
                    message: &e.message,
                })
                .collect(),
        }
    }
}

/// Writes the JSON reports of `outcomes`, one object (or, for several, an
/// array of them), pretty-printed, straight to `out`.
pub fn write_json(
    outcomes: &[&Outcome],
    many: bool,
    out: impl std::io::Write,
) -> anyhow::Result<()> {
    let analyses: Vec<Analysis> = outcomes.iter().map(|o| analysis::analyze(&o.log)).collect();
    let reports: Vec<JsonReport<'_>> = outcomes
        .iter()
        .zip(&analyses)
        .map(|(o, a)| JsonReport::new(o, a))
        .collect();
    let mut out = std::io::BufWriter::new(out);
    let written = if many {
        serde_json::to_writer_pretty(&mut out, &reports)
    } else {
        serde_json::to_writer_pretty(&mut out, &reports.first())
    };
    use std::io::Write as _;
    let done = written
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    match done {
        // A reader that went away (`| head`): quietly done.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// The report as a JSON value (for tests and callers that want a tree).
pub fn to_json(outcome: &Outcome) -> Value {
    let analysis = analysis::analyze(&outcome.log);
    serde_json::to_value(JsonReport::new(outcome, &analysis)).expect("a report serializes")
}

/// Rows that repeated an object already in the same result: what a join
/// costs in transfer.
pub fn duplicated_rows(outcome: &Outcome) -> usize {
    outcome
        .log
        .statements
        .iter()
        .map(|s| s.distinct.map_or(0, |d| s.rows.saturating_sub(d)))
        .sum()
}

fn repeat_note(repeat: Repeat) -> String {
    match repeat {
        Repeat::Unique => String::new(),
        Repeat::Similar { count } => format!("  ({count} similar)"),
        Repeat::Duplicate { count } => format!("  ({count} duplicates)"),
    }
}

fn heading(outcome: &Outcome) -> String {
    let limit = outcome
        .limit
        .map_or("all".to_string(), |k| format!("limit {k}"));
    let strategies: Vec<String> = outcome
        .strategies
        .iter()
        .map(|(p, s)| format!("{p}: {s}"))
        .collect();
    format!("{} ({limit}) · {}", outcome.root, strategies.join(", "))
}

pub fn to_text(outcome: &Outcome) -> String {
    let analysis = analysis::analyze(&outcome.log);
    let mut out = format!("{}\n\n", heading(outcome));
    for (s, repeat) in outcome.log.statements.iter().zip(&analysis.repeats) {
        let loader = match s.origin.strategy {
            Some(st) => format!("{} · {st}", s.origin.loader),
            None => s.origin.loader.to_string(),
        };
        out.push_str(&format!(
            "#{:<3} {loader:<28} {:>5} {:<4} {:>9}  {}{}\n",
            s.seq,
            s.rows,
            if s.rows == 1 { "row" } else { "rows" },
            format_duration(s.duration),
            outcome.log.step_of(s).unwrap_or_default(),
            repeat_note(*repeat)
        ));
        out.push_str(&format!(
            "     {}\n",
            crate::analysis::shape::fold_key_lists(&s.sql)
        ));
        if !s.params.is_empty() {
            out.push_str(&format!(
                "     {}\n",
                crate::db::value::params_shown(&s.sql, &s.params)
            ));
        }
    }
    out.push_str(&loader_table(&analysis));
    let (n, rows) = (outcome.log.statements.len(), outcome.log.total_rows());
    out.push_str(&format!(
        "\n{n} statement{} · {rows} row{} · {}\n",
        if n == 1 { "" } else { "s" },
        if rows == 1 { "" } else { "s" },
        format_duration(outcome.log.total_duration())
    ));
    if !outcome.errors.is_empty() {
        out.push_str(&format!("\n{} errors:\n", outcome.errors.len()));
        for e in &outcome.errors {
            out.push_str(&format!(
                "  {} of {} {}: {}\n",
                e.path, outcome.root, e.parent_pk, e.message
            ));
        }
    }
    out
}

fn loader_table(analysis: &Analysis) -> String {
    let mut out = String::from("\nper loader:\n");
    for l in &analysis.loaders {
        let strategy = l.strategy.map_or("root".to_string(), |s| s.to_string());
        out.push_str(&format!(
            "  {:<20} {:<16} {:>5} {} {:>7} {} {:>10}{}\n",
            l.loader,
            strategy,
            l.statements,
            if l.statements == 1 { "stmt " } else { "stmts" },
            l.rows,
            if l.rows == 1 { "row " } else { "rows" },
            format_duration(l.duration),
            if l.n_plus_one { "  ⚠ N+1" } else { "" }
        ));
    }
    out
}

pub fn to_markdown(outcome: &Outcome) -> String {
    let analysis = analysis::analyze(&outcome.log);
    let mut out = format!("### {}\n\n", heading(outcome));
    let (n, rows) = (outcome.log.statements.len(), outcome.log.total_rows());
    out.push_str(&format!(
        "{n} statement{} · {rows} row{} · {}\n\n",
        if n == 1 { "" } else { "s" },
        if rows == 1 { "" } else { "s" },
        format_duration(outcome.log.total_duration())
    ));
    out.push_str(
        "| # | loader | strategy | rows | time | caused by |\n|---|---|---|---|---|---|\n",
    );
    for s in &outcome.log.statements {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} |\n",
            s.seq,
            s.origin.loader,
            s.origin
                .strategy
                .map_or("root".to_string(), |st| st.to_string()),
            s.rows,
            format_duration(s.duration),
            outcome
                .log
                .step_of(s)
                .unwrap_or_default()
                .replace('|', "\\|")
        ));
    }
    out.push_str("\n| loader | strategy | statements | rows | N+1 |\n|---|---|---|---|---|\n");
    for l in &analysis.loaders {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            l.loader,
            l.strategy.map_or("root".to_string(), |s| s.to_string()),
            l.statements,
            l.rows,
            if l.n_plus_one { "⚠ yes" } else { "" }
        ));
    }
    out.push_str("\n```sql\n");
    for s in &outcome.log.statements {
        out.push_str(&format!(
            "-- #{} {} {}\n{};\n",
            s.seq,
            s.origin.loader,
            crate::db::value::params_shown(&s.sql, &s.params),
            s.sql
        ));
    }
    out.push_str("```\n");
    if !outcome.errors.is_empty() {
        out.push_str("\nErrors:\n\n");
        for e in &outcome.errors {
            out.push_str(&format!(
                "- `{}` of {} {}: {}\n",
                e.path, outcome.root, e.parent_pk, e.message
            ));
        }
    }
    out
}
