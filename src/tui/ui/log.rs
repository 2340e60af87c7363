//! The right pane: the live SQL log, newest last and followed, with the
//! per-loader summary below it, or the selected statement in full.

use super::fit;
use crate::analysis::{self, Repeat, format_duration_fixed, thousands};
use crate::db::value::value_to_text;
use crate::tui::app::App;
use crate::tui::keymap::Focus;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let focused = app.focus == Focus::Log && app.overlay.is_none();
    let log = app.ws.conn.log();
    let current: Vec<_> = log
        .statements
        .iter()
        .filter(|s| s.section == log.section)
        .cloned()
        .collect();
    let analysis = analysis::analyze_statements(&current);
    let rows: usize = current.iter().map(|s| s.rows).sum();
    let time: std::time::Duration = current.iter().map(|s| s.duration).sum();
    let title = format!(
        " SQL · this session: {} statement{} · {} rows · {} ",
        thousands(current.len() as u64),
        if current.len() == 1 { "" } else { "s" },
        thousands(rows as u64),
        format_duration_fixed(time)
    );
    let inner = super::pane(app, frame, area, title, focused);
    if inner.height < 3 {
        return;
    }
    let selected = if focused { app.log_cursor } else { None };
    let bottom_height = match selected {
        Some(_) => (inner.height / 2).max(4),
        None => (analysis.loaders.len() as u16 + 1)
            .min(inner.height / 2)
            .max(2),
    };
    // The list keeps at least two rows; the rest below is the summary.
    let bottom_height = bottom_height.min(inner.height.saturating_sub(2));
    let list_area = Rect {
        height: inner.height - bottom_height,
        ..inner
    };
    let bottom_area = Rect {
        y: inner.y + list_area.height,
        height: bottom_height,
        ..inner
    };

    // Repeats are judged within each statement's own section.
    let repeats: Vec<Repeat> = {
        let mut all = Vec::with_capacity(log.statements.len());
        let mut start = 0;
        while start < log.statements.len() {
            let section = log.statements[start].section;
            let end = log.statements[start..]
                .iter()
                .position(|s| s.section != section)
                .map_or(log.statements.len(), |p| start + p);
            all.extend(analysis::analyze_statements(&log.statements[start..end]).repeats);
            start = end;
        }
        all
    };
    let width = list_area.width as usize;
    let mut lines: Vec<(Option<usize>, Line)> = Vec::new();
    let mut previous_section = None;
    let mut previous_step = None;
    for (i, s) in log.statements.iter().enumerate() {
        let step = log.step_of(s);
        if previous_section.is_some_and(|p| p != s.section) {
            let text = format!("── {} ──", step.as_deref().unwrap_or("new session"));
            lines.push((
                None,
                Line::from(Span::styled(fit(&text, width), theme.separator)),
            ));
        } else if s.step != previous_step
            && let Some(text) = step
        {
            // What caused the statements below it: the key press.
            lines.push((
                None,
                Line::from(Span::styled(fit(&format!("← {text}"), width), theme.dim)),
            ));
        }
        previous_section = Some(s.section);
        previous_step = s.step;
        let loader = match s.origin.strategy {
            Some(st) => format!("{} · {st}", s.origin.loader),
            None => format!("{} (root)", s.origin.loader),
        };
        let mark = match repeats[i] {
            Repeat::Duplicate { count } => format!("  duplicate ×{count}"),
            Repeat::Similar { count } if s.origin.kind.is_per_parent() => {
                format!("  ⚠ N+1 ×{count}")
            }
            Repeat::Similar { count } => format!("  similar ×{count}"),
            Repeat::Unique => String::new(),
        };
        let head = format!(
            "#{} {loader}  {} row{}  {}",
            s.seq,
            thousands(s.rows as u64),
            if s.rows == 1 { "" } else { "s" },
            format_duration_fixed(s.duration)
        );
        let style = if selected == Some(i) {
            theme.selected
        } else {
            ratatui::style::Style::new()
        };
        let mark_style = if mark.contains("N+1") || mark.contains("duplicate") {
            theme.warning
        } else {
            theme.dim
        };
        lines.push((
            Some(i),
            Line::from(vec![
                Span::styled(fit(&head, width), theme.relation),
                Span::styled(
                    fit(&mark, width.saturating_sub(head.chars().count())),
                    mark_style,
                ),
            ])
            .style(style),
        ));
        lines.push((
            Some(i),
            Line::from(Span::styled(
                fit(&format!("   {}", s.sql), width),
                theme.sql,
            ))
            .style(style),
        ));
    }
    // Follow the newest; with a selection, keep it in view.
    let height = list_area.height as usize;
    let end = match selected {
        Some(sel) => lines
            .iter()
            .rposition(|(i, _)| *i == Some(sel))
            .map_or(lines.len(), |p| (p + 1).max(height.min(lines.len())))
            .max(
                lines
                    .iter()
                    .position(|(i, _)| *i == Some(sel))
                    .map_or(0, |p| p + height)
                    .min(lines.len())
                    .min(lines.len()),
            )
            .min(lines.len()),
        None => lines.len(),
    };
    let end = match selected {
        Some(sel) => {
            let last = lines
                .iter()
                .rposition(|(i, _)| *i == Some(sel))
                .map_or(lines.len(), |p| p + 1);
            last.max(height.min(lines.len())).min(end.max(last))
        }
        None => end,
    };
    let start = end.saturating_sub(height);
    let shown: Vec<Line> = lines[start..end].iter().map(|(_, l)| l.clone()).collect();
    if shown.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "no statements yet: expand a relationship",
                theme.dim,
            )),
            list_area,
        );
    } else {
        frame.render_widget(Paragraph::new(shown), list_area);
    }

    match selected {
        Some(i) => render_detail(app, &log.statements[i], frame, bottom_area),
        None => render_summary(app, &analysis, frame, bottom_area),
    }
}

