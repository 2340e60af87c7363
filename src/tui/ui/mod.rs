//! `render`: draws the explorer from its state and changes nothing.

mod log;

pub use log::LogAnalysis;
mod overlay;
mod tree;

use super::app::{App, Overlay, StatusKind};
use super::keymap::{Context, Focus, hints};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// Below this the layout cannot show both panes legibly.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;
/// From this width the panes sit side by side; below it they stack.
pub const SIDE_BY_SIDE: u16 = 100;

pub struct Areas {
    pub title: Rect,
    pub tree: Rect,
    pub log: Rect,
    pub status: Rect,
    pub hints: Rect,
}

/// How the panes share the screen: the tree's share in percent, and
/// whether the focused pane is zoomed to all of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    pub tree_percent: u16,
    pub zoomed: Option<Focus>,
}

impl Default for Split {
    fn default() -> Split {
        Split {
            tree_percent: 50,
            zoomed: None,
        }
    }
}

/// Where everything goes; `None` when the terminal is too small.
pub fn layout(area: Rect, split: Split) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let rows = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .split(area);
    let side_by_side = area.width >= SIDE_BY_SIDE;
    let total = if side_by_side {
        rows[1].width
    } else {
        rows[1].height
    };
    let tree = match split.zoomed {
        Some(Focus::Tree) => total,
        Some(Focus::Log) => 0,
        None => {
            // Each pane keeps room to show something, wherever the split.
            let least = (if side_by_side { 30 } else { 7 }).min(total / 2);
            let share = (total as u32 * split.tree_percent as u32).div_ceil(100) as u16;
            share.clamp(least, total - least)
        }
    };
    let shares = [Constraint::Length(tree), Constraint::Length(total - tree)];
    let panes = if side_by_side {
        Layout::horizontal(shares).split(rows[1])
    } else {
        Layout::vertical(shares).split(rows[1])
    };
    Some(Areas {
        title: rows[0],
        tree: panes[0],
        log: panes[1],
        status: rows[2],
        hints: rows[3],
    })
}

pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let Some(areas) = layout(area, app.split) else {
        let text = format!(
            "terminal too small (needs {MIN_WIDTH}×{MIN_HEIGHT}, has {}×{})",
            area.width, area.height
        );
        let y = area.height / 2;
        let rect = Rect::new(area.x, area.y + y, area.width, 1.min(area.height));
        frame.render_widget(
            Paragraph::new(text)
                .style(app.theme.warning)
                .centered()
                .wrap(Wrap { trim: true }),
            rect,
        );
        return;
    };
    render_title(app, frame, areas.title);
    // (A zoomed-out pane has no room: it is not drawn.)
    if areas.tree.width > 0 && areas.tree.height > 0 {
        tree::render(app, frame, areas.tree);
    }
    if areas.log.width > 0 && areas.log.height > 0 {
        log::render(app, frame, areas.log);
    }
    render_status(app, frame, areas.status);
    render_hints(app, frame, areas.hints);
    match &app.overlay {
        Some(Overlay::Help(scroll)) => overlay::help(app, *scroll, frame, area),
        Some(Overlay::Warnings(scroll)) => overlay::warnings(app, *scroll, frame, area),
        Some(Overlay::Picker(picker)) => overlay::picker(app, picker, frame, area),
        Some(Overlay::Roots(selected)) => overlay::roots(app, *selected, frame, area),
        Some(Overlay::Editor(editor)) => overlay::editor(app, editor, frame, area),
        Some(Overlay::Search(input)) => overlay::search(app, input, frame, area),
        None => {}
    }
}

fn render_title(app: &App, frame: &mut Frame, area: Rect) {
    let warnings = match app.model().warnings.len() {
        0 => String::new(),
        1 => "· ⚠ 1 warning (!) ".to_string(),
        n => format!("· ⚠ {n} warnings (!) "),
    };
    // A server's statement times are the client's: the round trip is in them.
    let round_trip = if app.ws.conn.is_server() {
        "· times include the round trip "
    } else {
        ""
    };
    let left = format!(
        " loadscope · {} · model {} {warnings}{round_trip}",
        app.ws.db_name, app.ws.model_name
    );
    let strategies: Vec<String> = app
        .strategies_in_use()
        .into_iter()
        .map(|(rel, s)| format!("{}: {s}", app.model().rel_display(rel)))
        .collect();
    let right = strategies.join("  ");
    let room = (area.width as usize).saturating_sub(left.chars().count() + 1);
    let right: String = if right.chars().count() > room {
        let mut cut: String = right.chars().take(room.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        right
    };
    let gap = (area.width as usize).saturating_sub(left.chars().count() + right.chars().count());
    let line = Line::from(vec![
        Span::styled(left, app.theme.title),
        Span::raw(" ".repeat(gap)),
        Span::styled(right, app.theme.info),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn render_status(app: &App, frame: &mut Frame, area: Rect) {
    if let Some((text, kind)) = &app.status {
        let style = match kind {
            StatusKind::Info => app.theme.info,
            StatusKind::Error => app.theme.error,
        };
        frame.render_widget(Paragraph::new(format!(" {text}")).style(style), area);
    }
}

fn render_hints(app: &App, frame: &mut Frame, area: Rect) {
    // The hints of what is open: an editor's own keys, else the picker's
    // or the focused pane's.
    let all: Vec<&str> = match (&app.overlay, app.focus) {
        (Some(Overlay::Editor(_)), _) => vec!["Enter apply", "Esc cancel"],
        (Some(Overlay::Search(_)), _) => vec!["Enter find", "Esc cancel"],
        (Some(Overlay::Picker(_) | Overlay::Roots(_)), _) => hints(Context::Picker),
        (_, Focus::Tree) => hints(Context::Tree),
        (_, Focus::Log) => hints(Context::Log),
    };
    // `? help` and `q quit` always fit: the others are left out first.
    let (last, first): (Vec<&str>, Vec<&str>) = all
        .into_iter()
        .partition(|h| h.starts_with("? ") || h.starts_with("q "));
    let room = (area.width as usize)
        .saturating_sub(1 + last.iter().map(|h| h.chars().count() + 2).sum::<usize>());
    let mut shown = Vec::new();
    let mut used = 0;
    for hint in first {
        // Whole hints only: one that does not fit is left out.
        used += hint.chars().count() + 2;
        if used > room {
            break;
        }
        shown.push(hint);
    }
    shown.extend(last);
    let mut spans = vec![Span::raw(" ")];
    for hint in shown {
        let (key, rest) = hint.split_once(' ').unwrap_or((hint, ""));
        spans.push(Span::styled(key.to_string(), app.theme.key));
        spans.push(Span::styled(format!(" {rest}  "), app.theme.dim));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Draws a pane's border and title, brighter when it has the keyboard;
/// returns the area inside.
fn pane(app: &App, frame: &mut Frame, area: Rect, title: String, focused: bool) -> Rect {
    let theme = &app.theme;
    let (border, title_style) = if focused {
        (theme.border_focused, theme.title)
    } else {
        (theme.border, theme.dim)
    };
    let block = ratatui::widgets::Block::default()
        .borders(ratatui::widgets::Borders::ALL)
        .border_style(border)
        .title(Span::styled(title, title_style));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// Cuts text to `width` characters, marking the cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else if width == 0 {
        String::new()
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}
