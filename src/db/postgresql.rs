//! PostgreSQL: a user's server, opened as libpq would open it and used in
//! read-only transactions only.
//!
//! Statements are shown as SQLAlchemy's psycopg2 dialect sends them
//! (`%(param_1)s`, `%%` for `%`); they run as the same statement with
//! server-side binds (`$1`), every value sent in text form so the server
//! parses it into the column's own type.

use super::pg_value::PgValue;
use super::schema::{Column, ForeignKey, Schema, Table};
use anyhow::{Result, anyhow, bail};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{Format, IsNull, ToSql, Type};
use postgres::{Client, Config, NoTls, Statement};
use rusqlite::types::Value;
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest any statement may run before the server cancels it.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a statement waits for a lock another session holds.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting may take when `connect_timeout` and
/// `PGCONNECT_TIMEOUT` say nothing (libpq would wait for ever).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a database argument is a PostgreSQL URL rather than a file.
pub fn is_url(target: &str) -> bool {
    target.starts_with("postgresql://") || target.starts_with("postgres://")
}

pub struct PgConnection {
    client: RefCell<Client>,
    /// Prepared statements by their displayed text.
    statements: RefCell<FxHashMap<String, Statement>>,
    /// `postgresql://user@host:port/db`, never with a password.
    shown: String,
}

impl PgConnection {
    /// Connects as libpq would (`PG*` variables and `.pgpass` fill what the
    /// URL leaves out) and begins the read-only transaction every statement
    /// runs in.
    pub fn connect(url: &str) -> Result<PgConnection> {
        let (mut config, shown) = client_config(url)?;
        // Read-only from the first statement on, with timeouts, whatever
        // the transaction: a write is refused by the server itself.
        config.options(&format!(
            "-c default_transaction_read_only=on -c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout=0",
            STATEMENT_TIMEOUT.as_millis(),
            LOCK_TIMEOUT.as_millis()
        ));
        let mut client = config
            .connect(NoTls)
            .map_err(|e| anyhow!("{shown}: cannot connect: {}", reason(&e)))?;
        client.batch_execute("BEGIN READ ONLY").map_err(|e| {
            anyhow!(
                "{shown}: cannot begin a read-only transaction: {}",
                reason(&e)
            )
        })?;
        Ok(PgConnection {
            client: RefCell::new(client),
            statements: RefCell::new(FxHashMap::default()),
            shown,
        })
    }

    /// `postgresql://user@host:port/db`.
    pub fn describe(&self) -> &str {
        &self.shown
    }

    /// The database name, for titles.
    pub fn database(&self) -> &str {
        self.shown.rsplit('/').next().unwrap_or(&self.shown)
    }

    /// Runs a statement shown as `sql` with `params` in its text order,
    /// handing each row's values to `on_row`. Returns the number of rows.
    pub fn query(
        &self,
        sql: &str,
        params: &[Value],
        mut on_row: impl FnMut(&[Value]) -> Result<()>,
    ) -> Result<usize> {
        let statement = self.prepare(sql)?;
        let mut client = self.client.borrow_mut();
        let result = (|| {
            let mut rows = client
                .query_raw(&statement, params.iter().map(TextParam))
                .map_err(|e| anyhow!("{}", reason(&e)))?;
            let mut values = Vec::with_capacity(statement.columns().len());
            let mut count = 0;
            while let Some(row) = rows.next().map_err(|e| anyhow!("{}", reason(&e)))? {
                values.clear();
                for i in 0..row.len() {
                    let value: PgValue = row
                        .try_get(i)
                        .map_err(|e| anyhow!("reading column {}: {e}", i + 1))?;
                    values.push(value.0);
                }
                on_row(&values)?;
                count += 1;
            }
            Ok(count)
        })();
        if result.is_err() {
            // A failed statement aborts the transaction: start a new one so
            // the next statement runs.
            let _ = client.batch_execute("ROLLBACK; BEGIN READ ONLY");
        }
        result
    }

