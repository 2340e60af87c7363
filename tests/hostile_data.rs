//! Data that is not what we expected, and hostile text in the dynamic
//! filter: nothing panics, hangs, draws outside its pane or changes the
//! database.
//!
//! - NULL, non-UTF-8 (shown lossily), BLOB, 1 MB and 10,000-character
//!   values; 200-character table and column names;
//! - text and BLOB primary keys work; a composite key (or none) leaves the
//!   table out of an inferred model with a warning naming it, and is an
//!   error naming it in a model file; names that need quoting in SQL
//!   (`order`, `my items`) load, quoted as SQLAlchemy quotes them;
//! - 100,000 children of one parent: the tree shows `MAX_CHILDREN` and a
//!   "… more not shown" line;
//! - manager cycles terminate under every strategy.

mod common;
use common::{loadscope, relation_path, stderr};

use loadscope::cli::workspace::{self, Workspace};
use loadscope::loader::Strategy;
use loadscope::loader::dynamic::{self, DynamicQuery, MAX_CLAUSE_LEN, QUERY_TIMEOUT};
use loadscope::model::RelId;
use loadscope::navigation::{self, Navigation};
use loadscope::plan::{LoadPlan, NodeId};
use loadscope::session::{RootQuery, Session};
use loadscope::tui::action::Action;
use loadscope::tui::app::{App, StatusKind, parse_dynamic};
use loadscope::tui::theme::Theme;
use loadscope::tui::tree::{MAX_CHILDREN, NoteKind, TreeLine};
use loadscope::tui::ui::{self, layout};
use loadscope::tui::update::update;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use rusqlite::Connection;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const LONG_TABLE_LEN: usize = 200;
const CHILDREN: usize = 100_000;

fn assert_ok(out: &Output, what: &str) -> String {
    let text = stderr(out);
    assert!(!text.contains("panicked"), "{what}: {text}");
    assert_eq!(out.status.code(), Some(0), "{what}: {text}");
    String::from_utf8(out.stdout.clone()).expect("output is UTF-8")
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn long_table() -> String {
    format!("t{}", "x".repeat(LONG_TABLE_LEN - 1))
}

fn long_column() -> String {
    format!("c{}", "y".repeat(LONG_TABLE_LEN - 1))
}

/// One database with every oddity, `users` first so it is the root.
fn hostile_db(dir: &Path) -> PathBuf {
    let path = dir.join("hostile.db");
    let conn = Connection::open(&path).unwrap();
    let long_table = long_table();
    let long_column = long_column();
    let long_label = "L".repeat(10_000);
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, manager_id INTEGER REFERENCES users(id));
         INSERT INTO users VALUES
             (1, NULL, 2),
             (2, CAST(x'fffe41' AS TEXT), 1),
             (3, '{long_label}', 3),
             (4, 'tab\tnew
line' || char(27) || '[31m ansi', NULL),
             (5, '漢字のラベル 🦀🦀🦀 עברית e\u{301}\u{301}\u{301}', 4);
         CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB, owner_id INTEGER REFERENCES users(id));
         INSERT INTO blobs VALUES (1, x'00ff10', 1), (2, zeroblob(100000), 1), (3, NULL, NULL);
         CREATE TABLE big (id INTEGER PRIMARY KEY, body TEXT, user_id INTEGER REFERENCES users(id));
         INSERT INTO big VALUES (1, printf('%.*c', 1000000, 'x'), 3), (2, printf('%.*c', 1000000, 'é'), 1);
         CREATE TABLE {long_table} (id INTEGER PRIMARY KEY, {long_column} TEXT, user_id INTEGER REFERENCES users(id));
         INSERT INTO {long_table} VALUES (1, 'hello', 1), (2, NULL, 1);
         CREATE TABLE pairs (a INTEGER, b INTEGER, label TEXT, user_id INTEGER REFERENCES users(id), PRIMARY KEY (a, b));
         INSERT INTO pairs VALUES (1, 2, 'x', 1);
         CREATE TABLE codes (code TEXT PRIMARY KEY, name TEXT, user_id INTEGER REFERENCES users(id));
         INSERT INTO codes VALUES ('abc', 'first', 1), ('d''e\"f', 'quoted', 1), (CAST(x'ff' AS TEXT), 'bad bytes', 2);
         CREATE TABLE code_uses (id INTEGER PRIMARY KEY, code TEXT REFERENCES codes(code));
         INSERT INTO code_uses VALUES (1, 'abc'), (2, 'abc'), (3, 'd''e\"f'), (4, 'nowhere');
         CREATE TABLE keyed_by_blob (k BLOB PRIMARY KEY, name TEXT, user_id INTEGER REFERENCES users(id));
         INSERT INTO keyed_by_blob VALUES (x'0001', 'blob key', 1), (x'', 'empty key', 1);
         CREATE TABLE empty_things (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));
         CREATE TABLE broken (id INTEGER PRIMARY KEY, ghost_id INTEGER REFERENCES ghosts(id),
             bad_id INTEGER REFERENCES users(no_such_column));
         INSERT INTO broken VALUES (1, 7, 8);
         CREATE TABLE \"order\" (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));
         CREATE TABLE \"my items\" (id INTEGER PRIMARY KEY, \"the name\" TEXT);
         CREATE TABLE kids (id INTEGER PRIMARY KEY, name TEXT, parent_id INTEGER REFERENCES users(id));
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {CHILDREN})
             INSERT INTO kids SELECT i, 'kid ' || i, 1 FROM n;"
    ))
    .unwrap();
    path
}

