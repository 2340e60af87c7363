//! The right pane: the live SQL log, newest last and followed, with the
//! per-loader summary below it, or the selected statement in full.

use super::fit;
use crate::analysis::shape::shape;
use crate::analysis::{self, Repeat, format_duration_fixed, thousands};
use crate::tui::app::App;
use crate::tui::keymap::Focus;
use crate::tui::log_rows;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

/// What the log pane works out from the statements, once per change of
/// the log rather than once per frame.
pub struct LogAnalysis {
    /// The current section's analysis (the per-loader summary).
    pub current: analysis::Analysis,
    /// Each statement's repeat, judged within its own section.
    pub repeats: Vec<Repeat>,
    /// Where the current section's statements begin.
    pub section_start: usize,
}

fn analysis_of(app: &App, log: &crate::db::QueryLog) -> std::rc::Rc<LogAnalysis> {
    let version = app.ws.conn.log_version();
    if let Some((kept, analysis)) = &*app.log_analysis.borrow()
        && *kept == version
    {
        return analysis.clone();
    }
    // Sections only grow: the current one is the log's tail.
    let section_start = log
        .statements
        .iter()
        .rposition(|s| s.section != log.section)
        .map_or(0, |i| i + 1);
    let mut repeats = Vec::with_capacity(log.statements.len());
    let mut start = 0;
    while start < log.statements.len() {
        let section = log.statements[start].section;
        let end = log.statements[start..]
            .iter()
            .position(|s| s.section != section)
            .map_or(log.statements.len(), |p| start + p);
        repeats.extend(analysis::analyze_statements(&log.statements[start..end]).repeats);
        start = end;
    }
    let analysis = std::rc::Rc::new(LogAnalysis {
        current: analysis::analyze_statements(&log.statements[section_start..]),
        repeats,
        section_start,
    });
    *app.log_analysis.borrow_mut() = Some((version, analysis.clone()));
    analysis
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let focused = app.focus == Focus::Log && app.overlay.is_none();
    let log = app.ws.conn.log();
    let kept = analysis_of(app, &log);
    let (analysis, repeats) = (&kept.current, &kept.repeats);
    let current = &log.statements[kept.section_start..];
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
        None => (analysis.loaders.len() as u16 + 1 + silent_loaders(app, analysis) as u16)
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

    let width = list_area.width as usize;
    let mut lines: Vec<(Option<usize>, Line)> = Vec::new();
    let mut previous_section = None;
    let mut previous_step = None;
    let mut no_sql = log.no_sql.iter().peekable();
    let rows = log_rows::rows(&log.statements, &app.unfolded);
    for row in rows.iter().copied().map(Some).chain([None]) {
        // What needed no SQL before this row's statements, dim, a run of
        // the same folded into one line.
        let before = row.map_or(usize::MAX, |r| r.first);
        while let Some(first) = no_sql.next_if(|n| n.after <= before) {
            let mut count = 1;
            while no_sql
                .next_if(|n| {
                    n.loader == first.loader
                        && n.strategy == first.strategy
                        && n.reason == first.reason
                        && n.after <= before
                })
                .is_some()
            {
                count += 1;
            }
            let times = if count > 1 {
                format!(" ×{count}")
            } else {
                String::new()
            };
            let text = format!(
                "   {} · {} · no SQL: {}{times}",
                first.loader, first.strategy, first.reason
            );
            lines.push((None, Line::from(Span::styled(fit(&text, width), theme.dim))));
        }
        let Some(row) = row else {
            break;
        };
        let i = row.first;
        let s = &log.statements[i];
        let run = &log.statements[row.first..row.first + row.count];
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
        previous_step = run.last().map_or(s.step, |l| l.step);
        let loader = match s.origin.strategy {
            Some(st) => format!("{} · {st}", s.origin.loader),
            None => format!("{} (root)", s.origin.loader),
        };
        let folded = row.count > 1;
        let mark = match repeats[i] {
            Repeat::Duplicate { count } => format!("duplicate ×{count}"),
            Repeat::Similar { .. } if folded && s.origin.kind.is_per_parent() => {
                "⚠ N+1".to_string()
            }
            Repeat::Similar { count } if s.origin.kind.is_per_parent() => {
                format!("⚠ N+1 ×{count}")
            }
            Repeat::Similar { count } => format!("similar ×{count}"),
            Repeat::Unique => String::new(),
        };
        let rows: usize = run.iter().map(|s| s.rows).sum();
        let time: std::time::Duration = run.iter().map(|s| s.duration).sum();
        // What matters first: which loader, how many, the N+1 mark; then
        // rows and time, as far as the width goes.
        let head = match run {
            [first, .., last] => {
                format!("#{}–{} {loader} ×{}", first.seq, last.seq, run.len())
            }
            _ => format!("#{} {loader}", s.seq),
        };
        let tail = format!(
            "  {} row{}  {}",
            thousands(rows as u64),
            if rows == 1 { "" } else { "s" },
            format_duration_fixed(time)
        );
        let style = if selected.is_some_and(|sel| row.contains(sel)) {
            theme.selected
        } else {
            ratatui::style::Style::new()
        };
        let mark_style = if mark.contains("N+1") || mark.contains("duplicate") {
            theme.warning
        } else {
            theme.dim
        };
        let mark = if mark.is_empty() {
            mark
        } else {
            format!("  {mark}")
        };
        let mut left = width;
        let mut spans = Vec::new();
        for (text, span_style) in [
            (head, theme.relation),
            (mark, mark_style),
            (tail, theme.relation),
        ] {
            let shown = fit(&text, left);
            left = left.saturating_sub(shown.chars().count());
            spans.push(Span::styled(shown, span_style));
        }
        lines.push((Some(i), Line::from(spans).style(style)));
        // The statement's shape: FROM, JOIN, WHERE and ORDER BY, with the
        // column and key lists folded, on up to two lines.
        for text in wrap(&shape(&s.sql), width.saturating_sub(3), 2) {
            lines.push((
                Some(i),
                Line::from(Span::styled(format!("   {text}"), theme.sql)).style(style),
            ));
        }
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
    // Which statement each row on screen shows, for a click.
    *app.log_on_screen.borrow_mut() = (
        list_area.y,
        lines[start..end].iter().map(|(i, _)| *i).collect(),
    );
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
        None => render_summary(app, analysis, frame, bottom_area),
    }
}

