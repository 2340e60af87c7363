//! Helpers shared by the integration tests that run the real binary.
// Each test file uses its own subset of these.
#![allow(dead_code)]

pub mod pg;
pub mod tmux;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A run that takes longer than this is a hang, and fails the test.
pub const HANG: Duration = Duration::from_secs(60);

/// Runs `loadscope` with `args` from the crate's directory (monochrome,
/// no standard input), waiting at most [`HANG`] for it.
pub fn loadscope(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loadscope"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting loadscope");
    // Drain the pipes on threads so a large output cannot block the child.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).unwrap();
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).unwrap();
        buf
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            panic!("loadscope {args:?} hung for more than {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The tree path of the first line showing relationship `rel`.
pub fn relation_path(
    app: &loadscope::tui::app::App,
    rel: loadscope::model::RelId,
) -> loadscope::tui::tree::TreePath {
    app.lines
        .iter()
        .find_map(|l| match l {
            loadscope::tui::tree::TreeLine::Relation { rel: r, path, .. } if *r == rel => {
                Some(path.clone())
            }
            _ => None,
        })
        .expect("the relationship is on screen")
}

/// A SQLite database in `dir` made from one of the oracles' SQL scripts
/// (`tests/fixtures/shapes/shapes.sql`), as a user's file would be.
pub fn fixture_db(dir: &std::path::Path, script: &str) -> std::path::PathBuf {
    let db = dir.join("fixture.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(&std::fs::read_to_string(script).unwrap())
        .unwrap();
    db
}
