//! loadscope on a PostgreSQL server, as a user runs it: the URL given
//! positionally or as `--db`, the sample made with `sample --out`, errors
//! as one line, values as PostgreSQL holds them, and not one changed byte.
//! The server is the tests' own throwaway cluster (`tests/common/pg.rs`).

mod common;

use common::pg::{Cluster, cluster};
use common::tmux::Tmux;
use common::{loadscope, stderr};
use loadscope::db::postgresql::PgConnection;
use loadscope::db::value::value_to_text;
use serde_json::Value;

const BLOG: &str = include_str!("../sample-db/blog.sql");

/// A new database holding the sample, and its URL.
fn blog(pg: &Cluster, hint: &str) -> (String, String) {
    let url = pg.new_database(hint);
    let db = name_of(&url);
    pg.psql(&db, BLOG);
    pg.psql(&db, "ANALYZE;");
    (url, db)
}

fn name_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

/// Every table's rows, hashed in a fixed order: equal before and after
/// means not one byte changed. Large objects and sequences count too.
fn checksums(pg: &Cluster, db: &str) -> String {
    let tables = pg.psql(
        db,
        "SELECT quote_ident(relname) FROM pg_class \
         WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY relname;",
    );
    let mut sums = String::new();
    for table in tables.lines() {
        sums += &pg.psql(
            db,
            &format!(
                "SELECT '{table} ' || count(*) || ' ' || \
                 md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t;"
            ),
        );
    }
    sums += &pg.psql(
        db,
        "SELECT 'large objects ' || count(*) FROM pg_largeobject_metadata;",
    );
    sums
}

