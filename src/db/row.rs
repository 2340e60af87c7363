//! One result row, whichever database it came from: SQLite's rows are read
//! in place as they stream; a PostgreSQL row is decoded into values first.

use rusqlite::types::{Value, ValueRef};

#[derive(Clone, Copy)]
pub enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Values(&'a [Value]),
}

impl<'a> Row<'a> {
    pub fn column_count(&self) -> usize {
        match self {
            Row::Sqlite(row) => row.as_ref().column_count(),
            Row::Values(values) => values.len(),
        }
    }

    pub fn get_ref(&self, index: usize) -> rusqlite::Result<ValueRef<'_>> {
        match self {
            Row::Sqlite(row) => row.get_ref(index),
            Row::Values(values) => values
                .get(index)
                .map(ValueRef::from)
                .ok_or(rusqlite::Error::InvalidColumnIndex(index)),
        }
    }

    /// An integer column (`count(*)`).
    pub fn get_i64(&self, index: usize) -> rusqlite::Result<i64> {
        match self.get_ref(index)? {
            ValueRef::Integer(i) => Ok(i),
            other => Err(rusqlite::Error::InvalidColumnType(
                index,
                "count".into(),
                other.data_type(),
            )),
        }
    }
}
