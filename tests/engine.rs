//! The engine through its library API: every strategy builds the same
//! object graph, issues the number of statements SQLAlchemy would, and
//! keeps the session semantics (identity map, loaded collections) intact.

use loadscope::cli::sample::{SampleOptions, generate};
use loadscope::cli::workspace;
use loadscope::db::{Key, Schema, TracedConnection, open::open_sample};
use loadscope::loader::Strategy;
use loadscope::loader::dynamic::{self, DynamicQuery, check_clause};
use loadscope::model::{EntityId, Model};
use loadscope::navigation::{self, GraphNode, GraphRelated, Navigation, Outcome};
use loadscope::plan::{LoadPlan, NodeId};
use loadscope::session::{Access, Related, RootQuery, Session};
use rusqlite::types::Value;
use std::path::Path;

const BLOG: &str = "assets/models/blog.toml";

fn sample() -> (TracedConnection, Model) {
    let conn = TracedConnection::new(open_sample().unwrap());
    let schema = Schema::read(conn.sqlite().unwrap()).unwrap();
    let model = Model::load_file(Path::new(BLOG), &schema, false).unwrap();
    (conn, model)
}

fn entity(model: &Model, name: &str) -> EntityId {
    model.entity_by_name(name).unwrap()
}

fn nav(model: &Model, root: &str, limit: Option<i64>, expand: &[&str]) -> Navigation {
    Navigation {
        root: entity(model, root),
        limit,
        expand: expand.iter().map(|s| s.to_string()).collect(),
        strategies: Vec::new(),
        queries: Vec::new(),
    }
}

fn run(model: &Model, conn: &TracedConnection, nav: &Navigation) -> Outcome {
    navigation::run(model, conn, nav).unwrap()
}

fn in_list_len(sql: &str) -> usize {
    let start = sql.find(" IN (").expect("an IN list") + 5;
    let end = start + sql[start..].find(')').unwrap();
    sql[start..end].split(',').count()
}

/// The graph as an inner join would return it: a node survives only if
/// every relationship it touched found something.
fn inner_join_view(nodes: &[GraphNode]) -> Vec<GraphNode> {
    nodes
        .iter()
        .filter_map(|n| {
            let mut n = n.clone();
            for (_, related) in &mut n.relations {
                match related {
                    GraphRelated::Many(items) => {
                        *items = inner_join_view(items);
                        if items.is_empty() {
                            return None;
                        }
                    }
                    GraphRelated::One(item) => {
                        let kept = item
                            .take()
                            .and_then(|b| inner_join_view(&[*b]).pop().map(Box::new));
                        kept.as_ref()?;
                        *item = kept;
                    }
                }
            }
            Some(n)
        })
        .collect()
}

fn count_children(nodes: &[GraphNode]) -> usize {
    nodes
        .iter()
        .map(|n| {
            n.relations
                .iter()
                .map(|(_, r)| match r {
                    GraphRelated::Many(items) => items.len() + count_children(items),
                    GraphRelated::One(item) => item
                        .as_ref()
                        .map_or(0, |b| 1 + count_children(std::slice::from_ref(b))),
                })
                .sum::<usize>()
        })
        .sum()
}

/// Fails with the first parent whose subtree differs, not the whole graph.
fn assert_same_graph(want: &[GraphNode], got: &[GraphNode], what: &str) {
    if want == got {
        return;
    }
    let pks = |g: &[GraphNode]| g.iter().map(|n| n.pk.to_string()).collect::<Vec<_>>();
    assert_eq!(pks(want), pks(got), "{what}: different parents");
    let (w, g) = want
        .iter()
        .zip(got)
        .find(|(w, g)| w != g)
        .expect("some parent differs");
    panic!(
        "{what}: a different graph under {} {}\n  select: {}\n  this:   {}",
        w.entity,
        w.pk,
        w.to_json(),
        g.to_json()
    );
}

const SAME_GRAPH: [Strategy; 6] = [
    Strategy::Select,
    Strategy::Immediate,
    Strategy::Joined,
    Strategy::Subquery,
    Strategy::Selectin,
    Strategy::Dynamic,
];

