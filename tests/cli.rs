//! The command line through the real binary: `trace` and `compare` output
//! (the JSON contract of the spec), usage errors and their exit codes,
//! `--help` everywhere, and databases that do not exist.

mod common;
use common::loadscope;

use serde_json::Value;

/// Runs a command that must succeed and returns its stdout.
fn ok(args: &[&str]) -> String {
    let out = loadscope(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail with `code` and returns its stderr.
fn fails(args: &[&str], code: i32) -> String {
    let out = loadscope(args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    assert!(stderr.lines().count() < 25, "{stderr}");
    stderr
}

/// A database `loadscope sample` writes with `users` users, in a temp dir
/// (kept while the returned guard lives).
fn generated_db(users: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("generated.db");
    ok(&[
        "sample",
        "--users",
        &users.to_string(),
        "--out",
        db.to_str().unwrap(),
    ]);
    (dir, db)
}

fn json(args: &[&str]) -> Value {
    let stdout = ok(args);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{stdout}"))
}

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    keys
}

fn has_keys(value: &Value, wanted: &[&str]) {
    let present = keys(value);
    for key in wanted {
        assert!(present.contains(key), "no `{key}` in {value}");
    }
}

/// Checks one trace object against the spec's contract and returns it.
fn check_contract(trace: &Value) {
    has_keys(
        trace,
        &[
            "root",
            "limit",
            "strategies",
            "statements",
            "loaders",
            "totals",
            "graph",
            "errors",
        ],
    );
    assert!(trace["root"].is_string());
    assert!(trace["limit"].is_i64() || trace["limit"].is_null());
    assert!(trace["strategies"].is_object());
    let statements = trace["statements"].as_array().unwrap();
    assert!(!statements.is_empty());
    for (i, s) in statements.iter().enumerate() {
        has_keys(
            s,
            &[
                "seq", "loader", "path", "strategy", "sql", "params", "rows", "micros",
            ],
        );
        assert_eq!(s["seq"], i + 1, "{s}");
        assert!(s["loader"].is_string());
        assert!(s["path"].is_string() || s["path"].is_null());
        assert!(s["strategy"].is_string() || s["strategy"].is_null());
        assert!(s["sql"].as_str().unwrap().starts_with("SELECT "), "{s}");
        assert!(s["params"].is_array());
        assert!(s["rows"].is_u64());
        assert!(s["micros"].is_u64());
        // Every `?` has its parameter.
        assert_eq!(
            s["sql"].as_str().unwrap().matches('?').count(),
            s["params"].as_array().unwrap().len(),
            "{s}"
        );
    }
    for l in trace["loaders"].as_array().unwrap() {
        has_keys(
            l,
            &["path", "relationship", "strategy", "statements", "rows"],
        );
        assert!(l["statements"].is_u64());
        assert!(l["rows"].is_u64());
    }
    let totals = &trace["totals"];
    has_keys(totals, &["statements", "rows", "micros"]);
    assert_eq!(totals["statements"], statements.len());
    let rows: u64 = statements.iter().map(|s| s["rows"].as_u64().unwrap()).sum();
    assert_eq!(totals["rows"], rows);
    assert!(totals["micros"].is_u64());
    assert!(trace["graph"].is_array());
    for e in trace["errors"].as_array().unwrap() {
        has_keys(e, &["path", "parent_pk", "message"]);
    }
}

#[test]
fn trace_json_follows_the_contract() {
    let trace = json(&[
        "trace",
        "--limit",
        "5",
        "--expand",
        "posts",
        "--strategy",
        "selectin",
        "--format",
        "json",
    ]);
    check_contract(&trace);
    assert_eq!(trace["root"], "User");
    assert_eq!(trace["limit"], 5);
    assert_eq!(
        trace["strategies"],
        serde_json::json!({"posts": "selectin"})
    );
    let statements = trace["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 2);
    let root = &statements[0];
    assert_eq!(root["loader"], "User");
    assert_eq!(root["path"], Value::Null);
    assert_eq!(root["strategy"], Value::Null);
    assert_eq!(
        root["sql"],
        "SELECT users.id, users.name, users.email, users.manager_id FROM users \
         ORDER BY users.id LIMIT ? OFFSET ?"
    );
    assert_eq!(root["params"], serde_json::json!([5, 0]));
    assert_eq!(root["rows"], 5);
    let posts = &statements[1];
    assert_eq!(posts["loader"], "User.posts");
    assert_eq!(posts["path"], "posts");
    assert_eq!(posts["strategy"], "selectin");
    assert!(
        posts["sql"]
            .as_str()
            .unwrap()
            .contains("WHERE posts.user_id IN (?, ?, ?, ?, ?)")
    );
    assert_eq!(posts["params"], serde_json::json!([1, 2, 3, 4, 5]));

    // Schema 2: the root query first, then each relationship path.
    assert_eq!(trace["schema_version"], 2);
    let loaders = trace["loaders"].as_array().unwrap();
    assert_eq!(loaders.len(), 2);
    assert_eq!(loaders[0]["path"], Value::Null);
    assert_eq!(loaders[0]["relationship"], "User");
    assert_eq!(loaders[1]["path"], "posts");
    assert_eq!(loaders[1]["relationship"], "User.posts");
    assert_eq!(loaders[1]["strategy"], "selectin");
    assert_eq!(loaders[1]["statements"], 1);
    assert_eq!(loaders[1]["rows"], posts["rows"]);
    assert_eq!(posts["kind"], "batch");
    assert_eq!(posts["n_plus_one"], false);

    let graph = trace["graph"].as_array().unwrap();
    assert_eq!(graph.len(), 5);
    assert_eq!(graph[0]["entity"], "User", "{}", graph[0]);
    assert_eq!(graph[0]["pk"], 1);
    assert_eq!(graph[0]["label"], "John");
    let children: u64 = graph
        .iter()
        .map(|u| u["posts"].as_array().unwrap().len() as u64)
        .sum();
    assert_eq!(posts["rows"], children);
    assert_eq!(graph[0]["posts"][0]["entity"], "Post");
    assert_eq!(trace["errors"], serde_json::json!([]));
}

#[test]
fn trace_json_reports_refused_loads_as_errors() {
    let trace = json(&[
        "trace",
        "--limit",
        "3",
        "--expand",
        "posts",
        "--strategy",
        "raise",
        "--format",
        "json",
    ]);
    check_contract(&trace);
    assert_eq!(trace["totals"]["statements"], 1);
    let errors = trace["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3);
    for (i, e) in errors.iter().enumerate() {
        assert_eq!(e["path"], "posts");
        assert_eq!(e["parent_pk"], i + 1);
        assert_eq!(
            e["message"],
            "'User.posts' is not available due to lazy='raise'"
        );
    }
}

#[test]
fn trace_json_without_limit_or_options() {
    // The defaults: every relationship of the root, each with the model's
    // lazy (select), all rows.
    let trace = json(&["trace", "--format", "json"]);
    check_contract(&trace);
    assert_eq!(trace["limit"], Value::Null);
    assert_eq!(
        trace["strategies"],
        serde_json::json!({"posts": "select", "manager": "select", "reports": "select"})
    );
    assert!(
        trace["statements"][0]["params"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn trace_text_and_markdown() {
    let text = ok(&["trace", "--limit", "2", "--expand", "posts"]);
    assert!(text.starts_with("User (limit 2) · posts: select"), "{text}");
    assert!(
        text.contains("FROM posts WHERE ? = posts.user_id"),
        "{text}"
    );
    assert!(text.contains("3 statements"), "{text}");

    let md = ok(&[
        "trace", "--limit", "2", "--expand", "posts", "--format", "markdown",
    ]);
    let lines: Vec<&str> = md.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("| # | loader |"))
        .unwrap_or_else(|| panic!("no statement table:\n{md}"));
    assert!(lines[header + 1].starts_with("|---"), "{md}");
    let rows: Vec<&&str> = lines[header + 2..]
        .iter()
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(rows.len(), 3, "{md}");
    assert!(rows[0].starts_with("| 1 | `User` |"), "{md}");
    assert!(rows[1].starts_with("| 2 | `User.posts` | select |"), "{md}");
    // Every cell count matches the header's.
    let cells = |l: &str| l.matches('|').count();
    for row in &rows {
        assert_eq!(cells(row), cells(lines[header]), "{row}");
    }
    assert!(md.contains("```sql\n"), "{md}");
}

/// The strategies and their statement counts for the first five users and
/// the posts of each.
const COUNTS: [(&str, u64, u64); 11] = [
    ("select", 6, 0),
    ("immediate", 6, 0),
    ("joined", 1, 0),
    ("joined+innerjoin", 1, 0),
    ("subquery", 2, 0),
    ("selectin", 2, 0),
    ("raise", 1, 5),
    ("raise_on_sql", 1, 5),
    ("noload", 1, 0),
    ("dynamic", 6, 0),
    ("write_only", 6, 0),
];

#[test]
fn compare_prints_one_row_per_strategy() {
    let out = ok(&["compare", "--limit", "5", "--expand", "posts"]);
    let lines: Vec<&str> = out.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("strategy"))
        .unwrap_or_else(|| panic!("no header:\n{out}"));
    let rows = &lines[header + 1..];
    let rows: Vec<&&str> = rows.iter().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(rows.len(), COUNTS.len(), "{out}");
    for (row, (name, statements, errors)) in rows.iter().zip(COUNTS) {
        assert!(row.starts_with(name), "{row} is not {name}");
        let rest = row[name.len()..].trim_start();
        let rest = rest.strip_prefix("(deprecated)").unwrap_or(rest);
        let numbers: Vec<&str> = rest.split_whitespace().collect();
        assert_eq!(numbers[0], statements.to_string(), "{name}: {row}");
        assert_eq!(
            numbers.last().unwrap(),
            &errors.to_string(),
            "{name}: {row}"
        );
    }
    assert!(
        rows.iter().any(|r| r.starts_with("noload (deprecated)")),
        "{out}"
    );
}

#[test]
fn compare_json_is_an_array_of_traces() {
    let all = json(&[
        "compare", "--limit", "5", "--expand", "posts", "--format", "json",
    ]);
    let all = all.as_array().expect("an array");
    assert_eq!(all.len(), 11);
    for (trace, (name, statements, errors)) in all.iter().zip(COUNTS) {
        check_contract(trace);
        assert_eq!(trace["strategies"]["posts"], name);
        assert_eq!(trace["totals"]["statements"], statements, "{name}");
        assert_eq!(
            trace["errors"].as_array().unwrap().len() as u64,
            errors,
            "{name}"
        );
    }
}

#[test]
fn compare_markdown_has_a_table() {
    let md = ok(&[
        "compare", "--limit", "5", "--expand", "posts", "--format", "markdown",
    ]);
    let lines: Vec<&str> = md.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(lines.len(), 2 + 11, "{md}");
    assert!(lines[0].contains("strategy") && lines[0].contains("statements"));
    assert!(lines[2].starts_with("| `select` | 6 |"), "{md}");
}

#[test]
fn compare_leaves_out_collection_only_strategies_for_many_to_one() {
    let all = json(&[
        "compare", "--root", "Post", "--limit", "3", "--expand", "user", "--format", "json",
    ]);
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["strategies"]["user"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 9);
    assert!(!names.contains(&"dynamic") && !names.contains(&"write_only"));
}

#[test]
fn clap_usage_errors_exit_2() {
    for args in [
        &["trace", "--bogus"][..],
        &["trace", "--limit", "abc"],
        &["trace", "--limit", "-1"],
        &["trace", "--format", "yaml"],
        &["compare", "--strategy", "select"],
        &["sample"],
    ] {
        let stderr = fails(args, 2);
        assert!(
            stderr.contains("Usage:") || stderr.contains("--help"),
            "{stderr}"
        );
    }
    let stderr = fails(&["trace", "--limit", "abc"], 2);
    assert!(
        stderr.contains("'abc'") && stderr.contains("--limit"),
        "{stderr}"
    );
    let stderr = fails(&["trace", "--bogus"], 2);
    assert!(stderr.contains("--bogus"), "{stderr}");
}

#[test]
fn unknown_strategy_suggests_the_nearest() {
    let stderr = fails(&["trace", "--strategy", "joind"], 2);
    assert!(stderr.contains("unknown strategy `joind`"), "{stderr}");
    assert!(stderr.contains("did you mean `joined`?"), "{stderr}");
    assert!(stderr.contains("select, immediate, joined"), "{stderr}");
    let stderr = fails(&["trace", "--strategy", "posts=selectinn"], 2);
    assert!(stderr.contains("did you mean `selectin`?"), "{stderr}");
}

#[test]
fn unknown_expand_path_suggests_the_nearest() {
    let stderr = fails(&["trace", "--expand", "postz"], 2);
    assert!(stderr.contains("unknown relationship `postz`"), "{stderr}");
    assert!(stderr.contains("posts, manager, reports"), "{stderr}");
    assert!(stderr.contains("did you mean `posts`?"), "{stderr}");
    let stderr = fails(&["compare", "--expand", "posts.coments"], 2);
    assert!(stderr.contains("relationships of Post"), "{stderr}");
    assert!(stderr.contains("did you mean `comments`?"), "{stderr}");
}

#[test]
fn unknown_root_suggests_the_nearest() {
    let stderr = fails(&["trace", "--root", "Usr"], 2);
    assert!(stderr.contains("unknown root entity `Usr`"), "{stderr}");
    assert!(stderr.contains("User, Post, Comment, Tag"), "{stderr}");
    assert!(stderr.contains("did you mean `User`?"), "{stderr}");
    fails(&["compare", "--root", "Nothing"], 2);
}

#[test]
fn many_to_one_cannot_be_dynamic() {
    let stderr = fails(
        &[
            "trace",
            "--root",
            "Post",
            "--expand",
            "user",
            "--strategy",
            "dynamic",
        ],
        1,
    );
    // SQLAlchemy's words (`DynaLoader.init_class_attribute`).
    assert!(
        stderr.contains(
            "On relationship Post.user, 'dynamic' loaders cannot be used with \
             many-to-one/one-to-one relationships and/or uselist=False."
        ),
        "{stderr}"
    );
}

#[test]
fn a_mistyped_command_is_a_missing_database() {
    // Without a subcommand the argument is a database path; a near miss
    // of a command name says so.
    let stderr = fails(&["tarce", "--limit", "5"], 2);
    assert!(stderr.contains("'--limit'"), "{stderr}");
    let stderr = fails(&["tarce"], 2);
    assert!(stderr.contains("tarce: no such file"), "{stderr}");
    assert!(
        stderr.contains("did you mean the command `trace`?"),
        "{stderr}"
    );
    for path in ["nothing-like-a-command", "trac.db", "data/trace"] {
        let stderr = fails(&[path], 1);
        assert!(stderr.contains("no such file"), "{stderr}");
        assert!(!stderr.contains("did you mean"), "{stderr}");
    }
}

#[test]
fn help_works_for_every_command() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["trace", "--help"],
        &["compare", "--help"],
        &["sample", "--help"],
        &["model", "--help"],
        &["help", "trace"],
    ] {
        let out = ok(args);
        assert!(out.contains("Usage: loadscope"), "{args:?}: {out}");
    }
    let trace = ok(&["trace", "--help"]);
    for option in [
        "--db",
        "--model",
        "--root",
        "--limit",
        "--expand",
        "--strategy",
        "--format",
    ] {
        assert!(trace.contains(option), "trace --help lacks {option}");
    }
    let compare = ok(&["compare", "--help"]);
    assert!(!compare.contains("--strategy"), "{compare}");
    let version = ok(&["--version"]);
    assert!(version.starts_with("loadscope "), "{version}");
}

#[test]
fn a_missing_database_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let missing_str = missing.to_str().unwrap();
    for args in [
        &["trace", "--db", missing_str][..],
        &["compare", "--db", missing_str],
        &["model", missing_str],
        &[missing_str],
    ] {
        let stderr = fails(args, 1);
        assert!(stderr.contains("no such file"), "{args:?}: {stderr}");
        assert!(stderr.contains(missing_str), "{stderr}");
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_user_database_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("blog.db");
    let db_str = db.to_str().unwrap();
    ok(&[
        "sample",
        "--users",
        "20",
        "--posts-per-user",
        "2",
        "--out",
        db_str,
    ]);
    let before = std::fs::read(&db).unwrap();
    let modified = std::fs::metadata(&db).unwrap().modified().unwrap();
    // Inferred model: both directions named from the foreign keys.
    let trace = json(&["trace", "--db", db_str, "--limit", "3", "--format", "json"]);
    check_contract(&trace);
    ok(&["compare", "--db", db_str, "--limit", "3"]);
    ok(&[
        "trace",
        "--db",
        db_str,
        "--model",
        "assets/models/blog.toml",
        "--expand",
        "posts,posts.comments,posts.tags",
        "--strategy",
        "selectin",
    ]);
    assert_eq!(std::fs::read(&db).unwrap(), before);
    assert_eq!(
        std::fs::metadata(&db).unwrap().modified().unwrap(),
        modified
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("blog.db")]);
}

#[test]
fn a_file_that_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(&path, "these are notes, not a database\n".repeat(100)).unwrap();
    let stderr = fails(&["trace", "--db", path.to_str().unwrap()], 1);
    assert!(stderr.contains("not a SQLite database"), "{stderr}");
    let stderr = fails(&["trace", "--db", dir.path().to_str().unwrap()], 1);
    assert!(stderr.contains("is a directory"), "{stderr}");
}

#[test]
fn one_strategy_applies_to_the_paths_on_the_way_too() {
    // `--expand posts.tags` touches posts first: `--strategy selectin`
    // loads both levels by IN lists, 1 + 1 + 1 statements.
    let json: Value = serde_json::from_str(&ok(&[
        "trace",
        "--limit",
        "5",
        "--expand",
        "posts.tags",
        "--strategy",
        "selectin",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(json["totals"]["statements"], 3, "{}", json["statements"]);
    assert_eq!(json["strategies"]["posts"], "selectin");
    assert_eq!(json["strategies"]["posts.tags"], "selectin");
}

// ----- models split over files -----

const PACKAGE: &str = "tests/fixtures/package/blog";

#[test]
fn a_package_of_models_reads_as_the_one_file_does() {
    let trace = |model: &[&str]| {
        let mut args = vec!["trace"];
        for m in model {
            args.extend(["--model", m]);
        }
        args.extend([
            "--root",
            "User",
            "--limit",
            "3",
            "--expand",
            "posts,posts.tags,posts.comments,manager",
            "--strategy",
            "selectin",
            "--format",
            "json",
        ]);
        let out: Value = serde_json::from_str(&ok(&args)).unwrap();
        // Statements by SQL and parameters (times differ from run to run).
        let statements: Vec<(Value, Value)> = out["statements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["sql"].clone(), s["params"].clone()))
            .collect();
        (statements, out["graph"].clone())
    };
    let (statements, graph) = trace(&["assets/models/blog_20.py"]);
    assert_eq!(statements.len(), 5, "{statements:?}");
    // The directory: every .py under it, classes resolved across files.
    assert_eq!(trace(&[PACKAGE]), (statements.clone(), graph.clone()));
    // The same files given one by one, in another order.
    let files = [
        &format!("{PACKAGE}/people.py"),
        &format!("{PACKAGE}/content.py"),
        &format!("{PACKAGE}/base.py"),
    ];
    let files: Vec<&str> = files.iter().map(|f| f.as_str()).collect();
    assert_eq!(trace(&files), (statements, graph));
}

#[test]
fn an_error_in_one_file_of_several_names_that_file_and_its_line() {
    let dir = tempfile::TempDir::new().unwrap();
    let broken = dir.path().join("extra.py");
    std::fs::write(
        &broken,
        "from .base import Base\n\nclass Oops(Base):\n    x = (\n",
    )
    .unwrap();
    let stderr = fails(
        &[
            "trace",
            "--model",
            PACKAGE,
            "--model",
            broken.to_str().unwrap(),
        ],
        1,
    );
    assert!(
        stderr.starts_with(&format!(
            "error: Python syntax error: `(` was never closed\n  --> {}:4:9",
            broken.display()
        )),
        "{stderr}"
    );
    // A TOML model is read on its own; an empty directory is no model.
    let stderr = fails(
        &[
            "trace",
            "--model",
            PACKAGE,
            "--model",
            "assets/models/blog.toml",
        ],
        1,
    );
    assert!(stderr.contains("give a .toml model on its own"), "{stderr}");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let stderr = fails(&["model", "--model", empty.to_str().unwrap()], 1);
    assert!(
        stderr.contains("no .py files in this directory"),
        "{stderr}"
    );
}

// ----- loader options on a dynamic relationship -----

/// The Flask fixture's database, in a temp dir (its User.posts is
/// `lazy="dynamic"`).
fn flask_db(dir: &std::path::Path) -> String {
    common::fixture_db(dir, "tests/fixtures/flask/app.sql")
        .display()
        .to_string()
}

#[test]
fn eager_options_on_a_dynamic_relationship_are_refused_as_sqlalchemy_refuses_them() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = flask_db(dir.path());
    let model = "tests/fixtures/flask/models.py";
    let trace = |strategy: &str| {
        let args = [
            "trace",
            "--db",
            &db,
            "--model",
            model,
            "--expand",
            "posts",
            "--strategy",
            strategy,
        ];
        common::loadscope(&args)
    };
    for strategy in ["joined", "joined+innerjoin", "subquery", "selectin"] {
        let out = trace(strategy);
        assert_eq!(out.status.code(), Some(1), "{strategy}");
        assert_eq!(
            common::stderr(&out),
            "error: 'User.posts' does not support object population - eager loading cannot be applied.\n",
            "{strategy}"
        );
    }
    let out = trace("immediate");
    assert_eq!(
        common::stderr(&out),
        "error: Dynamic attributes don't support collection population.\n"
    );
    // compare leaves them out, saying why, and what a lazy-style option does.
    let out = common::loadscope(&[
        "compare", "--db", &db, "--model", model, "--expand", "posts",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = common::stderr(&out);
    assert!(
        stderr.contains(
            "note: select leaves User.posts dynamic (a lazy-style option does not change it)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: selectin left out: 'User.posts' does not support object population"),
        "{stderr}"
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(!table.contains("\njoined "), "{table}");
    assert!(table.contains("\ndynamic "), "{table}");
}

#[test]
fn mixin_columns_are_mapped_in_sqlalchemys_order() {
    // tests/fixtures/mixins/models.py over the sample: own columns first,
    // then the mixins' in MRO order. The statements are SQLAlchemy
    // 2.1.9's for the same navigation (select(Post).order_by(Post.id)
    // .limit(2), then each post's user, comments and their authors).
    let out: Value = serde_json::from_str(&ok(&[
        "trace",
        "--model",
        "tests/fixtures/mixins/models.py",
        "--root",
        "Post",
        "--limit",
        "2",
        "--expand",
        "user,comments,comments.author",
        "--format",
        "json",
    ]))
    .unwrap();
    let got: Vec<(&str, String)> = out["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["sql"].as_str().unwrap(), s["params"].to_string()))
        .collect();
    let users =
        "SELECT users.name, users.email, users.manager_id, users.id FROM users WHERE users.id = ?";
    let comments = "SELECT comments.post_id, comments.body, comments.user_id, comments.id FROM comments \
                    WHERE ? = comments.post_id ORDER BY comments.id";
    let expected: Vec<(&str, String)> = vec![
        (
            "SELECT posts.title, posts.body, posts.created_at, posts.user_id, posts.id FROM posts \
             ORDER BY posts.id LIMIT ? OFFSET ?",
            "[2,0]".into(),
        ),
        (users, "[1]".into()),
        (comments, "[1]".into()),
        (users, "[12]".into()),
        (users, "[50]".into()),
        (users, "[27]".into()),
        (comments, "[2]".into()),
        (users, "[43]".into()),
    ];
    assert_eq!(got, expected);
}

#[test]
fn a_class_column_the_database_lacks_is_an_error_at_the_class() {
    // SQLAlchemy's SELECT would fail on it (no such column).
    let dir = tempfile::TempDir::new().unwrap();
    let text = std::fs::read_to_string("tests/fixtures/mixins/models.py")
        .unwrap()
        .replace(
            "    body: Mapped[str]\n",
            "    body: Mapped[str]\n    rating: Mapped[int]\n",
        );
    let model = dir.path().join("models.py");
    std::fs::write(&model, text).unwrap();
    let stderr = fails(
        &[
            "trace",
            "--model",
            model.to_str().unwrap(),
            "--root",
            "Post",
        ],
        1,
    );
    assert!(
        stderr.starts_with(&format!(
            "error: unknown column `posts.rating` in columns of entity Post\n  --> {}:38:7",
            model.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("columns of posts: id, title, body, user_id, created_at"),
        "{stderr}"
    );
}

#[test]
fn a_scalar_annotation_or_uselist_false_is_a_one_to_one() {
    // The reproduction in the research notes: SQLAlchemy 2.1.9 sends this
    // statement for select(Account).order_by(Account.id).limit(5)
    // .options(joinedload(Account.settings)): not wrapped in anon_1.
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("acc.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name VARCHAR(40));
             CREATE TABLE settings (id INTEGER PRIMARY KEY, account_id INTEGER UNIQUE REFERENCES accounts(id), theme VARCHAR(20));
             INSERT INTO accounts VALUES (1, 'a'), (2, 'b');
             INSERT INTO settings VALUES (1, 1, 'dark');",
        )
        .unwrap();
    let model = |settings: &str| {
        format!(
            "from typing import Optional\n\
             from sqlalchemy import ForeignKey, String\n\
             from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship\n\
             class Base(DeclarativeBase):\n    pass\n\
             class Account(Base):\n    __tablename__ = \"accounts\"\n    \
             id: Mapped[int] = mapped_column(primary_key=True)\n    \
             name: Mapped[str] = mapped_column(String(40))\n    {settings}\n\
             class Settings(Base):\n    __tablename__ = \"settings\"\n    \
             id: Mapped[int] = mapped_column(primary_key=True)\n    \
             account_id: Mapped[int] = mapped_column(ForeignKey(\"accounts.id\"), unique=True)\n    \
             theme: Mapped[str] = mapped_column(String(20))\n    \
             account: Mapped[\"Account\"] = relationship(back_populates=\"settings\")\n"
        )
    };
    for settings in [
        "settings: Mapped[Optional[\"Settings\"]] = relationship(back_populates=\"account\")",
        "settings = relationship(\"Settings\", back_populates=\"account\", uselist=False)",
    ] {
        let path = dir.path().join("models.py");
        std::fs::write(&path, model(settings)).unwrap();
        let out: Value = serde_json::from_str(&ok(&[
            "trace",
            "--db",
            db.to_str().unwrap(),
            "--model",
            path.to_str().unwrap(),
            "--expand",
            "settings",
            "--strategy",
            "joined",
            "--limit",
            "5",
            "--format",
            "json",
        ]))
        .unwrap();
        assert_eq!(
            out["statements"][0]["sql"],
            "SELECT accounts.id, accounts.name, settings_1.id AS id_1, settings_1.account_id, \
             settings_1.theme FROM accounts LEFT OUTER JOIN settings AS settings_1 ON \
             accounts.id = settings_1.account_id ORDER BY accounts.id LIMIT ? OFFSET ?",
            "{settings}"
        );
        assert_eq!(out["graph"][0]["settings"]["pk"], 1, "{settings}");
        assert_eq!(out["graph"][1]["settings"], Value::Null, "{settings}");
    }
}

/// Runs every navigation a fixture directory's oracle recorded
/// (statements.jsonl, SQLAlchemy 2.1.9's) with `trace` over its models.py
/// and app.sql, and compares the statements and parameters.
fn check_recorded(dir: &str) {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = common::fixture_db(tmp.path(), &format!("{dir}/app.sql"));
    let model = format!("{dir}/models.py");
    let recorded = std::fs::read_to_string(format!("{dir}/statements.jsonl")).unwrap();
    let mut failures = Vec::new();
    for line in recorded.lines() {
        let want: Value = serde_json::from_str(line).unwrap();
        let mut args = vec![
            "trace",
            "--db",
            db.to_str().unwrap(),
            "--model",
            &model,
            "--format",
            "json",
        ];
        args.extend(
            want["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap()),
        );
        let out: Value = serde_json::from_str(&ok(&args)).unwrap();
        let got: Vec<Value> = out["statements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| serde_json::json!([s["sql"], s["params"]]))
            .collect();
        if Value::Array(got.clone()) != want["statements"] {
            failures.push(format!(
                "== {}\n  sqlalchemy: {}\n  loadscope:  {}",
                want["name"],
                want["statements"],
                Value::Array(got)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_dataclass_style_model_sends_what_sqlalchemy_sends() {
    // MappedAsDataclass, Annotated keys, foreign_keys= strings and lists,
    // remote_side= a string, a lambda order_by with desc().
    check_recorded("tests/fixtures/dataclass");
}

#[test]
fn a_classic_1x_model_sends_what_sqlalchemy_sends() {
    // declarative_base(), Column, __table__ = Table(...), backref() with
    // its own lazy=, secondary by name, polymorphic_on as the Column, a
    // mapping-level selectin; every relationship under five loaders.
    check_recorded("tests/fixtures/classic");
}

#[test]
fn declarative_as_applications_write_it_sends_what_sqlalchemy_sends() {
    // Mixins with @declared_attr columns and relationships, a helper that
    // returns a column, __table_args__ constraints, composite keys,
    // remote_side, viewonly, order_by in three spellings; every
    // relationship under four strategies.
    check_recorded("tests/fixtures/declarative");
}

#[test]
fn trace_and_compare_take_the_database_positionally() {
    let (_dir, db) = generated_db(3);
    let db = db.to_str().unwrap();
    let positional = json(&["trace", db, "--limit", "2", "--format", "json"]);
    let flag = json(&["trace", "--db", db, "--limit", "2", "--format", "json"]);
    let shape = |report: &Value| -> Vec<Value> {
        report["statements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| serde_json::json!([s["sql"], s["params"]]))
            .collect()
    };
    assert_eq!(shape(&positional), shape(&flag));
    assert_eq!(positional["statements"][0]["rows"], 2);
    let compare = json(&["compare", db, "--limit", "2", "--format", "json"]);
    // One run per strategy, over the same database.
    let runs = compare.as_array().unwrap();
    assert!(runs.len() > 5, "{} runs", runs.len());
    assert_eq!(runs[0]["statements"][0]["rows"], 2);
    // Both at once is bad usage.
    let out = loadscope(&["trace", db, "--db", db]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_explorer_refuses_an_unknown_root_before_the_screen_changes() {
    let stderr = fails(&["--root", "Pst"], 2);
    assert!(
        stderr.contains(
            "unknown root entity `Pst`; entities: User, Post, Comment, Tag; did you mean `Post`?"
        ),
        "{stderr}"
    );
}

/// Runs a command and returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = loadscope(args);
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_broken_query_budget_exits_3_naming_the_loader_and_its_line() {
    let (code, stdout, stderr) = run(&[
        "trace",
        "--limit",
        "5",
        "--expand",
        "posts",
        "--max-per-loader",
        "3",
        "--fail-on",
        "n+1",
    ]);
    assert_eq!(code, Some(3), "{stderr}");
    // The report still comes out on stdout, the breaches on stderr.
    assert!(stdout.contains("User.posts"), "{stdout}");
    assert_eq!(
        stderr,
        "budget: User.posts: 5 statements from one loader, more than --max-per-loader 3\n\
         \x20 --> assets/models/blog.toml:9:30\n\
         \x20 statements #2, #3, #4, #5, #6\n\
         \x20 SELECT ••• FROM posts WHERE ? = posts.user_id ORDER BY posts.id\n\
         budget: User.posts: N+1: 5 statements, one per parent, under select\n\
         \x20 --> assets/models/blog.toml:9:30\n\
         \x20 statements #2, #3, #4, #5, #6\n\
         \x20 SELECT ••• FROM posts WHERE ? = posts.user_id ORDER BY posts.id\n"
    );
    // The cure keeps the budget.
    let (code, _, stderr) = run(&[
        "trace",
        "--limit",
        "5",
        "--expand",
        "posts",
        "--strategy",
        "selectin",
        "--max-per-loader",
        "3",
        "--fail-on",
        "n+1",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    // A models.py is named by its own line.
    let (code, _, stderr) = run(&[
        "trace",
        "--model",
        "assets/models/blog_20.py",
        "--limit",
        "3",
        "--expand",
        "posts",
        "--fail-on",
        "n+1",
    ]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("  --> assets/models/blog_20.py:"),
        "{stderr}"
    );
}

#[test]
fn raise_and_total_budgets_and_compare_asks_whether_any_strategy_keeps_it() {
    let (code, _, stderr) = run(&[
        "trace",
        "--limit",
        "2",
        "--expand",
        "posts",
        "--strategy",
        "raise",
        "--fail-on",
        "raise",
    ]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.starts_with(
            "budget: User.posts: 2 refused accesses: 'User.posts' is not available due to lazy='raise'"
        ),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["trace", "--limit", "3", "--max-statements", "100"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = run(&[
        "compare",
        "--limit",
        "3",
        "--expand",
        "posts",
        "--max-statements",
        "2",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("budget kept by: joined, joined+innerjoin, subquery, selectin"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&[
        "compare",
        "--limit",
        "3",
        "--expand",
        "posts",
        "--max-statements",
        "0",
    ]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.starts_with("budget: no strategy keeps it\nunder select:\n"),
        "{stderr}"
    );
    // A finding that does not exist is bad usage.
    let stderr = fails(&["trace", "--fail-on", "n+2"], 2);
    assert!(
        stderr.contains("[possible values: n+1, duplicate, raise]"),
        "{stderr}"
    );
}

#[test]
fn a_baseline_fails_only_on_new_findings() {
    let dir = tempfile::TempDir::new().unwrap();
    let baseline = dir.path().join("loadscope-baseline.json");
    let baseline = baseline.to_str().unwrap();
    let base = ["trace", "--fail-on", "n+1"];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        run(&args)
    };
    // Today's N+1 on User.posts is written down...
    let (code, _, stderr) = with(&[
        "--limit",
        "5",
        "--expand",
        "posts",
        "--update-baseline",
        baseline,
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("baseline: 1 finding written to"),
        "{stderr}"
    );
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(baseline).unwrap()).unwrap();
    assert_eq!(
        stored["findings"][0],
        "n+1 · User.posts · select · SELECT ••• FROM posts WHERE ? = posts.user_id ORDER BY posts.id"
    );
    // ...so it passes, with other parameters too (a wider window).
    let (code, _, stderr) = with(&["--expand", "posts", "--limit", "9", "--baseline", baseline]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("0 new, 0 fixed, 1 unchanged"), "{stderr}");
    // A new N+1 fails, and only it is reported.
    let (code, _, stderr) = with(&[
        "--limit",
        "5",
        "--expand",
        "posts,reports",
        "--baseline",
        baseline,
    ]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("1 new, 0 fixed, 1 unchanged"), "{stderr}");
    assert!(stderr.contains("budget: User.reports: N+1"), "{stderr}");
    assert!(!stderr.contains("budget: User.posts"), "{stderr}");
    // Curing it shows as fixed.
    let (code, _, stderr) = with(&[
        "--expand",
        "posts",
        "--strategy",
        "selectin",
        "--baseline",
        baseline,
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("fixed: n+1 · User.posts · select"),
        "{stderr}"
    );
    // A missing baseline is an error, not a pass.
    let stderr = fails(
        &[
            "trace",
            "--fail-on",
            "n+1",
            "--baseline",
            "no-such-baseline.json",
        ],
        1,
    );
    assert!(
        stderr.contains("no-such-baseline.json: cannot read the baseline"),
        "{stderr}"
    );
    // A baseline without findings to hold is bad usage (it would always
    // pass, or empty a stored one).
    let stderr = fails(&["trace", "--update-baseline", baseline], 2);
    assert!(
        stderr.contains("a baseline holds budget findings"),
        "{stderr}"
    );
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::io::Read;
    let (_dir, db) = generated_db(2000);
    for format in ["text", "json", "markdown"] {
        // `| head -c 100`: the reader takes a little and goes away.
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_loadscope"))
            .args([
                "trace",
                db.to_str().unwrap(),
                "--expand",
                "posts",
                "--format",
                format,
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 100];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
}

#[test]
fn format_github_annotates_the_models_lines() {
    let (code, stdout, _) = run(&[
        "trace",
        "--limit",
        "3",
        "--expand",
        "posts",
        "--format",
        "github",
        "--fail-on",
        "n+1",
    ]);
    assert_eq!(code, Some(3));
    assert_eq!(
        stdout,
        "::warning file=assets/models/blog.toml,line=9,col=30,title=N+1 User.posts::\
         User.posts runs one statement per parent under select: 3 statements. \
         selectin or joined load them in one or two.\n\
         ::error file=assets/models/blog.toml,line=9,col=30,title=query budget%3A User.posts::\
         N+1: 3 statements, one per parent, under select%0A\
         SELECT ••• FROM posts WHERE ? = posts.user_id ORDER BY posts.id\n"
    );
    // The cure: no annotation, exit 0.
    let (code, stdout, _) = run(&[
        "trace",
        "--limit",
        "3",
        "--expand",
        "posts",
        "--strategy",
        "selectin",
        "--format",
        "github",
        "--fail-on",
        "n+1",
    ]);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
    let stderr = fails(&["compare", "--format", "github"], 2);
    assert!(stderr.contains("use it with trace"), "{stderr}");
}

/// `--format junit`: well-formed XML, a test case per loader (path and
/// strategy) at its model line, breaches as failures; compare gives one
/// suite per strategy.
#[test]
fn format_junit_has_a_case_per_loader_and_fails_the_breaches() {
    let args = [
        "trace",
        "--limit",
        "3",
        "--expand",
        "posts,posts.comments",
        "--strategy",
        "posts=select",
        "--strategy",
        "posts.comments=selectin",
        "--format",
        "junit",
        "--fail-on",
        "n+1",
    ];
    let (code, stdout, _) = run(&args);
    assert_eq!(code, Some(3));
    let xml = roxmltree::Document::parse(&stdout).unwrap_or_else(|e| panic!("{e}:\n{stdout}"));
    let root = xml.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("3"));
    assert_eq!(root.attribute("failures"), Some("1"));
    let cases: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let names: Vec<_> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(
        names,
        ["User (root)", "posts · select", "posts.comments · selectin"]
    );
    let posts = cases[1];
    assert_eq!(posts.attribute("file"), Some("assets/models/blog.toml"));
    assert_eq!(posts.attribute("line"), Some("9"));
    let failure = posts
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("type"), Some("n+1"));
    assert!(
        failure
            .text()
            .unwrap()
            .contains("SELECT ••• FROM posts WHERE ? = posts.user_id"),
        "{stdout}"
    );
    let out = |case: &roxmltree::Node| {
        case.children()
            .find(|n| n.has_tag_name("system-out"))
            .and_then(|n| n.text())
            .unwrap()
            .to_string()
    };
    assert_eq!(out(&cases[1]), "3 statements · 5 rows");
    assert_eq!(out(&cases[2]), "2 statements · 10 rows");
    assert!(cases[2].children().all(|n| !n.has_tag_name("failure")));

    // compare: a suite per strategy; no budget, no failure, exit 0.
    let (code, stdout, _) = run(&[
        "compare", "--limit", "3", "--expand", "posts", "--format", "junit",
    ]);
    assert_eq!(code, Some(0));
    let xml = roxmltree::Document::parse(&stdout).unwrap();
    let suites: Vec<_> = xml
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|n| n.attribute("name").unwrap().to_string())
        .collect();
    assert!(suites.len() >= 9, "{suites:?}");
    assert!(suites.contains(&"loadscope compare User under joined".to_string()));
    assert_eq!(xml.root_element().attribute("failures"), Some("0"));
}

/// `trace --filter` / `--order-by`: a dynamic relationship's query, as
/// `user.posts.filter(...).order_by(...)`, with the explorer's checks.
#[test]
fn trace_filter_and_order_by_shape_a_dynamic_query() {
    let report = |extra: &[&str]| -> Value {
        let mut args = vec![
            "trace",
            "--limit",
            "2",
            "--expand",
            "posts,posts.comments",
            "--strategy",
            "dynamic",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        serde_json::from_str(&ok(&args)).unwrap()
    };
    let all = report(&[]);
    let shaped = report(&[
        "--filter",
        "posts:posts.id > 1",
        "--order-by",
        "posts:posts.id DESC",
        "--filter",
        "posts.comments:comments.id % 2 = 0",
    ]);
    let sql = |r: &Value, loader: &str| -> Vec<String> {
        r["statements"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["loader"] == loader)
            .map(|s| s["sql"].as_str().unwrap().to_string())
            .collect()
    };
    let posts = sql(&shaped, "User.posts");
    assert_eq!(posts.len(), 2);
    assert!(
        posts[0].ends_with(
            "FROM posts WHERE ? = posts.user_id AND (posts.id > 1) ORDER BY posts.id DESC"
        ),
        "{}",
        posts[0]
    );
    assert!(sql(&shaped, "Post.comments")[0].contains("AND (comments.id % 2 = 0)"));
    // John's first post is filtered out; the rest come newest first.
    let titles = |r: &Value| -> Vec<i64> {
        r["graph"][0]["posts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pk"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(titles(&all), [1, 2]);
    assert_eq!(titles(&shaped), [2]);

    // PATH may be left out when one path is expanded.
    let one = ok(&[
        "trace",
        "--limit",
        "1",
        "--expand",
        "posts",
        "--strategy",
        "dynamic",
        "--filter",
        "posts.id > 1",
    ]);
    assert!(one.contains("AND (posts.id > 1)"), "{one}");

    // Refusals: several paths and no PATH, a statement, a path that is
    // not dynamic.
    let stderr = fails(
        &[
            "trace",
            "--expand",
            "posts,posts.comments",
            "--strategy",
            "dynamic",
            "--filter",
            "x > 1",
        ],
        2,
    );
    assert!(
        stderr.contains("say which path it shapes, as PATH:EXPR"),
        "{stderr}"
    );
    let stderr = fails(
        &[
            "trace",
            "--expand",
            "posts",
            "--strategy",
            "dynamic",
            "--filter",
            "1; DROP TABLE users",
        ],
        2,
    );
    assert!(stderr.contains("not several statements"), "{stderr}");
    let stderr = fails(
        &["trace", "--expand", "posts", "--filter", "posts.id > 1"],
        1,
    );
    assert!(stderr.contains("add --strategy posts=dynamic"), "{stderr}");
    let stderr = fails(
        &[
            "trace",
            "--expand",
            "posts",
            "--strategy",
            "dynamic",
            "--filter",
            "nope:posts.id > 1",
        ],
        2,
    );
    assert!(
        stderr.contains("`nope` is not an expanded path (expanded: posts)"),
        "{stderr}"
    );
    // The database's words, on one line, without the statement.
    let stderr = fails(
        &[
            "trace",
            "--limit",
            "1",
            "--expand",
            "posts",
            "--strategy",
            "dynamic",
            "--filter",
            "posts.nope = 1",
        ],
        1,
    );
    assert_eq!(
        stderr,
        "error: the query failed: no such column: posts.nope\n"
    );
}

/// `compare --scale`: each strategy at the limit and its multiples, with
/// a verdict on how its statement count grows.
#[test]
fn compare_scale_says_how_each_strategy_grows() {
    let out = ok(&[
        "compare", "--scale", "2,3", "--expand", "posts", "--limit", "4",
    ]);
    let row = |strategy: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(strategy))
            .unwrap_or_else(|| panic!("{strategy} in\n{out}"))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        out.contains("statements at limit          4       8      12  verdict"),
        "{out}"
    );
    assert_eq!(row("select"), "5 9 13 linear: 1 per parent (N+1)");
    assert_eq!(row("selectin"), "2 2 2 constant");
    assert_eq!(row("joined"), "1 1 1 constant");

    let json: Value = serde_json::from_str(&ok(&[
        "compare", "--scale", "3", "--expand", "posts", "--limit", "20", "--format", "json",
    ]))
    .unwrap();
    let select = json
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["strategy"] == "select")
        .unwrap();
    assert_eq!(select["limits"], serde_json::json!([20, 60]));
    // The sample has 50 users: the verdict uses the parents loaded.
    assert_eq!(select["roots"], serde_json::json!([20, 50]));
    assert_eq!(select["statements"], serde_json::json!([21, 51]));
    assert_eq!(select["verdict"], "linear");
    assert_eq!(select["per_parent"], 1);

    let stderr = fails(&["compare", "--scale", "1"], 2);
    assert!(stderr.contains("--scale"), "{stderr}");
    let stderr = fails(&["compare", "--scale", "2", "--format", "junit"], 2);
    assert!(stderr.contains("--scale prints text or json"), "{stderr}");
}

/// `--fail-on duplicate` names the runs again, not their first run.
#[test]
fn a_duplicate_budget_lists_only_the_runs_again() {
    let (code, _, stderr) = run(&[
        "trace",
        "--limit",
        "3",
        "--expand",
        "posts,posts.tags,posts.tags.posts",
        "--strategy",
        "dynamic",
        "--fail-on",
        "duplicate",
    ]);
    assert_eq!(code, Some(3));
    assert!(
        stderr.contains(
            "budget: Tag.posts: 2 statements ran again with the same parameters\n  \
             --> assets/models/blog.toml:66:29\n  statements #13, #17\n"
        ),
        "{stderr}"
    );
}

#[test]
fn text_reports_count_in_words_and_fold_long_key_lists() {
    let out = ok(&["trace", "--limit", "1", "--expand", "manager"]);
    assert!(out.contains(" 1 row "), "{out}");
    assert!(out.contains("\n1 statement · 1 row · "), "{out}");
    assert!(!out.contains(" 1 rows"), "{out}");
    let (_dir, db) = generated_db(600);
    let out = ok(&[
        "trace",
        db.to_str().unwrap(),
        "--limit",
        "600",
        "--expand",
        "posts",
        "--strategy",
        "selectin",
    ]);
    assert!(
        out.contains("WHERE posts.user_id IN (?, … 500 keys)"),
        "{out}"
    );
    assert!(
        out.contains("WHERE posts.user_id IN (?, … 100 keys)"),
        "{out}"
    );
    // sample's bad usage is exit 2, like clap's.
    let stderr = fails(
        &["sample", "--users", "0", "--out", db.to_str().unwrap()],
        2,
    );
    assert!(stderr.contains("--users must be at least 1"), "{stderr}");
}

#[test]
fn json_marks_repeats_and_keeps_loaders_without_statements() {
    let trace = json(&[
        "trace", "--limit", "3", "--expand", "posts", "--format", "json",
    ]);
    let statements = trace["statements"].as_array().unwrap();
    assert_eq!(statements[0]["kind"], "root");
    for s in &statements[1..] {
        assert_eq!(s["kind"], "per_parent");
        assert_eq!(s["similar"], true);
        assert_eq!(s["n_plus_one"], true);
        assert_eq!(s["duplicate"], false);
    }
    let joined = json(&[
        "trace",
        "--limit",
        "3",
        "--expand",
        "posts",
        "--strategy",
        "joined",
        "--format",
        "json",
    ]);
    let loaders = joined["loaders"].as_array().unwrap();
    assert_eq!(loaders[1]["relationship"], "User.posts");
    assert_eq!(loaders[1]["strategy"], "joined");
    assert_eq!(loaders[1]["statements"], 0);
}

#[test]
fn markdown_compare_has_a_heading_and_each_strategys_sql() {
    let out = ok(&[
        "compare", "--limit", "2", "--expand", "posts", "--format", "markdown",
    ]);
    assert!(
        out.starts_with("### User (limit 2) · posts\n\n| strategy |"),
        "{out}"
    );
    assert!(
        out.contains("\n#### `selectin`\n\n```sql\n-- #1 User (2 rows)\nSELECT\n"),
        "{out}"
    );
    assert!(out.contains("-- #2 User.posts (5 rows)\nSELECT\n"), "{out}");
    assert_eq!(
        out.matches("```sql").count(),
        out.matches("\n```\n").count()
    );
}
