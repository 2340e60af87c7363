//! `compare --scale 2,3`: the navigation at several sizes (the `--limit`
//! and its multiples), and per strategy how its statement count grows with
//! the parents, as n_plus_one_control asks of a Ruby test: constant
//! (the cure), linear (`k` per parent: the N+1) or batched (`m` per
//! `chunksize` parents: selectin over many parents).

use crate::navigation::Outcome;
use crate::strategy::Strategy;
use std::fmt::Write;

/// The limit `--scale` multiplies when `--limit` is not given.
pub const DEFAULT_BASE: i64 = 10;

/// One strategy's runs at each size.
#[derive(Debug, serde::Serialize)]
pub struct Series {
    #[serde(serialize_with = "as_text")]
    pub strategy: Strategy,
    pub limits: Vec<i64>,
    /// The parents each run loaded (fewer than the limit at the end of the
    /// table).
    pub roots: Vec<usize>,
    pub statements: Vec<usize>,
    #[serde(flatten)]
    pub verdict: Verdict,
}

fn as_text<S: serde::Serializer>(strategy: &Strategy, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&strategy.to_string())
}

/// How a count grows with the parents.
#[derive(Debug, PartialEq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The same at every size.
    Constant,
    /// `per_parent` more statements for each parent more.
    Linear { per_parent: usize },
    /// `per_batch` more for each `chunksize` parents more.
    Batched { per_batch: usize, chunksize: usize },
    /// Grows, but not in step with the parents (nested paths whose
    /// children vary in number), or not at all measurable (one size).
    Grows,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Constant => f.write_str("constant"),
            Verdict::Linear { per_parent } => write!(f, "linear: {per_parent} per parent (N+1)"),
            Verdict::Batched {
                per_batch,
                chunksize,
            } => write!(f, "batched: {per_batch} per {chunksize} parents"),
            Verdict::Grows => f.write_str("grows, not in step with the parents"),
        }
    }
}

/// The verdict for statement counts `counts` at parent counts `roots`,
/// trying each batch size in `chunksizes`.
pub fn verdict(roots: &[usize], counts: &[usize], chunksizes: &[usize]) -> Verdict {
    let (Some(&n0), Some(&c0)) = (roots.first(), counts.first()) else {
        return Verdict::Grows;
    };
    if counts.iter().all(|c| *c == c0) {
        return Verdict::Constant;
    }
    let grows_by = |step: &dyn Fn(usize) -> usize| -> Option<usize> {
        let mut per = None;
        for (n, c) in roots.iter().zip(counts).skip(1) {
            let (dn, dc) = (step(*n).checked_sub(step(n0))?, c.checked_sub(c0)?);
            if dn == 0 {
                if dc != 0 {
                    return None;
                }
                continue;
            }
            if dc % dn != 0 || per.is_some_and(|p| p != dc / dn) {
                return None;
            }
            per = Some(dc / dn);
        }
        per.filter(|p| *p > 0)
    };
    if let Some(per_parent) = grows_by(&|n| n) {
        return Verdict::Linear { per_parent };
    }
    for &chunksize in chunksizes {
        if let Some(per_batch) = grows_by(&|n: usize| n.div_ceil(chunksize)) {
            return Verdict::Batched {
                per_batch,
                chunksize,
            };
        }
    }
    Verdict::Grows
}

/// Each strategy's series from the runs at each limit (`runs[i]` is every
/// strategy's outcome at `limits[i]`).
pub fn series(
    limits: &[i64],
    runs: &[Vec<(Strategy, Outcome)>],
    chunksizes: &[usize],
) -> Vec<Series> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    first
        .iter()
        .map(|(strategy, _)| {
            let of = |run: &Vec<(Strategy, Outcome)>| {
                run.iter()
                    .find(|(s, _)| s == strategy)
                    .map(|(_, o)| (o.graph.len(), o.log.statements.len()))
                    .unwrap_or_default()
            };
            let (roots, statements): (Vec<usize>, Vec<usize>) = runs.iter().map(of).unzip();
            Series {
                strategy: *strategy,
                limits: limits.to_vec(),
                verdict: verdict(&roots, &statements, chunksizes),
                roots,
                statements,
            }
        })
        .collect()
}

/// The series as a table, one row a strategy.
pub fn text(heading: &str, series: &[Series]) -> String {
    let Some(first) = series.first() else {
        return String::new();
    };
    let mut out = format!("{heading}\n\n{:<22}", "statements at limit");
    for limit in &first.limits {
        let _ = write!(out, " {limit:>7}");
    }
    out.push_str("  verdict\n");
    for s in series {
        let _ = write!(out, "{:<22}", s.strategy.to_string());
        for count in &s.statements {
            let _ = write!(out, " {count:>7}");
        }
        let _ = writeln!(out, "  {}", s.verdict);
    }
    if let Some(short) = first
        .roots
        .iter()
        .zip(&first.limits)
        .find(|(roots, limit)| (**roots as i64) < **limit)
    {
        let _ = writeln!(
            out,
            "\n(at limit {} only {} parents exist: the verdicts use the parents loaded)",
            short.1, short.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        let at = [10, 20, 30];
        assert_eq!(verdict(&at, &[2, 2, 2], &[500]), Verdict::Constant);
        assert_eq!(
            verdict(&at, &[11, 21, 31], &[500]),
            Verdict::Linear { per_parent: 1 }
        );
        assert_eq!(
            verdict(&at, &[21, 41, 61], &[500]),
            Verdict::Linear { per_parent: 2 }
        );
        assert_eq!(
            verdict(&[400, 800, 1200], &[2, 3, 4], &[500]),
            Verdict::Batched {
                per_batch: 1,
                chunksize: 500
            }
        );
        assert_eq!(verdict(&at, &[11, 25, 31], &[500]), Verdict::Grows);
        // Parents run out: the verdict uses those loaded.
        assert_eq!(
            verdict(&[10, 20, 20], &[11, 21, 21], &[500]),
            Verdict::Linear { per_parent: 1 }
        );
    }
}