fn check_same_graph(root: &str, expand: &[&str]) {
    let (conn, model) = sample();
    for limit in [Some(5), None] {
        let base = nav(&model, root, limit, expand);
        let reference = run(&model, &conn, &base.with_strategy(Strategy::Select));
        assert!(reference.errors.is_empty(), "{:?}", reference.errors);
        if let Some(k) = limit {
            assert_eq!(reference.graph.len(), k as usize);
        } else {
            assert!(reference.graph.len() > 5);
        }
        assert!(
            count_children(&reference.graph) > reference.graph.len(),
            "{root} {expand:?}: the reference graph should hold children"
        );
        for strategy in SAME_GRAPH {
            let outcome = run(&model, &conn, &base.with_strategy(strategy));
            assert!(
                outcome.errors.is_empty(),
                "{strategy}: {:?}",
                outcome.errors
            );
            assert_same_graph(
                &reference.graph,
                &outcome.graph,
                &format!("{root} {expand:?} limit {limit:?}: {strategy}"),
            );
        }
        // An inner join drops parents without children; the ones it
        // returns are complete.
        let inner = run(&model, &conn, &base.with_strategy(Strategy::JoinedInner));
        assert!(inner.errors.is_empty());
        let expected = inner_join_view(&reference.graph);
        let returned: Vec<&Key> = inner.graph.iter().map(|n| &n.pk).collect();
        if limit.is_none() {
            assert_eq!(
                inner.graph, expected,
                "{root} {expand:?}: joined+innerjoin over all parents"
            );
        } else {
            // With a LIMIT the limited parents are joined: the survivors
            // among the first K.
            assert!(!inner.graph.is_empty());
            assert!(inner.graph.len() <= reference.graph.len());
            for node in &inner.graph {
                let want = expected
                    .iter()
                    .find(|e| e.pk == node.pk)
                    .unwrap_or_else(|| {
                        panic!(
                            "{root} {} returned by joined+innerjoin but has no children",
                            node.pk
                        )
                    });
                assert_eq!(node, want, "joined+innerjoin {root} {}", node.pk);
            }
            let survivors: Vec<&Key> = expected.iter().map(|n| &n.pk).collect();
            assert_eq!(returned, survivors, "{root} {expand:?}: parents kept");
        }
    }
}

#[test]
fn every_strategy_builds_the_same_graph_users_posts() {
    check_same_graph("User", &["posts"]);
}

#[test]
fn every_strategy_builds_the_same_graph_users_posts_comments() {
    check_same_graph("User", &["posts", "posts.comments"]);
}

#[test]
fn every_strategy_builds_the_same_graph_posts_tags() {
    check_same_graph("Post", &["tags"]);
}

#[test]
fn mixed_strategies_per_level_build_the_same_graph() {
    // selectinload(User.posts).joinedload(Post.comments) and every other
    // pair: the graph never depends on how it was loaded.
    let (conn, model) = sample();
    for limit in [Some(5), None] {
        let base = nav(&model, "User", limit, &["posts", "posts.comments"]);
        let reference = run(&model, &conn, &base.with_strategy(Strategy::Select));
        for outer in SAME_GRAPH {
            for inner in SAME_GRAPH {
                let mut n = base.clone();
                n.strategies = vec![
                    ("posts".to_string(), outer),
                    ("posts.comments".to_string(), inner),
                ];
                let outcome = run(&model, &conn, &n);
                assert!(
                    outcome.errors.is_empty(),
                    "{outer}/{inner}: {:?}",
                    outcome.errors
                );
                assert_same_graph(
                    &reference.graph,
                    &outcome.graph,
                    &format!("posts={outer}, posts.comments={inner}, limit {limit:?}"),
                );
            }
        }
    }
}

#[test]
fn innerjoin_drops_users_without_posts() {
    // The sample has a user without posts among the first five; the
    // inner join makes it vanish, the outer join keeps it.
    let (conn, model) = sample();
    let base = nav(&model, "User", Some(5), &["posts"]);
    let outer = run(&model, &conn, &base.with_strategy(Strategy::Joined));
    let inner = run(&model, &conn, &base.with_strategy(Strategy::JoinedInner));
    assert_eq!(outer.graph.len(), 5);
    let empty: Vec<&Key> = outer
        .graph
        .iter()
        .filter(|n| matches!(&n.relations[0].1, GraphRelated::Many(v) if v.is_empty()))
        .map(|n| &n.pk)
        .collect();
    assert!(
        !empty.is_empty(),
        "the sample should have a user without posts"
    );
    assert_eq!(inner.graph.len(), 5 - empty.len());
    assert!(
        inner.log.statements[0]
            .sql
            .contains(" JOIN posts AS posts_1")
    );
    assert!(!inner.log.statements[0].sql.contains("LEFT OUTER"));
    assert!(
        outer.log.statements[0]
            .sql
            .contains("LEFT OUTER JOIN posts AS posts_1")
    );
    assert!(outer.log.statements[0].sql.contains("AS anon_1"));
}

#[test]
fn statement_counts_first_five_users_and_their_posts() {
    let (conn, model) = sample();
    let base = nav(&model, "User", Some(5), &["posts"]);
    let expected = [
        (Strategy::Select, 6),
        (Strategy::Immediate, 6),
        (Strategy::Joined, 1),
        (Strategy::JoinedInner, 1),
        (Strategy::Subquery, 2),
        (Strategy::Selectin, 2),
        (Strategy::Raise, 1),
        (Strategy::RaiseOnSql, 1),
        (Strategy::NoLoad, 1),
        (Strategy::Dynamic, 6),
        (Strategy::WriteOnly, 6),
    ];
    for (strategy, count) in expected {
        let outcome = run(&model, &conn, &base.with_strategy(strategy));
        assert_eq!(
            outcome.log.statements.len(),
            count,
            "{strategy}: {:#?}",
            outcome
                .log
                .statements
                .iter()
                .map(|s| &*s.sql)
                .collect::<Vec<_>>()
        );
        let root = &outcome.log.statements[0];
        assert!(root.sql.contains("LIMIT ? OFFSET ?"), "{}", root.sql);
        assert_eq!(root.params, vec![Value::Integer(5), Value::Integer(0)]);
        assert_eq!(outcome.strategies, vec![("posts".to_string(), strategy)]);
        let errors = matches!(strategy, Strategy::Raise | Strategy::RaiseOnSql);
        assert_eq!(
            outcome.errors.len(),
            if errors { 5 } else { 0 },
            "{strategy}"
        );
    }
}

