//! One smoke test of the real binary in a real terminal: tmux on its own
//! socket, keys sent as a person would type them, the screen read back.
//! `.ci/run` installs tmux when it is missing.

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux is installed (.ci/run installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "smoke"])
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.run(&["send-keys", "-t", "smoke", key]);
        }
    }

    /// Waits until the screen shows `text` (5 s at most).
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "waited for {text:?}; screen:\n{screen}"
            );
            sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

#[test]
fn the_real_binary_in_tmux() {
    let tmux = Tmux {
        socket: format!("loadscope-smoke-{}", std::process::id()),
    };
    let binary = env!("CARGO_BIN_EXE_loadscope");
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "smoke",
        "-x",
        "120",
        "-y",
        "40",
        &format!("{binary}; echo EXITED:$?; sleep 30"),
    ]);
    tmux.run(&["set-option", "-s", "escape-time", "0"]);

    // First frame: the users and the log header with the root fetch only.
    let screen = tmux.wait_for("1  John");
    assert!(
        screen.contains("SQL · this session: 1 statement"),
        "{screen}"
    );
    assert!(screen.contains("Users 1-"), "{screen}");

    // John's posts under select: one more statement.
    tmux.keys(&["Enter", "Down", "Enter"]);
    let screen = tmux.wait_for("First Post");
    assert!(
        screen.contains("SQL · this session: 2 statements"),
        "{screen}"
    );
    assert!(screen.contains("User.posts · select"), "{screen}");

    // Switch to selectin: the replay shows 2 statements.
    tmux.keys(&["s"]);
    tmux.wait_for("how does User.posts load?");
    tmux.keys(&["Down", "Down", "Down", "Down", "Down", "Enter"]);
    let screen = tmux.wait_for("→ selectin");
    assert!(screen.contains("User.posts: selectin"), "{screen}");
    assert!(screen.contains("User.posts · selectin"), "{screen}");

    // Help, then back.
    tmux.keys(&["?"]);
    tmux.wait_for("keys (q, Esc or ? closes)");
    tmux.keys(&["Escape"]);

    // Resize small and back.
    tmux.run(&["resize-window", "-t", "smoke", "-x", "50", "-y", "12"]);
    tmux.wait_for("terminal too small");
    tmux.run(&["resize-window", "-t", "smoke", "-x", "120", "-y", "40"]);
    tmux.wait_for("1  John");

    // Quit: exit code 0 and the terminal restored.
    tmux.keys(&["q"]);
    tmux.wait_for("EXITED:0");
    let state = tmux.run(&[
        "display-message",
        "-p",
        "-t",
        "smoke",
        "#{alternate_on} #{mouse_any_flag}",
    ]);
    assert_eq!(
        state.trim(),
        "0 0",
        "alternate screen and mouse capture are off again"
    );
}
