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

/// One foreign-key constraint: one column, or several for a composite key.
#[derive(Clone, Debug, PartialEq)]
pub struct ForeignKey {
    /// The referencing columns, in the constraint's order.
    pub from: Vec<String>,
    pub to_table: String,
    /// The referenced columns, in the same order; empty when the
    /// declaration names none (it then means the target's primary key).
    pub to: Vec<String>,
}

impl ForeignKey {
    /// `posts.user_id`, `shipment_events.(carrier, tracking_no)`.
    pub fn describe(&self, table: &str) -> String {
        match self.from.as_slice() {
            [one] => format!("{table}.{one}"),
            many => format!("{table}.({})", many.join(", ")),
        }
    }

    /// Whether the constraint's columns are exactly `columns` (in any
    /// order, case-insensitively).
    pub fn has_columns(&self, columns: &[&str]) -> bool {
        self.from.len() == columns.len()
            && columns
                .iter()
                .all(|c| self.from.iter().any(|f| f.eq_ignore_ascii_case(c)))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    pub foreign_keys: Vec<ForeignKey>,
    /// The column sets of its unique constraints and unique indexes
    /// (not the primary key; not partial or expression indexes).
    pub unique: Vec<Vec<String>>,
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

    /// The columns a foreign key points at, in its order, resolving an
    /// implicit primary key; `None` when they do not match up.
    pub fn referenced_columns<'a>(
        &self,
        fk: &'a ForeignKey,
        target: &'a Table,
    ) -> Option<Vec<&'a str>> {
        let to: Vec<&str> = if fk.to.is_empty() {
            target
                .primary_key()
                .iter()
                .map(|c| c.name.as_str())
                .collect()
        } else {
            fk.to.iter().map(String::as_str).collect()
        };
        (to.len() == fk.from.len()).then_some(to)
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
        "SELECT id, \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
    )?;
    let rows = fks
        .query_map([name], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    // One constraint per id; its rows are its columns, in order.
    let mut foreign_keys: Vec<ForeignKey> = Vec::new();
    let mut last_id = None;
    for (id, from, to_table, to) in rows {
        if last_id != Some(id) {
            last_id = Some(id);
            foreign_keys.push(ForeignKey {
                from: Vec::new(),
                to_table,
                to: Vec::new(),
            });
        }
        let fk = foreign_keys.last_mut().expect("pushed above");
        fk.from.push(from);
        if let Some(to) = to {
            fk.to.push(to);
        }
    }
    Ok(Table {
        name: name.to_string(),
        columns,
        foreign_keys,
        unique: unique_keys(conn, name)?,
    })
}

/// `UNIQUE` constraints and unique indexes, by their columns in order;
/// the primary key's own index (origin `pk`) and partial indexes left out.
fn unique_keys(conn: &Connection, table: &str) -> Result<Vec<Vec<String>>> {
    let mut list = conn.prepare(
        "SELECT name FROM pragma_index_list(?1) \
         WHERE \"unique\" AND origin <> 'pk' AND NOT partial ORDER BY seq",
    )?;
    let names = list
        .query_map([table], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut info = conn.prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")?;
    let mut out = Vec::new();
    for index in names {
        // An expression's column has no name: such an index is no key.
        let columns = info
            .query_map([&index], |r| r.get::<_, Option<String>>(0))?
            .collect::<rusqlite::Result<Option<Vec<_>>>>()?;
        if let Some(columns) = columns.filter(|c| !c.is_empty()) {
            out.push(columns);
        }
    }
    Ok(out)
}
