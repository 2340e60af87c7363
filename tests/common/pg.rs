//! A throwaway PostgreSQL server for the integration tests.
//!
//! [`cluster()`] starts one server per test binary, the first time a test
//! asks for it: `initdb` into a temporary directory, then `postgres` on a
//! free TCP port of 127.0.0.1 (trust authentication, superuser `postgres`,
//! `fsync=off`). Each test takes its own empty database with
//! [`Cluster::new_database`], so tests running in parallel never share one.
//!
//! Rust never drops statics, so the server is stopped by a watchdog rather
//! than by `Drop`: a small `sh` script starts `postgres` in the background
//! and blocks reading a pipe whose only writer is the test process. When
//! the test process ends, in any way (success, panic, abort, `SIGKILL`),
//! the kernel closes the pipe; the script then sends `postgres` `SIGINT`
//! (fast shutdown), waits for it and removes the temporary directory. The
//! watchdog runs in its own process group, so a Ctrl-C in the terminal
//! reaches only the test process, and the cleanup still runs.
//!
//! The server refuses to run as root: as root (CI), the directory belongs to
//! the `postgres` user and the server runs through `runuser -u postgres`.
//!
//! The binaries come from `pg_config --bindir`, else the newest
//! `/usr/lib/postgresql/*/bin`; `.ci/run` installs the Debian `postgresql`
//! package when neither has them.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long the server may take to accept connections.
const STARTUP: Duration = Duration::from_secs(30);

/// The longest any one `initdb` or `psql` run may take.
const COMMAND: Duration = Duration::from_secs(60);

/// Starts `postgres` and stops it once standard input reaches end of file.
/// `$1` is the bin directory, `$2` the temporary directory (data, sockets,
/// log), `$3` the port. The copy of the pipe is kept on descriptor 3: an
/// asynchronous command of a non-interactive shell reads `/dev/null`.
const WATCHDOG: &str = r#"
exec 3<&0 </dev/null >>"$2/postgres.log" 2>&1
mkdir -p "$2/sock"
"$1/postgres" -D "$2/data" -p "$3" -k "$2/sock" \
    -c listen_addresses=127.0.0.1 -c fsync=off 3<&- &
pg=$!
{ cat <&3 >/dev/null; : >"$2/stopping"; kill -INT "$pg" 2>/dev/null; } &
watcher=$!
exec 3<&-
wait "$pg"
status=$?
if [ -e "$2/stopping" ]; then
    rm -rf "$2"
else
    kill "$watcher" 2>/dev/null
fi
exit "$status"
"#;

/// A running PostgreSQL server, for the whole test binary.
pub struct Cluster {
    port: u16,
    bindir: PathBuf,
    /// The temporary directory: `data/`, `sock/`, `postgres.log`.
    dir: PathBuf,
    /// The write end of the watchdog's pipe: the kernel closes it when the
    /// process ends, [`stop_at_exit`] when it exits normally.
    stop: Mutex<Option<ChildStdin>>,
    watchdog: Mutex<Child>,
    databases: AtomicUsize,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The test binary's server, started on first use. A failure to start is
/// reported to every test that asks, without starting again.
pub fn cluster() -> &'static Cluster {
    match CLUSTER.get_or_init(Cluster::start) {
        Ok(cluster) => {
            static REGISTERED: OnceLock<()> = OnceLock::new();
            REGISTERED.get_or_init(|| {
                atexit(stop_at_exit);
            });
            cluster
        }
        Err(e) => panic!("no PostgreSQL test server: {e}"),
    }
}

unsafe extern "C" {
    /// C's `atexit(3)`: `exit`, which ends the test harness, calls them.
    safe fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
}

