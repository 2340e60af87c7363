//! loadscope: see what an ORM's relationship loaders really do to a
//! database. SQLAlchemy 2.x's loader strategies re-implemented on SQLite,
//! with every statement traced.

pub mod cli;
pub mod db;
pub mod loader;
pub mod model;
pub mod navigation;
pub mod plan;
pub mod session;