fn render_summary(app: &App, analysis: &analysis::Analysis, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let width = area.width as usize;
    let mut lines = vec![Line::from(Span::styled(
        fit(&format!("── per loader {}", "─".repeat(width)), width),
        theme.dim,
    ))];
    let name_width = analysis
        .loaders
        .iter()
        .map(|l| l.loader.chars().count())
        .max()
        .unwrap_or(0);
    for l in &analysis.loaders {
        let strategy = l.strategy.map_or("root".to_string(), |s| s.to_string());
        let text = format!(
            "{:<name_width$} {:<10} {:>5} stmt{} {:>8} rows",
            l.loader,
            strategy,
            thousands(l.statements as u64),
            if l.statements == 1 { " " } else { "s" },
            thousands(l.rows as u64)
        );
        let mut spans = vec![Span::raw(fit(&text, width))];
        if l.n_plus_one {
            spans.push(Span::styled(
                fit("  ⚠ N+1", width.saturating_sub(text.chars().count())),
                theme.warning,
            ));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_detail(app: &App, s: &crate::db::Statement, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let width = area.width as usize;
    let mut lines = vec![Line::from(Span::styled(
        fit(
            &format!("── #{} {} {}", s.seq, s.origin.loader, "─".repeat(width)),
            width,
        ),
        theme.dim,
    ))];
    // The plan first, when asked for: the SQL below may be long.
    match &app.explain {
        Some((seq, plan)) if *seq == s.seq => {
            lines.push(Line::from(Span::styled("EXPLAIN QUERY PLAN", theme.title)));
            lines.extend(plan.iter().map(|p| Line::from(p.clone())));
        }
        _ => lines.push(Line::from(Span::styled(
            "e: EXPLAIN QUERY PLAN  J/K: scroll  y: copy the full statement",
            theme.dim,
        ))),
    }
    let formatted = sqlformat::format(
        &shorten_key_lists(&s.sql),
        &sqlformat::QueryParams::None,
        &sqlformat::FormatOptions::default(),
    );
    lines.extend(
        formatted
            .lines()
            .map(|l| Line::from(Span::styled(l.to_string(), theme.sql))),
    );
    if !s.params.is_empty() {
        let mut params: Vec<String> = s.params.iter().take(12).map(value_to_text).collect();
        if s.params.len() > 12 {
            params.push(format!("… {} in all", s.params.len()));
        }
        lines.push(Line::from(Span::styled(
            format!("params: [{}]", params.join(", ")),
            theme.dim,
        )));
    }
    // J/K scroll; never past the last line.
    let scroll = app.detail_scroll.min(lines.len().saturating_sub(1) as u16);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}

/// `IN (?, ?, ... 500 of them)` as `IN (?, ?, ?, /* 500 keys */)`, so a
/// selectin batch reads in a few lines; `y` copies the statement as sent.
fn shorten_key_lists(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("IN (?") {
        let (before, list) = rest.split_at(start + 4);
        out.push_str(before);
        let end = list.find(')').unwrap_or(list.len());
        let count = list[..end].matches('?').count();
        if count > 3 {
            out.push_str(&format!("?, ?, ?, /* {count} keys */"));
        } else {
            out.push_str(&list[..end]);
        }
        rest = &list[end..];
    }
    out.push_str(rest);
    out
}