fn render_summary(app: &App, analysis: &analysis::Analysis, frame: &mut Frame, area: Rect) {
    let theme = &app.theme;
    let width = area.width as usize;
    let mut lines = vec![Line::from(Span::styled(
        fit(&format!("── per loader {}", "─".repeat(width)), width),
        theme.dim,
    ))];
    // A loader in use with no statement of its own keeps a row: joined
    // into the root query, refused (raise), or never loading (noload).
    let silent: Vec<(String, crate::strategy::Strategy, usize)> = app
        .strategies_in_use()
        .into_iter()
        .map(|(rel, strategy)| (app.model().rel_display(rel), strategy, rel))
        .filter(|(name, _, _)| !analysis.loaders.iter().any(|l| l.loader == *name))
        .map(|(name, strategy, rel)| (name, strategy, app.cost_of(rel).errors))
        .collect();
    let name_width = analysis
        .loaders
        .iter()
        .map(|l| l.loader.chars().count())
        .chain(silent.iter().map(|(name, _, _)| name.chars().count()))
        .max()
        .unwrap_or(0);
    for l in &analysis.loaders {
        let strategy = l.strategy.map_or("root".to_string(), |s| s.to_string());
        let text = format!(
            "{:<name_width$} {:<10} {:>5} stmt{} {:>8} row{}",
            l.loader,
            strategy,
            thousands(l.statements as u64),
            if l.statements == 1 { " " } else { "s" },
            thousands(l.rows as u64),
            if l.rows == 1 { "" } else { "s" }
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
    for (name, strategy, errors) in silent {
        let why = if crate::loader::is_joined(strategy) {
            "in the root query".to_string()
        } else if errors > 0 {
            format!(
                "{} error{}",
                thousands(errors as u64),
                if errors == 1 { "" } else { "s" }
            )
        } else {
            "no SQL".to_string()
        };
        let text = format!(
            "{name:<name_width$} {:<10}     0 stmts  {why}",
            strategy.to_string()
        );
        lines.push(Line::from(Span::styled(fit(&text, width), theme.dim)));
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
        Some((seq, title, plan)) if *seq == s.seq => {
            lines.push(Line::from(Span::styled(*title, theme.title)));
            lines.extend(plan.iter().map(|p| Line::from(p.clone())));
        }
        _ => lines.push(Line::from(Span::styled(
            if app.ws.conn.is_server() {
                "e: EXPLAIN  E: EXPLAIN ANALYZE  J/K: scroll  y: copy the full statement"
            } else {
                "e: EXPLAIN QUERY PLAN  J/K: scroll  y: copy the full statement"
            },
            theme.dim,
        ))),
    }
    let formatted = crate::analysis::shape::pretty(&s.sql);
    lines.extend(
        formatted
            .lines()
            .map(|l| Line::from(Span::styled(l.to_string(), theme.sql))),
    );
    if !s.params.is_empty() {
        lines.push(Line::from(Span::styled(
            format!(
                "params: {}",
                crate::db::value::params_shown(&s.sql, &s.params)
            ),
            theme.dim,
        )));
    }
    // J/K scroll; never past the point where the last line is at the
    // bottom (J stops there: the furthest scroll is kept for it).
    let furthest = lines.len().saturating_sub(area.height as usize) as u16;
    app.detail_furthest.set(furthest);
    let scroll = app.detail_scroll.min(furthest);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}

/// `text` in lines of at most `width` characters, at most `max` lines:
/// broken before a clause (FROM, JOIN, WHERE, ORDER BY, LIMIT) where the
/// clause then fits, else at a space; the last line ends in `…` when text
/// is left over.
fn wrap(text: &str, width: usize, max: usize) -> Vec<String> {
    // Each word, and whether a clause starts with it.
    let words: Vec<(&str, bool)> = clauses(text)
        .into_iter()
        .flat_map(|clause| {
            clause
                .split(' ')
                .filter(|w| !w.is_empty())
                .enumerate()
                .map(|(i, w)| (w, i == 0))
        })
        .collect();
    let len = |from: usize, to: usize| -> usize {
        words[from..to]
            .iter()
            .map(|(w, _)| w.chars().count() + 1)
            .sum::<usize>()
            .saturating_sub(1)
    };
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut i = 0;
    while i < words.len() {
        let (word, starts) = words[i];
        let used = current.chars().count();
        let gap = usize::from(!current.is_empty());
        let clause_end = (i + 1..words.len())
            .find(|j| words[*j].1)
            .unwrap_or(words.len());
        let clause = len(i, clause_end);
        let breaks_here = !current.is_empty()
            && if starts && clause <= width {
                used + gap + clause > width
            } else {
                used + gap + word.chars().count() > width
            };
        if breaks_here {
            if lines.len() + 1 == max {
                let rest: Vec<&str> = words[i..].iter().map(|(w, _)| *w).collect();
                lines.push(fit(&format!("{current} {}", rest.join(" ")), width));
                return lines;
            }
            lines.push(std::mem::take(&mut current));
            continue;
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        i += 1;
    }
    if lines.len() < max {
        lines.push(fit(&current, width));
    }
    lines
}

/// `text` cut before each clause keyword, spaces kept: the pieces joined
/// are `text`.
fn clauses(text: &str) -> Vec<&str> {
    const KEYWORDS: [&str; 7] = [
        " FROM ",
        " LEFT OUTER JOIN ",
        " JOIN ",
        " WHERE ",
        " ORDER BY ",
        " LIMIT ",
        " ON ",
    ];
    let mut cuts = vec![0];
    let mut quoted = None;
    for (i, c) in text.char_indices() {
        match (quoted, c) {
            (None, '\'' | '"') => quoted = Some(c),
            (Some(q), c) if c == q => quoted = None,
            // (`LEFT OUTER JOIN` is one clause: not cut before its JOIN.)
            (None, ' ')
                if KEYWORDS.iter().any(|k| text[i..].starts_with(k))
                    && !text[..i].ends_with(" LEFT OUTER") =>
            {
                cuts.push(i)
            }
            _ => {}
        }
    }
    cuts.push(text.len());
    cuts.dedup();
    cuts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
}

/// How many loaders in use have no statement of their own.
fn silent_loaders(app: &App, analysis: &analysis::Analysis) -> usize {
    app.strategies_in_use()
        .into_iter()
        .filter(|(rel, _)| {
            let name = app.model().rel_display(*rel);
            !analysis.loaders.iter().any(|l| l.loader == name)
        })
        .count()
}