    fn prepare(&self, sql: &str) -> Result<Statement> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let positional = to_positional(sql);
        let mut client = self.client.borrow_mut();
        let statement = match client.prepare(&positional) {
            Ok(statement) => statement,
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK; BEGIN READ ONLY");
                bail!("{}", reason(&e));
            }
        };
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), statement.clone());
        Ok(statement)
    }

    /// `EXPLAIN` (or `EXPLAIN (ANALYZE, BUFFERS)`) of a shown statement with
    /// its values bound, as the planner's lines. `ANALYZE` runs the
    /// statement, inside the read-only transaction.
    pub fn explain(&self, sql: &str, params: &[Value], analyze: bool) -> Result<Vec<String>> {
        let head = if analyze {
            "EXPLAIN (ANALYZE, BUFFERS) "
        } else {
            "EXPLAIN "
        };
        let mut lines = Vec::new();
        self.query(&format!("{head}{sql}"), params, |row| {
            if let Some(Value::Text(line)) = row.first() {
                lines.push(line.clone());
            }
            Ok(())
        })?;
        Ok(lines)
    }

    /// The tables on the `search_path`, their columns, primary keys and
    /// foreign keys, from `pg_catalog`.
    pub fn schema(&self) -> Result<Schema> {
        let mut client = self.client.borrow_mut();
        let fail = |what: &str, e: postgres::Error| anyhow!("reading {what}: {}", reason(&e));
        let tables = client
            .query(
                "SELECT c.oid, c.relname FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
                 AND pg_catalog.pg_table_is_visible(c.oid) \
                 AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                 ORDER BY c.oid",
                &[],
            )
            .map_err(|e| fail("the list of tables", e))?;
        let mut schema = Schema::default();
        for table in tables {
            let oid: u32 = table.get(0);
            let name: String = table.get(1);
            let columns = client
                .query(
                    "SELECT a.attname, upper(pg_catalog.format_type(a.atttypid, a.atttypmod)), \
                     coalesce((SELECT k.ord::int4 FROM pg_catalog.pg_index i, \
                               unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
                               WHERE i.indrelid = a.attrelid AND i.indisprimary \
                               AND k.attnum = a.attnum), 0) \
                     FROM pg_catalog.pg_attribute a \
                     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped \
                     ORDER BY a.attnum",
                    &[&oid],
                )
                .map_err(|e| fail(&format!("the columns of `{name}`"), e))?
                .iter()
                .map(|r| Column {
                    name: r.get(0),
                    decl_type: r.get(1),
                    pk: r.get::<_, i32>(2) as u32,
                })
                .collect();
            let key_columns = client
                .query(
                    "SELECT con.oid, f.relname, a.attname, fa.attname \
                     FROM pg_catalog.pg_constraint con \
                     JOIN pg_catalog.pg_class f ON f.oid = con.confrelid \
                     CROSS JOIN LATERAL unnest(con.conkey, con.confkey) \
                         WITH ORDINALITY AS k(attnum, fattnum, ord) \
                     JOIN pg_catalog.pg_attribute a \
                         ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
                     JOIN pg_catalog.pg_attribute fa \
                         ON fa.attrelid = con.confrelid AND fa.attnum = k.fattnum \
                     WHERE con.conrelid = $1 AND con.contype = 'f' \
                     ORDER BY con.oid, k.ord",
                    &[&oid],
                )
                .map_err(|e| fail(&format!("the foreign keys of `{name}`"), e))?;
            let mut foreign_keys: Vec<ForeignKey> = Vec::new();
            let mut last = None;
            for row in key_columns {
                let constraint: u32 = row.get(0);
                if last != Some(constraint) {
                    last = Some(constraint);
                    foreign_keys.push(ForeignKey {
                        from: Vec::new(),
                        to_table: row.get(1),
                        to: Vec::new(),
                    });
                }
                let fk = foreign_keys.last_mut().expect("pushed above");
                fk.from.push(row.get(2));
                fk.to.push(row.get(3));
            }
            // Unique constraints and unique indexes (not the primary key,
            // not partial, not on expressions), columns in index order.
            let unique = client
                .query(
                    "SELECT array_agg(a.attname::text ORDER BY k.ord) \
                     FROM pg_catalog.pg_index i \
                     CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
                     JOIN pg_catalog.pg_attribute a \
                         ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                     WHERE i.indrelid = $1 AND i.indisunique AND NOT i.indisprimary \
                     AND k.ord <= i.indnkeyatts \
                     AND i.indpred IS NULL AND i.indexprs IS NULL \
                     GROUP BY i.indexrelid ORDER BY i.indexrelid",
                    &[&oid],
                )
                .map_err(|e| fail(&format!("the unique keys of `{name}`"), e))?
                .iter()
                .map(|r| r.get::<_, Vec<String>>(0))
                .collect();
            schema.tables.push(Table {
                name,
                columns,
                foreign_keys,
                unique,
            });
        }
        Ok(schema)
    }
}

