//! Pop-ups drawn over the panes: help, the strategy picker, and the
//! dynamic-query editor.

use super::fit;
use crate::analysis::{format_duration_fixed, thousands};
use crate::tui::app::{App, Editor, Picker, WhatIf};
use crate::tui::keymap::{BINDINGS, Context};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    rect
}

fn frame_block<'a>(app: &App, title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(app.theme.border_focused)
        .title(Span::styled(title, app.theme.title))
}

/// The help overlay, generated from the key table.
pub fn help(app: &App, scroll: u16, frame: &mut Frame, area: Rect) {
    let mut lines = Vec::new();
    for (context, heading) in [
        (Context::Everywhere, "everywhere"),
        (Context::Tree, "in the tree"),
        (Context::Log, "in the SQL log (Tab)"),
        (Context::Picker, "in the strategy picker"),
    ] {
        lines.push(Line::from(Span::styled(heading, app.theme.title)));
        for b in BINDINGS.iter().filter(|b| b.context == context) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<11}", b.label), app.theme.key),
                Span::raw(b.description),
            ]));
        }
    }
    lines.push(Line::from(Span::styled(
        "f in a dynamic filter: Enter applies, Esc cancels",
        app.theme.dim,
    )));
    let height = lines.len() as u16 + 2;
    let rect = centered(area, 110.min(area.width.saturating_sub(2)), height);
    // On a short terminal the list scrolls (never past its last line).
    let fits = height <= rect.height;
    // Wrapped lines make the text taller than its line count: allow for it.
    let scroll = if fits { 0 } else { scroll.min(height) };
    let title = if fits {
        " keys (q, Esc or ? closes) "
    } else {
        " keys (j/k scroll, q, Esc or ? closes) "
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(frame_block(app, title))
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        rect,
    );
}

/// The model's warnings, each as `loadscope model` prints it.
pub fn warnings(app: &App, scroll: u16, frame: &mut Frame, area: Rect) {
    let warnings = &app.model().warnings;
    let mut lines: Vec<Line> = Vec::new();
    if warnings.is_empty() {
        lines.push(Line::from(Span::styled(
            "no warnings: the model maps everything it was given",
            app.theme.dim,
        )));
    }
    for (i, warning) in warnings.iter().enumerate() {
        if i > 0 {
            lines.push(Line::from(""));
        }
        for line in warning.to_string().lines() {
            lines.push(Line::from(line.to_string()));
        }
    }
    let height = lines.len() as u16 + 2;
    let rect = centered(area, 110.min(area.width.saturating_sub(2)), height);
    let fits = height <= rect.height;
    let scroll = if fits { 0 } else { scroll.min(height) };
    let title = format!(
        " {} warning{} (j/k scroll, q, Esc or ! closes) ",
        warnings.len(),
        if warnings.len() == 1 { "" } else { "s" }
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(frame_block(app, &title))
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        rect,
    );
}

/// The strategy picker for one relationship.
pub fn picker(app: &App, picker: &Picker, frame: &mut Frame, area: Rect) {
    if let Some(costs) = &picker.costs {
        return what_if(app, picker, costs, frame, area);
    }
    let rel = app.model().rel_display(picker.rel);
    let title = format!(" how does {rel} load? ");
    let width = 104u16.min(area.width.saturating_sub(2));
    let inner_width = width.saturating_sub(2) as usize;
    let lines: Vec<Line> = picker
        .choices
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let name = if s.is_deprecated() {
                format!("{s} (deprecated)")
            } else {
                s.to_string()
            };
            let text = format!(
                "{} {:<24} {}",
                if i == picker.selected { "▸" } else { " " },
                name,
                s.description()
            );
            let line = Line::from(fit(&text, inner_width));
            if i == picker.selected {
                line.style(app.theme.selected)
            } else {
                line
            }
        })
        .collect();
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(frame_block(app, &title)), rect);
}