fn run_json(args: &[&str]) -> Value {
    let out = loadscope(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn trace_takes_the_url_positionally_or_as_db_and_shows_psycopg2_sql() {
    let pg = cluster();
    let (url, _) = blog(pg, "trace");
    let args = [
        "--expand",
        "posts",
        "--strategy",
        "posts=selectin",
        "--limit",
        "3",
        "--format",
        "json",
    ];
    let positional = run_json(&[&["trace", url.as_str()], &args[..]].concat());
    let flag = run_json(&[&["trace", "--db", url.as_str()], &args[..]].concat());
    let statements = positional["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    assert_eq!(
        statements[0]["sql"],
        "SELECT users.id, users.name, users.email, users.manager_id FROM users \
         ORDER BY users.id LIMIT %(param_1)s"
    );
    assert_eq!(statements[0]["params"], serde_json::json!([3]));
    assert_eq!(
        statements[1]["sql"],
        "SELECT posts.user_id, posts.id, posts.title, posts.body, posts.created_at FROM posts \
         WHERE posts.user_id IN (%(primary_keys_1)s, %(primary_keys_2)s, %(primary_keys_3)s)"
    );
    assert_eq!(statements[1]["rows"], 5);
    for (a, b) in statements
        .iter()
        .zip(flag["statements"].as_array().unwrap())
    {
        assert_eq!(
            (&a["sql"], &a["params"], &a["rows"]),
            (&b["sql"], &b["params"], &b["rows"])
        );
    }
    assert_eq!(positional["graph"], flag["graph"]);
    assert_eq!(positional["graph"][0]["label"], "John");

    // The text report names the binds.
    let out = loadscope(&["trace", &url, "--expand", "posts", "--limit", "2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("{param_1: 2}"), "{text}");
    assert!(text.contains("WHERE %(param_1)s = posts.user_id"), "{text}");
    assert!(text.contains("{param_1: 1}"), "{text}");
}

#[test]
fn driver_psycopg_shows_psycopg_3s_casts() {
    let pg = cluster();
    let (url, _) = blog(pg, "driver");
    let args = [
        "--expand",
        "posts",
        "--strategy",
        "posts=selectin",
        "--limit",
        "2",
    ];
    let report = run_json(
        &[
            &["trace", url.as_str(), "--driver", "psycopg"],
            &args[..],
            &["--format", "json"],
        ]
        .concat(),
    );
    let sql: Vec<&str> = report["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sql"].as_str().unwrap())
        .collect();
    assert!(sql[0].ends_with("LIMIT %(param_1)s::INTEGER"), "{}", sql[0]);
    assert!(
        sql[1].ends_with("IN (%(primary_keys_1)s::INTEGER, %(primary_keys_2)s::INTEGER)"),
        "{}",
        sql[1]
    );
    // The same rows: only the display form differs.
    assert_eq!(report["statements"][1]["rows"], 5);

    let sqlite = loadscope(&["trace", "--driver", "psycopg"]);
    assert_eq!(sqlite.status.code(), Some(2));
    assert!(
        stderr(&sqlite).contains("--driver is for PostgreSQL"),
        "{}",
        stderr(&sqlite)
    );
}

#[test]
fn compare_and_model_read_the_server() {
    let pg = cluster();
    let (url, _) = blog(pg, "compare");
    let out = loadscope(&["model", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let model = String::from_utf8_lossy(&out.stdout);
    for table in [
        "\"users\"",
        "\"posts\"",
        "\"comments\"",
        "\"tags\"",
        "\"post_tags\"",
    ] {
        assert!(model.contains(table), "{table} in\n{model}");
    }

    let report = run_json(&[
        "compare",
        "--db",
        &url,
        "--model",
        "assets/models/blog.toml",
        "--expand",
        "posts",
        "--limit",
        "10",
        "--format",
        "json",
    ]);
    let statements = |strategy: &str| {
        report
            .as_array()
            .unwrap()
            .iter()
            .find(|run| run["strategies"]["posts"] == strategy)
            .unwrap_or_else(|| panic!("{strategy} in {report}"))["statements"]
            .as_array()
            .unwrap()
            .len()
    };
    // N+1 under select: the root and one per user; one batch for selectin;
    // folded into the root for joined.
    assert_eq!(statements("select"), 11);
    assert_eq!(statements("selectin"), 2);
    assert_eq!(statements("joined"), 1);
}

#[test]
fn sample_out_makes_a_new_database_and_refuses_an_existing_one() {
    let pg = cluster();
    let url = pg.url("made_by_sample");
    let out = loadscope(&["sample", "--users", "50", "--out", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        pg.psql("made_by_sample", "SELECT count(*) FROM users;"),
        "50\n"
    );
    // The same rows as the SQLite file of the same size.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sample.db");
    let out = loadscope(&["sample", "--users", "50", "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sqlite = rusqlite::Connection::open(&file).unwrap();
    for (table, text) in [
        ("users", "name || email"),
        ("posts", "title || body || user_id || created_at"),
        ("comments", "body || post_id || user_id"),
        ("tags", "name"),
        ("post_tags", "post_id || '-' || tag_id"),
    ] {
        let file_rows: String = sqlite
            .query_row(
                &format!("SELECT count(*) || ' ' || sum(length({text})) FROM {table}"),
                [],
                |r| r.get(0),
            )
            .unwrap();
        let server_rows = pg.psql(
            "made_by_sample",
            &format!("SELECT count(*) || ' ' || sum(length({text})) FROM {table};"),
        );
        assert_eq!(server_rows.trim(), file_rows, "{table}");
    }
    let trace = run_json(&[
        "trace", &url, "--expand", "posts", "--limit", "1", "--format", "json",
    ]);
    assert_eq!(trace["statements"][1]["rows"], 18);

    let before = checksums(pg, "made_by_sample");
    let again = loadscope(&["sample", "--users", "10", "--out", &url]);
    assert_eq!(again.status.code(), Some(1));
    let message = stderr(&again);
    assert!(
        message.contains("database `made_by_sample` already exists"),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert_eq!(checksums(pg, "made_by_sample"), before);
}

#[test]
fn connection_problems_are_one_line_and_exit_1() {
    let pg = cluster();
    let (url, db) = blog(pg, "errors");
    pg.psql(&db, "CREATE ROLE cannot_log_in NOLOGIN;");
    let port = pg.port();
    let cases = [
        (
            format!("postgresql://postgres@127.0.0.1:{}/x", closed_port()),
            "Connection refused",
        ),
        (
            format!("postgresql://postgres@127.0.0.1:{port}/no_such_db"),
            "database \"no_such_db\" does not exist",
        ),
        (
            format!("postgresql://cannot_log_in@127.0.0.1:{port}/{db}"),
            "role \"cannot_log_in\" is not permitted to log in",
        ),
        (
            "postgresql://postgres@[nowhere/x".to_string(),
            "expected postgresql://USER@HOST:PORT/DATABASE",
        ),
        (format!("{url}?sslmode=require"), "TLS"),
        (
            format!("postgresql://postgres@127.0.0.1:{port}/postgres"),
            "no tables on the search_path",
        ),
    ];
    for (target, expected) in cases {
        for command in ["trace", "compare", "model"] {
            let out = loadscope(&[command, &target]);
            let message = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{command} {target}: {message}");
            assert!(message.starts_with("error: "), "{message}");
            assert!(message.contains(expected), "{command} {target}: {message}");
            assert_eq!(message.trim().lines().count(), 1, "{message}");
        }
    }
}

/// A port nothing listens on: one the OS just handed out and took back.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_environment_fills_in_what_the_url_leaves_out() {
    let pg = cluster();
    let (_, db) = blog(pg, "environment");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadscope"))
        .args([
            "trace",
            &format!("postgresql:///{db}"),
            "--expand",
            "posts",
            "--limit",
            "1",
        ])
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", pg.port().to_string())
        .env("PGUSER", "postgres")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("WHERE %(param_1)s = posts.user_id"), "{text}");
}

#[test]
fn values_show_as_postgresql_holds_them() {
    let pg = cluster();
    let url = pg.new_database("values");
    pg.psql(
        &name_of(&url),
        "CREATE TYPE mood AS ENUM ('calm', 'busy');
         CREATE TABLE things (
             id bigint PRIMARY KEY, code uuid, price numeric(10, 2), ratio double precision,
             active boolean, made timestamp, seen timestamptz, day date, meta jsonb, doc json,
             tags text[], feel mood, wait interval, note varchar(20), small smallint);
         INSERT INTO things VALUES (
             9007199254740993, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1234.50, 0.25,
             true, '2026-12-04 10:30:00', '2026-12-04 10:30:00+02', '2026-12-04',
             '{\"b\": [1, 2]}', '{\"a\":1}', '{x,y}', 'busy', '1 day 02:00:00', 'note', -3);",
    );
    let conn = PgConnection::connect(&url).unwrap();
    let mut shown = Vec::new();
    conn.query("SELECT * FROM things", &[], |row| {
        shown = row.iter().map(value_to_text).collect();
        Ok(())
    })
    .unwrap();
    assert_eq!(
        shown,
        [
            "9007199254740993",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "1234.50",
            "0.25",
            "true",
            "2026-12-04 10:30:00",
            "2026-12-04 08:30:00+00",
            "2026-12-04",
            "{\"b\": [1, 2]}",
            "{\"a\":1}",
            "{x,y}",
            "busy",
            "1 day 02:00:00",
            "note",
            "-3",
        ]
    );
    // A bigint key beyond 2^53, exact through the whole engine.
    let trace = run_json(&["trace", &url, "--format", "json"]);
    assert_eq!(trace["graph"][0]["pk"], 9007199254740993_i64);
}

#[test]
fn every_session_is_read_only_even_after_a_commit() {
    let pg = cluster();
    let (url, db) = blog(pg, "read only");
    let before = checksums(pg, &db);
    let conn = PgConnection::connect(&url).unwrap();
    let refused = |sql: &str| {
        let error = conn.query(sql, &[], |_| Ok(())).unwrap_err().to_string();
        assert!(error.contains("read-only transaction"), "{sql}: {error}");
    };
    refused("DELETE FROM comments");
    refused("CREATE TABLE intruder (id int)");
    // PostgreSQL 15 lets a read-only transaction make a large object; it
    // is never committed, so it is gone with the session (checked below).
    conn.query("SELECT lo_create(0)", &[], |_| Ok(())).unwrap();
    // The session goes on after a refusal...
    let mut users = 0;
    conn.query("SELECT count(*) FROM users", &[], |row| {
        users = value_to_text(&row[0]).parse().unwrap();
        Ok(())
    })
    .unwrap();
    assert_eq!(users, 50);
    drop(conn);
    assert_eq!(checksums(pg, &db), before);
    // Outside its transaction (a COMMIT sent by hand) a session is still
    // read-only: the server's default for it.
    let conn = PgConnection::connect(&url).unwrap();
    let error = |sql: &str| conn.query(sql, &[], |_| Ok(())).map_err(|e| e.to_string());
    error("COMMIT").unwrap();
    let refusal = error("UPDATE users SET name = 'x'").unwrap_err();
    assert!(refusal.contains("read-only transaction"), "{refusal}");
    drop(conn);
    assert_eq!(checksums(pg, &db), before);
}

#[test]
fn no_command_changes_a_byte() {
    let pg = cluster();
    let (url, db) = blog(pg, "checksums");
    let before = checksums(pg, &db);
    for strategy in [
        "select",
        "immediate",
        "joined",
        "subquery",
        "selectin",
        "raise",
        "noload",
        "dynamic",
        "write_only",
    ] {
        let out = loadscope(&[
            "trace",
            &url,
            "--model",
            "assets/models/blog.toml",
            "--expand",
            "posts,posts.comments,posts.tags",
            "--strategy",
            strategy,
            "--limit",
            "5",
        ]);
        assert!(out.status.code().is_some(), "{strategy}");
        assert_eq!(checksums(pg, &db), before, "after trace under {strategy}");
    }
    for args in [vec!["compare", &url], vec!["model", &url]] {
        loadscope(&args);
        assert_eq!(checksums(pg, &db), before, "after {args:?}");
    }
}

/// The explorer on PostgreSQL, in tmux: posts under select, EXPLAIN and
/// EXPLAIN ANALYZE, a switch to selectin, a dynamic filter that tries to
/// write; then not one byte changed.
#[test]
fn the_explorer_on_postgresql_in_tmux() {
    let pg = cluster();
    let (url, db) = blog(pg, "explorer");
    pg.psql(&db, "CREATE SEQUENCE counter;");
    let counter = "SELECT last_value, is_called FROM counter;";
    let before = (checksums(pg, &db), pg.psql(&db, counter));
    let tmux = Tmux::start(
        "postgresql",
        &format!("{url} --model assets/models/blog.toml"),
    );
    let screen = tmux.wait_for("1  John");
    assert!(screen.contains("times include the round trip"), "{screen}");
    tmux.keys(&["Enter", "Down", "Enter"]);
    let screen = tmux.wait_for("First Post");
    assert!(
        screen.contains("WHERE %(param_1)s = posts.user_id"),
        "{screen}"
    );

    // The plan, then the plan as run, of the statement under the cursor.
    let screen = tmux.wait_for("First Post");
    assert!(screen.contains("%(param_1)s = posts.user_id"), "{screen}");
    tmux.keys(&["Tab", "Down", "e"]);
    let screen = tmux.wait_for("cost=");
    assert!(screen.contains("Scan"), "{screen}");
    assert!(!screen.contains("%(param_1) s"), "{screen}");
    tmux.keys(&["E"]);
    let screen = tmux.wait_for("EXPLAIN (ANALYZE, BUFFERS)");
    assert!(screen.contains("actual time="), "{screen}");
    assert!(screen.contains("Buffers: shared hit="), "{screen}");

    // selectin: one batch with named binds.
    tmux.keys(&["Tab", "s"]);
    tmux.wait_for("how does User.posts load?");
    tmux.keys(&["Down", "Down", "Down", "Down", "Down", "Enter"]);
    let screen = tmux.wait_for("→ selectin");
    assert!(screen.contains("User.posts · selectin"), "{screen}");

    // dynamic, and a filter that would write: the server refuses it.
    tmux.keys(&["s"]);
    tmux.wait_for("how does User.posts load?");
    for _ in 0..4 {
        tmux.keys(&["Down"]);
    }
    tmux.keys(&["Enter"]);
    tmux.wait_for("User.posts: dynamic");
    tmux.keys(&["f"]);
    tmux.wait_for("filter / order by / limit");
    tmux.run(&[
        "send-keys",
        "-t",
        "smoke",
        "-l",
        "posts.id > nextval('counter')",
    ]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("read-only transaction");
    assert!(!screen.contains("EXITED"), "{screen}");

    tmux.keys(&["Escape", "q"]);
    tmux.wait_for("EXITED:0");
    assert_eq!((checksums(pg, &db), pg.psql(&db, counter)), before);
}

/// The schema from pg_catalog: declared types, composite primary keys in
/// key order, foreign keys, unique keys (not partial, expression or the
/// INCLUDE columns of an index); a unique foreign key infers a one-to-one
/// as on SQLite.
#[test]
fn the_schema_comes_from_pg_catalog() {
    let pg = cluster();
    let url = pg.new_database("schema");
    pg.psql(
        &name_of(&url),
        "CREATE TABLE accounts (id serial PRIMARY KEY, name varchar(40) NOT NULL);
         CREATE TABLE settings (id int PRIMARY KEY, account_id int UNIQUE REFERENCES accounts,
             theme text);
         CREATE TABLE lines (number int, tenant int, note text, PRIMARY KEY (tenant, number));
         CREATE TABLE tags (id int PRIMARY KEY, account_id int REFERENCES accounts, label text,
             code text);
         CREATE UNIQUE INDEX ux_tags_label ON tags (account_id) INCLUDE (label);
         CREATE UNIQUE INDEX ux_tags_partial ON tags (code) WHERE code IS NOT NULL;
         CREATE UNIQUE INDEX ux_tags_lower ON tags (lower(label));",
    );
    let schema = PgConnection::connect(&url).unwrap().schema().unwrap();
    let table = |name: &str| schema.table(name).unwrap();
    let accounts = table("accounts");
    let types: Vec<&str> = accounts
        .columns
        .iter()
        .map(|c| c.decl_type.as_str())
        .collect();
    assert_eq!(types, ["INTEGER", "CHARACTER VARYING(40)"]);
    let lines = table("lines");
    let pk: Vec<(&str, u32)> = lines
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.pk))
        .collect();
    assert_eq!(pk, [("number", 2), ("tenant", 1), ("note", 0)]);
    assert_eq!(
        table("settings").unique,
        vec![vec!["account_id".to_string()]]
    );
    assert_eq!(table("tags").unique, vec![vec!["account_id".to_string()]]);
    assert_eq!(table("tags").foreign_keys[0].to, ["id"]);

    let out = loadscope(&["model", &url]);
    let model = String::from_utf8_lossy(&out.stdout);
    assert!(
        model.contains(
            "[entities.Account.relationships.setting]\ntarget = \"Setting\"\n\
             foreign_key = \"settings.account_id\"\nback_populates = \"account\"\nuselist = false\n"
        ),
        "{model}"
    );
}
