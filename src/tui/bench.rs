//! `loadscope --bench-startup [DB]`: the explorer's speed and memory,
//! measured headless on a 120×40 `TestBackend`: time to the first frame,
//! to the last rows (`G`), per keypress, and the peak resident memory.
//! Numbers go to BENCHMARKS.md; tests never assert timings.

use super::action::Action;
use super::app::App;
use super::theme::Theme;
use super::{ui, update};
use crate::cli::OpenArgs;
use anyhow::Result;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

pub fn run(open: &OpenArgs) -> Result<()> {
    let start = Instant::now();
    let ws = open.open()?;
    let mut terminal = Terminal::new(TestBackend::new(120, 40))?;
    let mut app = App::new(&ws, (120, 40), Theme::mono())?;
    terminal.draw(|f| ui::render(&app, f))?;
    let first_frame = start.elapsed();

    let start = Instant::now();
    update::update(&mut app, Action::Bottom);
    terminal.draw(|f| ui::render(&app, f))?;
    let bottom = start.elapsed();

    let presses = 200;
    let start = Instant::now();
    for i in 0..presses {
        update::update(&mut app, if i % 2 == 0 { Action::Up } else { Action::Down });
        terminal.draw(|f| ui::render(&app, f))?;
    }
    let keypress = start.elapsed() / presses;

    let start = Instant::now();
    update::update(&mut app, Action::Top);
    update::update(&mut app, Action::Expand);
    update::update(&mut app, Action::Down);
    update::update(&mut app, Action::Expand);
    terminal.draw(|f| ui::render(&app, f))?;
    let expand = start.elapsed();

    println!(
        "database:        {} ({} {} rows)",
        ws.db_name,
        crate::analysis::thousands(app.total),
        ws.model.entity(app.root).name
    );
    println!("first frame:     {}", ms(first_frame));
    println!("G (last rows):   {}", ms(bottom));
    println!("keypress + draw: {}", ms(keypress));
    println!("expand + draw:   {}", ms(expand));
    println!(
        "peak RSS:        {}",
        peak_rss().map_or("unknown (no /proc)".to_string(), |kb| format!(
            "{:.1} MB",
            kb as f64 / 1024.0
        ))
    );
    if let Some((message, _)) = &app.status {
        println!("status:          {message}");
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The process's peak resident set size in kB (Linux `VmHWM`).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