#[test]
fn raise_refuses_every_parent_after_one_statement() {
    let (conn, model) = sample();
    let outcome = run(
        &model,
        &conn,
        &nav(&model, "User", Some(5), &["posts"]).with_strategy(Strategy::Raise),
    );
    assert_eq!(outcome.log.statements.len(), 1);
    assert_eq!(outcome.errors.len(), 5);
    let pks: Vec<Key> = outcome.errors.iter().map(|e| e.parent_pk.clone()).collect();
    assert_eq!(pks, (1..=5).map(Key::Int).collect::<Vec<_>>());
    for e in &outcome.errors {
        assert_eq!(e.path, "posts");
        assert_eq!(
            e.message,
            "'User.posts' is not available due to lazy='raise'"
        );
    }
    // The parents are there; their posts are not.
    assert_eq!(outcome.graph.len(), 5);
    assert!(outcome.graph.iter().all(|n| n.relations.is_empty()));
}

#[test]
fn noload_gives_empty_collections() {
    let (conn, model) = sample();
    for limit in [Some(5), None] {
        let base = nav(&model, "User", limit, &["posts", "posts.comments"]);
        let outcome = run(&model, &conn, &base.with_strategy(Strategy::NoLoad));
        assert_eq!(outcome.log.statements.len(), 1);
        assert!(outcome.errors.is_empty());
        assert!(outcome.graph.len() >= 5);
        for n in &outcome.graph {
            assert_eq!(n.relations.len(), 1);
            assert_eq!(&*n.relations[0].0, "posts");
            assert_eq!(n.relations[0].1, GraphRelated::Many(Vec::new()));
        }
    }
}

#[test]
fn write_only_runs_the_explicit_select_per_parent() {
    let (conn, model) = sample();
    let base = nav(&model, "User", Some(5), &["posts"]);
    let outcome = run(&model, &conn, &base.with_strategy(Strategy::WriteOnly));
    let reference = run(&model, &conn, &base.with_strategy(Strategy::Select));
    assert_eq!(outcome.log.statements.len(), 6);
    assert!(outcome.errors.is_empty());
    assert_eq!(outcome.graph, reference.graph);
    for (i, s) in outcome.log.statements[1..].iter().enumerate() {
        assert_eq!(s.origin.strategy, Some(Strategy::WriteOnly));
        assert!(s.sql.contains("WHERE ? = posts.user_id"), "{}", s.sql);
        assert_eq!(s.params, vec![Value::Integer(i as i64 + 1)]);
    }
}

#[test]
fn selectin_batches_500_keys_over_1234_users() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.db");
    generate(&SampleOptions {
        users: 1234,
        posts_per_user: 3,
        seed: 7,
        out: path.clone(),
        force: false,
    })
    .unwrap();
    let ws = workspace::open(Some(&path), &[BLOG.into()], false, None).unwrap();
    let mut n = nav(&ws.model, "User", None, &["posts"]);
    n.strategies = vec![("posts".to_string(), Strategy::Selectin)];
    let outcome = run(&ws.model, &ws.conn, &n);
    assert_eq!(outcome.graph.len(), 1234);
    let statements = &outcome.log.statements;
    assert_eq!(statements.len(), 4);
    assert!(!statements[0].sql.contains("LIMIT"));
    assert!(statements[0].params.is_empty());
    let sizes: Vec<usize> = statements[1..].iter().map(|s| s.params.len()).collect();
    assert_eq!(sizes, vec![500, 500, 234]);
    let placeholders: Vec<usize> = statements[1..]
        .iter()
        .map(|s| in_list_len(&s.sql))
        .collect();
    assert_eq!(placeholders, vec![500, 500, 234]);
    // The keys are the users' ids in order, each once.
    let keys: Vec<Value> = statements[1..]
        .iter()
        .flat_map(|s| s.params.iter().cloned())
        .collect();
    assert_eq!(keys, (1..=1234).map(Value::Integer).collect::<Vec<_>>());
    // Every post is loaded once, and each user got its own.
    let posts: usize = ws
        .conn
        .sqlite()
        .unwrap()
        .query_row("SELECT count(*) FROM posts", [], |r| r.get::<_, i64>(0))
        .unwrap() as usize;
    assert_eq!(count_children(&outcome.graph), posts);
    assert_eq!(statements[1..].iter().map(|s| s.rows).sum::<usize>(), posts);
}