/// What-if (`w`): each strategy's cost for the view, the current one
/// marked.
fn what_if(app: &App, picker: &Picker, costs: &[WhatIf], frame: &mut Frame, area: Rect) {
    let rel = app.model().rel_display(picker.rel);
    let title = format!(
        " what if {rel} loaded another way? this view, each in a fresh session (Enter switches) "
    );
    let width = 104u16.min(area.width.saturating_sub(2));
    let inner_width = width.saturating_sub(2) as usize;
    let current = app
        .overrides
        .get(&picker.rel)
        .copied()
        .or_else(|| {
            app.strategies_in_use()
                .into_iter()
                .find(|(r, _)| *r == picker.rel)
                .map(|(_, s)| s)
        })
        .unwrap_or(app.model().rel(picker.rel).lazy);
    let mut lines = vec![Line::from(Span::styled(
        fit(
            &format!(
                "  {:<20} {:>6} {:>8} {:>10} {:>6} {:>10}",
                "strategy", "stmts", "rows", "duplicated", "errors", "time"
            ),
            inner_width,
        ),
        app.theme.dim,
    ))];
    for (i, (s, c)) in picker.choices.iter().zip(costs).enumerate() {
        let mut text = match &c.refused {
            Some(why) => format!("  {:<20} refused: {why}", s.to_string()),
            None => format!(
                "  {:<20} {:>6} {:>8} {:>10} {:>6} {:>10}",
                s.to_string(),
                thousands(c.statements as u64),
                thousands(c.rows as u64),
                thousands(c.duplicated as u64),
                thousands(c.errors as u64),
                format_duration_fixed(c.time)
            ),
        };
        if let Some(factor) = c.cartesian {
            text.push_str(&format!("  cartesian product ×{factor:.1}"));
        }
        if *s == current {
            text.push_str("  ← now");
        }
        let marker = if i == picker.selected { "▸" } else { " " };
        let line = Line::from(fit(&format!("{marker}{}", &text[1..]), inner_width));
        lines.push(if i == picker.selected {
            line.style(app.theme.selected)
        } else {
            line
        });
    }
    let rect = centered(area, width, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(frame_block(app, &title)), rect);
}

/// The entities to browse from (`o`): name, table, and the one listed now.
pub fn roots(app: &App, selected: usize, frame: &mut Frame, area: Rect) {
    let width = 72u16.min(area.width.saturating_sub(2));
    let inner_width = width.saturating_sub(2) as usize;
    let lines: Vec<Line> = app
        .model()
        .entities
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let now = if i == app.root.0 {
                "  (listed now)"
            } else {
                ""
            };
            let text = format!(
                "{} {:<24} {}{now}",
                if i == selected { "▸" } else { " " },
                e.name,
                e.table
            );
            let line = Line::from(fit(&text, inner_width));
            if i == selected {
                line.style(app.theme.selected)
            } else {
                line
            }
        })
        .collect();
    // A long list scrolls to keep the selection in view.
    let height = (lines.len() as u16 + 2)
        .min(area.height.saturating_sub(2))
        .max(3);
    let visible = height.saturating_sub(2) as usize;
    let scroll = selected.saturating_sub(visible.saturating_sub(1)) as u16;
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(frame_block(app, " browse from which entity? (Enter) "))
            .scroll((scroll, 0)),
        rect,
    );
}

/// The search line (`/`): what to find in the focused pane.
pub fn search(
    app: &App,
    input: &ratatui_textarea::TextArea<'static>,
    frame: &mut Frame,
    area: Rect,
) {
    let pane = match app.focus {
        crate::tui::keymap::Focus::Tree => "the tree",
        crate::tui::keymap::Focus::Log => "the SQL log",
    };
    let title = format!(" find in {pane} (Enter finds, Esc cancels) ");
    let rect = centered(area, 64.min(area.width.saturating_sub(2)), 3);
    frame.render_widget(Clear, rect);
    let block = frame_block(app, &title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    frame.render_widget(input, inner);
}

/// The editor for a dynamic relationship's query.
pub fn editor(app: &App, editor: &Editor, frame: &mut Frame, area: Rect) {
    let rel = app.model().rel_display(editor.rel);
    let title = format!(" {rel}: filter / order by / limit (Enter applies, Esc cancels) ");
    let rect = centered(area, 84, 9);
    frame.render_widget(Clear, rect);
    let block = frame_block(app, &title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [text_area, message_area] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(inner);
    frame.render_widget(&editor.textarea, text_area);
    let message = match &editor.error {
        Some(error) => Line::from(Span::styled(format!("✗ {error}"), app.theme.error)),
        None => Line::from(Span::styled(
            "a SQL condition over the target's columns, e.g. filter: posts.title LIKE '%Post%'",
            app.theme.dim,
        )),
    };
    frame.render_widget(
        Paragraph::new(message).wrap(Wrap { trim: true }),
        message_area,
    );
}
