//! The throwaway PostgreSQL server of the tests (`tests/common/pg.rs`):
//! one per test binary, an empty database per test, fixtures through psql.

mod common;

use common::pg::cluster;

const BLOG: &str = include_str!("../sample-db/blog.sql");

/// The tables of the current database outside PostgreSQL's own schemas.
const TABLES: &str = "SELECT count(*) FROM information_schema.tables \
                      WHERE table_schema NOT IN ('pg_catalog', 'information_schema');";

#[test]
fn databases_are_separate_and_the_sample_loads() {
    let pg = cluster();
    let blog = pg.new_database("blog sample");
    let empty = pg.new_database("blog sample");
    assert_ne!(blog, empty);
    let prefix = format!("postgresql://postgres@127.0.0.1:{}/", pg.port());
    assert!(blog.starts_with(&prefix), "{blog}");
    let (blog, empty) = (&blog[prefix.len()..], &empty[prefix.len()..]);
    assert!(blog.starts_with("blog_sample_"), "{blog}");

    pg.psql(blog, BLOG);
    assert_eq!(pg.psql(blog, "SELECT count(*) FROM users;"), "50\n");
    assert_eq!(
        pg.psql(blog, "SELECT name FROM users WHERE id = 1;"),
        "John\n"
    );
    assert_eq!(
        pg.psql(
            blog,
            "SELECT title FROM posts WHERE user_id = 1 ORDER BY id LIMIT 2;"
        ),
        "First Post\nSecond Post\n"
    );
    assert_eq!(pg.psql(blog, TABLES), "5\n");
    assert_eq!(pg.psql(empty, TABLES), "0\n");
}

#[test]
fn one_server_for_the_binary() {
    let pg = cluster();
    assert!(std::ptr::eq(pg, cluster()));
    let db = pg.new_database("settings");
    let settings = pg.psql(
        &db[db.rfind('/').unwrap() + 1..],
        "SELECT current_setting('server_version_num')::int >= 150000, \
                current_setting('fsync'), current_setting('server_encoding'), \
                current_user;",
    );
    assert_eq!(settings, "t|off|UTF8|postgres\n");
}

#[test]
#[should_panic(expected = "relation \"nowhere\" does not exist")]
fn a_failing_statement_panics_with_the_message() {
    let pg = cluster();
    let db = pg.new_database("failing");
    pg.psql(
        &db[db.rfind('/').unwrap() + 1..],
        "SELECT 1; SELECT * FROM nowhere; SELECT 2;",
    );
}