#[test]
fn many_to_one_from_the_identity_map_needs_no_sql() {
    let (conn, model) = sample();
    let mut n = nav(&model, "User", Some(5), &["posts", "posts.user"]);
    n.strategies = vec![
        ("posts".to_string(), Strategy::Selectin),
        ("posts.user".to_string(), Strategy::Select),
    ];
    let outcome = run(&model, &conn, &n);
    assert_eq!(
        outcome.log.statements.len(),
        2,
        "{:#?}",
        outcome.log.statements
    );
    assert!(outcome.errors.is_empty());
    // Each post points back at its own user.
    for user in &outcome.graph {
        let GraphRelated::Many(posts) = &user.relations[0].1 else {
            panic!("posts is a collection")
        };
        for post in posts {
            let (name, GraphRelated::One(Some(back))) = &post.relations[0] else {
                panic!("post.user should be loaded: {post:?}")
            };
            assert_eq!(&**name, "user");
            assert_eq!(back.pk, user.pk);
        }
    }

    // raise_on_sql allows exactly this case.
    n.strategies[1].1 = Strategy::RaiseOnSql;
    let allowed = run(&model, &conn, &n);
    assert!(allowed.errors.is_empty(), "{:?}", allowed.errors);
    assert_eq!(allowed.log.statements.len(), 2);
    assert_eq!(allowed.graph, outcome.graph);
}

#[test]
fn raise_on_sql_refuses_when_sql_is_needed() {
    let (conn, model) = sample();
    let mut n = nav(&model, "Post", Some(3), &["user"]);
    n.strategies = vec![("user".to_string(), Strategy::RaiseOnSql)];
    let outcome = run(&model, &conn, &n);
    assert_eq!(outcome.log.statements.len(), 1);
    assert_eq!(outcome.errors.len(), 3);
    for e in &outcome.errors {
        assert_eq!(e.path, "user");
        assert!(e.message.contains("Post.user"), "{}", e.message);
        assert!(e.message.contains("lazy='raise_on_sql'"), "{}", e.message);
    }
}

fn session_with_users<'a>(
    model: &'a Model,
    conn: &'a TracedConnection,
    limit: i64,
) -> (Session<'a>, Vec<loadscope::session::ObjId>) {
    let user = entity(model, "User");
    let mut session = Session::new(model, conn, LoadPlan::new(user));
    let users = session
        .load_root(&RootQuery {
            limit: Some(limit),
            ..RootQuery::default()
        })
        .unwrap();
    (session, users)
}

#[test]
fn expanding_a_loaded_collection_again_issues_no_sql() {
    let (conn, model) = sample();
    let posts = model.rel_by_name(entity(&model, "User"), "posts").unwrap();
    let (mut session, users) = session_with_users(&model, &conn, 3);
    assert_eq!(conn.log().statements.len(), 1);
    let first = session.access(users[0], posts).unwrap();
    assert_eq!(conn.log().statements.len(), 2);
    let Access::Loaded(Related::Many(items)) = &first else {
        panic!("posts loads: {first:?}")
    };
    assert!(!items.is_empty());
    let again = session.access(users[0], posts).unwrap();
    assert_eq!(conn.log().statements.len(), 2, "the second access ran SQL");
    assert_eq!(again, first);
    // Another parent's collection is a new load.
    session.access(users[1], posts).unwrap();
    assert_eq!(conn.log().statements.len(), 3);
}

