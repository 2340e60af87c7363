//! Reading a statement log the way Django Debug Toolbar's SQL panel does:
//! statements with the same SQL and different parameters are *similar*
//! (the N+1 signature when one loader issues one per parent), the same
//! SQL with the same parameters is a *duplicate*, and per-loader totals.

pub mod shape;

use crate::db::{QueryLog, Statement};
use crate::strategy::Strategy;
use std::collections::HashMap;
use std::time::Duration;

/// Totals for one loader (a root query or a relationship path).
#[derive(Clone, Debug, PartialEq)]
pub struct LoaderSummary {
    /// `User` or `User.posts`.
    pub loader: String,
    pub path: Option<String>,
    pub strategy: Option<Strategy>,
    pub statements: usize,
    pub rows: usize,
    pub duration: Duration,
    /// One statement per parent: the same SQL again and again.
    pub n_plus_one: bool,
}

/// How a statement relates to the others of its log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// The only statement with its SQL.
    Unique,
    /// `count` statements share its SQL with other parameters.
    Similar { count: usize },
    /// `count` statements share its SQL and its parameters.
    Duplicate { count: usize },
}

#[derive(Clone, Debug, Default)]
pub struct Analysis {
    pub loaders: Vec<LoaderSummary>,
    /// Per statement, in log order.
    pub repeats: Vec<Repeat>,
}

pub fn analyze(log: &QueryLog) -> Analysis {
    analyze_statements(&log.statements)
}

pub fn analyze_statements(statements: &[Statement]) -> Analysis {
    let mut by_sql: HashMap<&str, usize> = HashMap::new();
    let mut by_sql_params: HashMap<(&str, String), usize> = HashMap::new();
    for s in statements {
        *by_sql.entry(&s.sql).or_default() += 1;
        *by_sql_params
            .entry((&s.sql, format!("{:?}", s.params)))
            .or_default() += 1;
    }
    let repeats = statements
        .iter()
        .map(|s| {
            let same_params = by_sql_params[&(&*s.sql, format!("{:?}", s.params))];
            if same_params > 1 {
                Repeat::Duplicate { count: same_params }
            } else if by_sql[&*s.sql] > 1 {
                Repeat::Similar {
                    count: by_sql[&*s.sql],
                }
            } else {
                Repeat::Unique
            }
        })
        .collect();

    let mut loaders: Vec<LoaderSummary> = Vec::new();
    let mut index: HashMap<(String, Option<String>), usize> = HashMap::new();
    let mut per_loader_sql: Vec<HashMap<&str, Vec<String>>> = Vec::new();
    for s in statements {
        let key = (
            s.origin.loader.to_string(),
            s.origin.path.as_deref().map(str::to_string),
        );
        let i = *index.entry(key.clone()).or_insert_with(|| {
            loaders.push(LoaderSummary {
                loader: key.0.clone(),
                path: key.1.clone(),
                strategy: s.origin.strategy,
                statements: 0,
                rows: 0,
                duration: Duration::ZERO,
                n_plus_one: false,
            });
            per_loader_sql.push(HashMap::new());
            loaders.len() - 1
        });
        let summary = &mut loaders[i];
        summary.statements += 1;
        summary.rows += s.rows;
        summary.duration += s.duration;
        // One statement per parent: the same SQL for different parents.
        // The same SQL with the same parameters again (a dynamic query run
        // twice for one user) is a duplicate, not an N+1.
        if s.origin.kind.is_per_parent() {
            let parents = per_loader_sql[i].entry(&s.sql).or_default();
            let params = format!("{:?}", s.params);
            if !parents.contains(&params) {
                parents.push(params);
            }
            if parents.len() > 1 {
                summary.n_plus_one = true;
            }
        }
    }
    Analysis { loaders, repeats }
}

/// `1.23 ms`, `45 µs`: short, for narrow columns.
pub fn format_duration(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else if micros < 1e6 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

/// [`format_duration`] right-aligned in 8 columns, so that the text
/// around it does not move as timings change.
pub fn format_duration_fixed(d: Duration) -> String {
    format!("{:>8}", format_duration(d))
}

/// `1,000,000`
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Origin, Statement, StatementKind};
    use rusqlite::types::Value;

    fn statement(seq: usize, loader: &str, sql: &str, param: i64) -> Statement {
        Statement {
            seq,
            origin: Origin {
                loader: loader.into(),
                path: Some("posts".into()),
                strategy: Some(Strategy::Select),
                kind: StatementKind::PerParent,
            },
            sql: sql.into(),
            params: vec![Value::Integer(param)],
            rows: 1,
            duration: Duration::ZERO,
            step: None,
            section: 0,
            distinct: None,
        }
    }

    const LAZY: &str = "SELECT posts.id FROM posts WHERE ? = posts.user_id";

    #[test]
    fn one_statement_per_parent_is_an_n_plus_one() {
        let log = [
            statement(1, "User.posts", LAZY, 1),
            statement(2, "User.posts", LAZY, 2),
        ];
        let analysis = analyze_statements(&log);
        assert!(analysis.loaders[0].n_plus_one);
        assert_eq!(analysis.repeats, vec![Repeat::Similar { count: 2 }; 2]);
    }

    #[test]
    fn the_same_statement_again_is_a_duplicate_not_an_n_plus_one() {
        let log = [
            statement(1, "User.posts", LAZY, 1),
            statement(2, "User.posts", LAZY, 1),
        ];
        let analysis = analyze_statements(&log);
        assert!(!analysis.loaders[0].n_plus_one);
        assert_eq!(analysis.repeats, vec![Repeat::Duplicate { count: 2 }; 2]);
    }

    #[test]
    fn batches_are_not_an_n_plus_one() {
        let batch = "SELECT posts.user_id FROM posts WHERE posts.user_id IN (?, ?)";
        let mut log = [
            statement(1, "User.posts", batch, 1),
            statement(2, "User.posts", batch, 3),
        ];
        for s in &mut log {
            s.origin.kind = StatementKind::Batch;
            s.origin.strategy = Some(Strategy::Selectin);
        }
        assert!(!analyze_statements(&log).loaders[0].n_plus_one);
    }
}
