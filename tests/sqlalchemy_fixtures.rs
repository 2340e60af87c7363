//! loadscope's promise: what it shows is what SQLAlchemy does. Every
//! fixture in tests/fixtures/sqlalchemy was recorded from SQLAlchemy 2.1.9
//! by scripts/sqlalchemy_oracle.py (on the sample), every one in
//! tests/fixtures/sqlalchemy_shapes by scripts/shapes_oracle.py (on the
//! shapes schema: quoted names, composite keys, one-to-one, non-key
//! joins, the followers pattern), every one in
//! tests/fixtures/sqlalchemy_inheritance by scripts/inheritance_oracle.py
//! (a single-table hierarchy), every one in
//! tests/fixtures/sqlalchemy_flask by scripts/flask_oracle.py (a
//! Flask-SQLAlchemy application's models.py), every one in
//! tests/fixtures/sqlalchemy_sqlmodel by scripts/sqlmodel_oracle.py (a
//! SQLModel application's); the same navigation through loadscope
//! must send the same statements (modulo whitespace) with the same
//! parameters, build the same object graph and raise the same errors.
//! tests/fixtures/sqlalchemy_postgresql holds the sample's navigations as
//! SQLAlchemy sends them through psycopg2 to a PostgreSQL server
//! (scripts/pg_oracle.py); loadscope runs them on a throwaway server.
//! tests/fixtures/sqlalchemy_postgresql_shapes and
//! tests/fixtures/sqlalchemy_postgresql_inheritance hold the shapes and
//! inheritance navigations the same way, on the PostgreSQL scripts
//! pg_oracle.py writes from those oracles' models and rows
//! (tests/fixtures/shapes/shapes.postgresql.sql,
//! tests/fixtures/inheritance/inheritance.postgresql.sql).

mod common;

use loadscope::db::postgresql::PgConnection;
use loadscope::db::{Schema, TracedConnection, open::open_sample};
use loadscope::dialect::Driver;
use loadscope::loader::Strategy;
use loadscope::model::Model;
use loadscope::navigation::{self, Navigation};
use rusqlite::Connection;
use serde_json::Value;
use std::path::Path;

fn normalize(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A database and loadscope's model of the oracle's classes.
struct Subject {
    fixtures: &'static str,
    /// The database: the sample, or an SQL script the oracle wrote.
    script: Option<&'static str>,
    /// loadscope's models of the oracle's classes (each must give every
    /// fixture).
    models: &'static [&'static str],
    at_least: usize,
    /// Run on a PostgreSQL server rather than SQLite, showing the SQL of
    /// this driver.
    postgresql: Option<Driver>,
}

impl Subject {
    /// The subject's database, once per run of its fixtures: `None` for
    /// SQLite (each fixture gets a fresh in-memory copy), a server
    /// database's URL for PostgreSQL.
    fn prepare(&self) -> Option<String> {
        self.postgresql?;
        let cluster = common::pg::cluster();
        let url = cluster.new_database("fixtures");
        let db = url.rsplit('/').next().unwrap();
        let script = std::fs::read_to_string(self.script.unwrap_or("sample-db/blog.sql")).unwrap();
        cluster.psql(db, &script);
        Some(url)
    }

    /// A fresh connection and the schema it reads.
    fn open(&self, server: Option<&str>) -> (TracedConnection, Schema) {
        if let Some(url) = server {
            let pg = PgConnection::connect(url).unwrap();
            let schema = pg.schema().unwrap();
            let dialect = match self.postgresql {
                Some(Driver::Psycopg) => &loadscope::dialect::POSTGRESQL_PSYCOPG,
                _ => &loadscope::dialect::POSTGRESQL,
            };
            return (TracedConnection::postgres(pg, dialect), schema);
        }
        let conn = match self.script {
            None => open_sample().unwrap(),
            Some(script) => {
                let conn = Connection::open_in_memory().unwrap();
                conn.execute_batch(&std::fs::read_to_string(script).unwrap())
                    .unwrap();
                conn
            }
        };
        let schema = Schema::read(&conn).unwrap();
        (TracedConnection::new(conn), schema)
    }
}

const SAMPLE: Subject = Subject {
    fixtures: "tests/fixtures/sqlalchemy",
    script: None,
    models: &["assets/models/blog.toml"],
    at_least: 552,
    postgresql: None,
};

const SHAPES: Subject = Subject {
    fixtures: "tests/fixtures/sqlalchemy_shapes",
    script: Some("tests/fixtures/shapes/shapes.sql"),
    models: &["tests/fixtures/shapes/shapes.toml"],
    at_least: 473,
    postgresql: None,
};

const INHERITANCE: Subject = Subject {
    fixtures: "tests/fixtures/sqlalchemy_inheritance",
    script: Some("tests/fixtures/inheritance/inheritance.sql"),
    models: &[
        "tests/fixtures/inheritance/inheritance.toml",
        "tests/fixtures/inheritance/models.py",
    ],
    at_least: 378,
    postgresql: None,
};

