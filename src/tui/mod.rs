//! The explorer: a terminal UI over the engine. One `App` state, an
//! `Action` enum, one `update` that is the only place state changes or SQL
//! runs, and a pure `render`. The loop blocks on input, drains whatever
//! else is queued, and draws once: no CPU while idle.

pub mod action;
pub mod app;
pub mod bench;
pub mod keymap;
pub mod log_rows;
pub mod theme;
pub mod tree;
pub mod ui;
pub mod update;

use crate::cli::OpenArgs;
use anyhow::{Context as _, Result};
use app::App;
use crossterm::event::{
    self, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::execute;
use std::io::{Write, stdout};
use std::time::Duration;
use theme::Theme;

/// Leaves the terminal as it was found: raw mode off, main screen back,
/// mouse capture off, cursor shown.
fn restore_terminal() {
    let _ = execute!(
        stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        crossterm::cursor::Show
    );
    ratatui::restore();
}

/// A SIGTERM, SIGHUP, SIGINT or SIGQUIT (from `kill`, a closed terminal,
/// a supervisor) restores the terminal before the process ends with the
/// conventional status, 128 + the signal: a killed explorer never leaves
/// the shell in raw mode on the alternate screen.
fn restore_on_signals() -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT])
        .context("watching for signals")?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            restore_terminal();
            std::process::exit(128 + signal);
        }
    });
    Ok(())
}

pub fn run(open: &OpenArgs, root: Option<&str>) -> Result<()> {
    // Everything that can fail on bad input fails before the screen changes.
    let ws = open.open()?;
    let root = crate::cli::root_entity(&ws.model, root)?;
    crate::cli::print_warnings(&ws.model);
    let theme = Theme::from_env(std::env::var("NO_COLOR").ok().as_deref());

    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    restore_on_signals()?;
    let mut terminal = ratatui::try_init().context("starting the terminal UI")?;
    let result = (|| -> Result<()> {
        execute!(stdout(), EnableMouseCapture, EnableBracketedPaste)?;
        let size = terminal.size()?;
        let mut app = App::with_root(&ws, (size.width, size.height), theme, root)?;
        event_loop(&mut terminal, &mut app)
    })();
    restore_terminal();
    result
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> Result<()> {
    loop {
        terminal.draw(|frame| ui::render(app, frame))?;
        if let Some(text) = app.pending_copy.take() {
            let _ = execute!(
                stdout(),
                crossterm::clipboard::CopyToClipboard::to_clipboard_from(text)
            );
            let _ = stdout().flush();
        }
        if app.should_quit {
            return Ok(());
        }
        // Block for the next event, then take everything already queued.
        let mut event = event::read()?;
        loop {
            if let Some(action) = update::action_for_event(app, &event) {
                update::update(app, action);
            }
            if app.should_quit || !event::poll(Duration::ZERO)? {
                break;
            }
            event = event::read()?;
        }
    }
}