/// The configuration of a URL as libpq would complete it (`PG*`
/// variables, `.pgpass`, its defaults), and how to name the connection in
/// messages (`postgresql://user@host:port/db`, never with a password).
pub fn client_config(url: &str) -> Result<(Config, String)> {
    let mut config: Config = url.parse().map_err(|e| {
        anyhow!(
            "{}: not a PostgreSQL URL ({e}); expected postgresql://USER@HOST:PORT/DATABASE",
            redact(url)
        )
    })?;
    apply_environment(&mut config, &|name| std::env::var(name).ok());
    if config.get_password().is_none()
        && let Some(password) = pgpass_password(&config, &|name| std::env::var(name).ok())
    {
        config.password(password);
    }
    config.application_name("loadscope");
    let shown = describe(&config);
    if matches!(config.get_ssl_mode(), postgres::config::SslMode::Require) {
        bail!(
            "{shown}: sslmode=require asks for TLS, which loadscope does not speak yet; connect over a local socket or an SSH tunnel"
        );
    }
    Ok((config, shown))
}

/// The displayed statement as the server runs it: `%(name)s` becomes `$n`
/// (a name seen before keeps its number) and `%%` becomes `%`.
pub fn to_positional(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut names: Vec<&str> = Vec::new();
    let mut rest = sql;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('(').and_then(|a| a.split_once(")s"))
        {
            let n = match names.iter().position(|n| *n == name) {
                Some(i) => i + 1,
                None => {
                    names.push(name);
                    names.len()
                }
            };
            out.push('$');
            out.push_str(&n.to_string());
            rest = tail;
        } else {
            out.push('%');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A value sent in text form: the server parses it as the parameter's type
/// (an integer key into `int4`, a text key into `uuid`), as psycopg2's
/// literals are parsed.
#[derive(Debug)]
struct TextParam<'a>(&'a Value);

impl ToSql for TextParam<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Null => return Ok(IsNull::Yes),
            Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Value::Real(f) => out.extend_from_slice(format!("{f:?}").as_bytes()),
            Value::Text(t) => out.extend_from_slice(t.as_bytes()),
            Value::Blob(b) => {
                out.extend_from_slice(b"\\x");
                for byte in b {
                    out.extend_from_slice(format!("{byte:02x}").as_bytes());
                }
            }
        }
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    postgres::types::to_sql_checked!();
}

/// What libpq takes from the environment when the URL says nothing:
/// `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`,
/// `PGCONNECT_TIMEOUT`, and libpq's defaults (the local socket directory,
/// the operating-system user).
fn apply_environment(config: &mut Config, env: &dyn Fn(&str) -> Option<String>) {
    if config.get_hosts().is_empty() {
        let hosts = env("PGHOST").unwrap_or_else(default_host);
        for host in hosts.split(',').filter(|h| !h.is_empty()) {
            if host.starts_with('/') {
                config.host_path(host);
            } else {
                config.host(host);
            }
        }
    }
    if config.get_ports().is_empty()
        && let Some(port) = env("PGPORT").and_then(|p| p.parse().ok())
    {
        config.port(port);
    }
    if config.get_user().is_none() {
        let user = env("PGUSER")
            .or_else(|| env("USER"))
            .or_else(|| env("LOGNAME"))
            .unwrap_or_else(|| "postgres".to_string());
        config.user(&user);
    }
    if config.get_dbname().is_none()
        && let Some(db) = env("PGDATABASE")
    {
        config.dbname(&db);
    }
    if config.get_password().is_none()
        && let Some(password) = env("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_connect_timeout().is_none() {
        let seconds = env("PGCONNECT_TIMEOUT").and_then(|t| t.parse::<u64>().ok());
        config.connect_timeout(seconds.map_or(CONNECT_TIMEOUT, Duration::from_secs));
    }
}

/// libpq's default host: the local socket directory (Debian's, else
/// `/tmp`), or `localhost` when neither exists.
fn default_host() -> String {
    ["/var/run/postgresql", "/tmp"]
        .into_iter()
        .find(|dir| Path::new(dir).is_dir())
        .unwrap_or("localhost")
        .to_string()
}

