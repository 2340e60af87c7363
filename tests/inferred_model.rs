//! A database without a model: the model inferred from its foreign keys
//! has the relationships of `assets/models/blog.toml` (modulo names), and
//! `loadscope model DB` prints it as TOML that reads back as the same model.

use loadscope::cli::sample::{SampleOptions, generate};
use loadscope::cli::workspace;
use loadscope::db::Schema;
use loadscope::db::open::{SAMPLE_SQL, open_read_only};
use loadscope::model::{Direction, Join, Model};
use rusqlite::Connection;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

const BLOG: &str = "assets/models/blog.toml";

fn loadscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loadscope"))
        .args(args)
        .output()
        .expect("running loadscope")
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A generated sample database (`loadscope sample`).
fn generated(dir: &Path) -> PathBuf {
    let out = dir.join("sample-db-file.db");
    generate(&SampleOptions {
        users: 40,
        posts_per_user: 4,
        seed: 3,
        out: out.clone(),
        force: false,
    })
    .unwrap();
    out
}

/// `sample-db/blog.sql` written into a file, as `sqlite3 blog.db < blog.sql` would.
fn from_sql(dir: &Path) -> PathBuf {
    let out = dir.join("blog.db");
    let conn = Connection::open(&out).unwrap();
    conn.execute_batch(SAMPLE_SQL).unwrap();
    out
}

fn schema_of(db: &Path) -> Schema {
    Schema::read(&open_read_only(db).unwrap()).unwrap()
}

fn inferred(db: &Path) -> Model {
    workspace::inferred(&schema_of(db), db).unwrap()
}