const FLASK: Subject = Subject {
    fixtures: "tests/fixtures/sqlalchemy_flask",
    script: Some("tests/fixtures/flask/app.sql"),
    models: &["tests/fixtures/flask/models.py"],
    at_least: 68,
    postgresql: None,
};

const SQLMODEL: Subject = Subject {
    fixtures: "tests/fixtures/sqlalchemy_sqlmodel",
    script: Some("tests/fixtures/sqlmodel/app.sql"),
    models: &["tests/fixtures/sqlmodel/models.py"],
    at_least: 28,
    postgresql: None,
};

const POSTGRESQL: Subject = Subject {
    fixtures: "tests/fixtures/sqlalchemy_postgresql",
    script: None,
    models: &["assets/models/blog.toml"],
    at_least: 552,
    postgresql: Some(Driver::Psycopg2),
};

const POSTGRESQL_SHAPES: Subject = Subject {
    fixtures: "tests/fixtures/sqlalchemy_postgresql_shapes",
    script: Some("tests/fixtures/shapes/shapes.postgresql.sql"),
    models: &["tests/fixtures/shapes/shapes.toml"],
    at_least: 473,
    postgresql: Some(Driver::Psycopg2),
};

const POSTGRESQL_PSYCOPG: Subject = Subject {
    fixtures: "tests/fixtures/sqlalchemy_postgresql_psycopg",
    script: None,
    models: &["assets/models/blog.toml"],
    at_least: 76,
    postgresql: Some(Driver::Psycopg),
};

const POSTGRESQL_SHAPES_PSYCOPG: Subject = Subject {
    fixtures: "tests/fixtures/sqlalchemy_postgresql_shapes_psycopg",
    script: Some("tests/fixtures/shapes/shapes.postgresql.sql"),
    models: &["tests/fixtures/shapes/shapes.toml"],
    at_least: 80,
    postgresql: Some(Driver::Psycopg),
};

const POSTGRESQL_INHERITANCE: Subject = Subject {
    fixtures: "tests/fixtures/sqlalchemy_postgresql_inheritance",
    script: Some("tests/fixtures/inheritance/inheritance.postgresql.sql"),
    models: &[
        "tests/fixtures/inheritance/inheritance.toml",
        "tests/fixtures/inheritance/models.py",
    ],
    at_least: 378,
    postgresql: Some(Driver::Psycopg2),
};

