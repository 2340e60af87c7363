//! The floor: what a navigation costs with nothing but rusqlite.
//!
//! Dev-only, for `scripts/floor_bench.sh` (results in BENCHMARKS.md, "Whole
//! process against the floor"). It replays the statements of a
//! `loadscope trace --format json` report on a plain read-only connection
//! to the same database: every distinct SQL prepared once (`prepare_cached`,
//! with the traced connection's cache size), run with the report's
//! parameters in the report's order, every row stepped through and every
//! column read as an owned `Value` and kept until the end, as an ORM keeps
//! the objects it materialises. Nothing else: no session, no identity map,
//! no log, no report. It prints one line, `statements N rows N`, and fails
//! if a statement's row count differs from the report's.
//!
//! ```sh
//! cargo build --release --example floor
//! target/release/loadscope trace /tmp/bench10k.db --expand posts \
//!     --strategy selectin --format json > /tmp/selectin.json
//! target/release/examples/floor /tmp/selectin.json /tmp/bench10k.db
//! ```
//!
//! Reading the report is not part of the floor: it happens in
//! [`load_statements`], which the benchmark leaves out of its count
//! (callgrind `--toggle-collect`), so it is kept out of line.

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, params_from_iter};
use serde::Deserialize;
use std::hint::black_box;

/// The part of a trace report the floor needs.
#[derive(Deserialize)]
struct Report {
    statements: Vec<Statement>,
}

#[derive(Deserialize)]
struct Statement {
    sql: String,
    params: Vec<serde_json::Value>,
    rows: usize,
}

/// Reads the report and turns each statement's parameters into SQLite
/// values (the report writes them as JSON numbers, strings and nulls).
#[inline(never)]
fn load_statements(path: &str) -> Vec<(String, Vec<Value>, usize)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let report: Report = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    report
        .statements
        .into_iter()
        .map(|s| {
            let params = s.params.iter().map(to_value).collect();
            (s.sql, params, s.rows)
        })
        .collect()
}

fn to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Real(n.as_f64().expect("a finite number")),
        },
        serde_json::Value::String(s) => Value::Text(s.clone()),
        other => panic!("parameter {other} has no SQLite form here"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, report, db] = args.as_slice() else {
        eprintln!("usage: floor REPORT.json DB");
        std::process::exit(2);
    };
    let statements = load_statements(report);

    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(db, flags).expect("open the database read-only");
    conn.set_prepared_statement_cache_capacity(256);

    let mut values: Vec<Value> = Vec::new();
    let mut total_rows = 0;
    for (sql, params, expected_rows) in &statements {
        let mut stmt = conn.prepare_cached(sql).expect("prepare");
        let columns = stmt.column_count();
        let mut rows = stmt.query(params_from_iter(params)).expect("query");
        let mut n = 0;
        while let Some(row) = rows.next().expect("step") {
            for i in 0..columns {
                values.push(row.get::<_, Value>(i).expect("read a column"));
            }
            n += 1;
        }
        assert_eq!(n, *expected_rows, "rows of {sql} with {params:?}");
        total_rows += n;
    }
    black_box(&values);
    println!("statements {} rows {}", statements.len(), total_rows);
}