fn rel(ws: &Workspace, entity: &str, name: &str) -> RelId {
    let e = ws
        .model
        .entity_by_name(entity)
        .unwrap_or_else(|| panic!("no entity {entity}"));
    ws.model
        .rel_by_name(e, name)
        .unwrap_or_else(|| panic!("no {entity}.{name}"))
}

// ----- the headless commands -----

#[test]
fn trace_and_model_on_hostile_data() {
    let dir = TempDir::new().unwrap();
    let db = hostile_db(dir.path());
    let before = fs::read(&db).unwrap();

    // The inferred model: what could not be mapped is a warning naming it.
    let out = loadscope(&["model", s(&db)]);
    let toml = assert_ok(&out, "model");
    assert!(toml.contains("[entities.User]"), "{toml}");
    assert!(toml.contains(&format!("table = \"{}\"", long_table())));
    assert!(toml.contains("[entities.Code]") && toml.contains("[entities.KeyedByBlob]"));
    // A composite primary key is an entity like any other.
    assert!(
        toml.contains("[entities.Pair]\ntable = \"pairs\""),
        "{toml}"
    );
    let out = loadscope(&["trace", "--db", s(&db), "--limit", "2"]);
    let text = assert_ok(&out, "trace");
    let warnings = stderr(&out);
    assert!(
        warnings.contains("foreign key `broken.bad_id` is left out"),
        "{warnings}"
    );
    assert!(text.contains(&long_table()));
    // 10,000-character label and a 1 MB body are loaded, not choked on.
    let out = loadscope(&["trace", "--db", s(&db), "--format", "json"]);
    let json = assert_ok(&out, "trace json");
    let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    assert!(value.is_object());
    // Every relationship under every strategy, including the cycle.
    for strategy in Strategy::ALL {
        let started = Instant::now();
        let out = loadscope(&[
            "trace",
            "--db",
            s(&db),
            "--expand",
            "manager,manager.manager,manager.manager.manager,users_by_manager,users_by_manager.users_by_manager,blobs,bigs,codes,codes.code_uses,keyed_by_blobs",
            "--strategy",
            strategy.name(),
        ]);
        let text = stderr(&out);
        assert!(!text.contains("panicked"), "{strategy}: {text}");
        if matches!(strategy, Strategy::Dynamic | Strategy::WriteOnly) {
            // Many-to-one paths refuse them: a clear one-line error.
            assert_eq!(out.status.code(), Some(1), "{strategy}: {text}");
            assert!(text.contains("many-to-one"), "{strategy}: {text}");
        } else {
            assert_eq!(out.status.code(), Some(0), "{strategy}: {text}");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{strategy}");
    }
    // The root with 100,000 children, every collection strategy.
    for strategy in ["select", "joined", "subquery", "selectin", "dynamic"] {
        let out = loadscope(&[
            "trace",
            "--db",
            s(&db),
            "--limit",
            "1",
            "--expand",
            "kids",
            "--strategy",
            strategy,
        ]);
        let text = assert_ok(&out, strategy);
        assert!(
            text.contains("100000 rows") || text.contains("100,000 rows"),
            "{strategy}: {}",
            &text[..text.len().min(2000)]
        );
    }
    assert!(fs::read(&db).unwrap() == before, "the database changed");
}

#[test]
fn text_blob_and_composite_keys_work() {
    let dir = TempDir::new().unwrap();
    let db = hostile_db(dir.path());
    let ws = workspace::open(Some(&db), &[], false, None).unwrap();
    let code = ws.model.entity_by_name("Code").unwrap();
    let nav = Navigation {
        root: code,
        limit: None,
        expand: vec!["code_uses".into(), "user".into()],
        strategies: Vec::new(),
        queries: Vec::new(),
    };
    for strategy in [
        Strategy::Select,
        Strategy::Joined,
        Strategy::Selectin,
        Strategy::Subquery,
    ] {
        let outcome = navigation::run(&ws.model, &ws.conn, &nav.with_strategy(strategy)).unwrap();
        let abc = outcome
            .graph
            .iter()
            .find(|n| n.pk.to_string() == "abc")
            .expect("the text key abc");
        let uses = &abc
            .relations
            .iter()
            .find(|(n, _)| &**n == "code_uses")
            .unwrap()
            .1;
        match uses {
            navigation::GraphRelated::Many(items) => assert_eq!(items.len(), 2, "{strategy}"),
            other => panic!("{other:?}"),
        }
        let quoted = outcome
            .graph
            .iter()
            .find(|n| n.pk.to_string() == "d'e\"f")
            .expect("a key with quotes");
        assert_eq!(quoted.relations.len(), 2);
    }
    let blob = ws.model.entity_by_name("KeyedByBlob").unwrap();
    let outcome = navigation::run(
        &ws.model,
        &ws.conn,
        &Navigation::default_for(&ws.model, blob, None).with_strategy(Strategy::Selectin),
    )
    .unwrap();
    assert_eq!(outcome.graph.len(), 2);

    // A model file that maps the composite-key table: ordered by the
    // whole key, identity by the key tuple.
    let model = dir.path().join("pairs.toml");
    fs::write(&model, "[entities.Pair]\ntable = \"pairs\"\n").unwrap();
    let out = loadscope(&["trace", "--db", s(&db), "--model", s(&model)]);
    let text = assert_ok(&out, "trace pairs");
    assert!(
        text.contains(
            "SELECT pairs.a, pairs.b, pairs.label, pairs.user_id FROM pairs \
             ORDER BY pairs.a, pairs.b\n"
        ),
        "{text}"
    );
    // The key and the mapped columns given by the model (its `columns`
    // order is the SELECT order).
    fs::write(
        &model,
        "[entities.Pair]\ntable = \"pairs\"\nprimary_key = [\"b\", \"a\"]\ncolumns = [\"label\", \"a\", \"b\"]\n",
    )
    .unwrap();
    let out = loadscope(&["trace", "--db", s(&db), "--model", s(&model)]);
    let text = assert_ok(&out, "trace pairs with columns");
    assert!(
        text.contains(
            "SELECT pairs.label, pairs.a, pairs.b FROM pairs ORDER BY pairs.b, pairs.a\n"
        ),
        "{text}"
    );
    // Names that need quoting load, quoted exactly where SQLAlchemy's
    // SQLite dialect quotes (`"order"`, `"my items"."the name"`, not `user_id`).
    fs::write(&model, "[entities.Order]\ntable = \"order\"\n").unwrap();
    let out = loadscope(&[
        "trace",
        "--db",
        s(&db),
        "--model",
        s(&model),
        "--limit",
        "2",
    ]);
    let text = assert_ok(&out, "trace order");
    assert!(
        text.contains("SELECT \"order\".id, \"order\".user_id FROM \"order\" ORDER BY \"order\".id LIMIT ? OFFSET ?"),
        "{text}"
    );
    fs::write(&model, "[entities.Item]\ntable = \"my items\"\n").unwrap();
    let out = loadscope(&["trace", "--db", s(&db), "--model", s(&model)]);
    let text = assert_ok(&out, "trace my items");
    assert!(
        text.contains("SELECT \"my items\".id, \"my items\".\"the name\" FROM \"my items\""),
        "{text}"
    );
    // The inferred model maps them too, with both directions of the
    // foreign key from `order` to `users`.
    let out = loadscope(&[
        "trace",
        "--db",
        s(&db),
        "--root",
        "User",
        "--expand",
        "orders",
        "--strategy",
        "selectin",
        "--limit",
        "2",
    ]);
    let text = assert_ok(&out, "trace inferred orders");
    assert!(
        text.contains("FROM \"order\" WHERE \"order\".user_id IN (?, ?)"),
        "{text}"
    );
}

#[test]
fn empty_tables_and_empty_databases_of_rows() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("empty_rows.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT, user_id INTEGER REFERENCES users(id));",
    )
    .unwrap();
    drop(conn);
    for strategy in Strategy::ALL {
        let out = loadscope(&["trace", "--db", s(&db), "--strategy", strategy.name()]);
        assert_ok(&out, strategy.name());
    }
    let out = loadscope(&["compare", "--db", s(&db)]);
    assert_ok(&out, "compare");
    let ws = workspace::open(Some(&db), &[], false, None).unwrap();
    for size in [(120, 40), (60, 15), (20, 5)] {
        let mut app = App::new(&ws, size, Theme::mono()).unwrap();
        assert!(app.lines.is_empty());
        for action in [
            Action::Down,
            Action::Expand,
            Action::Bottom,
            Action::Top,
            Action::PageDown,
            Action::Collapse,
            Action::Strategy,
            Action::Back,
            Action::Filter,
            Action::Back,
            Action::Reset,
            Action::ToggleFocus,
            Action::Down,
            Action::Explain,
        ] {
            update(&mut app, action);
            check_frame(&app, size);
        }
    }
}

