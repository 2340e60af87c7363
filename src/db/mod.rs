//! The database side: opening SQLite or PostgreSQL, reading the schema, and the traced
//! connection through which every statement of a session runs.

pub mod log;
pub mod open;
mod pg_value;
pub mod postgresql;
pub mod row;
pub mod schema;
pub mod traced;
pub mod value;

pub use log::{Origin, QueryLog, Statement, StatementKind, Step};
pub use row::Row;
pub use schema::{Column, ForeignKey, Schema, Table};
pub use traced::{Backend, TracedConnection};
pub use value::Key;
