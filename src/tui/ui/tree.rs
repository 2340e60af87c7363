//! The left pane: the object tree.

use super::fit;
use crate::analysis::thousands;
use crate::db::value::value_to_text;
use crate::tui::app::App;
use crate::tui::keymap::Focus;
use crate::tui::tree::{NoteKind, TreeLine};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let focused = app.focus == Focus::Tree && app.overlay.is_none();
    let entity = &app.model().entity(app.root).name;
    let inner = super::pane(app, frame, area, format!(" {entity} "), focused);
    if inner.height == 0 {
        return;
    }
    let (first, last) = app.visible_root_range();
    let plural = if app.total == 1 {
        entity.clone()
    } else {
        crate::model::inflect::plural(entity)
    };
    let header = if app.total == 0 {
        format!("no {plural}")
    } else {
        format!(
            "{plural} {}-{} of {}",
            thousands(first),
            thousands(last),
            thousands(app.total)
        )
    };
    frame.render_widget(
        Paragraph::new(Span::styled(header, theme.dim)),
        Rect { height: 1, ..inner },
    );
    let width = inner.width as usize;
    let height = inner.height.saturating_sub(1) as usize;
    let lines: Vec<Line> = app
        .lines
        .iter()
        .enumerate()
        .skip(app.offset)
        .take(height)
        .map(|(i, line)| {
            let mut rendered = render_line(app, line, width);
            if i == app.cursor {
                rendered = rendered.style(if focused {
                    theme.selected
                } else {
                    theme.selected.add_modifier(ratatui::style::Modifier::DIM)
                });
            }
            rendered
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines),
        Rect {
            y: inner.y + 1,
            height: inner.height.saturating_sub(1),
            ..inner
        },
    );
}

fn render_line(app: &App, line: &TreeLine, width: usize) -> Line<'static> {
    let theme = &app.theme;
    let indent = "  ".repeat(line.depth());
    let open = app.expanded.contains(line.path());
    let marker = if open { "▾ " } else { "▸ " };
    let text_room = |used: usize| width.saturating_sub(used);
    match line {
        TreeLine::Object { obj, .. } => {
            let o = app.session.object(*obj);
            let label = app
                .session
                .label(*obj)
                .map(value_to_text)
                .unwrap_or_default();
            // One line per object, whatever the label holds.
            let label: String = label
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            // A row of a hierarchy says which class it came back as.
            let class = if app.model().entity(o.entity).polymorphic.is_some() {
                format!("{}  ", app.model().entity(o.entity).name)
            } else {
                String::new()
            };
            let head = format!("{indent}{marker}{}  {class}", o.key);
            let room = text_room(head.chars().count());
            Line::from(vec![
                Span::styled(fit(&head, width), theme.entity),
                Span::styled(fit(&label, room), theme.entity),
            ])
        }
        TreeLine::Relation { parent, rel, .. } => {
            let r = app.model().rel(*rel);
            let strategy = app
                .overrides
                .get(rel)
                .copied()
                .unwrap_or_else(|| app.session.strategy_for(*parent, *rel));
            let count = match app.session.related(*parent, *rel) {
                Some(related) if !strategy.attribute().needs_collection() => {
                    let n = related.objects().len();
                    if r.is_collection() {
                        format!(" ({n})")
                    } else if n == 0 {
                        " (none)".to_string()
                    } else {
                        String::new()
                    }
                }
                _ => String::new(),
            };
            let head = format!("{indent}{marker}{}{count}", r.name);
            let tail = format!("  {strategy}");
            let room = width.saturating_sub(head.chars().count());
            Line::from(vec![
                Span::styled(fit(&head, width), theme.relation),
                Span::styled(fit(&tail, room), theme.dim),
            ])
        }
        TreeLine::Note {
            text, kind, first, ..
        } => {
            let (symbol, style): (&str, Style) = match kind {
                NoteKind::Error => ("✗ ", theme.error),
                NoteKind::Empty => ("∅ ", theme.dim),
                NoteKind::Info => ("ℹ ", theme.info),
                NoteKind::More => ("… ", theme.dim),
            };
            let symbol = if *first { symbol } else { "  " };
            let text: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            Line::from(Span::styled(
                fit(&format!("{indent}{symbol}{text}"), width),
                style,
            ))
        }
    }
}
