//! The real binary in a real terminal: tmux on its own socket, keys sent
//! as a person would type them, the screen read back. `.ci/run` installs
//! tmux when it is missing.

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux is installed (.ci/run installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "smoke"])
    }

    pub fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.run(&["send-keys", "-t", "smoke", key]);
        }
    }

    /// Waits until the screen shows `text` (5 s at most).
    pub fn wait_for(&self, text: &str) -> String {
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

impl Tmux {
    /// The explorer (with `args`) in a 120x40 tmux session; after it
    /// exits the shell prints its exit code and whether the terminal is
    /// back in canonical mode.
    pub fn start(name: &str, args: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("loadscope-{name}-{}", std::process::id()),
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
            &format!(
                "{binary} {args}; echo EXITED:$?; stty -a | tr ' ' '\\n' | grep -x -- '-*icanon'; sleep 30"
            ),
        ]);
        tmux.run(&["set-option", "-s", "escape-time", "0"]);
        tmux
    }

    /// Alternate screen and mouse capture, as tmux sees them.
    pub fn modes(&self) -> String {
        self.run(&[
            "display-message",
            "-p",
            "-t",
            "smoke",
            "#{alternate_on} #{mouse_any_flag}",
        ])
        .trim()
        .to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}