/// At a normal exit, stops the server and waits (a few seconds at most) for
/// the watchdog to finish, so that when `cargo test` is done the server and
/// its directory are gone too. Without it the watchdog would do the same a
/// moment after the exit; it still does when the process dies otherwise.
extern "C" fn stop_at_exit() {
    let Some(Ok(cluster)) = CLUSTER.get() else {
        return;
    };
    if let Ok(mut stop) = cluster.stop.lock() {
        stop.take();
    }
    let Ok(mut watchdog) = cluster.watchdog.lock() else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while matches!(watchdog.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Cluster {
    /// A new, empty database whose name starts with `name_hint`, as a URL.
    pub fn new_database(&self, name_hint: &str) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let mut name: String = name_hint
            .chars()
            .map(|c| match c.to_ascii_lowercase() {
                c @ ('a'..='z' | '0'..='9' | '_') => c,
                _ => '_',
            })
            .take(40)
            .collect();
        if !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
            name.insert_str(0, "db_");
        }
        let name = format!("{name}_{n}");
        self.psql(
            "postgres",
            &format!("CREATE DATABASE \"{name}\" TEMPLATE template0;"),
        );
        self.url(&name)
    }

    /// The libpq URL of database `db` on this server.
    pub fn url(&self, db: &str) -> String {
        let mut encoded = String::new();
        for b in db.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'~' => {
                    encoded.push(b as char)
                }
                _ => encoded.push_str(&format!("%{b:02X}")),
            }
        }
        format!("postgresql://postgres@127.0.0.1:{}/{encoded}", self.port)
    }

    /// Runs `sql` (any number of statements) in database `db` with `psql`,
    /// stopping at the first error, and returns what it printed: unaligned,
    /// tuples only, one row a line, `|` between columns. Panics with
    /// `psql`'s messages when a statement fails.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let mut cmd = command(&self.tool("psql"));
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d"])
            .arg(self.url(db))
            .env("PGCONNECT_TIMEOUT", "10");
        let out = run(cmd, Some(sql.as_bytes().to_vec()), "psql").unwrap_or_else(|e| panic!("{e}"));
        if !out.status.success() {
            panic!(
                "psql on {db} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8(out.stdout).expect("psql prints UTF-8")
    }

    /// The TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }

    /// A client program of the server's version, else the one on `PATH`.
    fn tool(&self, name: &str) -> PathBuf {
        let path = self.bindir.join(name);
        if path.exists() { path } else { name.into() }
    }

    fn start() -> Result<Cluster, String> {
        let started = Instant::now();
        let bindir = bindir()?;
        let root = is_root();
        let tmp = tempfile::Builder::new()
            .prefix("loadscope-test-pg-")
            .tempdir()
            .map_err(|e| format!("creating a temporary directory: {e}"))?;
        if root {
            let mut chown = Command::new("chown");
            chown.arg("postgres:").arg(tmp.path());
            let out = run(chown, None, "chown")?;
            if !out.status.success() {
                return Err(format!(
                    "the server refuses to run as root, and the temporary directory cannot \
                     be given to the `postgres` user (install the Debian `postgresql` \
                     package, which creates it): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }

        let mut initdb = as_server_user(root, &bindir.join("initdb"));
        initdb
            .arg("-D")
            .arg(tmp.path().join("data"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync"])
            .args(["-E", "UTF8", "--locale=C"])
            .current_dir(tmp.path());
        let out = run(initdb, None, "initdb")?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let initialized = started.elapsed();

        // Another process may take the free port before the server binds
        // it: then try another one.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let port = free_port()?;
            match serve(root, &bindir, tmp.path(), port) {
                Ok((watchdog, stop)) => {
                    eprintln!(
                        "PostgreSQL test server on 127.0.0.1:{port} ready in {:?} \
                         (initdb {initialized:?})",
                        started.elapsed()
                    );
                    return Ok(Cluster {
                        port,
                        bindir,
                        // From now on the watchdog removes the directory.
                        dir: tmp.keep(),
                        stop: Mutex::new(Some(stop)),
                        watchdog: Mutex::new(watchdog),
                        databases: AtomicUsize::new(0),
                    });
                }
                Err(log) if attempts < 5 && log.contains("could not bind") => continue,
                Err(log) => {
                    return Err(format!(
                        "the server did not start on port {port}; its log:\n{log}"
                    ));
                }
            }
        }
    }
}

/// Starts the watchdog (and so the server) on `port` and waits until the
/// server accepts connections. The error is the server's log.
fn serve(root: bool, bindir: &Path, dir: &Path, port: u16) -> Result<(Child, ChildStdin), String> {
    let log = || std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default();
    let mut cmd = as_server_user(root, Path::new("sh"));
    cmd.args(["-c", WATCHDOG, "sh"])
        .arg(bindir)
        .arg(dir)
        .arg(port.to_string())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Away from the terminal's signals: only the pipe stops the server.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut watchdog: Child = cmd
        .spawn()
        .map_err(|e| format!("starting the server's watchdog: {e}"))?;
    let stop = watchdog.stdin.take().unwrap();
    let deadline = Instant::now() + STARTUP;
    loop {
        if let Ok(Some(status)) = watchdog.try_wait() {
            return Err(format!("(the server exited: {status})\n{}", log()));
        }
        let mut ready = command(&bindir.join("pg_isready"));
        ready
            .args(["-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
            .args(["-t", "1", "-p", &port.to_string()]);
        if run(ready, None, "pg_isready")?.status.success() {
            return Ok((watchdog, stop));
        }
        if Instant::now() > deadline {
            // Dropping `stop` closes the pipe: the watchdog stops the server.
            return Err(format!("(no connection after {STARTUP:?})\n{}", log()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The directory of `initdb` and `postgres`.
fn bindir() -> Result<PathBuf, String> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    // Debian's libpq-dev has a pg_config naming the server's directory even
    // when no server is installed: check that the binaries are there.
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_server(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            let dir = entry.path().join("bin");
            has_server(&dir).then_some((version, dir))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir).ok_or_else(|| {
        "PostgreSQL's initdb and postgres were found neither through `pg_config --bindir` \
         nor in /usr/lib/postgresql/*/bin: install the Debian `postgresql` package \
         (`apt-get install postgresql`; .ci/run does)"
            .to_string()
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A port of 127.0.0.1 free at the moment.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

/// `program`, without the caller's `PG*` variables (a `PGOPTIONS` or
/// `PGSSLMODE` of the developer's must not change what the tests see).
fn command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// `program` run as the `postgres` user when we are root.
fn as_server_user(root: bool, program: &Path) -> Command {
    if root {
        let mut cmd = command(Path::new("runuser"));
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        command(program)
    }
}

/// Runs `cmd` to the end with `input` on its standard input, at most
/// [`COMMAND`] long.
fn run(mut cmd: Command, input: Option<Vec<u8>>, what: &str) -> Result<Output, String> {
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {what}: {e}"))?;
    // Threads for every pipe, so that no amount of output blocks the child.
    let writer = child.stdin.take().map(|mut stdin| {
        std::thread::spawn(move || {
            // An early exit of the child is reported by its status.
            let _ = stdin.write_all(&input.unwrap_or_default());
        })
    });
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + COMMAND;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| format!("{what}: {e}"))? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} hung for more than {COMMAND:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    Ok(Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    })
}
