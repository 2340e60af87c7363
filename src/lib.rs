//! loadscope: see what an ORM's relationship loaders really do to a
//! database. SQLAlchemy 2.x's loader strategies re-implemented on SQLite,
//! with every statement traced.

// Model errors carry a whole diagnostic (message, place, excerpt, help);
// they are rare and returned once, so their size does not matter.
#![allow(clippy::result_large_err)]

pub mod analysis;
pub mod cli;
pub mod db;
pub mod dialect;
pub mod loader;
pub mod model;
pub mod navigation;
pub mod plan;
pub mod session;
pub mod strategy;
pub mod tui;
