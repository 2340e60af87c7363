//! Property tests. The model parsers (TOML and SQLAlchemy `.py`) give a
//! model or an error for any input, never a panic; and on random small
//! databases every loading strategy builds the same object graph.

use loadscope::db::open::open_sample;
use loadscope::db::{Schema, TracedConnection};
use loadscope::loader::Strategy as Loading;
use loadscope::model::{Model, SourceFile, python, toml};
use loadscope::navigation::{self, GraphNode, Navigation};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rusqlite::{Connection, params};
use std::sync::OnceLock;

const BLOG_TOML: &str = include_str!("../assets/models/blog.toml");
const BLOG_20: &str = include_str!("../assets/models/blog_20.py");
const BLOG_1X: &str = include_str!("../assets/models/blog_1x.py");
const SEED: &str = include_str!("../assets/models/seed_example.py");

/// The sample's schema, read once.
fn sample_schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::read(&open_sample().unwrap()).unwrap())
}

fn source(name: &str, text: String) -> SourceFile {
    SourceFile::new(name, text)
}

/// Parses as TOML and as Python (strict and lenient), then resolves each
/// against the sample schema: all that matters is that it returns.
fn parse_everything(text: &str) {
    let _ = toml::parse(source("m.toml", text.to_string()));
    let _ = python::parse(source("m.py", text.to_string()), false);
    let _ = python::parse(source("m.py", text.to_string()), true);
    let schema = sample_schema();
    let _ = Model::from_text("m.toml", text.to_string(), schema, false);
    let _ = Model::from_text("m.py", text.to_string(), schema, false);
    let _ = Model::from_text("m.py", text.to_string(), schema, true);
}

/// Tokens that mean something to one of the parsers.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "(",
    ")",
    "=",
    ",",
    ".",
    ":",
    "\"",
    "'",
    "\"\"\"",
    "#",
    "\n",
    "\t",
    "    ",
    "\\",
    "entities",
    "relationships",
    "table",
    "target",
    "foreign_key",
    "secondary",
    "lazy",
    "order_by",
    "back_populates",
    "innerjoin",
    "direction",
    "chunksize",
    "primary_key",
    "label",
    "class ",
    "def ",
    "relationship(",
    "mapped_column(",
    "Column(",
    "ForeignKey(\"",
    "Table(",
    "Mapped[",
    "list[",
    "Optional[",
    "dynamic_loader(",
    "backref(",
    "__tablename__",
    "lazy=\"joined\"",
    "lazy=\"nope\"",
    "remote_side=",
    "primaryjoin=",
    "uselist=False",
    "secondary=post_tags",
    "\"users.id\"",
    "posts.id",
    "User",
    "Post",
    "Tag",
    "Comment",
    "-1",
    "0",
    "99999999999999999999",
    "true",
    "é",
    "🦀",
    "\u{0}",
    "\u{feff}",
    "\r\n",
    "lambda: ",
    "@",
    "async ",
    "match ",
    "f\"",
    "b'",
    "...",
    "*",
    "**",
    "->",
];