/// What a relationship is, names aside: (parent table, target table,
/// direction, the foreign key column or the link table).
type Shape = (String, String, &'static str, String);

fn shapes(model: &Model) -> BTreeSet<Shape> {
    model
        .relationships
        .iter()
        .map(|r| {
            let parent = model.entity(r.parent);
            let target = model.entity(r.target);
            let via = match &r.join {
                Join::Direct { pairs } => {
                    let columns: Vec<String> = pairs
                        .iter()
                        .map(|(p, t)| match r.direction {
                            Direction::OneToMany => {
                                format!("{}.{}", target.table, target.columns[*t])
                            }
                            _ => format!("{}.{}", parent.table, parent.columns[*p]),
                        })
                        .collect();
                    columns.join(", ")
                }
                Join::Secondary { table, .. } => format!("secondary {table}"),
            };
            (
                parent.table.clone(),
                target.table.clone(),
                r.direction.name(),
                via,
            )
        })
        .collect()
}

fn reverse((parent, target, direction, via): &Shape) -> Shape {
    let direction = match *direction {
        "one_to_many" => "many_to_one",
        "many_to_one" => "one_to_many",
        other => other,
    };
    (target.clone(), parent.clone(), direction, via.clone())
}

#[test]
fn the_inferred_model_has_the_relationships_of_blog_toml() {
    let dir = TempDir::new().unwrap();
    for db in [generated(dir.path()), from_sql(dir.path())] {
        let schema = schema_of(&db);
        let toml = Model::load_file(Path::new(BLOG), &schema, false).unwrap();
        let inferred = inferred(&db);
        let expected = shapes(&toml);
        let found = shapes(&inferred);
        // Every relationship of the model file is inferred...
        let missing: Vec<_> = expected.difference(&found).collect();
        assert!(missing.is_empty(), "not inferred: {missing:?}");
        // ...and inference adds only the other side of those the file
        // declares one way (Comment.author has no User.comments).
        let closure: BTreeSet<Shape> = expected
            .iter()
            .flat_map(|s| [s.clone(), reverse(s)])
            .collect();
        let extra: Vec<_> = found.difference(&expected).collect();
        for shape in &extra {
            assert!(
                closure.contains(*shape),
                "inferred but not in the model: {shape:?}"
            );
        }
        assert_eq!(
            extra,
            [&(
                "users".to_string(),
                "comments".to_string(),
                "one_to_many",
                "comments.user_id".to_string()
            )]
        );
        // The same entities, tables and labels.
        let entities = |m: &Model| -> Vec<(String, String, Option<String>)> {
            m.entities
                .iter()
                .map(|e| {
                    (
                        e.name.clone(),
                        e.table.clone(),
                        e.label.map(|l| e.columns[l].clone()),
                    )
                })
                .collect()
        };
        let mut a = entities(&toml);
        let mut b = entities(&inferred);
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert!(inferred.warnings.is_empty(), "{:?}", inferred.warnings);
    }
}

fn rel_names(model: &Model, entity: &str) -> Vec<(String, String, &'static str)> {
    let e = model.entity_by_name(entity).unwrap();
    model
        .entity(e)
        .relationships
        .iter()
        .map(|r| {
            let r = model.rel(*r);
            (
                r.name.clone(),
                model.entity(r.target).name.clone(),
                r.direction.name(),
            )
        })
        .collect()
}

fn has(model: &Model, entity: &str, name: &str, target: &str, direction: &str) {
    let rels = rel_names(model, entity);
    assert!(
        rels.iter()
            .any(|(n, t, d)| n == name && t == target && *d == direction),
        "{entity}.{name} -> {target} ({direction}) not in {rels:?}"
    );
}

#[test]
fn the_inferred_names_read_like_a_hand_written_model() {
    let dir = TempDir::new().unwrap();
    let model = inferred(&generated(dir.path()));
    let names: Vec<&str> = model.entities.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["User", "Post", "Comment", "Tag"],
        "post_tags is a link table"
    );
    has(&model, "User", "posts", "Post", "one_to_many");
    has(&model, "Post", "user", "User", "many_to_one");
    has(&model, "Post", "tags", "Tag", "many_to_many");
    has(&model, "Tag", "posts", "Post", "many_to_many");
    has(&model, "Post", "comments", "Comment", "one_to_many");
    has(&model, "User", "comments", "Comment", "one_to_many");
    // Comments' two foreign keys: distinct, named after their columns.
    has(&model, "Comment", "post", "Post", "many_to_one");
    has(&model, "Comment", "user", "User", "many_to_one");
    // The self-referential key: named after its column, both sides.
    has(&model, "User", "manager", "User", "many_to_one");
    has(&model, "User", "users_by_manager", "User", "one_to_many");
    for entity in &model.entities {
        let mut seen = BTreeSet::new();
        for r in &entity.relationships {
            let name = &model.rel(*r).name;
            assert!(seen.insert(name.clone()), "{}.{name} twice", entity.name);
            assert!(
                !entity.columns.contains(name),
                "{}.{name} hides a column",
                entity.name
            );
        }
    }
    // Every relationship points back at its other side.
    for r in &model.relationships {
        let back = r.back_populates.as_ref().expect("back_populates");
        let other = model.rel_by_name(r.target, back).unwrap();
        assert_eq!(model.rel(other).target, r.parent);
        assert_eq!(
            model.rel(other).back_populates.as_deref(),
            Some(r.name.as_str())
        );
    }
}

