//! Broken model files through the real binary: every mistake is reported
//! as `FILE:LINE:COL`, with the line quoted and underlined, what was wrong,
//! and what would be valid, in one screen, with exit code 1 and nothing on
//! stdout.

mod common;
use common::loadscope;

use std::path::Path;

const DIR: &str = "tests/fixtures/models";

struct Expected<'a> {
    file: &'a str,
    line: usize,
    col: usize,
    /// The underline's width (the offending token).
    width: usize,
    message: &'a str,
    help: &'a [&'a str],
}

/// Runs `trace --model FILE --limit 1` and checks the diagnostic.
fn check(e: &Expected<'_>) -> String {
    check_command(e, "trace")
}

fn check_command(e: &Expected<'_>, command: &str) -> String {
    let path = format!("{DIR}/{}", e.file);
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(&path).exists(),
        "{path} is missing"
    );
    let out = loadscope(&[command, "--model", &path, "--limit", "1"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{path}: exit code\n{stderr}");
    assert!(stdout.is_empty(), "{path}: stdout is not empty: {stdout}");
    assert!(!stderr.contains("panicked"), "{path}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.len() < 25, "{path}: {} lines\n{stderr}", lines.len());
    assert_eq!(
        lines[0],
        format!("error: {}", e.message),
        "{path}: message\n{stderr}"
    );
    assert_eq!(
        lines[1],
        format!("  --> {path}:{}:{}", e.line, e.col),
        "{path}: location\n{stderr}"
    );
    // The quoted line, and the underline under the offending token.
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&path)).unwrap();
    let source_line = text.lines().nth(e.line - 1).unwrap();
    let gutter = " ".repeat(e.line.to_string().len());
    assert_eq!(lines[3], format!("{} | {source_line}", e.line), "{stderr}");
    assert_eq!(
        lines[4],
        format!(
            "{gutter} | {}{}",
            " ".repeat(e.col - 1),
            "^".repeat(e.width)
        ),
        "{path}: underline\n{stderr}"
    );
    for help in e.help {
        assert!(
            stderr.contains(help),
            "{path}: no `{help}` in the diagnostic\n{stderr}"
        );
    }
    stderr
}

#[test]
fn unknown_table_suggests_the_nearest() {
    check(&Expected {
        file: "unknown_table.toml",
        line: 3,
        col: 9,
        width: 7,
        message: "unknown table `usres` in entity User",
        help: &[
            "tables in the database: users, posts, comments, tags, post_tags",
            "did you mean `users`?",
        ],
    });
}

#[test]
fn unknown_column_in_foreign_key_suggests_the_nearest() {
    check(&Expected {
        file: "unknown_fk_column.toml",
        line: 7,
        col: 15,
        width: 14,
        message: "unknown column `posts.userid` in foreign_key of User.posts",
        help: &[
            "columns of posts: id, title, body, user_id, created_at",
            "did you mean `user_id`?",
        ],
    });
}

#[test]
fn foreign_key_that_does_not_point_at_the_target() {
    check(&Expected {
        file: "fk_wrong_target.toml",
        line: 8,
        col: 15,
        width: 18,
        message: "`comments.post_id` is not a foreign key to `users` in the database, \
                  so it cannot join Comment.author",
        help: &[
            "foreign keys declared by comments: comments.user_id -> users, comments.post_id -> posts",
            "did you mean `comments.user_id`?",
        ],
    });
}

#[test]
fn foreign_key_in_an_unrelated_table() {
    check(&Expected {
        file: "fk_other_table.toml",
        line: 7,
        col: 15,
        width: 18,
        message: "foreign_key `comments.post_id` of User.posts is in table `comments`, \
                  which is neither `users` (User) nor `posts` (Post)",
        help: &["a one-to-many foreign key lives in the target's table"],
    });
}

#[test]
fn toml_syntax_error() {
    // An unterminated string: the closing quote is missing at the end of
    // line 3.
    check(&Expected {
        file: "syntax_error.toml",
        line: 3,
        col: 14,
        width: 1,
        message: "invalid model file: invalid basic string, expected `\"`",
        help: &["a model file has [entities.NAME] tables with `table`"],
    });
}

#[test]
fn unknown_lazy_value_lists_the_real_ones() {
    check(&Expected {
        file: "unknown_lazy.toml",
        line: 8,
        col: 8,
        width: 11,
        message: "unknown lazy value `selectinn` in User.posts",
        help: &[
            "valid lazy values: select, immediate, joined, subquery, selectin, raise, \
             raise_on_sql, noload, dynamic, write_only",
            "did you mean `selectin`?",
        ],
    });
}

#[test]
fn unknown_key_in_a_relationship_lists_the_real_ones() {
    // The seed blog post's `dynamic_loader="joined"`, in TOML.
    check(&Expected {
        file: "unknown_key.toml",
        line: 8,
        col: 1,
        width: 14,
        message: "invalid model file: unknown field `dynamic_loader`, expected one of \
                  `target`, `foreign_key`, `secondary`, `lazy`, `order_by`, \
                  `back_populates`, `innerjoin`, `direction`, `chunksize`, `uselist`, \
                  `primaryjoin`, `secondaryjoin`",
        help: &[],
    });
}