fn check(
    subject: &Subject,
    server: Option<&str>,
    model_path: &str,
    path: &Path,
) -> Result<(), String> {
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (conn, schema) = subject.open(server);
    let mut model = Model::load_file(Path::new(model_path), &schema, false).unwrap();
    // A mapping's innerjoin=True under lazy="select".
    for (key, setting) in fixture["mapping"].as_object().into_iter().flatten() {
        assert_eq!(setting, "select+innerjoin", "{key}");
        let (entity, rel) = key.split_once('.').unwrap();
        let rel = model
            .rel_by_name(model.entity_by_name(entity).unwrap(), rel)
            .unwrap();
        model.relationships[rel.0].innerjoin = true;
    }
    let root = model
        .entity_by_name(fixture["root"].as_str().unwrap())
        .unwrap();
    let expand: Vec<String> = fixture["expand"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let mut strategies = Vec::new();
    let via_mapping = fixture["via"].as_str() != Some("options");
    for (path, name) in fixture["strategies"].as_object().unwrap() {
        let strategy = Strategy::parse(name.as_str().unwrap()).unwrap();
        if via_mapping {
            // `lazy=` on the relationship, as the oracle mapped it.
            let mut entity = root;
            let mut rel = None;
            for step in path.split('.') {
                let r = model.rel_by_name(entity, step).unwrap();
                entity = model.rel(r).target;
                rel = Some(r);
            }
            if let Err(refusal) = model.set_lazy(rel.unwrap(), strategy) {
                // SQLAlchemy refuses such a mapping with the same words.
                return match fixture["config_error"].as_str() {
                    Some(expected) if refusal.contains(expected) => Ok(()),
                    expected => Err(format!("sqlalchemy: {expected:?}\nloadscope: {refusal}")),
                };
            }
        } else {
            strategies.push((path.clone(), strategy));
        }
    }
    let nav = Navigation {
        root,
        limit: fixture["limit"].as_i64(),
        expand,
        strategies,
        queries: Vec::new(),
    };
    let outcome = navigation::run(&model, &conn, &nav);
    if let Some(refusal) = fixture["config_error"].as_str() {
        // SQLAlchemy refuses the mapping; loadscope refuses the navigation
        // with the same words, before any statement.
        return match outcome {
            Err(e) if format!("{e:#}").contains(refusal) => Ok(()),
            Err(e) => Err(format!("sqlalchemy: {refusal}\nloadscope: {e:#}")),
            Ok(_) => Err(format!("sqlalchemy refuses: {refusal}\nloadscope runs it")),
        };
    }
    let outcome = outcome.map_err(|e| format!("{e:#}"))?;

    let expected = fixture["statements"].as_array().unwrap();
    let got = &outcome.log.statements;
    let mut problems = Vec::new();
    for (i, (e, g)) in expected.iter().zip(got.iter()).enumerate() {
        let want = normalize(e["sql"].as_str().unwrap());
        let have = normalize(&g.sql);
        if want != have {
            problems.push(format!(
                "statement {}:\n  sqlalchemy: {want}\n  loadscope:  {have}",
                i + 1
            ));
        }
        let values = g.params.iter().map(loadscope::db::value::value_to_json);
        // PostgreSQL's binds are named: the fixture maps names to values.
        let params: Value = if e["params"].is_object() {
            let names = loadscope::dialect::param_names(&g.sql);
            Value::Object(names.iter().map(|n| n.to_string()).zip(values).collect())
        } else {
            Value::Array(values.collect())
        };
        if e["params"] != params {
            problems.push(format!(
                "statement {} params: sqlalchemy {} loadscope {:?}",
                i + 1,
                e["params"],
                params
            ));
        }
    }
    if expected.len() != got.len() {
        problems.push(format!(
            "{} statements from sqlalchemy, {} from loadscope",
            expected.len(),
            got.len()
        ));
        for g in got.iter().skip(expected.len()).take(3) {
            problems.push(format!("  extra: {}", g.sql));
        }
        for e in expected.iter().skip(got.len()).take(3) {
            problems.push(format!("  missing: {}", e["sql"]));
        }
    }
    let graph: Vec<Value> = outcome.graph.iter().map(|g| g.to_json()).collect();
    if Value::Array(graph.clone()) != fixture["graph"] {
        problems.push(format!(
            "object graph differs:\n  sqlalchemy: {}\n  loadscope:  {}",
            &fixture["graph"]
                .to_string()
                .chars()
                .take(600)
                .collect::<String>(),
            &Value::Array(graph)
                .to_string()
                .chars()
                .take(600)
                .collect::<String>()
        ));
    }
    let errors: Vec<Value> = outcome
        .errors
        .iter()
        .map(|e| serde_json::json!({"path": e.path, "parent_pk": e.parent_pk.to_json(), "message": e.message}))
        .collect();
    if Value::Array(errors.clone()) != fixture["errors"] {
        problems.push(format!(
            "errors differ:\n  sqlalchemy: {}\n  loadscope:  {}",
            fixture["errors"],
            Value::Array(errors)
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[test]
fn every_fixture_matches_sqlalchemy() {
    check_all(&SAMPLE);
}

#[test]
fn every_shapes_fixture_matches_sqlalchemy() {
    check_all(&SHAPES);
}

/// Single-table inheritance: a hierarchy of four classes over one table.
#[test]
fn every_inheritance_fixture_matches_sqlalchemy() {
    check_all(&INHERITANCE);
}

/// A Flask-SQLAlchemy application's own models.py, read as written.
#[test]
fn every_flask_fixture_matches_sqlalchemy() {
    check_all(&FLASK);
}

/// A SQLModel application's own models.py, read as written.
#[test]
fn every_sqlmodel_fixture_matches_sqlalchemy() {
    check_all(&SQLMODEL);
}

/// The sample's navigations on PostgreSQL, as psycopg2 sends them.
#[test]
fn every_postgresql_fixture_matches_sqlalchemy() {
    check_all(&POSTGRESQL);
}

/// The shapes' navigations on PostgreSQL, as psycopg2 sends them.
#[test]
fn every_postgresql_shapes_fixture_matches_sqlalchemy() {
    check_all(&POSTGRESQL_SHAPES);
}

/// The sample's and the shapes' navigations as psycopg 3 gets them: a
/// cast on every bind of a type that asks for one.
#[test]
fn every_psycopg_fixture_matches_sqlalchemy() {
    check_all(&POSTGRESQL_PSYCOPG);
    check_all(&POSTGRESQL_SHAPES_PSYCOPG);
}

/// The single-table hierarchy's navigations on PostgreSQL, as psycopg2
/// sends them.
#[test]
fn every_postgresql_inheritance_fixture_matches_sqlalchemy() {
    check_all(&POSTGRESQL_INHERITANCE);
}

fn check_all(subject: &Subject) {
    let mut paths: Vec<_> = std::fs::read_dir(subject.fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= subject.at_least,
        "fixtures missing: {}",
        paths.len()
    );
    let server = subject.prepare();
    for model in subject.models {
        let failures: Vec<String> = paths
            .iter()
            .filter_map(|p| {
                check(subject, server.as_deref(), model, p)
                    .err()
                    .map(|e| format!("== {}\n{e}", p.file_name().unwrap().to_string_lossy()))
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{} of {} fixtures differ with {model}:\n{}",
            failures.len(),
            paths.len(),
            failures.join("\n")
        );
    }
}