#[test]
fn names_for_harder_schemas() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("app.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT);
         CREATE TABLE user (id INTEGER PRIMARY KEY, login TEXT);
         CREATE TABLE categories (id INTEGER PRIMARY KEY, title TEXT, parent_id INTEGER REFERENCES categories(id));
         CREATE TABLE messages (id INTEGER PRIMARY KEY, body TEXT,
             sender_id INTEGER REFERENCES users(id), recipient_id INTEGER REFERENCES users(id));
         CREATE TABLE follows (follower_id INTEGER REFERENCES users(id), followed_id INTEGER REFERENCES users(id),
             PRIMARY KEY (follower_id, followed_id));
         CREATE TABLE boxes (code TEXT PRIMARY KEY, owner INTEGER REFERENCES users);
         CREATE TABLE \"\u{212A}ies\" (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));
         CREATE TABLE \u{00E9}t\u{00E9}s (id INTEGER PRIMARY KEY, posts INTEGER REFERENCES users(id));",
    )
    .unwrap();
    drop(conn);
    let model = inferred(&db);
    let names: Vec<&str> = model.entities.iter().map(|e| e.name.as_str()).collect();
    assert!(
        names.contains(&"User") && names.contains(&"User2"),
        "{names:?}"
    );
    assert!(
        names.contains(&"Category") && names.contains(&"Box"),
        "{names:?}"
    );
    has(&model, "Message", "sender", "User", "many_to_one");
    has(&model, "Message", "recipient", "User", "many_to_one");
    has(
        &model,
        "User",
        "messages_by_sender",
        "Message",
        "one_to_many",
    );
    has(
        &model,
        "User",
        "messages_by_recipient",
        "Message",
        "one_to_many",
    );
    has(&model, "Category", "parent", "Category", "many_to_one");
    has(
        &model,
        "Category",
        "categories_by_parent",
        "Category",
        "one_to_many",
    );
    // `owner` does not end in `_id`: named after the table it references.
    has(&model, "Box", "user", "User", "many_to_one");
    has(&model, "User", "boxes", "Box", "one_to_many");
    // The text key labels nothing; the title does.
    let category = model.entity(model.entity_by_name("Category").unwrap());
    assert_eq!(
        category.label.map(|l| category.columns[l].as_str()),
        Some("title")
    );
    // A link table from a table to itself (followers): both directions,
    // named from the column that points at the targets.
    has(&model, "User", "followed", "User", "many_to_many");
    has(&model, "User", "follower", "User", "many_to_many");
    assert!(
        !model.warnings.iter().any(|w| w.message.contains("follows")),
        "{:?}",
        model.warnings
    );
    // The model prints and reads back.
    round_trip(&db);
}

