//! Opening databases: the built-in sample in memory, or a user's file
//! strictly read-only.

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// The sample database's SQL, embedded so `cargo run --release` needs no file.
pub const SAMPLE_SQL: &str = include_str!("../../sample-db/blog.sql");

/// The built-in sample, loaded into a private in-memory database.
pub fn open_sample() -> Result<Connection> {
    let conn = Connection::open_in_memory().context("opening an in-memory database")?;
    conn.execute_batch(&format!("BEGIN;\n{SAMPLE_SQL}\nCOMMIT;"))
        .context("loading the built-in sample (sample-db/blog.sql)")?;
    Ok(conn)
}

/// A user's database: it must exist, and it is opened so that nothing
/// loadscope does can change a byte of it.
pub fn open_read_only(path: &Path) -> Result<Connection> {
    let shown = path.display();
    if !path.exists() {
        bail!(
            "{shown}: no such file (loadscope opens existing databases only and never creates one)"
        );
    }
    if path.is_dir() {
        bail!("{shown}: is a directory, not a SQLite database file");
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .with_context(|| format!("{shown}: cannot open as a SQLite database"))?;
    conn.pragma_update(None, "query_only", true)
        .with_context(|| format!("{shown}: cannot make the connection read-only"))?;
    // Reading the schema forces SQLite to read the header, so a file that is
    // not a database fails here with a clear message rather than later.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| describe_open_error(path, e))?;
    Ok(conn)
}

fn describe_open_error(path: &Path, error: rusqlite::Error) -> anyhow::Error {
    let shown = path.display();
    let code = error.sqlite_error_code();
    match code {
        Some(rusqlite::ErrorCode::NotADatabase) => {
            anyhow::anyhow!("{shown}: not a SQLite database (the file header is not SQLite's)")
        }
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            anyhow::anyhow!("{shown}: the database file is corrupt ({error})")
        }
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            anyhow::anyhow!(
                "{shown}: the database is locked by another connection; try again when it is released"
            )
        }
        Some(rusqlite::ErrorCode::CannotOpen) => anyhow::anyhow!(
            "{shown}: cannot open the database ({error}); a WAL database in a read-only directory needs its -shm file"
        ),
        _ => anyhow::anyhow!("{shown}: cannot read the database: {error}"),
    }
}
