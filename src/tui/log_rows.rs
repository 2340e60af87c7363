//! The rows of the SQL log: a run of similar statements of one key press
//! (the same loader and SQL one after another, other parameters: an N+1)
//! is one row, `×50`, until it is unfolded.

use crate::db::Statement;
use std::collections::HashSet;

/// One row of the log: `count` statements from `first` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogRow {
    pub first: usize,
    pub count: usize,
}

impl LogRow {
    pub fn contains(&self, index: usize) -> bool {
        (self.first..self.first + self.count).contains(&index)
    }
}

/// Runs of similar statements, folded or not.
pub fn groups(statements: &[Statement]) -> Vec<LogRow> {
    let mut out: Vec<LogRow> = Vec::new();
    for (i, s) in statements.iter().enumerate() {
        if let Some(last) = out.last_mut() {
            let first = &statements[last.first];
            if first.section == s.section
                && first.step == s.step
                && first.origin.loader == s.origin.loader
                && first.origin.strategy == s.origin.strategy
                && first.sql == s.sql
            {
                last.count += 1;
                continue;
            }
        }
        out.push(LogRow { first: i, count: 1 });
    }
    out
}

/// The rows shown: each run folded into one row, except the runs whose
/// first statement's `seq` is in `unfolded`, one row per statement.
pub fn rows(statements: &[Statement], unfolded: &HashSet<usize>) -> Vec<LogRow> {
    let mut out = Vec::new();
    for group in groups(statements) {
        if group.count > 1 && unfolded.contains(&statements[group.first].seq) {
            out.extend(
                (group.first..group.first + group.count).map(|first| LogRow { first, count: 1 }),
            );
        } else {
            out.push(group);
        }
    }
    out
}

/// The run a statement belongs to.
pub fn group_of(statements: &[Statement], index: usize) -> Option<LogRow> {
    groups(statements).into_iter().find(|g| g.contains(index))
}
