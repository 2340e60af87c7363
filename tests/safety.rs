//! The user's database is never changed, and every kind of bad database is
//! a clear one-line error (exit 1) or a working session: never a panic,
//! never a hang, never a new file.
//!
//! Behaviours chosen (see `loadscope::db::open::open_read_only`):
//! - a missing path, a directory, a text file, a corrupt file: exit 1 with
//!   one line naming the file;
//! - an empty (0-byte) file: SQLite reads it as a database without tables;
//!   refused as "empty ... no tables", and it stays 0 bytes;
//! - a database locked by another writer (EXCLUSIVE): the busy timeout
//!   (`BUSY_TIMEOUT`, 2 s) runs out, then exit 1 "locked"; a writer holding
//!   only a RESERVED lock does not stop reading;
//! - a WAL database: read together with its -wal file; when the -wal and
//!   -shm files do not exist, SQLite creates them (an empty -wal) as for any
//!   reader, and the database file is unchanged;
//! - a hot journal: exit 1 explaining that a read-only tool cannot roll it
//!   back; neither file is touched.

mod common;
use common::{loadscope, relation_path, stderr};

use loadscope::cli::sample::{SampleOptions, generate};
use loadscope::cli::workspace::{self, Workspace};
use loadscope::db::open::{BUSY_TIMEOUT, open_read_only};
use loadscope::loader::Strategy;
use loadscope::loader::dynamic::{self, DynamicQuery};
use loadscope::model::RelId;
use loadscope::navigation::{self, Navigation};
use loadscope::plan::NodeId;
use loadscope::session::{RootQuery, Session};
use loadscope::tui::action::Action;
use loadscope::tui::app::App;
use loadscope::tui::theme::Theme;
use loadscope::tui::tree::TreeLine;
use loadscope::tui::update::update;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const BLOG: &str = "assets/models/blog.toml";

/// Exit code 1 and exactly one line on stderr that contains every part.
fn assert_one_line_error(out: &Output, parts: &[&str]) -> String {
    let text = stderr(out);
    assert_eq!(out.status.code(), Some(1), "stderr: {text}");
    assert!(!text.contains("panicked"), "{text}");
    assert_eq!(text.trim_end().lines().count(), 1, "not one line: {text}");
    assert!(text.starts_with("error: "), "{text}");
    for part in parts {
        assert!(text.contains(part), "{part:?} not in {text}");
    }
    text
}

fn assert_no_panic(out: &Output) {
    let text = stderr(out);
    assert!(!text.contains("panicked"), "{text}");
    assert!(matches!(out.status.code(), Some(0 | 1)), "{text}");
}

/// Every file in a directory with its bytes: what "nothing changed" means.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn names(snapshot: &BTreeMap<String, Vec<u8>>) -> Vec<&str> {
    snapshot.keys().map(String::as_str).collect()
}

/// FNV-1a: a short fingerprint for messages; comparisons use the bytes.
fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

/// The same files with the same bytes; a WAL database's `-shm` (SQLite's
/// shared-memory index, where every reader marks what it reads) is only
/// required to stay present.
fn assert_unchanged(before: &BTreeMap<String, Vec<u8>>, after: &BTreeMap<String, Vec<u8>>) {
    assert_eq!(names(before), names(after), "the directory changed");
    for (name, bytes) in before.iter().filter(|(n, _)| !n.ends_with("-shm")) {
        assert!(
            after[name] == *bytes,
            "{name} changed: {:016x} -> {:016x}",
            hash(bytes),
            hash(&after[name])
        );
    }
}