/// The password `.pgpass` (or `PGPASSFILE`) gives for the connection's
/// host, port, database and user, as libpq reads it: the first matching
/// line of `host:port:database:user:password`, `*` matching anything,
/// `\:` and `\\` escaped; a file others may read is ignored.
fn pgpass_password(config: &Config, env: &dyn Fn(&str) -> Option<String>) -> Option<Vec<u8>> {
    let path = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".pgpass")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "warning: password file {} has group or world access; permissions should be u=rw (0600) or less",
                path.display()
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        // libpq matches a socket connection against `localhost`.
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default().to_string();
    let db = config.get_dbname().unwrap_or(&user).to_string();
    let wanted = [host, port, db, user];
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let fields = pgpass_fields(line);
            if fields.len() < 5 {
                return None;
            }
            let matches = wanted
                .iter()
                .zip(&fields)
                .all(|(want, field)| field == "*" || field == want);
            matches.then(|| fields[4].clone().into_bytes())
        })
}

fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// `postgresql://user@host:port/db` of a configuration, without password.
fn describe(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    let db = config.get_dbname().unwrap_or(user);
    format!("postgresql://{user}@{host}:{port}/{db}")
}

/// A URL with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{path}")
        }
        _ => url.to_string(),
    }
}

/// One line for an error: the server's message (with its detail and hint),
/// or what stopped the connection.
pub fn reason(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let mut line = db.message().to_string();
        if db.code() == &postgres::error::SqlState::QUERY_CANCELED {
            line.push_str(&format!(
                " (statement_timeout: loadscope stops any statement after {} s)",
                STATEMENT_TIMEOUT.as_secs()
            ));
        }
        if let Some(detail) = db.detail() {
            line.push_str(&format!("; {detail}"));
        }
        if let Some(hint) = db.hint() {
            line.push_str(&format!("; hint: {hint}"));
        }
        return line;
    }
    let mut line = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        line = format!("{line}: {cause}");
        source = cause.source();
    }
    if error.is_closed() {
        line.push_str(" (the server closed the connection)");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_binds_run_positionally() {
        assert_eq!(
            to_positional(
                "SELECT a FROM t WHERE %(param_1)s = t.b AND t.c LIKE 'x%%' AND t.d IN (%(primary_keys_1)s, %(param_1)s)"
            ),
            "SELECT a FROM t WHERE $1 = t.b AND t.c LIKE 'x%' AND t.d IN ($2, $1)"
        );
    }

    #[test]
    fn environment_fills_what_the_url_leaves_out() {
        let env = |name: &str| match name {
            "PGHOST" => Some("db.internal".to_string()),
            "PGPORT" => Some("6543".to_string()),
            "PGUSER" => Some("app".to_string()),
            "PGDATABASE" => Some("shop".to_string()),
            "PGPASSWORD" => Some("secret".to_string()),
            _ => None,
        };
        let mut config: Config = "postgresql://".parse().unwrap();
        apply_environment(&mut config, &env);
        assert_eq!(describe(&config), "postgresql://app@db.internal:6543/shop");
        assert_eq!(config.get_password(), Some(&b"secret"[..]));
        assert_eq!(config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        // The URL wins over the environment.
        let mut config: Config = "postgresql://me@localhost:5433/mine".parse().unwrap();
        apply_environment(&mut config, &env);
        assert_eq!(describe(&config), "postgresql://me@localhost:5433/mine");
    }

    #[test]
    fn pgpass_is_read_as_libpq_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:*:app:wrong\nlocalhost:5433:shop:app:pa\\:ss\n*:*:*:app:fallback\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let path = file.display().to_string();
        let env = |name: &str| (name == "PGPASSFILE").then(|| path.clone());
        let config: Config = "postgresql://app@localhost:5433/shop".parse().unwrap();
        assert_eq!(pgpass_password(&config, &env), Some(b"pa:ss".to_vec()));
        let config: Config = "postgresql://app@elsewhere:5432/x".parse().unwrap();
        assert_eq!(pgpass_password(&config, &env), Some(b"fallback".to_vec()));
        let config: Config = "postgresql://nobody@localhost/x".parse().unwrap();
        assert_eq!(pgpass_password(&config, &env), None);
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgresql://app:s3cret@db:5432/shop"),
            "postgresql://app:***@db:5432/shop"
        );
        assert_eq!(
            redact("postgresql://app@db/shop"),
            "postgresql://app@db/shop"
        );
    }
}