#[test]
fn self_referential_without_direction() {
    check(&Expected {
        file: "self_referential.toml",
        line: 7,
        col: 15,
        width: 18,
        message: "User.manager is self-referential, so its direction cannot be inferred",
        help: &[
            "candidates: users.manager_id (one_to_many), users.manager_id (many_to_one)",
            "direction = \"many_to_one\"",
            "direction = \"one_to_many\"",
        ],
    });
}

#[test]
fn self_referential_without_foreign_key_or_direction() {
    // No foreign_key either: the relationship's name is the place.
    let stderr = check(&Expected {
        file: "self_referential_no_fk.toml",
        line: 5,
        col: 30,
        width: 7,
        message: "User.reports is self-referential, so its direction cannot be inferred",
        help: &["direction = \"many_to_one\"", "direction = \"one_to_many\""],
    });
    // One foreign key column: setting `foreign_key` would not help.
    assert!(!stderr.contains("set `foreign_key`"), "{stderr}");
}

#[test]
fn back_populates_naming_a_missing_relationship() {
    check(&Expected {
        file: "back_populates.toml",
        line: 8,
        col: 18,
        width: 5,
        message: "back_populates of User.posts names `usr`, which Post does not have",
        help: &["relationships of Post: user", "did you mean `user`?"],
    });
}

#[test]
fn unknown_target_entity() {
    check(&Expected {
        file: "unknown_target.toml",
        line: 6,
        col: 10,
        width: 6,
        message: "unknown entity `Pots` in target of User.posts",
        help: &["entities in the model: User, Post", "did you mean `Post`?"],
    });
}

#[test]
fn unknown_order_by_column() {
    check(&Expected {
        file: "unknown_order_by.toml",
        line: 8,
        col: 12,
        width: 20,
        message: "unknown column `posts.created` in order_by of User.posts",
        help: &["did you mean `created_at`?"],
    });
}

#[test]
fn compare_reports_the_same_diagnostic() {
    check_command(
        &Expected {
            file: "unknown_lazy.toml",
            line: 8,
            col: 8,
            width: 11,
            message: "unknown lazy value `selectinn` in User.posts",
            help: &["did you mean `selectin`?"],
        },
        "compare",
    );
}

#[test]
fn every_fixture_is_an_error() {
    // A fixture added without a test above still has to fail cleanly.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        count += 1;
        let out = loadscope(&["trace", "--model", path.to_str().unwrap(), "--limit", "1"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", path.display());
        assert!(out.stdout.is_empty(), "{}", path.display());
        assert!(!stderr.contains("panicked"), "{stderr}");
        let location = format!("{}:", path.display());
        assert!(stderr.contains(&location), "{}: {stderr}", path.display());
        assert!(stderr.lines().count() < 25, "{stderr}");
    }
    assert!(count >= 10, "{count} fixtures");
}

#[test]
fn a_missing_model_file_is_an_error() {
    let out = loadscope(&["trace", "--model", "tests/fixtures/models/nope.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("tests/fixtures/models/nope.toml"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot read model file"), "{stderr}");
}

#[test]
fn columns_count_characters_not_bytes() {
    check(&Expected {
        file: "unicode_column.toml",
        line: 3,
        col: 24,
        width: 11,
        message: "unknown table `bénéfices` in entity Bénéfice",
        help: &["tables in the database: users, posts, comments, tags, post_tags"],
    });
}

#[test]
fn joined_table_inheritance_is_refused_by_name() {
    check(&Expected {
        file: "inherits_own_table.toml",
        line: 7,
        col: 9,
        width: 7,
        message: "entity Author inherits from User and maps its own table `posts`: joined-table inheritance is not supported yet",
        help: &["single-table inheritance (no `table`, rows in `users`) is"],
    });
}

#[test]
fn unknown_base_class_suggests_the_nearest() {
    check(&Expected {
        file: "inherits_unknown.toml",
        line: 6,
        col: 12,
        width: 5,
        message: "unknown entity `Usr` in inherits of entity Author",
        help: &[
            "entities in the model: User, Author",
            "did you mean `User`?",
        ],
    });
}

#[test]
fn polymorphic_on_belongs_to_the_base() {
    check(&Expected {
        file: "subclass_polymorphic_on.toml",
        line: 7,
        col: 18,
        width: 7,
        message: "entity Author sets polymorphic_on, which belongs to the base of its hierarchy",
        help: &["set `polymorphic_on` on the base class"],
    });
}

#[test]
fn a_subclass_lists_only_the_columns_it_adds() {
    check(&Expected {
        file: "subclass_column_mapped.toml",
        line: 8,
        col: 11,
        width: 8,
        message: "column `name` in columns of entity Author is mapped already",
        help: &["a subclass lists only the columns it adds to User: id, name"],
    });
}