fn sample_db(dir: &Path, users: u64) -> PathBuf {
    let out = dir.join("app.db");
    generate(&SampleOptions {
        users,
        posts_per_user: 5,
        seed: 7,
        out: out.clone(),
        force: false,
    })
    .unwrap();
    out
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

// ----- paths that are not a database -----

#[test]
fn a_missing_path_is_an_error_and_no_file_is_created() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope.db");
    let runs: [Vec<&str>; 5] = [
        vec!["trace", "--db", s(&missing)],
        vec!["compare", "--db", s(&missing)],
        vec!["model", s(&missing)],
        vec![s(&missing)],
        vec!["trace", "--db", s(&missing), "--model", BLOG],
    ];
    for args in runs {
        let out = loadscope(&args);
        assert_one_line_error(&out, &["nope.db", "no such file", "never creates"]);
        assert!(!missing.exists(), "{args:?} created the file");
        assert!(
            snapshot(dir.path()).is_empty(),
            "{args:?} left {:?}",
            names(&snapshot(dir.path()))
        );
    }
    // The library says the same.
    let error = open_read_only(&missing).unwrap_err().to_string();
    assert!(error.contains("no such file"), "{error}");
    assert!(!missing.exists());
}

#[test]
fn a_directory_is_an_error() {
    let dir = TempDir::new().unwrap();
    let out = loadscope(&["trace", "--db", s(dir.path())]);
    assert_one_line_error(&out, &["is a directory"]);
    assert!(snapshot(dir.path()).is_empty());
}

#[test]
fn a_text_file_is_not_a_database() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("notes.db");
    fs::write(&file, "these are my notes, not a database\n".repeat(200)).unwrap();
    let before = snapshot(dir.path());
    for args in [
        vec!["trace", "--db", s(&file)],
        vec!["model", s(&file)],
        vec![s(&file)],
    ] {
        let out = loadscope(&args);
        assert_one_line_error(&out, &["notes.db", "not a SQLite database"]);
    }
    assert_unchanged(&before, &snapshot(dir.path()));
}

#[test]
fn a_corrupt_file_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    let db = sample_db(dir.path(), 50);
    let mut bytes = fs::read(&db).unwrap();
    // Keep the 100-byte header (so it is "SQLite"), scramble every page.
    let mut x: u32 = 12345;
    for b in &mut bytes[100..] {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 16) as u8;
    }
    let corrupt = dir.path().join("corrupt.db");
    fs::write(&corrupt, &bytes).unwrap();
    // Only the data pages scrambled: the schema reads, the rows do not.
    let mut late = fs::read(&db).unwrap();
    let page = 4096;
    for b in &mut late[page * 3..] {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (x >> 16) as u8;
    }
    let late_path = dir.path().join("late.db");
    fs::write(&late_path, &late).unwrap();
    fs::remove_file(&db).unwrap();
    let before = snapshot(dir.path());
    let mut refused = 0;
    for file in [&corrupt, &late_path] {
        for args in [
            vec!["trace", "--db", s(file)],
            vec!["trace", "--db", s(file), "--model", BLOG],
            vec!["compare", "--db", s(file), "--model", BLOG],
        ] {
            let out = loadscope(&args);
            let text = stderr(&out);
            if out.status.success() {
                continue; // the pages it needed were intact
            }
            refused += 1;
            assert_one_line_error(&out, &[]);
            assert!(
                text.contains("corrupt")
                    || text.contains("malformed")
                    || text.contains("not a SQLite database"),
                "{text}"
            );
        }
    }
    assert!(refused >= 3, "only {refused} runs noticed the corruption");
    assert_unchanged(&before, &snapshot(dir.path()));
}

#[test]
fn an_empty_file_is_a_database_without_tables() {
    let dir = TempDir::new().unwrap();
    let empty = dir.path().join("empty.db");
    fs::write(&empty, b"").unwrap();
    for args in [
        vec!["trace", "--db", s(&empty)],
        vec!["model", s(&empty)],
        vec!["trace", "--db", s(&empty), "--model", BLOG],
        vec![s(&empty)],
    ] {
        let out = loadscope(&args);
        assert_one_line_error(&out, &["empty.db", "empty (0 bytes)", "no tables"]);
    }
    assert_eq!(names(&snapshot(dir.path())), ["empty.db"]);
    assert_eq!(fs::metadata(&empty).unwrap().len(), 0);
}