/// A valid model file with small edits: flipped bytes, a truncation,
/// inserted tokens, deleted ranges, duplicated lines.
fn mutated(base: &'static str) -> impl proptest::strategy::Strategy<Value = String> {
    let len = base.len();
    let edit = prop_oneof![
        (0..len, any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (0..len).prop_map(Edit::Truncate),
        (0..=len, 0..TOKENS.len()).prop_map(|(i, t)| Edit::Insert(i, TOKENS[t])),
        (0..len, 1..40usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        (0..len, 0..len).prop_map(|(a, b)| Edit::Duplicate(a.min(b), a.max(b))),
    ];
    prop::collection::vec(edit, 1..6).prop_map(move |edits| {
        let mut bytes = base.as_bytes().to_vec();
        for edit in edits {
            let n = bytes.len();
            match edit {
                Edit::Flip(i, b) if n > 0 => bytes[i % n] = b,
                Edit::Truncate(i) => bytes.truncate(i.min(n)),
                Edit::Insert(i, t) => {
                    let i = i.min(n);
                    bytes.splice(i..i, t.bytes());
                }
                Edit::Delete(i, k) if n > 0 => {
                    let i = i % n;
                    bytes.drain(i..(i + k).min(n));
                }
                Edit::Duplicate(a, b) if n > 0 => {
                    let (a, b) = (a.min(n), b.min(n));
                    let copy = bytes[a..b].to_vec();
                    bytes.splice(b..b, copy);
                }
                _ => {}
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, &'static str),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

/// Random text made of the parsers' own tokens and a little noise.
fn token_soup() -> impl proptest::strategy::Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => (0..TOKENS.len()).prop_map(|i| TOKENS[i].to_string()),
            1 => "[a-z_]{1,8}",
            1 => any::<char>().prop_map(|c| c.to_string()),
        ],
        0..80,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in any::<String>()) {
        parse_everything(&text);
    }

    #[test]
    fn parsers_never_panic_on_token_soup(text in token_soup()) {
        parse_everything(&text);
    }

    #[test]
    fn parsers_never_panic_on_a_mutated_toml_model(text in mutated(BLOG_TOML)) {
        parse_everything(&text);
    }

    #[test]
    fn parsers_never_panic_on_a_mutated_python_model(text in mutated(BLOG_20)) {
        parse_everything(&text);
    }

    #[test]
    fn parsers_never_panic_on_a_mutated_1x_model(text in mutated(BLOG_1X)) {
        parse_everything(&text);
    }

    #[test]
    fn parsers_never_panic_on_a_mutated_seed_example(text in mutated(SEED)) {
        parse_everything(&text);
    }
}

#[test]
fn the_unmutated_models_load() {
    let schema = sample_schema();
    for (name, text) in [
        ("blog.toml", BLOG_TOML),
        ("blog_20.py", BLOG_20),
        ("blog_1x.py", BLOG_1X),
    ] {
        Model::from_text(name, text.to_string(), schema, false).unwrap();
    }
}

// ----- the engine -----

/// The sample's schema without its rows.
const SCHEMA_SQL: &str = "
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
        manager_id INTEGER REFERENCES users(id));
    CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL,
        user_id INTEGER NOT NULL REFERENCES users(id), created_at TEXT NOT NULL);
    CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts(id),
        user_id INTEGER NOT NULL REFERENCES users(id), body TEXT NOT NULL);
    CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE post_tags (post_id INTEGER NOT NULL REFERENCES posts(id),
        tag_id INTEGER NOT NULL REFERENCES tags(id), PRIMARY KEY (post_id, tag_id));";

/// A random small blog: who wrote what, who commented where, which tags.
#[derive(Clone, Debug)]
struct Blog {
    /// Each user's manager, as an index into the users (cycles allowed).
    managers: Vec<Option<usize>>,
    /// Each post's author.
    posts: Vec<usize>,
    /// Each comment's (post, author).
    comments: Vec<(usize, usize)>,
    tags: usize,
    /// (post, tag) pairs, duplicates dropped.
    post_tags: Vec<(usize, usize)>,
    /// Sparse, shuffled ids, so that keys are not just 1..n.
    id_step: i64,
}

fn blog() -> impl proptest::strategy::Strategy<Value = Blog> {
    (1usize..8, 0usize..14, 0usize..5, 1i64..4).prop_flat_map(|(users, posts, tags, id_step)| {
        let managers = prop::collection::vec(prop::option::of(0..users), users);
        let post_authors = prop::collection::vec(0..users, posts);
        let comments = if posts == 0 {
            Just(Vec::new()).boxed()
        } else {
            prop::collection::vec((0..posts, 0..users), 0..20).boxed()
        };
        let post_tags = if posts == 0 || tags == 0 {
            Just(Vec::new()).boxed()
        } else {
            prop::collection::vec((0..posts, 0..tags), 0..20).boxed()
        };
        (managers, post_authors, comments, post_tags).prop_map(
            move |(managers, posts, comments, mut post_tags)| {
                post_tags.sort();
                post_tags.dedup();
                Blog {
                    managers,
                    posts,
                    comments,
                    tags,
                    post_tags,
                    id_step,
                }
            },
        )
    })
}

impl Blog {
    /// Ids run backwards and spaced, so insertion order, id order and
    /// label order all differ.
    fn id(&self, index: usize) -> i64 {
        1000 - index as i64 * self.id_step
    }

    fn build(&self) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA_SQL).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = OFF; BEGIN")
            .unwrap();
        for (i, manager) in self.managers.iter().enumerate() {
            conn.execute(
                "INSERT INTO users VALUES (?1, ?2, ?3, ?4)",
                params![
                    self.id(i),
                    format!("user {}", (i * 7) % 5),
                    format!("u{i}@example.com"),
                    manager.map(|m| self.id(m))
                ],
            )
            .unwrap();
        }
        for (i, author) in self.posts.iter().enumerate() {
            conn.execute(
                "INSERT INTO posts VALUES (?1, ?2, 'body', ?3, '2024-01-01')",
                params![self.id(i), format!("post {}", i % 3), self.id(*author)],
            )
            .unwrap();
        }
        for (i, (post, author)) in self.comments.iter().enumerate() {
            conn.execute(
                "INSERT INTO comments VALUES (?1, ?2, ?3, ?4)",
                params![
                    self.id(i),
                    self.id(*post),
                    self.id(*author),
                    format!("comment {i}")
                ],
            )
            .unwrap();
        }
        for t in 0..self.tags {
            // Names sort differently from ids (tags order by name).
            conn.execute(
                "INSERT INTO tags VALUES (?1, ?2)",
                params![self.id(t), format!("tag {}", (t * 3) % 5)],
            )
            .unwrap();
        }
        for (post, tag) in &self.post_tags {
            conn.execute(
                "INSERT INTO post_tags VALUES (?1, ?2)",
                params![self.id(*post), self.id(*tag)],
            )
            .unwrap();
        }
        conn.execute_batch("COMMIT").unwrap();
        conn
    }
}

