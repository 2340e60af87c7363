//! The database schema as loadscope needs it: tables, their columns in
//! declaration order, primary keys and foreign keys.

use anyhow::{Context, Result};
use rusqlite::Connection;

#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    /// The declared type, upper-cased (`INTEGER`, `TEXT`, or empty).
    pub decl_type: String,
    /// Position in the primary key, 1-based; 0 when not part of it.
    pub pk: u32,
}

impl Column {
    /// SQLite's affinity rule for "text": the declared type mentions CHAR,
    /// CLOB or TEXT.
    pub fn is_text(&self) -> bool {
        ["CHAR", "CLOB", "TEXT"]
            .iter()
            .any(|t| self.decl_type.contains(t))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ForeignKey {
    pub from: String,
    pub to_table: String,
    /// `None` when the declaration names no column (it then means the
    /// target's primary key).
    pub to_column: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    pub foreign_keys: Vec<ForeignKey>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn primary_key(&self) -> Vec<&Column> {
        let mut pk: Vec<&Column> = self.columns.iter().filter(|c| c.pk > 0).collect();
        pk.sort_by_key(|c| c.pk);
        pk
    }

    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The column a foreign key points at, resolving an implicit primary key.
    pub fn referenced_column<'a>(&self, fk: &'a ForeignKey, target: &'a Table) -> Option<&'a str> {
        match &fk.to_column {
            Some(c) => Some(c.as_str()),
            None => target.primary_key().first().map(|c| c.name.as_str()),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    pub tables: Vec<Table>,
}

impl Schema {
    pub fn read(conn: &Connection) -> Result<Schema> {
        let mut names = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
            )
            .context("reading the list of tables")?;
        let names: Vec<String> = names
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()
            .context("reading the list of tables")?;
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            tables
                .push(read_table(conn, &name).with_context(|| format!("reading table `{name}`"))?);
        }
        Ok(Schema { tables })
    }

    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    pub fn table_names(&self) -> Vec<&str> {
        self.tables.iter().map(|t| t.name.as_str()).collect()
    }
}

fn read_table(conn: &Connection, name: &str) -> Result<Table> {
    let mut info = conn.prepare("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid")?;
    let columns = info
        .query_map([name], |r| {
            Ok(Column {
                name: r.get(0)?,
                decl_type: r.get::<_, String>(1)?.to_ascii_uppercase(),
                pk: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut fks = conn.prepare(
        "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
    )?;
    let foreign_keys = fks
        .query_map([name], |r| {
            Ok(ForeignKey {
                from: r.get(0)?,
                to_table: r.get(1)?,
                to_column: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Table {
        name: name.to_string(),
        columns,
        foreign_keys,
    })
}
