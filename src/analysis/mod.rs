//! Reading a statement log the way Django Debug Toolbar's SQL panel does:
//! statements with the same SQL and different parameters are *similar*
//! (the N+1 signature when one loader issues one per parent), the same
//! SQL with the same parameters is a *duplicate*, and per-loader totals.

pub mod shape;

use crate::db::{QueryLog, Statement};
use crate::strategy::Strategy;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
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
    // Hash maps keyed by the SQL and the parameters themselves: linear in
    // the number of statements (no formatting, no list searched per one).
    let mut by_sql: HashMap<&str, usize> = HashMap::default();
    let mut by_sql_params: HashMap<(&str, Params<'_>), usize> = HashMap::default();
    for s in statements {
        *by_sql.entry(&s.sql).or_default() += 1;
        *by_sql_params
            .entry((&s.sql, Params(&s.params)))
            .or_default() += 1;
    }
    let repeats = statements
        .iter()
        .map(|s| {
            let same_params = by_sql_params[&(&*s.sql, Params(&s.params))];
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
    let mut index: HashMap<(&str, Option<&str>), usize> = HashMap::default();
    let mut per_loader_sql: Vec<HashMap<&str, HashSet<Params<'_>>>> = Vec::new();
    for s in statements {
        let key = (&*s.origin.loader, s.origin.path.as_deref());
        let i = *index.entry(key).or_insert_with(|| {
            loaders.push(LoaderSummary {
                loader: key.0.to_string(),
                path: key.1.map(str::to_string),
                strategy: s.origin.strategy,
                statements: 0,
                rows: 0,
                duration: Duration::ZERO,
                n_plus_one: false,
            });
            per_loader_sql.push(HashMap::default());
            loaders.len() - 1
        });
        let summary = &mut loaders[i];
        summary.statements += 1;
        summary.rows += s.rows;
        summary.duration += s.duration;
        // One statement per parent: the same SQL for different parents.
        // The same SQL with the same parameters again (a dynamic query run
        // twice for one user) is a duplicate, not an N+1.
        if s.origin.kind.is_per_parent() && !summary.n_plus_one {
            let parents = per_loader_sql[i].entry(&s.sql).or_default();
            parents.insert(Params(&s.params));
            if parents.len() > 1 {
                summary.n_plus_one = true;
            }
        }
    }
    Analysis { loaders, repeats }
}

/// A statement's parameters as a key: equal when every value is (reals
/// by their bits, so that a NaN equals itself), hashed the same way.
#[derive(Clone, Copy)]
pub struct Params<'a>(pub &'a [rusqlite::types::Value]);

impl PartialEq for Params<'_> {
    fn eq(&self, other: &Self) -> bool {
        use rusqlite::types::Value::*;
        self.0.len() == other.0.len()
            && self.0.iter().zip(other.0).all(|(a, b)| match (a, b) {
                (Real(x), Real(y)) => x.to_bits() == y.to_bits(),
                (a, b) => a == b,
            })
    }
}

impl Eq for Params<'_> {}

impl std::hash::Hash for Params<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        use rusqlite::types::Value::*;
        state.write_usize(self.0.len());
        for v in self.0 {
            match v {
                Null => state.write_u8(0),
                Integer(i) => {
                    state.write_u8(1);
                    state.write_i64(*i);
                }
                Real(f) => {
                    state.write_u8(2);
                    state.write_u64(f.to_bits());
                }
                Text(t) => {
                    state.write_u8(3);
                    t.hash(state);
                }
                Blob(b) => {
                    state.write_u8(4);
                    b.hash(state);
                }
            }
        }
    }
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