// ----- the explorer -----

/// Renders the app at its size and checks that every pane's border is
/// intact on every row: nothing was drawn across it.
fn check_frame(app: &App, (width, height): (u16, u16)) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| ui::render(app, frame)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    if app.overlay.is_some() {
        return buffer; // an overlay covers the panes on purpose
    }
    let Some(areas) = layout(Rect::new(0, 0, width, height), Default::default()) else {
        return buffer;
    };
    for (pane, area) in [("tree", areas.tree), ("log", areas.log)] {
        let at = |x: u16, y: u16| buffer[(x, y)].symbol().to_string();
        let (left, right) = (area.x, area.x + area.width - 1);
        let (top, bottom) = (area.y, area.y + area.height - 1);
        assert_eq!(at(left, top), "┌", "{pane} top-left\n{}", dump(&buffer));
        assert_eq!(at(right, top), "┐", "{pane} top-right\n{}", dump(&buffer));
        assert_eq!(
            at(left, bottom),
            "└",
            "{pane} bottom-left\n{}",
            dump(&buffer)
        );
        assert_eq!(
            at(right, bottom),
            "┘",
            "{pane} bottom-right\n{}",
            dump(&buffer)
        );
        for y in top + 1..bottom {
            assert_eq!(
                at(left, y),
                "│",
                "{pane} left edge, row {y}\n{}",
                dump(&buffer)
            );
            assert_eq!(
                at(right, y),
                "│",
                "{pane} right edge, row {y}\n{}",
                dump(&buffer)
            );
        }
        for x in left + 1..right {
            assert_eq!(
                at(x, bottom),
                "─",
                "{pane} bottom edge, column {x}\n{}",
                dump(&buffer)
            );
        }
    }
    buffer
}

