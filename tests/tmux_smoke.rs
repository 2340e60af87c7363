//! One smoke test of the real binary in a real terminal: tmux on its own
//! socket, keys sent as a person would type them, the screen read back.
//! `.ci/run` installs tmux when it is missing.

mod common;

use common::tmux::Tmux;
use std::process::Command;

#[test]
fn the_real_binary_in_tmux() {
    let tmux = Tmux::start("smoke", "");

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
    tmux.wait_for("Esc or ? closes)");
    tmux.keys(&["Escape"]);

    // Resize small and back.
    tmux.run(&["resize-window", "-t", "smoke", "-x", "50", "-y", "12"]);
    tmux.wait_for("terminal too small");
    tmux.run(&["resize-window", "-t", "smoke", "-x", "120", "-y", "40"]);
    tmux.wait_for("1  John");

    // Quit: exit code 0 and the terminal restored.
    tmux.keys(&["q"]);
    tmux.wait_for("EXITED:0");
    let screen = tmux.wait_for("icanon");
    assert!(screen.contains("\nicanon"), "{screen}");
    assert_eq!(
        tmux.modes(),
        "0 0",
        "alternate screen and mouse capture are off again"
    );
}

#[test]
fn a_paste_is_text_and_a_kill_restores_the_terminal() {
    let tmux = Tmux::start("paste", "");
    tmux.wait_for("1  John");
    // User.posts as dynamic, then its query editor.
    tmux.keys(&["Enter", "Down", "s"]);
    tmux.wait_for("how does User.posts load?");
    for _ in 0..9 {
        tmux.keys(&["Down"]);
    }
    tmux.keys(&["Enter"]);
    tmux.wait_for("User.posts: dynamic");
    tmux.keys(&["f"]);
    tmux.wait_for("filter / order by / limit");
    // A pasted `q` (and line break) is text in the editor, not a key.
    tmux.run(&["set-buffer", "-b", "p", "posts.id > 1 OR q\nq"]);
    tmux.run(&["paste-buffer", "-p", "-b", "p", "-t", "smoke"]);
    let screen = tmux.wait_for("filter: posts.id > 1 OR q");
    assert!(!screen.contains("EXITED"), "{screen}");
    assert!(screen.contains("filter / order by / limit"), "{screen}");

    // SIGTERM: the terminal comes back (main screen, no mouse capture,
    // canonical mode) and the exit code is 128 + 15.
    let pid = tmux.run(&["list-panes", "-t", "smoke", "-F", "#{pane_pid}"]);
    let shell: u32 = pid.trim().parse().unwrap();
    let children = Command::new("pgrep")
        .args(["-P", &shell.to_string()])
        .output()
        .unwrap();
    let explorer = String::from_utf8_lossy(&children.stdout).trim().to_string();
    assert!(
        !explorer.is_empty(),
        "the explorer runs under the pane's shell"
    );
    Command::new("kill")
        .args(["-TERM", &explorer])
        .status()
        .unwrap();
    tmux.wait_for("EXITED:143");
    let screen = tmux.wait_for("icanon");
    assert!(screen.contains("\nicanon"), "{screen}");
    assert_eq!(tmux.modes(), "0 0");
}