#[test]
fn a_database_with_only_unusable_tables_says_why() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("keys.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE loose (x TEXT);
         CREATE TABLE log (at TEXT, line TEXT);",
    )
    .unwrap();
    drop(conn);
    let before = snapshot(dir.path());
    let out = loadscope(&["trace", "--db", s(&db)]);
    assert_one_line_error(
        &out,
        &[
            "no table loadscope can browse",
            "`loose`",
            "`log`",
            "no primary key",
        ],
    );
    assert_unchanged(&before, &snapshot(dir.path()));
}

// ----- databases other connections are using -----

#[test]
fn a_database_locked_by_another_writer_fails_after_the_busy_timeout() {
    let dir = TempDir::new().unwrap();
    let db = sample_db(dir.path(), 30);
    let before = snapshot(dir.path());
    let writer = Connection::open(&db).unwrap();
    writer.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = Instant::now();
    let out = loadscope(&["trace", "--db", s(&db), "--limit", "2"]);
    let took = started.elapsed();
    assert_one_line_error(&out, &["app.db", "locked by another connection"]);
    assert!(took >= BUSY_TIMEOUT, "gave up after {took:?}");
    assert!(took < BUSY_TIMEOUT + Duration::from_secs(20), "{took:?}");
    writer.execute_batch("ROLLBACK").unwrap();

    // A writer that has only reserved the database (a write in progress,
    // not yet committing) does not stop a reader.
    writer
        .execute_batch("BEGIN IMMEDIATE; UPDATE users SET name = 'Changed' WHERE id = 1;")
        .unwrap();
    let out = loadscope(&["trace", "--db", s(&db), "--limit", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Changed"), "read an uncommitted write");
    writer.execute_batch("ROLLBACK").unwrap();
    drop(writer);
    assert_unchanged(&before, &snapshot(dir.path()));

    // And once released, it works.
    let out = loadscope(&["trace", "--db", s(&db), "--limit", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_unchanged(&before, &snapshot(dir.path()));
}

#[test]
fn a_hot_journal_is_a_clear_error_and_is_left_alone() {
    // A writer that crashed mid-transaction leaves its journal behind: copy
    // the database and its journal while a big transaction is under way.
    let dir = TempDir::new().unwrap();
    let db = sample_db(dir.path(), 100);
    let writer = Connection::open(&db).unwrap();
    writer
        .execute_batch(
            "PRAGMA cache_size = 2; BEGIN EXCLUSIVE;
             UPDATE users SET name = 'X'; UPDATE comments SET body = 'y';",
        )
        .unwrap();
    let crashed = TempDir::new().unwrap();
    let journal = PathBuf::from(format!("{}-journal", db.display()));
    assert!(journal.exists());
    fs::copy(&db, crashed.path().join("app.db")).unwrap();
    fs::copy(&journal, crashed.path().join("app.db-journal")).unwrap();
    writer.execute_batch("ROLLBACK").unwrap();
    drop(writer);

    let copy = crashed.path().join("app.db");
    let before = snapshot(crashed.path());
    let out = loadscope(&["trace", "--db", s(&copy), "--limit", "2"]);
    assert_one_line_error(&out, &["app.db", "hot journal", "cannot roll it back"]);
    assert_unchanged(&before, &snapshot(crashed.path()));
}

fn wal_database(dir: &Path) -> PathBuf {
    let db = sample_db(dir, 40);
    let conn = Connection::open(&db).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(conn); // the last connection checkpoints and removes the -wal file
    db
}

#[test]
fn a_wal_database_is_read_with_its_wal_file_and_left_as_it_was() {
    let dir = TempDir::new().unwrap();
    let db = wal_database(dir.path());
    // The application is running: a committed write still in the -wal file.
    let app = Connection::open(&db).unwrap();
    app.execute_batch(
        "PRAGMA wal_autocheckpoint = 0;
         INSERT INTO users (id, name, email) VALUES (1000, 'Walter Wal', 'w@example.com');
         INSERT INTO posts (id, title, body, user_id, created_at)
             VALUES (100000, 'Only in the WAL', 'b', 1000, '2024-01-01');",
    )
    .unwrap();
    let wal = dir.path().join("app.db-wal");
    assert!(fs::metadata(&wal).unwrap().len() > 0);
    let before = snapshot(dir.path());

    let out = loadscope(&[
        "trace",
        "--db",
        s(&db),
        "--expand",
        "posts",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Walter Wal"), "the -wal file was not read");
    assert!(
        text.contains("Only in the WAL"),
        "the -wal file was not read"
    );
    let out = loadscope(&["compare", "--db", s(&db), "--model", BLOG, "--limit", "5"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_unchanged(&before, &snapshot(dir.path()));
    drop(app);
}

#[test]
fn a_wal_database_without_its_wal_file_gets_only_sqlites_own_files() {
    let dir = TempDir::new().unwrap();
    let db = wal_database(dir.path());
    let before = snapshot(dir.path());
    assert_eq!(names(&before), ["app.db"]);
    let out = loadscope(&["trace", "--db", s(&db), "--limit", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = snapshot(dir.path());
    // The database is byte for byte the same; a reader of a WAL database
    // has SQLite create the -shm index and an empty -wal (documented).
    assert!(after["app.db"] == before["app.db"], "app.db changed");
    for name in names(&after) {
        assert!(
            ["app.db", "app.db-wal", "app.db-shm"].contains(&name),
            "unexpected {name}"
        );
    }
    if let Some(wal) = after.get("app.db-wal") {
        assert!(wal.is_empty(), "the -wal file holds {} bytes", wal.len());
    }
    // A second run changes nothing at all.
    let out = loadscope(&["trace", "--db", s(&db), "--limit", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_unchanged(&after, &snapshot(dir.path()));
}

/// Whether this process can write into a directory it made read-only
/// (root can: permissions do not bite).
fn can_write_into(dir: &Path) -> bool {
    let probe = dir.join(".probe");
    let ok = fs::write(&probe, b"x").is_ok();
    let _ = fs::remove_file(&probe);
    ok
}

#[cfg(unix)]
#[test]
fn a_database_in_a_read_only_directory() {
    use std::os::unix::fs::PermissionsExt;
    let outer = TempDir::new().unwrap();
    let dir = outer.path().join("ro");
    fs::create_dir(&dir).unwrap();
    let db = sample_db(&dir, 30);
    let wal_dir = outer.path().join("ro_wal");
    fs::create_dir(&wal_dir).unwrap();
    let wal_db = wal_database(&wal_dir);
    let before = snapshot(&dir);
    let wal_before = snapshot(&wal_dir);
    for d in [&dir, &wal_dir] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o555)).unwrap();
    }
    let permissions_bite = !can_write_into(&dir);

    // A rollback-journal database only needs to be read: it works.
    let out = loadscope(&["trace", "--db", s(&db), "--limit", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Root may write anywhere: the directory's permissions bite a user
    // (before root's own run below creates the -shm).
    if !permissions_bite && runs_as_nobody() {
        fs::set_permissions(outer.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let out = std::process::Command::new("runuser")
            .args(["-u", "nobody", "--", env!("CARGO_BIN_EXE_loadscope")])
            .args(["trace", "--db", s(&wal_db), "--limit", "3"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_one_line_error(&out, &["app.db", "WAL database", "read-only directory"]);
    }
    // A WAL database without its -shm: SQLite cannot create it there. Either
    // it works or it is one clear line; never a panic.
    let wal_out = loadscope(&["trace", "--db", s(&wal_db), "--limit", "3"]);
    assert_no_panic(&wal_out);
    if !wal_out.status.success() {
        assert_one_line_error(&wal_out, &["app.db", "read-only directory"]);
    }

    let after = snapshot(&dir);
    let wal_after = snapshot(&wal_dir);
    for d in [&dir, &wal_dir] {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).unwrap();
    }
    assert_unchanged(&before, &after);
    if permissions_bite {
        // Nothing could be created, so nothing was.
        assert_unchanged(&wal_before, &wal_after);
    } else {
        // Running as root: at least the database bytes are the same.
        assert!(wal_after["app.db"] == wal_before["app.db"]);
    }
}

/// Whether this test runs as root with `runuser` at hand and `nobody` can
/// reach the binary (a developer's home may not be readable).
fn runs_as_nobody() -> bool {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n");
    root && std::process::Command::new("runuser")
        .args([
            "-u",
            "nobody",
            "--",
            env!("CARGO_BIN_EXE_loadscope"),
            "--version",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

// ----- the connection itself -----

#[test]
fn the_connection_refuses_every_write() {
    let dir = TempDir::new().unwrap();
    let db = sample_db(dir.path(), 10);
    let before = snapshot(dir.path());
    let conn = open_read_only(&db).unwrap();
    let query_only: i64 = conn
        .query_row("PRAGMA query_only", [], |r| r.get(0))
        .unwrap();
    assert_eq!(query_only, 1);
    let writes = [
        "DROP TABLE users",
        "DELETE FROM comments",
        "UPDATE users SET name = 'x'",
        "INSERT INTO tags (id, name) VALUES (999, 'new')",
        "CREATE TABLE evil (x)",
        "PRAGMA user_version = 42",
        "VACUUM",
    ];
    for sql in writes {
        assert!(conn.execute_batch(sql).is_err(), "{sql} succeeded");
    }
    // Turning query_only off does not help: the file is open read-only.
    conn.execute_batch("PRAGMA query_only = 0").unwrap();
    for sql in writes {
        assert!(conn.execute_batch(sql).is_err(), "{sql} succeeded");
    }
    let attached = dir.path().join("attached.db");
    let _ = conn.execute_batch(&format!(
        "ATTACH DATABASE '{}' AS other; CREATE TABLE other.t (x);",
        attached.display()
    ));
    drop(conn);
    // ATTACH may open (and, without the read-only flag, create) a second
    // file; the user's database is what must not change.
    let _ = fs::remove_file(&attached);
    assert_unchanged(&before, &snapshot(dir.path()));
}

// ----- a whole session -----

fn rel(ws: &Workspace, entity: &str, name: &str) -> RelId {
    let e = ws.model.entity_by_name(entity).unwrap();
    ws.model.rel_by_name(e, name).unwrap()
}

/// Moves the cursor to the first line `pick` accepts and expands it.
fn expand_where(app: &mut App, pick: impl Fn(&TreeLine) -> bool) {
    let i = app.lines.iter().position(pick).expect("a line to expand");
    app.cursor = i;
    update(app, Action::Expand);
    assert!(
        !matches!(
            app.status,
            Some((_, loadscope::tui::app::StatusKind::Error))
        ),
        "{:?}",
        app.status
    );
}

#[test]
fn a_session_with_every_strategy_a_filter_and_a_replay_changes_no_byte() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("blog.db");
    let out = loadscope(&["sample", "--users", "200", "--out", s(&db)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = snapshot(dir.path());
    assert_eq!(names(&before), ["blog.db"]);

    // Every strategy, headless.
    let expand = "posts,posts.comments,posts.tags";
    let out = loadscope(&[
        "compare",
        "--db",
        s(&db),
        "--model",
        BLOG,
        "--expand",
        expand,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    for strategy in Strategy::ALL {
        let out = loadscope(&[
            "trace",
            "--db",
            s(&db),
            "--model",
            BLOG,
            "--limit",
            "30",
            "--expand",
            expand,
            "--strategy",
            strategy.name(),
        ]);
        assert!(out.status.success(), "{strategy}: {}", stderr(&out));
    }
    for args in [
        vec!["trace", "--db", s(&db), "--limit", "10"],
        vec!["trace", "--db", s(&db), "--format", "json", "--limit", "5"],
        vec!["model", s(&db)],
        vec![
            "trace",
            "--db",
            s(&db),
            "--model",
            BLOG,
            "--expand",
            "manager,reports",
            "--strategy",
            "joined",
        ],
    ] {
        let out = loadscope(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    assert_unchanged(&before, &snapshot(dir.path()));

    // The library: a navigation, a dynamic filter, the explorer's replay.
    let ws = workspace::open(Some(&db), &[BLOG.into()], false, None).unwrap();
    let user = ws.model.entity_by_name("User").unwrap();
    let posts = rel(&ws, "User", "posts");
    let nav = Navigation {
        root: user,
        limit: Some(20),
        expand: vec!["posts".into(), "posts.comments".into()],
        strategies: Vec::new(),
        queries: Vec::new(),
    };
    navigation::run(&ws.model, &ws.conn, &nav.with_strategy(Strategy::Subquery)).unwrap();
    {
        let mut session = Session::new(&ws.model, &ws.conn, loadscope::plan::LoadPlan::new(user));
        let users = session
            .load_root(&RootQuery {
                limit: Some(3),
                ..RootQuery::default()
            })
            .unwrap();
        let node = session.plan.child_or_insert(&ws.model, NodeId::ROOT, posts);
        let q = DynamicQuery {
            filter: Some("posts.title LIKE '%a%'".into()),
            order_by: Some("posts.id DESC".into()),
            limit: Some(5),
            offset: None,
        };
        dynamic::query(&mut session, users[0], node, &q).unwrap();
        dynamic::count(&mut session, users[0], node, &q).unwrap();
        let hostile = DynamicQuery {
            filter: Some("1; DROP TABLE users".into()),
            ..DynamicQuery::default()
        };
        assert!(dynamic::query(&mut session, users[0], node, &hostile).is_err());
    }

    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    // Expand User 1, its posts, the first post, its comments and tags.
    app.cursor = 0;
    update(&mut app, Action::Expand);
    expand_where(
        &mut app,
        |l| matches!(l, TreeLine::Relation { rel, .. } if *rel == posts),
    );
    expand_where(&mut app, |l| matches!(l, TreeLine::Object { depth: 2, .. }));
    let comments = rel(&ws, "Post", "comments");
    let tags = rel(&ws, "Post", "tags");
    expand_where(
        &mut app,
        |l| matches!(l, TreeLine::Relation { rel, .. } if *rel == comments),
    );
    expand_where(
        &mut app,
        |l| matches!(l, TreeLine::Relation { rel, .. } if *rel == tags),
    );
    let shown_before: Vec<_> = app.lines.iter().map(|l| l.path().clone()).collect();
    for strategy in Strategy::ALL {
        for r in [posts, comments, tags] {
            app.choose_strategy(r, strategy).unwrap();
        }
    }
    // A dynamic filter typed into the explorer.
    app.choose_strategy(posts, Strategy::Dynamic).unwrap();
    let path = relation_path(&app, posts);
    let parent = app.roots[0];
    let q = loadscope::tui::app::parse_dynamic(
        "filter: posts.id > 0\norder by: posts.id DESC\nlimit: 3",
    )
    .unwrap();
    app.apply_dynamic(path, parent, posts, q).unwrap();
    // Back to the model's strategies: the replay shows the tree it began with.
    for r in [posts, comments, tags] {
        app.choose_strategy(r, Strategy::Select).unwrap();
    }
    app.replay("replay").unwrap();
    update(&mut app, Action::Reset);
    let shown_after: Vec<_> = app.lines.iter().map(|l| l.path().clone()).collect();
    assert_eq!(shown_after, shown_before, "the replay shows the same tree");
    drop(app);
    drop(ws);
    assert_unchanged(&before, &snapshot(dir.path()));
}