fn dump(buffer: &Buffer) -> String {
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn screen_text(buffer: &Buffer) -> String {
    dump(buffer)
}

/// Moves the cursor to the last line `pick` accepts and expands it.
fn expand_last(app: &mut App, pick: impl Fn(&TreeLine) -> bool) -> bool {
    let Some(i) = app.lines.iter().rposition(pick) else {
        return false;
    };
    app.cursor = i;
    update(app, Action::Expand);
    assert!(
        !matches!(app.status, Some((_, StatusKind::Error))),
        "{:?}",
        app.status
    );
    true
}

fn expand_rel(app: &mut App, rel: RelId) -> bool {
    expand_last(
        app,
        |l| matches!(l, TreeLine::Relation { rel: r, .. } if *r == rel),
    )
}

#[test]
fn the_explorer_on_hostile_data_stays_inside_its_panes() {
    let dir = TempDir::new().unwrap();
    let db = hostile_db(dir.path());
    let before = fs::read(&db).unwrap();
    let ws = workspace::open(Some(&db), &[], false, None).unwrap();
    let user = ws.model.entity_by_name("User").unwrap();
    let rels: Vec<RelId> = ws.model.entity(user).relationships.clone();
    let kids = rel(&ws, "User", "kids");
    for size in [(120, 40), (60, 15)] {
        let mut app = App::new(&ws, size, Theme::mono()).unwrap();
        check_frame(&app, size);
        // Open every user and every relationship of each, drawing each step.
        for key in 1..=5i64 {
            expand_last(&mut app, |l| {
                matches!(l, TreeLine::Object { depth: 0, path, .. }
                    if path[0] == loadscope::tui::tree::Seg::Obj(loadscope::db::Key::Int(key)))
            });
            check_frame(&app, size);
            for r in &rels {
                if *r == kids && key != 1 {
                    continue;
                }
                expand_rel(&mut app, *r);
                check_frame(&app, size);
            }
        }
        // The 100,000 children are a window and a note.
        let kid_lines = app
            .lines
            .iter()
            .filter(|l| matches!(l, TreeLine::Object { path, .. } if path.contains(&loadscope::tui::tree::Seg::Rel(kids))))
            .count();
        assert_eq!(kid_lines, MAX_CHILDREN);
        let note = app
            .lines
            .iter()
            .find_map(|l| match l {
                TreeLine::Note {
                    text,
                    kind: NoteKind::More,
                    ..
                } => Some(text.clone()),
                _ => None,
            })
            .expect("a more-not-shown note");
        assert!(
            note.contains(&format!("{} more not shown", CHILDREN - MAX_CHILDREN)),
            "{note}"
        );
        assert!(
            app.lines.len() < MAX_CHILDREN + 200,
            "{} lines",
            app.lines.len()
        );
        // Scroll through all of it, then back; the log pane too.
        for action in [
            Action::Bottom,
            Action::PageUp,
            Action::Top,
            Action::PageDown,
            Action::HalfPageDown,
        ] {
            update(&mut app, action);
            check_frame(&app, size);
        }
        for _ in 0..5 {
            update(&mut app, Action::PageDown);
        }
        check_frame(&app, size);
        update(&mut app, Action::ToggleFocus);
        for action in [
            Action::Top,
            Action::Down,
            Action::Down,
            Action::Explain,
            Action::Bottom,
            Action::Up,
        ] {
            update(&mut app, action);
            check_frame(&app, size);
        }
        update(&mut app, Action::ToggleFocus);
        // Every strategy on the big collection and on the cycle, replayed.
        let manager = rel(&ws, "User", "manager");
        for strategy in Strategy::ALL {
            update(&mut app, Action::Top);
            app.choose_strategy(kids, strategy).unwrap();
            check_frame(&app, size);
            if !matches!(strategy, Strategy::Dynamic | Strategy::WriteOnly) {
                app.choose_strategy(manager, strategy).unwrap();
                check_frame(&app, size);
            }
        }
        // The overlays draw inside the frame too.
        for action in [
            Action::Help,
            Action::Back,
            Action::Strategy,
            Action::Down,
            Action::Back,
        ] {
            update(&mut app, action);
            check_frame(&app, size);
        }
        let screen = screen_text(&check_frame(&app, size));
        assert!(
            !screen.contains('\u{1b}'),
            "an escape character reached the screen"
        );
    }
    assert!(fs::read(&db).unwrap() == before, "the database changed");
}

#[test]
fn expanding_a_manager_cycle_again_and_again_terminates() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("cycle.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, manager_id INTEGER REFERENCES users(id));
         INSERT INTO users VALUES (1, 'one', 2), (2, 'two', 1), (3, 'self', 3);",
    )
    .unwrap();
    drop(conn);
    let ws = workspace::open(Some(&db), &[], false, None).unwrap();
    let manager = rel(&ws, "User", "manager");
    let reports = rel(&ws, "User", "users_by_manager");
    for strategy in [
        Strategy::Select,
        Strategy::Immediate,
        Strategy::Joined,
        Strategy::Subquery,
        Strategy::Selectin,
    ] {
        let started = Instant::now();
        let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
        app.choose_strategy(manager, strategy).unwrap();
        app.choose_strategy(reports, strategy).unwrap();
        // Down the chain 1 -> 2 -> 1 -> 2 ...: 40 levels.
        app.cursor = 0;
        update(&mut app, Action::Expand);
        for level in 0..40 {
            assert!(expand_rel(&mut app, manager), "{strategy} level {level}");
            assert!(
                expand_last(&mut app, |l| matches!(l, TreeLine::Object { .. })),
                "{strategy} level {level}"
            );
        }
        let depth = app.lines.iter().map(|l| l.depth()).max().unwrap();
        assert!(depth >= 78, "{strategy}: depth {depth}");
        check_frame(&app, (120, 40));
        check_frame(&app, (60, 15));
        app.replay("replay the deep chain").unwrap();
        assert_eq!(app.lines.iter().map(|l| l.depth()).max().unwrap(), depth);
        check_frame(&app, (60, 15));
        assert!(started.elapsed() < Duration::from_secs(30), "{strategy}");
    }
    // Headless, every strategy through the cycle, deep.
    let user = ws.model.entity_by_name("User").unwrap();
    let deep: Vec<String> = (1..=8)
        .map(|n| vec!["manager"; n].join("."))
        .chain((1..=4).map(|n| vec!["users_by_manager"; n].join(".")))
        .collect();
    for strategy in Strategy::ALL {
        let nav = Navigation {
            root: user,
            limit: None,
            expand: deep.clone(),
            strategies: Vec::new(),
            queries: Vec::new(),
        };
        let result = navigation::run(&ws.model, &ws.conn, &nav.with_strategy(strategy));
        if matches!(strategy, Strategy::Dynamic | Strategy::WriteOnly) {
            assert!(result.is_err(), "{strategy} on a many-to-one");
        } else {
            result.unwrap();
        }
    }
}