/// `loadscope model DB` prints TOML that reads back as the same model.
fn round_trip(db: &Path) -> Model {
    let out = loadscope(&["model", s(db)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let schema = schema_of(db);
    let back = Model::from_text("inferred.toml", text.clone(), &schema, false)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_same_model(&inferred(db), &back);
    back
}

fn assert_same_model(a: &Model, b: &Model) {
    let entities = |m: &Model| -> Vec<String> {
        m.entities
            .iter()
            .map(|e| {
                format!(
                    "{} {} {:?} pk {:?} label {:?}",
                    e.name, e.table, e.columns, e.pk, e.label
                )
            })
            .collect()
    };
    assert_eq!(entities(a), entities(b));
    let rels = |m: &Model| -> Vec<String> {
        m.relationships
            .iter()
            .map(|r| {
                format!(
                    "{}.{} -> {} {} {:?} {} {:?} {:?} {}",
                    m.entity(r.parent).name,
                    r.name,
                    m.entity(r.target).name,
                    r.direction.name(),
                    r.join,
                    r.lazy,
                    r.order_by,
                    r.back_populates,
                    r.chunksize
                )
            })
            .collect()
    };
    assert_eq!(rels(a), rels(b));
}

#[test]
fn model_prints_toml_that_round_trips() {
    let dir = TempDir::new().unwrap();
    for db in [generated(dir.path()), from_sql(dir.path())] {
        let back = round_trip(&db);
        assert_eq!(back.entities.len(), 4);
        // And the inferred model runs.
        let out = loadscope(&["trace", "--db", s(&db), "--limit", "2"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("User.posts"));
    }
    // A model file printed by `model` reads back as itself too.
    let other = TempDir::new().unwrap();
    let db = from_sql(other.path());
    let out = loadscope(&["model", s(&db), "--model", BLOG]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let schema = schema_of(&db);
    let printed = String::from_utf8(out.stdout).unwrap();
    let back = Model::from_text("printed.toml", printed, &schema, false).unwrap();
    let original = Model::load_file(Path::new(BLOG), &schema, false).unwrap();
    assert_same_model(&original, &back);
}

#[test]
fn singular_table_names_give_plural_collections() {
    // Flask-SQLAlchemy names tables in the singular (`post`, `order_line`).
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("app.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT, user_id INTEGER REFERENCES user(id));
         CREATE TABLE status (id INTEGER PRIMARY KEY, label TEXT, post_id INTEGER REFERENCES post(id));
         CREATE TABLE person (id INTEGER PRIMARY KEY, name TEXT, user_id INTEGER REFERENCES user(id));",
    )
    .unwrap();
    drop(conn);
    let model = inferred(&db);
    has(&model, "User", "posts", "Post", "one_to_many");
    has(&model, "Post", "user", "User", "many_to_one");
    has(&model, "Post", "statuses", "Status", "one_to_many");
    has(&model, "User", "people", "Person", "one_to_many");
    round_trip(&db);
}

/// A foreign key that is unique in its table (a UNIQUE constraint or
/// index, or the table's whole primary key) is a one-to-one: the parent's
/// side is a scalar named in the singular; a non-unique one, or one that
/// is only part of a unique key, stays a collection.
#[test]
fn unique_foreign_keys_infer_one_to_one() {
    let dir = TempDir::new().unwrap();
    let db = dir.path().join("one_to_one.db");
    Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);
             CREATE TABLE settings (id INTEGER PRIMARY KEY,
                 account_id INTEGER UNIQUE REFERENCES accounts(id), theme TEXT);
             CREATE TABLE profiles (account_id INTEGER PRIMARY KEY REFERENCES accounts(id), bio TEXT);
             CREATE TABLE avatars (id INTEGER PRIMARY KEY, account_id INTEGER REFERENCES accounts(id));
             CREATE UNIQUE INDEX ux_avatars ON avatars(account_id) WHERE account_id > 0;
             CREATE TABLE posts (id INTEGER PRIMARY KEY, account_id INTEGER REFERENCES accounts(id),
                 slug TEXT, UNIQUE (account_id, slug));
             INSERT INTO accounts VALUES (1, 'a'), (2, 'b');
             INSERT INTO settings VALUES (1, 1, 'dark');
             INSERT INTO profiles VALUES (2, 'hi');",
        )
        .unwrap();
    let schema = schema_of(&db);
    let table = |name: &str| schema.table(name).unwrap();
    assert_eq!(
        table("settings").unique,
        vec![vec!["account_id".to_string()]]
    );
    assert!(
        table("profiles").unique.is_empty(),
        "the key is the primary key"
    );
    assert!(
        table("avatars").unique.is_empty(),
        "a partial index is no key"
    );
    assert_eq!(
        table("posts").unique,
        vec![vec!["account_id".to_string(), "slug".to_string()]]
    );

    let model = inferred(&db);
    let account = model.entity_by_name("Account").unwrap();
    let scalar = |name: &str| {
        let rel = model.rel_by_name(account, name).unwrap_or_else(|| {
            panic!(
                "Account.{name} in {:?}",
                model.entity(account).relationships
            )
        });
        !model.rel(rel).uselist
    };
    assert!(scalar("setting"));
    assert!(scalar("profile"));
    assert!(!scalar("avatars"));
    assert!(!scalar("posts"));

    // Loaded, an absent one is null, a present one an object.
    let out = loadscope(&[
        "trace",
        s(&db),
        "--expand",
        "setting,profile",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let graph = &report["graph"];
    assert_eq!(graph[0]["setting"]["label"], "dark");
    assert!(graph[0]["profile"].is_null());
    assert!(graph[1]["setting"].is_null());
    assert_eq!(graph[1]["profile"]["label"], "hi");
}
