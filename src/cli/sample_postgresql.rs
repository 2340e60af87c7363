//! `loadscope sample --out postgresql://…/NEWDB`: the sample blog in a new
//! PostgreSQL database.
//!
//! The rows come from the same generator as the SQLite file (built in
//! memory first), so the same options give the same rows on both. The
//! database must not exist: loadscope creates it, and never writes into a
//! database it did not create. A run that fails drops what it created.

use super::sample::{SampleOptions, SampleSummary, fill, sample_schema};
use crate::db::postgresql::{client_config, reason};
use anyhow::{Context, Result, anyhow, bail};
use postgres::{Client, NoTls};
use rusqlite::Connection;
use rusqlite::types::ValueRef;
use std::io::Write;

/// The sample's tables in the order their foreign keys allow.
const TABLES: [&str; 5] = ["users", "tags", "posts", "comments", "post_tags"];

pub fn generate(options: &SampleOptions, url: &str) -> Result<SampleSummary> {
    let (config, shown) = client_config(url)?;
    let Some(name) = config.get_dbname().map(str::to_string) else {
        return Err(anyhow::Error::new(super::UsageError(format!(
            "{shown}: name the new database in the URL (postgresql://USER@HOST/NEWDB)"
        ))));
    };
    let mut admin = maintenance(&config, &shown)?;
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
            &[&name],
        )
        .map_err(|e| anyhow!("{shown}: {}", reason(&e)))?
        .is_some();
    if exists {
        bail!(
            "{shown}: database `{name}` already exists; loadscope sample creates a new database and never writes into an existing one (choose another name, or drop it yourself)"
        );
    }
    // Generated before anything is created on the server.
    let mut sqlite = Connection::open_in_memory().context("opening an in-memory database")?;
    // As for the file: batches of comments go in before their posts.
    sqlite.execute_batch("PRAGMA foreign_keys = OFF")?;
    let summary = fill(&mut sqlite, options)?;
    admin
        .batch_execute(&format!("CREATE DATABASE {}", quote(&name)))
        .map_err(|e| anyhow!("{shown}: cannot create database `{name}`: {}", reason(&e)))?;
    let result = (|| {
        let mut client = config
            .connect(NoTls)
            .map_err(|e| anyhow!("cannot connect: {}", reason(&e)))?;
        copy_sample(&sqlite, &mut client)
    })();
    if let Err(e) = result {
        drop(admin.batch_execute(&format!("DROP DATABASE IF EXISTS {}", quote(&name))));
        return Err(e.context(format!("{shown}: writing the sample")));
    }
    Ok(summary)
}

/// A connection to the server's `postgres` database (libpq's maintenance
/// database), from which a new database is created.
fn maintenance(config: &postgres::Config, shown: &str) -> Result<Client> {
    let mut config = config.clone();
    config.dbname("postgres");
    config
        .connect(NoTls)
        .map_err(|e| anyhow!("{shown}: cannot connect: {}", reason(&e)))
}

/// The sample's tables, rows (by `COPY`), indexes and statistics, in one
/// transaction.
fn copy_sample(sqlite: &Connection, client: &mut Client) -> Result<()> {
    let (tables, indexes) = sample_schema();
    let mut tx = client
        .transaction()
        .map_err(|e| anyhow!("{}", reason(&e)))?;
    for statement in &tables {
        tx.batch_execute(statement)
            .map_err(|e| anyhow!("creating the schema: {}", reason(&e)))?;
    }
    for table in TABLES {
        copy_table(sqlite, &mut tx, table).with_context(|| format!("copying `{table}`"))?;
    }
    for statement in &indexes {
        tx.batch_execute(statement)
            .map_err(|e| anyhow!("creating an index: {}", reason(&e)))?;
    }
    tx.commit().map_err(|e| anyhow!("{}", reason(&e)))?;
    client
        .batch_execute("ANALYZE")
        .map_err(|e| anyhow!("ANALYZE: {}", reason(&e)))?;
    Ok(())
}

fn copy_table(sqlite: &Connection, tx: &mut postgres::Transaction<'_>, table: &str) -> Result<()> {
    let mut select = sqlite.prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))?;
    let columns = select.column_count();
    let names: Vec<String> = select.column_names().map(str::to_string).collect();
    let mut writer = tx
        .copy_in(&format!("COPY {table} ({}) FROM STDIN", names.join(", ")))
        .map_err(|e| anyhow!("{}", reason(&e)))?;
    let mut rows = select.query([])?;
    let mut line = String::new();
    while let Some(row) = rows.next()? {
        line.clear();
        for i in 0..columns {
            if i > 0 {
                line.push('\t');
            }
            push_copy_field(&mut line, row.get_ref(i)?);
        }
        line.push('\n');
        writer.write_all(line.as_bytes())?;
    }
    writer.finish().map_err(|e| anyhow!("{}", reason(&e)))?;
    Ok(())
}

/// One field of `COPY`'s text format: `\N` for NULL, backslash escapes for
/// the separators.
fn push_copy_field(out: &mut String, value: ValueRef<'_>) {
    match value {
        ValueRef::Null => out.push_str("\\N"),
        ValueRef::Integer(i) => out.push_str(&i.to_string()),
        ValueRef::Real(f) => out.push_str(&format!("{f:?}")),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            for c in String::from_utf8_lossy(t).chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
    }
}

/// A database name as an SQL identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
