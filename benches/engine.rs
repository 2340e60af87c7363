//! Engine overhead: every loader strategy run through loadscope's engine
//! (`navigation::run_without_graph`: session, identity map, loaders,
//! traced connection and its log; not the report graph of `trace`)
//! against exactly the same SQL statements run through plain rusqlite.
//!
//! The database is generated once per run: 10,000 users x ~10 posts
//! (`loadscope sample --users 10000 --posts-per-user 10 --seed 1`). The
//! navigation is "every user, then each user's posts" with the strategy
//! under test on `posts`. The baseline first captures the engine's statement
//! log, then each iteration runs those statements in order with
//! `prepare_cached` and reads every column of every row into a `Value`.
//!
//! Run with `cargo bench --bench engine`; results are in BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use loadscope::cli::sample::{SampleOptions, generate};
use loadscope::cli::workspace::SAMPLE_MODEL;
use loadscope::db::open::open_read_only;
use loadscope::db::{Schema, TracedConnection};
use loadscope::loader::Strategy;
use loadscope::model::{EntityId, Model};
use loadscope::navigation::{self, Navigation};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, params_from_iter};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const USERS: u64 = 10_000;
const POSTS_PER_USER: u64 = 10;

fn navigation(strategy: Strategy) -> Navigation {
    Navigation {
        root: EntityId(0),
        limit: None,
        expand: vec!["posts".into()],
        strategies: vec![("posts".into(), strategy)],
        queries: Vec::new(),
    }
}

/// The statements the engine issued for one navigation.
struct Captured {
    statements: Vec<(Arc<str>, Vec<Value>)>,
    rows: usize,
}

fn capture(model: &Model, conn: &TracedConnection, strategy: Strategy) -> Captured {
    let outcome = navigation::run(model, conn, &navigation(strategy)).expect("navigation runs");
    Captured {
        statements: outcome
            .log
            .statements
            .iter()
            .map(|s| (s.sql.clone(), s.params.clone()))
            .collect(),
        rows: outcome.log.total_rows(),
    }
}

/// The baseline: the same statements on a plain connection, every value of
/// every row materialised (and kept until the navigation ends, as the
/// engine keeps its objects). Returns the number of rows.
fn run_plain(conn: &Connection, statements: &[(Arc<str>, Vec<Value>)]) -> usize {
    let mut values: Vec<Value> = Vec::new();
    let mut rows_seen = 0;
    for (sql, params) in statements {
        let mut stmt = conn.prepare_cached(sql).expect("prepare");
        let columns = stmt.column_count();
        let mut rows = stmt.query(params_from_iter(params.iter())).expect("query");
        while let Some(row) = rows.next().expect("step") {
            for i in 0..columns {
                values.push(row.get::<_, Value>(i).expect("value"));
            }
            rows_seen += 1;
        }
    }
    black_box(&values);
    rows_seen
}

fn open_plain(path: &Path) -> Connection {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).expect("open plain connection");
    // The same statement cache size the traced connection uses.
    conn.set_prepared_statement_cache_capacity(256);
    conn
}

fn engine(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("blog-10k.db");
    let started = Instant::now();
    let summary = generate(&SampleOptions {
        users: USERS,
        posts_per_user: POSTS_PER_USER,
        seed: 1,
        out: path.clone(),
        force: true,
    })
    .expect("generate the sample database");
    eprintln!(
        "database: {} users, {} posts, {} comments, generated in {:.1?}",
        summary.users,
        summary.posts,
        summary.comments,
        started.elapsed()
    );

    let conn = TracedConnection::new(open_read_only(&path).expect("open read-only"));
    let schema = Schema::read(conn.sqlite().unwrap()).expect("schema");
    let model = Model::from_text("blog.toml", SAMPLE_MODEL.to_string(), &schema, false)
        .expect("sample model");
    let plain = open_plain(&path);

    for strategy in Strategy::ALL {
        let name = strategy.name();
        let captured = capture(&model, &conn, strategy);
        // The baseline must see exactly what the engine saw.
        assert_eq!(
            run_plain(&plain, &captured.statements),
            captured.rows,
            "{name}: row counts differ"
        );
        eprintln!(
            "{name}: {} statements, {} rows per navigation",
            captured.statements.len(),
            captured.rows
        );

        // Engine and baseline of one strategy run back to back, so a change
        // in machine load between strategies affects both sides alike.
        let nav = navigation(strategy);
        let mut group = c.benchmark_group("engine");
        group.bench_function(name, |b| {
            b.iter(|| {
                // The session and the log are dropped inside the timed loop,
                // as the baseline drops its values. The object graph is a
                // report built for `trace`, not engine work: left out here.
                let outcome =
                    navigation::run_without_graph(&model, &conn, &nav).expect("navigation runs");
                black_box(outcome)
            })
        });
        group.finish();
        let mut group = c.benchmark_group("rusqlite");
        group.bench_function(name, |b| {
            b.iter(|| black_box(run_plain(&plain, &captured.statements)))
        });
        group.finish();
    }
    drop(plain);
    drop(conn);
    drop(dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = engine
}
criterion_main!(benches);