/// Strategies that must all build the same graph (not raise, noload,
/// write_only, or an inner join, which change what is loaded on purpose).
const SAME_GRAPH: [Loading; 6] = [
    Loading::Select,
    Loading::Immediate,
    Loading::Joined,
    Loading::Subquery,
    Loading::Selectin,
    Loading::Dynamic,
];

fn count(graph: &[GraphNode]) -> usize {
    graph
        .iter()
        .map(|n| {
            1 + n
                .relations
                .iter()
                .map(|(_, r)| match r {
                    navigation::GraphRelated::Many(items) => count(items),
                    navigation::GraphRelated::One(item) => {
                        item.as_ref().map_or(0, |n| count(std::slice::from_ref(n)))
                    }
                })
                .sum::<usize>()
        })
        .sum()
}

fn check_blog(blog: &Blog, limit: Option<i64>, choices: &[usize; 3]) -> Result<(), TestCaseError> {
    let conn = TracedConnection::new(blog.build());
    let schema = Schema::read(conn.sqlite().unwrap()).unwrap();
    let model = Model::from_text("blog.toml", BLOG_TOML.to_string(), &schema, false).unwrap();
    let user = model.entity_by_name("User").unwrap();
    let tag = model.entity_by_name("Tag").unwrap();
    let cases = [
        (user, vec!["posts", "posts.comments", "posts.tags"]),
        (tag, vec!["posts", "posts.comments"]),
        (user, vec!["reports", "reports.posts"]),
    ];
    for (root, paths) in cases {
        let base = Navigation {
            root,
            limit,
            expand: paths.iter().map(|p| p.to_string()).collect(),
            strategies: Vec::new(),
            queries: Vec::new(),
        };
        let reference = navigation::run(&model, &conn, &base.with_strategy(Loading::Select))
            .map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
        prop_assert!(reference.errors.is_empty());
        // Every strategy on every path...
        for strategy in SAME_GRAPH {
            let outcome = navigation::run(&model, &conn, &base.with_strategy(strategy))
                .map_err(|e| TestCaseError::fail(format!("{strategy}: {e:#}")))?;
            prop_assert!(
                outcome.errors.is_empty(),
                "{strategy}: {:?}",
                outcome.errors
            );
            prop_assert_eq!(
                &outcome.graph,
                &reference.graph,
                "{} under {} ({} objects)",
                paths.join(","),
                strategy,
                count(&reference.graph)
            );
        }
        // ...and a random mix, one strategy per path.
        let mut mixed = base.clone();
        mixed.strategies = paths
            .iter()
            .zip(choices)
            .map(|(p, c)| (p.to_string(), SAME_GRAPH[*c]))
            .collect();
        let outcome = navigation::run(&model, &conn, &mixed)
            .map_err(|e| TestCaseError::fail(format!("{:?}: {e:#}", mixed.strategies)))?;
        prop_assert_eq!(&outcome.graph, &reference.graph, "{:?}", mixed.strategies);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_strategy_builds_the_same_graph(
        blog in blog(),
        limit in prop::option::of(0i64..6),
        choices in [0..SAME_GRAPH.len(), 0..SAME_GRAPH.len(), 0..SAME_GRAPH.len()],
    ) {
        check_blog(&blog, limit, &choices)?;
    }
}

proptest! {
    /// A statement's shape (the explorer's log line) never panics, keeps
    /// every character outside select lists and key lists, and a
    /// parameter list inlined for copying keeps text in quotes whole.
    #[test]
    fn shapes_and_inlined_parameters_never_panic(
        sql in "(SELECT|FROM|IN|\\(|\\)|\\?|, |'|\"|a|é| |WHERE|DISTINCT){0,40}",
        n in 0usize..5,
    ) {
        let shape = loadscope::analysis::shape::shape(&sql);
        if !sql.contains("SELECT") && !sql.contains("IN") {
            prop_assert_eq!(&shape, &sql);
        }
        let params = vec![rusqlite::types::Value::Text("it's".into()); n];
        let _ = loadscope::dialect::inline_params(&loadscope::dialect::SQLITE, &sql, &params);
    }
}
