//! Printing a navigation's outcome: text for people, JSON for programs (a
//! contract, see the README), Markdown for posts.

use crate::analysis::{self, Analysis, Repeat, format_duration};
use crate::db::value::{value_to_json, value_to_text};
use crate::navigation::Outcome;
use serde_json::{Value, json};

pub fn to_json(outcome: &Outcome) -> Value {
    let analysis = analysis::analyze(&outcome.log);
    let statements: Vec<Value> = outcome
        .log
        .statements
        .iter()
        .map(|s| {
            json!({
                "seq": s.seq,
                "loader": &*s.origin.loader,
                "path": s.origin.path.as_deref(),
                "strategy": s.origin.strategy.map(|st| st.name()),
                "sql": &*s.sql,
                "params": s.params.iter().map(value_to_json).collect::<Vec<_>>(),
                "rows": s.rows,
                "micros": s.duration.as_micros() as u64,
                "step": outcome.log.step_of(s),
            })
        })
        .collect();
    let loaders: Vec<Value> = analysis
        .loaders
        .iter()
        .filter(|l| l.path.is_some())
        .map(|l| {
            json!({
                "path": l.path,
                "relationship": l.loader,
                "strategy": l.strategy.map(|s| s.name()),
                "statements": l.statements,
                "rows": l.rows,
                "micros": l.duration.as_micros() as u64,
                "n_plus_one": l.n_plus_one,
            })
        })
        .collect();
    let strategies: serde_json::Map<String, Value> = outcome
        .strategies
        .iter()
        .map(|(p, s)| (p.clone(), Value::from(s.name())))
        .collect();
    json!({
        "root": outcome.root,
        "limit": outcome.limit,
        "strategies": strategies,
        "statements": statements,
        "loaders": loaders,
        "totals": {
            "statements": outcome.log.statements.len(),
            "rows": outcome.log.total_rows(),
            "micros": outcome.log.total_duration().as_micros() as u64,
            "duplicated_rows": duplicated_rows(outcome),
        },
        "graph": outcome.graph.iter().map(|g| g.to_json()).collect::<Vec<_>>(),
        "errors": outcome.errors.iter().map(|e| json!({
            "path": e.path, "parent_pk": e.parent_pk.to_json(), "message": e.message,
        })).collect::<Vec<_>>(),
    })
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

fn params_text(params: &[rusqlite::types::Value]) -> String {
    let shown: Vec<String> = params.iter().take(12).map(value_to_text).collect();
    let more = if params.len() > 12 {
        format!(", … {} more", params.len() - 12)
    } else {
        String::new()
    };
    format!("[{}{more}]", shown.join(", "))
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
            "#{:<3} {loader:<28} {:>5} rows {:>9}  {}{}\n",
            s.seq,
            s.rows,
            format_duration(s.duration),
            outcome.log.step_of(s).unwrap_or_default(),
            repeat_note(*repeat)
        ));
        out.push_str(&format!("     {}\n", s.sql));
        if !s.params.is_empty() {
            out.push_str(&format!("     {}\n", params_text(&s.params)));
        }
    }
    out.push_str(&loader_table(&analysis));
    out.push_str(&format!(
        "\n{} statements · {} rows · {}\n",
        outcome.log.statements.len(),
        outcome.log.total_rows(),
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
            "  {:<20} {:<16} {:>5} {} {:>7} rows {:>10}{}\n",
            l.loader,
            strategy,
            l.statements,
            if l.statements == 1 { "stmt " } else { "stmts" },
            l.rows,
            format_duration(l.duration),
            if l.n_plus_one { "  ⚠ N+1" } else { "" }
        ));
    }
    out
}

pub fn to_markdown(outcome: &Outcome) -> String {
    let analysis = analysis::analyze(&outcome.log);
    let mut out = format!("### {}\n\n", heading(outcome));
    out.push_str(&format!(
        "{} statements · {} rows · {}\n\n",
        outcome.log.statements.len(),
        outcome.log.total_rows(),
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
            params_text(&s.params),
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
