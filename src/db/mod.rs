//! The database side: opening SQLite, reading its schema, and the traced
//! connection through which every statement of a session runs.

pub mod log;
pub mod open;
pub mod schema;
pub mod traced;
pub mod value;

pub use log::{Origin, QueryLog, Statement, StatementKind, Step};
pub use schema::{Column, ForeignKey, Schema, Table};
pub use traced::TracedConnection;
pub use value::Key;