// ----- hostile text in the dynamic filter -----

#[test]
fn hostile_filters_are_refused_and_change_nothing() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("blog.db");
    let out = loadscope(&["sample", "--users", "30", "--out", s(&db)]);
    assert_ok(&out, "sample");
    let before = fs::read(&db).unwrap();
    let ws = workspace::open(Some(&db), &["assets/models/blog.toml".into()], false, None).unwrap();
    let user = ws.model.entity_by_name("User").unwrap();
    let posts = rel(&ws, "User", "posts");
    let huge = format!("posts.id > {}", "1".repeat(100 * 1024));
    let refused: Vec<(String, &str)> = vec![
        ("1; DROP TABLE users".into(), "several statements"),
        (
            "posts.id > 0; DELETE FROM posts".into(),
            "several statements",
        ),
        ("posts.title = 'it''s".into(), "unclosed quote"),
        ("posts.title = \"x".into(), "unclosed quote"),
        ("posts.title = 'a' OR 'b".into(), "unclosed quote"),
        ("posts.id > 1 -- the rest".into(), "comments"),
        ("posts.id > 1 /* hidden */".into(), "comments"),
        ("posts.id > 1 /* unclosed".into(), "comments"),
        (huge, "too long"),
        (
            "ATTACH DATABASE 'other.db' AS other".into(),
            "not an SQL statement",
        ),
        (
            "posts.id IN (DELETE FROM posts RETURNING id)".into(),
            "not an SQL statement",
        ),
        (
            "1) UNION SELECT 1 FROM sqlite_master WHERE (1".into(),
            "`)` without its `(`",
        ),
        ("(posts.id > 1".into(), "`(` without its `)`"),
        (
            "posts.id > 0\0; DROP TABLE users".into(),
            "control characters",
        ),
        ("pragma writable_schema = 1".into(), "not an SQL statement"),
        ("vacuum".into(), "not an SQL statement"),
    ];
    let mut session = Session::new(&ws.model, &ws.conn, LoadPlan::new(user));
    let users = session
        .load_root(&RootQuery {
            limit: Some(2),
            ..RootQuery::default()
        })
        .unwrap();
    let node = session.plan.child_or_insert(&ws.model, NodeId::ROOT, posts);
    let statements_before = ws.conn.log().statements.len();
    for (text, why) in &refused {
        // The explorer's editor.
        let error = parse_dynamic(&format!("filter: {text}")).unwrap_err();
        assert!(error.contains(why), "{text:.80}: {error}");
        assert!(error.starts_with("the filter"), "{error}");
        let error = parse_dynamic(&format!("order by: {text}")).unwrap_err();
        assert!(error.starts_with("the order"), "{error}");
        // The library.
        for q in [
            DynamicQuery {
                filter: Some(text.clone()),
                ..DynamicQuery::default()
            },
            DynamicQuery {
                order_by: Some(text.clone()),
                ..DynamicQuery::default()
            },
        ] {
            let error = dynamic::query(&mut session, users[0], node, &q)
                .unwrap_err()
                .to_string();
            assert!(error.contains(why), "{text:.80}: {error}");
            assert!(dynamic::count(&mut session, users[0], node, &q).is_err());
        }
    }
    // Refused before any SQL ran.
    assert_eq!(ws.conn.log().statements.len(), statements_before);
    const { assert!(MAX_CLAUSE_LEN < 100 * 1024) };

    // What passes the check but is not valid, or tries to write through an
    // expression, fails in SQLite with a message; nothing is written.
    for text in [
        "posts.nope = 1",
        "posts.title = = 1",
        "load_extension('evil.so')",
        "posts.id IN (SELECT id FROM posts) AND randomblob(3000000000) IS NOT NULL",
        "posts.id = (INSERT INTO tags (name) VALUES ('x'))",
        "posts.title LIKE '%; DROP TABLE users; --%'",
    ] {
        let q = DynamicQuery {
            filter: Some(text.into()),
            ..DynamicQuery::default()
        };
        let _ = dynamic::query(&mut session, users[0], node, &q);
    }
    // A filter that would run forever is interrupted.
    let forever = DynamicQuery {
        filter: Some(
            "posts.id IN (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
             SELECT x FROM c WHERE x < 0)"
                .into(),
        ),
        ..DynamicQuery::default()
    };
    let started = Instant::now();
    let error = dynamic::query(&mut session, users[0], node, &forever).unwrap_err();
    let took = started.elapsed();
    assert!(format!("{error:#}").contains("took too long"), "{error:#}");
    assert!(
        took >= QUERY_TIMEOUT && took < QUERY_TIMEOUT + Duration::from_secs(10),
        "{took:?}"
    );
    // The connection still works afterwards.
    let fine = DynamicQuery {
        filter: Some("posts.title LIKE '%a%'".into()),
        ..DynamicQuery::default()
    };
    dynamic::query(&mut session, users[0], node, &fine).unwrap();
    drop(session);

    // The explorer: a refused filter is a message in the editor, a failing
    // one a red note under the relationship; the session goes on.
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    app.choose_strategy(posts, Strategy::Dynamic).unwrap();
    app.cursor = 0;
    update(&mut app, Action::Expand);
    expand_rel(&mut app, posts);
    let path = relation_path(&app, posts);
    let parent = app.roots[0];
    let q = parse_dynamic("filter: posts.nope = 1").unwrap();
    app.apply_dynamic(path.clone(), parent, posts, q).unwrap();
    assert!(
        app.lines
            .iter()
            .any(|l| matches!(l, TreeLine::Note { kind: NoteKind::Error, text, .. } if text.contains("nope"))),
        "no error note"
    );
    check_frame(&app, (120, 40));
    check_frame(&app, (60, 15));
    app.apply_dynamic(
        path,
        parent,
        posts,
        parse_dynamic("filter: posts.id > 0").unwrap(),
    )
    .unwrap();
    check_frame(&app, (60, 15));
    drop(app);
    drop(ws);
    assert!(fs::read(&db).unwrap() == before, "the database changed");
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["blog.db"], "files appeared: {names:?}");
}
