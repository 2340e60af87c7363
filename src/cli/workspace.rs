//! What every command starts from: a database (the built-in sample, a
//! user's file opened read-only, or a PostgreSQL server in read-only
//! transactions), its schema, and a model (a file, the
//! sample's, or inferred from foreign keys).

use crate::db::open::{open_read_only, open_sample};
use crate::db::postgresql::{self, PgConnection};
use crate::db::{Schema, TracedConnection};
use crate::dialect::Driver;
use crate::model::{Model, infer};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The sample's model, embedded like its data.
pub const SAMPLE_MODEL: &str = include_str!("../../assets/models/blog.toml");
pub const SAMPLE_MODEL_NAME: &str = "assets/models/blog.toml";

pub struct Workspace {
    pub conn: TracedConnection,
    pub schema: Schema,
    pub model: Model,
    /// For titles: `sample (blog.sql)` or the file name.
    pub db_name: String,
    /// For titles: the model file name, or `inferred`.
    pub model_name: String,
}

/// Opens the database and the model: `models` as `--model` gave them
/// (none: the sample's model, or one inferred from a user database);
/// `driver` picks the SQL shown for PostgreSQL (default psycopg2).
pub fn open(
    db: Option<&Path>,
    models: &[PathBuf],
    lenient: bool,
    driver: Option<Driver>,
) -> Result<Workspace> {
    let is_url = db.is_some_and(|url| postgresql::is_url(&url.to_string_lossy()));
    if driver.is_some() && !is_url {
        return Err(crate::cli::UsageError(
            "--driver is for PostgreSQL databases (postgresql://...); SQLite's SQL has one form"
                .to_string(),
        )
        .into());
    }
    let (conn, schema, db_name) = match db {
        Some(url) if postgresql::is_url(&url.to_string_lossy()) => {
            let pg = PgConnection::connect(&url.to_string_lossy())?;
            let schema = pg
                .schema()
                .with_context(|| format!("{}: reading the schema", pg.describe()))?;
            if schema.tables.is_empty() {
                anyhow::bail!(
                    "{}: no tables on the search_path, so there is nothing to browse",
                    pg.describe()
                );
            }
            let name = pg.database().to_string();
            let dialect = match driver.unwrap_or(Driver::Psycopg2) {
                Driver::Psycopg2 => &crate::dialect::POSTGRESQL,
                Driver::Psycopg => &crate::dialect::POSTGRESQL_PSYCOPG,
            };
            let conn = TracedConnection::postgres(pg, dialect);
            (conn, schema, name)
        }
        _ => {
            let (conn, db_name) = match db {
                None => (open_sample()?, "sample (blog.sql)".to_string()),
                Some(path) => (open_read_only(path)?, file_name(path)),
            };
            let schema =
                Schema::read(&conn).with_context(|| format!("{db_name}: reading the schema"))?;
            (TracedConnection::new(conn), schema, db_name)
        }
    };
    let (model, model_name) = match (models, db) {
        ([path], _) => (
            Model::load_files(models, &schema, lenient)?,
            file_name(path),
        ),
        ([first, ..], _) => (
            Model::load_files(models, &schema, lenient)?,
            format!("{} and {} more", file_name(first), models.len() - 1),
        ),
        ([], None) => (
            Model::from_text(SAMPLE_MODEL_NAME, SAMPLE_MODEL.to_string(), &schema, false)?,
            "blog.toml".to_string(),
        ),
        ([], Some(path)) => (inferred(&schema, path)?, "inferred".to_string()),
    };
    Ok(Workspace {
        conn,
        schema,
        model,
        db_name,
        model_name,
    })
}

/// The model of a database without a model file.
pub fn inferred(schema: &Schema, db: &Path) -> Result<Model> {
    let parsed = infer::infer(schema, &format!("inferred from {}", db.display()));
    if parsed.spec.entities.is_empty() {
        // Why each table was left out, if inference said.
        let why: String = parsed
            .warnings
            .iter()
            .map(|w| format!("; {}", w.message))
            .collect();
        anyhow::bail!(
            "{}: no table loadscope can browse (each needs a primary key); \
             give a model with --model{why}",
            db.display()
        );
    }
    Ok(crate::model::resolve::resolve(parsed, schema)?)
}

fn file_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    if path.is_dir() {
        format!("{name}/")
    } else {
        name
    }
}