#[test]
fn chunksize_from_the_model_file_sets_the_batch() {
    let text = std::fs::read_to_string(BLOG).unwrap();
    let marker = "[entities.User.relationships.posts]\n";
    assert!(text.contains(marker));
    let text = text.replacen(marker, &format!("{marker}chunksize = 2\n"), 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chunked.toml");
    std::fs::write(&file, text).unwrap();
    let conn = TracedConnection::new(open_sample().unwrap());
    let schema = Schema::read(conn.sqlite().unwrap()).unwrap();
    let model = Model::load_file(&file, &schema, false).unwrap();
    let posts = model.rel_by_name(entity(&model, "User"), "posts").unwrap();
    assert_eq!(model.rel(posts).chunksize, 2);
    let outcome = run(
        &model,
        &conn,
        &nav(&model, "User", Some(5), &["posts"]).with_strategy(Strategy::Selectin),
    );
    let sizes: Vec<usize> = outcome.log.statements[1..]
        .iter()
        .map(|s| in_list_len(&s.sql))
        .collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    let params: Vec<Vec<Value>> = outcome.log.statements[1..]
        .iter()
        .map(|s| s.params.clone())
        .collect();
    assert_eq!(
        params,
        vec![
            vec![Value::Integer(1), Value::Integer(2)],
            vec![Value::Integer(3), Value::Integer(4)],
            vec![Value::Integer(5)],
        ]
    );
    // The batches change the statements, not the graph.
    let (conn2, blog) = sample();
    let reference = run(
        &blog,
        &conn2,
        &nav(&blog, "User", Some(5), &["posts"]).with_strategy(Strategy::Selectin),
    );
    assert_eq!(outcome.graph, reference.graph);
}

#[test]
fn a_typed_or_filter_stays_under_its_parent() {
    // `a OR b` typed as a filter must not escape `? = posts.user_id`:
    // another user's posts never show under this one.
    let (conn, model) = sample();
    let user = model.entity_by_name("User").unwrap();
    let posts = model.rel_by_name(user, "posts").unwrap();
    let (mut session, users) = session_with_users(&model, &conn, 1);
    let node = session.plan.child_or_insert(&model, NodeId::ROOT, posts);
    let q = DynamicQuery {
        filter: Some("posts.id < 0 OR posts.id > 0".to_string()),
        ..DynamicQuery::default()
    };
    let found = dynamic::query(&mut session, users[0], node, &q).unwrap();
    let user_id = session.value(users[0], 0).clone();
    let user_column = model
        .entity(model.rel(posts).target)
        .column_index("user_id")
        .unwrap();
    assert!(!found.is_empty());
    for post in found {
        assert_eq!(session.value(post, user_column), &user_id);
    }
    let statement = conn.log().statements.last().unwrap().clone();
    assert!(
        statement
            .sql
            .contains("WHERE ? = posts.user_id AND (posts.id < 0 OR posts.id > 0)"),
        "{}",
        statement.sql
    );
}

#[test]
fn dynamic_query_with_filter_order_and_limit() {
    let (conn, model) = sample();
    let user = entity(&model, "User");
    let posts = model.rel_by_name(user, "posts").unwrap();
    let (mut session, users) = session_with_users(&model, &conn, 1);
    let node = session.plan.child_or_insert(&model, NodeId::ROOT, posts);
    let q = DynamicQuery {
        filter: Some("posts.title LIKE '%Post%'".to_string()),
        order_by: Some("posts.id DESC".to_string()),
        limit: Some(2),
        offset: Some(1),
    };
    let found = dynamic::query(&mut session, users[0], node, &q).unwrap();
    let statement = conn.log().statements.last().unwrap().clone();
    assert_eq!(statement.origin.strategy, Some(Strategy::Dynamic));
    assert!(
        statement.sql.starts_with("SELECT posts.id AS posts_id, "),
        "{}",
        statement.sql
    );
    assert!(
        statement.sql.ends_with(
            " FROM posts WHERE ? = posts.user_id AND (posts.title LIKE '%Post%') \
             ORDER BY posts.id DESC LIMIT ? OFFSET ?"
        ),
        "{}",
        statement.sql
    );
    assert_eq!(
        statement.params,
        vec![Value::Integer(1), Value::Integer(2), Value::Integer(1)]
    );
    // The same rows plain SQL finds.
    let expected: Vec<i64> = {
        let mut stmt = conn
            .sqlite()
            .unwrap()
            .prepare(
                "SELECT id FROM posts WHERE user_id = 1 AND title LIKE '%Post%' \
                 ORDER BY id DESC LIMIT 2 OFFSET 1",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert!(!expected.is_empty());
    let got: Vec<Key> = found
        .iter()
        .map(|o| session.object(*o).key.clone())
        .collect();
    assert_eq!(got, expected.into_iter().map(Key::Int).collect::<Vec<_>>());

    // count() wraps the query.
    let all: i64 = conn
        .sqlite()
        .unwrap()
        .query_row(
            "SELECT count(*) FROM posts WHERE user_id = 1 AND title LIKE '%Post%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let unlimited = DynamicQuery {
        limit: None,
        offset: None,
        ..q.clone()
    };
    assert_eq!(
        dynamic::count(&mut session, users[0], node, &unlimited).unwrap(),
        all
    );
    let counted = conn.log().statements.last().unwrap().clone();
    assert!(
        counted
            .sql
            .starts_with("SELECT count(*) AS count_1 FROM (SELECT posts.id AS posts_id"),
        "{}",
        counted.sql
    );
    assert!(counted.sql.ends_with(") AS anon_1"), "{}", counted.sql);
    assert_eq!(
        dynamic::count(&mut session, users[0], node, &q).unwrap(),
        (all - 1).clamp(0, 2)
    );
    // Every access is a query: nothing cached.
    let before = conn.log().statements.len();
    dynamic::query(&mut session, users[0], node, &q).unwrap();
    assert_eq!(conn.log().statements.len(), before + 1);
}

#[test]
fn dynamic_refuses_what_is_not_one_expression() {
    assert!(check_clause("the filter", "posts.title LIKE '%a;b--c%'").is_ok());
    assert!(check_clause("the filter", "(posts.id > 3) AND (posts.id < 9)").is_ok());
    assert!(check_clause("the filter", "posts.title = 'it''s'").is_ok());
    let refused = [
        ("1; DROP TABLE users", "several statements"),
        ("posts.id > 1 -- and the rest", "comments"),
        ("posts.id > 1 /* hidden */", "comments"),
        ("posts.title = 'open", "unclosed quote"),
        ("posts.title = \"open", "unclosed quote"),
        ("(posts.id > 1", "`(` without its `)`"),
        ("posts.id > 1)", "`)` without its `(`"),
    ];
    for (text, why) in refused {
        let error = check_clause("the filter", text).unwrap_err().to_string();
        assert!(error.contains(why), "{text:?}: {error}");
        assert!(error.starts_with("the filter"), "{error}");
    }
    let huge = "a".repeat(10 * 1024);
    let error = check_clause("the filter", &huge).unwrap_err().to_string();
    assert!(error.contains("too long"), "{error}");

    // Refused before any SQL runs.
    let (conn, model) = sample();
    let posts = model.rel_by_name(entity(&model, "User"), "posts").unwrap();
    let (mut session, users) = session_with_users(&model, &conn, 1);
    let node = session.plan.child_or_insert(&model, NodeId::ROOT, posts);
    let before = conn.log().statements.len();
    for bad in ["1; DROP TABLE users", "x --", "'", ")("] {
        let q = DynamicQuery {
            filter: Some(bad.to_string()),
            ..DynamicQuery::default()
        };
        assert!(dynamic::query(&mut session, users[0], node, &q).is_err());
        assert!(dynamic::count(&mut session, users[0], node, &q).is_err());
        let q = DynamicQuery {
            order_by: Some(bad.to_string()),
            ..DynamicQuery::default()
        };
        assert!(dynamic::query(&mut session, users[0], node, &q).is_err());
    }
    assert_eq!(conn.log().statements.len(), before);
    // The users table is still there.
    let n: i64 = conn
        .sqlite()
        .unwrap()
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert!(n > 0);
}

#[test]
fn every_pair_of_strategies_builds_the_same_graph_on_other_paths() {
    // Many-to-one, many-to-many and self-referential levels under every
    // pair of graph-preserving strategies (dynamic only on collections).
    let (conn, model) = sample();
    let cases: [(&str, Option<i64>, [&str; 2]); 6] = [
        ("Comment", Some(7), ["post", "post.user"]),
        ("Tag", None, ["posts", "posts.comments"]),
        ("User", Some(5), ["posts", "posts.tags"]),
        ("User", None, ["reports", "reports.reports"]),
        ("User", Some(9), ["manager", "manager.posts"]),
        ("Post", Some(6), ["comments", "comments.author"]),
    ];
    for (root, limit, [outer_path, inner_path]) in cases {
        let base = nav(&model, root, limit, &[outer_path, inner_path]);
        let reference = run(&model, &conn, &base.with_strategy(Strategy::Select));
        assert!(count_children(&reference.graph) > 0, "{root} {outer_path}");
        let is_one = |path: &str| {
            let mut plan = LoadPlan::new(base.root);
            let node = plan.add_path(&model, path).unwrap();
            !model.rel(plan.node(node).rel.unwrap()).is_collection()
        };
        let usable = |path: &str| -> Vec<Strategy> {
            SAME_GRAPH
                .into_iter()
                .filter(|s| *s != Strategy::Dynamic || !is_one(path))
                .collect()
        };
        for outer in usable(outer_path) {
            for inner in usable(inner_path) {
                let mut n = base.clone();
                n.strategies = vec![
                    (outer_path.to_string(), outer),
                    (inner_path.to_string(), inner),
                ];
                let outcome = run(&model, &conn, &n);
                assert!(
                    outcome.errors.is_empty(),
                    "{outer}/{inner}: {:?}",
                    outcome.errors
                );
                assert_same_graph(
                    &reference.graph,
                    &outcome.graph,
                    &format!("{root} {outer_path}={outer}, {inner_path}={inner}, limit {limit:?}"),
                );
            }
        }
    }
}

/// Runs `expand` with loader options (`path=strategy`) and returns the
/// statements as (sql, params).
fn statements(
    model: &Model,
    conn: &TracedConnection,
    root: &str,
    limit: Option<i64>,
    options: &[(&str, Strategy)],
) -> (Outcome, Vec<(String, Vec<Value>)>) {
    let mut n = nav(
        model,
        root,
        limit,
        &options.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
    );
    n.strategies = options.iter().map(|(p, s)| (p.to_string(), *s)).collect();
    let outcome = run(model, conn, &n);
    let list = outcome
        .log
        .statements
        .iter()
        .map(|s| (s.sql.to_string(), s.params.clone()))
        .collect();
    (outcome, list)
}

fn ints(values: &[i64]) -> Vec<Value> {
    values.iter().copied().map(Value::Integer).collect()
}

// The SQL below was recorded from SQLAlchemy 2.1.9 with
// scripts/sqlalchemy_oracle.py's mapping and loader options.

#[test]
fn lazy_load_with_a_joined_load_below_labels_nothing() {
    // lazyload(User.posts).joinedload(Post.comments)
    let (conn, model) = sample();
    let (outcome, sql) = statements(
        &model,
        &conn,
        "User",
        Some(5),
        &[
            ("posts", Strategy::Select),
            ("posts.comments", Strategy::Joined),
        ],
    );
    assert_eq!(sql.len(), 6);
    assert_eq!(
        sql[1],
        (
            "SELECT posts.id, posts.title, posts.body, posts.user_id, posts.created_at, \
             comments_1.id, comments_1.post_id, comments_1.user_id, comments_1.body \
             FROM posts LEFT OUTER JOIN comments AS comments_1 ON posts.id = comments_1.post_id \
             WHERE ? = posts.user_id ORDER BY posts.id, comments_1.id"
                .to_string(),
            ints(&[1])
        )
    );
    let reference = run(
        &model,
        &conn,
        &nav(&model, "User", Some(5), &["posts", "posts.comments"]),
    );
    assert_same_graph(&reference.graph, &outcome.graph, "select/joined");
}

#[test]
fn lazy_load_of_an_empty_collection_with_a_joined_load_below() {
    // User 3 has no posts: the lazy load returns no row at all, and the
    // joined load below it has nothing to fire on (this used to panic).
    let (conn, model) = sample();
    for outer in [Strategy::Select, Strategy::Immediate, Strategy::Dynamic] {
        let (outcome, _) = statements(
            &model,
            &conn,
            "User",
            Some(5),
            &[("posts", outer), ("posts.comments", Strategy::Joined)],
        );
        let empty = outcome
            .graph
            .iter()
            .find(|n| n.pk == Key::Int(3))
            .expect("user 3");
        assert_eq!(
            empty.relations,
            vec![("posts".into(), GraphRelated::Many(Vec::new()))]
        );
    }
}

#[test]
fn many_to_many_lazy_load_with_a_joined_load_below() {
    // lazyload(Tag.posts).joinedload(Post.comments): the link table comes
    // first in FROM, the joins attach to posts.
    let (conn, model) = sample();
    let (outcome, sql) = statements(
        &model,
        &conn,
        "Tag",
        None,
        &[
            ("posts", Strategy::Select),
            ("posts.comments", Strategy::Joined),
        ],
    );
    assert_eq!(sql.len(), 11);
    assert_eq!(
        sql[1],
        (
            "SELECT posts.id, posts.title, posts.body, posts.user_id, posts.created_at, \
             comments_1.id, comments_1.post_id, comments_1.user_id, comments_1.body \
             FROM post_tags, posts LEFT OUTER JOIN comments AS comments_1 ON posts.id = comments_1.post_id \
             WHERE ? = post_tags.tag_id AND posts.id = post_tags.post_id ORDER BY posts.id, comments_1.id"
                .to_string(),
            ints(&[1])
        )
    );
    let reference = run(
        &model,
        &conn,
        &nav(&model, "Tag", None, &["posts", "posts.comments"]),
    );
    assert_same_graph(&reference.graph, &outcome.graph, "Tag select/joined");
}

#[test]
fn subquery_below_a_lazy_many_to_many_restates_its_from() {
    // lazyload(Tag.posts).subqueryload(Post.comments): the re-stated lazy
    // load keeps its `posts, post_tags` FROM (it used to lose post_tags
    // and fail with "no such column").
    let (conn, model) = sample();
    let (outcome, sql) = statements(
        &model,
        &conn,
        "Tag",
        None,
        &[
            ("posts", Strategy::Select),
            ("posts.comments", Strategy::Subquery),
        ],
    );
    assert_eq!(sql.len(), 21);
    assert_eq!(
        sql[2],
        (
            "SELECT comments.id AS comments_id, comments.post_id AS comments_post_id, \
             comments.user_id AS comments_user_id, comments.body AS comments_body, \
             anon_1.posts_id AS anon_1_posts_id \
             FROM (SELECT posts.id AS posts_id FROM posts, post_tags \
             WHERE ? = post_tags.tag_id AND posts.id = post_tags.post_id) AS anon_1 \
             JOIN comments ON anon_1.posts_id = comments.post_id ORDER BY comments.id"
                .to_string(),
            ints(&[1])
        )
    );
    let reference = run(
        &model,
        &conn,
        &nav(&model, "Tag", None, &["posts", "posts.comments"]),
    );
    assert_same_graph(&reference.graph, &outcome.graph, "Tag select/subquery");
}

#[test]
fn subquery_parent_key_comes_before_joined_columns() {
    // subqueryload(User.posts).joinedload(Post.comments)
    let (conn, model) = sample();
    let (_, sql) = statements(
        &model,
        &conn,
        "User",
        Some(5),
        &[
            ("posts", Strategy::Subquery),
            ("posts.comments", Strategy::Joined),
        ],
    );
    assert_eq!(sql.len(), 2);
    assert_eq!(
        sql[1],
        (
            "SELECT posts.id AS posts_id, posts.title AS posts_title, posts.body AS posts_body, \
             posts.user_id AS posts_user_id, posts.created_at AS posts_created_at, \
             anon_1.users_id AS anon_1_users_id, comments_1.id AS comments_1_id, \
             comments_1.post_id AS comments_1_post_id, comments_1.user_id AS comments_1_user_id, \
             comments_1.body AS comments_1_body \
             FROM (SELECT users.id AS users_id FROM users ORDER BY users.id LIMIT ? OFFSET ?) AS anon_1 \
             JOIN posts ON anon_1.users_id = posts.user_id \
             LEFT OUTER JOIN comments AS comments_1 ON posts.id = comments_1.post_id \
             ORDER BY posts.id, comments_1.id"
                .to_string(),
            ints(&[5, 0])
        )
    );
}

#[test]
fn collection_joined_below_a_many_to_one_is_not_repeated() {
    // joinedload(User.manager).joinedload(User.posts): John manages both
    // Alice and Erin, so his posts come back in two runs of rows; his
    // collection holds each post once.
    let (conn, model) = sample();
    let (outcome, sql) = statements(
        &model,
        &conn,
        "User",
        Some(9),
        &[
            ("manager", Strategy::Joined),
            ("manager.posts", Strategy::Joined),
        ],
    );
    assert_eq!(sql.len(), 1);
    assert_eq!(
        sql[0].0,
        "SELECT anon_1.id, anon_1.name, anon_1.email, anon_1.manager_id, posts_1.id AS id_1, \
         posts_1.title, posts_1.body, posts_1.user_id, posts_1.created_at, users_1.id AS id_2, \
         users_1.name AS name_1, users_1.email AS email_1, users_1.manager_id AS manager_id_1 \
         FROM (SELECT users.id AS id, users.name AS name, users.email AS email, \
         users.manager_id AS manager_id FROM users ORDER BY users.id LIMIT ? OFFSET ?) AS anon_1 \
         LEFT OUTER JOIN users AS users_1 ON users_1.id = anon_1.manager_id \
         LEFT OUTER JOIN posts AS posts_1 ON users_1.id = posts_1.user_id \
         ORDER BY anon_1.id, posts_1.id"
    );
    let json: Vec<serde_json::Value> = outcome.graph.iter().map(GraphNode::to_json).collect();
    let john_posts = serde_json::json!([
        {"entity": "Post", "pk": 1, "label": "First Post"},
        {"entity": "Post", "pk": 2, "label": "Second Post"}
    ]);
    for managed in [2, 6] {
        let user = &json[managed - 1];
        assert_eq!(user["manager"]["pk"], 1, "{user}");
        assert_eq!(user["manager"]["posts"], john_posts, "{user}");
    }
}

#[test]
fn three_levels_under_every_combination_build_the_same_graph() {
    // posts (one-to-many), comments (one-to-many), author (many-to-one
    // back to a user who may already be in the identity map).
    let (conn, model) = sample();
    let paths = ["posts", "posts.comments", "posts.comments.author"];
    let base = nav(&model, "User", Some(4), &paths);
    let reference = run(&model, &conn, &base.with_strategy(Strategy::Select));
    assert!(count_children(&reference.graph) > 20);
    let last: Vec<Strategy> = SAME_GRAPH
        .into_iter()
        .filter(|s| *s != Strategy::Dynamic)
        .collect();
    for a in SAME_GRAPH {
        for b in SAME_GRAPH {
            for c in &last {
                let mut n = base.clone();
                n.strategies = vec![
                    (paths[0].to_string(), a),
                    (paths[1].to_string(), b),
                    (paths[2].to_string(), *c),
                ];
                let outcome = run(&model, &conn, &n);
                assert!(
                    outcome.errors.is_empty(),
                    "{a}/{b}/{c}: {:?}",
                    outcome.errors
                );
                assert_same_graph(&reference.graph, &outcome.graph, &format!("{a}/{b}/{c}"));
            }
        }
    }
}

#[test]
fn a_filter_is_one_condition_and_an_order_sets_no_limit() {
    use loadscope::loader::dynamic::{check_filter, check_order};
    for (text, word) in [
        ("posts.id > 1 UNION SELECT 1", "UNION"),
        ("1 INTERSECT SELECT 1", "INTERSECT"),
        ("1 EXCEPT SELECT 1", "EXCEPT"),
        ("1 GROUP BY posts.user_id", "GROUP"),
        ("1 HAVING count(*) > 1", "HAVING"),
        ("1 WINDOW w AS ()", "WINDOW"),
    ] {
        let error = check_filter(text).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("the filter may not use `{word}` here")),
            "{text}: {error}"
        );
    }
    // Inside parentheses (a subquery) and inside quotes they are fine.
    check_filter("posts.id IN (SELECT 1 UNION SELECT 2)").unwrap();
    check_filter("posts.title = 'GROUP BY'").unwrap();
    check_filter("posts.\"group\" = 1").unwrap();
    let error = check_order("posts.id LIMIT 1").unwrap_err().to_string();
    assert_eq!(
        error,
        "the order may not use `LIMIT` here: use the `limit:` line"
    );
    assert!(check_order("posts.id DESC OFFSET 2").is_err());
    check_order("posts.id DESC, posts.title").unwrap();
}

#[test]
fn a_typed_filter_cannot_allocate_gigabytes() {
    // SQLite's length limit is lowered on every connection: a blob of
    // 1 GB is refused at once instead of being made.
    let (conn, model) = sample();
    let user = model.entity_by_name("User").unwrap();
    let posts = model.rel_by_name(user, "posts").unwrap();
    let (mut session, users) = session_with_users(&model, &conn, 1);
    let node = session.plan.child_or_insert(&model, NodeId::ROOT, posts);
    let q = DynamicQuery {
        filter: Some("length(randomblob(1000000000)) > 0".to_string()),
        ..DynamicQuery::default()
    };
    let error = dynamic::query(&mut session, users[0], node, &q).unwrap_err();
    assert!(format!("{error:#}").contains("too big"), "{error:#}");
}

/// The log's version changes with every statement, section, hand-over and
/// restore, and only then: the explorer keeps its analysis while it holds.
#[test]
fn the_log_version_changes_exactly_when_the_statements_do() {
    let (conn, model) = sample();
    let v0 = conn.log_version();
    assert_eq!(conn.log_version(), v0, "reading changes nothing");
    navigation::run(&model, &conn, &nav(&model, "User", Some(2), &["posts"])).unwrap();
    let v1 = conn.log_version();
    assert!(v1 > v0);
    conn.begin_step("a step with no statement".to_string());
    assert_eq!(conn.log_version(), v1);
    conn.new_section();
    let v2 = conn.log_version();
    assert!(v2 > v1);
    let log = conn.take_log();
    let v3 = conn.log_version();
    assert!(v3 > v2);
    conn.restore_log(log);
    assert!(conn.log_version() > v3);
}
