//! Opening databases: the built-in sample in memory, or a user's file
//! strictly read-only.

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::time::Duration;

/// The sample database's SQL, embedded so `cargo run --release` needs no file.
pub const SAMPLE_SQL: &str = include_str!("../../sample-db/blog.sql");

/// The built-in sample, loaded into a private in-memory database.
pub fn open_sample() -> Result<Connection> {
    let conn = Connection::open_in_memory().context("opening an in-memory database")?;
    conn.execute_batch(&format!("BEGIN;\n{SAMPLE_SQL}\nCOMMIT;"))
        .context("loading the built-in sample (sample-db/blog.sql)")?;
    Ok(conn)
}

/// How long a statement waits for another connection's write lock before
/// it fails with "the database is locked". Long enough to wait out an
/// application's commit, short enough never to look like a hang (SQLite's
/// own default is 0, rusqlite's 5 s).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// A user's database: it must exist, and it is opened so that nothing
/// loadscope does can change a byte of it.
///
/// - `SQLITE_OPEN_READ_ONLY` (never `CREATE`, never `URI`: the path is taken
///   literally) plus `PRAGMA query_only`, so neither a loader nor text typed
///   into a dynamic filter can write.
/// - A database locked by another writer waits [`BUSY_TIMEOUT`], then fails
///   with a one-line message.
/// - A WAL database is read with its `-wal` file. If the `-wal` and `-shm`
///   files do not exist, SQLite creates them next to the database (as any
///   reader does, `sqlite3 -readonly` included) and, being read-only, leaves
///   them behind, the `-wal` empty; the database file itself is unchanged.
/// - A hot journal (a write interrupted by a crash) cannot be rolled back
///   by a read-only connection: that is an error telling the user how to
///   recover it.
/// - An empty file is an empty SQLite database: refused as having no tables.
pub fn open_read_only(path: &Path) -> Result<Connection> {
    let shown = path.display();
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{shown}: no such file (loadscope opens existing databases only and never creates one)"
        ),
        Err(e) => bail!("{shown}: cannot read the file ({e})"),
    };
    if metadata.is_dir() {
        bail!("{shown}: is a directory, not a SQLite database file");
    }
    if !metadata.is_file() {
        bail!("{shown}: not a regular file, so not a SQLite database file");
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| describe_open_error(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .with_context(|| format!("{shown}: cannot set the busy timeout"))?;
    conn.pragma_update(None, "query_only", true)
        .with_context(|| format!("{shown}: cannot make the connection read-only"))?;
    // Reading the schema forces SQLite to read the header, so a file that is
    // not a database fails here with a clear message rather than later.
    let tables = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(|e| describe_open_error(path, e))?;
    if tables == 0 {
        if metadata.len() == 0 {
            bail!(
                "{shown}: the file is empty (0 bytes); SQLite reads that as a database with no tables, so there is nothing to browse"
            );
        }
        bail!("{shown}: the database has no tables, so there is nothing to browse");
    }
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
                "{shown}: the database is locked by another connection (waited {} s); try again when it is released",
                BUSY_TIMEOUT.as_secs()
            )
        }
        Some(rusqlite::ErrorCode::ReadOnly) if extended_code(&error) == Some(READONLY_ROLLBACK) => {
            anyhow::anyhow!(
                "{shown}: the database has a hot journal (a write that was interrupted); loadscope only reads, so it cannot roll it back: open the database once with sqlite3 or your application, then try again"
            )
        }
        // SQLite reads a WAL database through -wal and -shm files beside
        // it, which it must create when they are missing: in a read-only
        // directory it cannot (SQLITE_READONLY_DIRECTORY, or CANTOPEN).
        Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly) if is_wal(path) => {
            anyhow::anyhow!(
                "{shown}: cannot open the database ({error}); it is a WAL database, which SQLite reads through -wal and -shm files beside it, and it cannot create them in this read-only directory: copy the database (with any -wal file) somewhere writable, or open it once where it is with your application"
            )
        }
        Some(rusqlite::ErrorCode::PermissionDenied) => {
            anyhow::anyhow!("{shown}: permission denied ({error})")
        }
        _ => anyhow::anyhow!("{shown}: cannot read the database: {error}"),
    }
}

/// `SQLITE_READONLY_ROLLBACK`: a hot journal a read-only connection cannot
/// roll back.
const READONLY_ROLLBACK: i32 = 776;

fn extended_code(error: &rusqlite::Error) -> Option<i32> {
    match error {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.extended_code),
        _ => None,
    }
}

/// Whether the file's header says WAL (bytes 18 and 19 are 2).
fn is_wal(path: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok()
        && header.starts_with(b"SQLite format 3\0")
        && header[18] == 2
        && header[19] == 2
}
