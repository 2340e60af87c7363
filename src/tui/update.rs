//! `update`: the one place that changes the explorer's state or runs SQL.
//! Events become actions through the key table; errors become a red
//! status line, never a crash.

use super::action::Action;
use super::app::{App, Editor, Overlay, Picker, StatusKind, describe_dynamic, parse_dynamic};
use super::keymap::{Context, Focus, action_for};
use super::log_rows;
use crate::strategy::{Attribute, Strategy};
use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers, MouseEventKind};
use ratatui_textarea::TextArea;

/// The action an event asks for in the current state.
pub fn action_for_event(app: &App, event: &Event) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => {
            if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
                return Some(Action::Quit);
            }
            match &app.overlay {
                Some(Overlay::Search(_)) => Some(match key.code {
                    KeyCode::Esc => Action::Cancel,
                    KeyCode::Enter => Action::Confirm,
                    _ => Action::EditorKey(*key),
                }),
                Some(Overlay::Editor(_)) => Some(match key.code {
                    KeyCode::Esc => Action::Cancel,
                    KeyCode::Enter => Action::Confirm,
                    _ => Action::EditorKey(*key),
                }),
                Some(Overlay::Picker(_) | Overlay::Roots(_)) => action_for(key, Context::Picker),
                // Moving keys scroll the list; anything else closes it.
                Some(Overlay::Help(_) | Overlay::Warnings(_)) => {
                    match action_for(key, Context::Everywhere) {
                        Some(
                            action
                            @ (Action::Up | Action::Down | Action::PageUp | Action::PageDown),
                        ) => Some(action),
                        _ => Some(Action::Cancel),
                    }
                }
                None => action_for(
                    key,
                    match app.focus {
                        Focus::Tree => Context::Tree,
                        Focus::Log => Context::Log,
                    },
                ),
            }
        }
        // A paste is text for the editor, never keys: a pasted `q` must
        // not quit. Outside the editor it is ignored.
        Event::Paste(text) => match &app.overlay {
            Some(Overlay::Editor(_) | Overlay::Search(_)) => Some(Action::Paste(text.clone())),
            _ => None,
        },
        Event::Mouse(mouse) => match mouse.kind {
            MouseEventKind::ScrollDown => Some(Action::Scroll {
                column: mouse.column,
                row: mouse.row,
                down: true,
            }),
            MouseEventKind::ScrollUp => Some(Action::Scroll {
                column: mouse.column,
                row: mouse.row,
                down: false,
            }),
            MouseEventKind::Down(_) => Some(Action::Click {
                column: mouse.column,
                row: mouse.row,
            }),
            _ => None,
        },
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

/// Applies an action. Engine errors are shown in the status line.
pub fn update(app: &mut App, action: Action) {
    if !matches!(
        action,
        Action::Resize(..) | Action::EditorKey(_) | Action::Paste(_) | Action::Scroll { .. }
    ) {
        app.status = None;
    }
    if let Err(error) = apply(app, action) {
        app.set_status(format!("{error:#}"), StatusKind::Error);
    }
}

fn apply(app: &mut App, action: Action) -> anyhow::Result<()> {
    if let Some(overlay) = app.overlay.take() {
        return apply_overlay(app, overlay, action);
    }
    let page = app.tree_height() as isize;
    match (action, app.focus) {
        (Action::Quit, _) => app.should_quit = true,
        (Action::Back | Action::Cancel, Focus::Log) => app.focus = Focus::Tree,
        (Action::Back, Focus::Tree) => app.should_quit = true,
        // Esc in the tree only clears the status line (done above).
        (Action::Cancel, Focus::Tree) => {}
        (Action::Help, _) => app.overlay = Some(Overlay::Help(0)),
        (Action::Search, _) => {
            // A new search starts empty, as in less and vim (n, N go on).
            app.overlay = Some(Overlay::Search(Box::new(TextArea::default())));
        }
        (Action::SearchNext, _) => app.find(true),
        (Action::SearchPrevious, _) => app.find(false),
        (Action::Warnings, _) => app.overlay = Some(Overlay::Warnings(0)),
        (Action::ToggleFocus, Focus::Tree) => {
            app.focus = Focus::Log;
            // A zoomed pane follows the focus.
            if app.split.zoomed.is_some() {
                app.split.zoomed = Some(Focus::Log);
            }
            if app.log_cursor.is_none() {
                // The newest row (a folded run: its first statement).
                let log = app.ws.conn.log();
                app.log_cursor = log_rows::rows(&log.statements, &app.unfolded)
                    .last()
                    .map(|r| r.first);
            }
        }
        (Action::ToggleFocus, Focus::Log) => {
            app.focus = Focus::Tree;
            if app.split.zoomed.is_some() {
                app.split.zoomed = Some(Focus::Tree);
            }
            app.scroll_into_view();
        }
        (Action::Resize(w, h), _) => {
            app.size = (w, h);
            app.scroll_into_view();
        }
        (Action::Reset, _) => {
            app.replay("reset: expire all, load what is open again")?;
            app.set_status(
                "session reset: everything expired and loaded again",
                StatusKind::Info,
            );
        }
        (Action::Up, Focus::Tree) => app.move_cursor(-1)?,
        (Action::Down, Focus::Tree) => app.move_cursor(1)?,
        (Action::PageUp, Focus::Tree) => app.page(-page)?,
        (Action::PageDown, Focus::Tree) => app.page(page)?,
        (Action::HalfPageUp, Focus::Tree) => app.move_cursor(-(page / 2).max(1))?,
        (Action::HalfPageDown, Focus::Tree) => app.move_cursor((page / 2).max(1))?,
        (Action::Top, Focus::Tree) => app.go_top()?,
        (Action::Bottom, Focus::Tree) => app.go_bottom()?,
        (Action::Expand, Focus::Tree) => {
            app.expand_current()?;
            app.scroll_into_view();
        }
        (Action::Collapse, Focus::Tree) => {
            app.collapse_current();
            app.scroll_into_view();
        }
        (Action::Strategy, Focus::Tree) => open_picker(app),
        (Action::WhatIf, Focus::Tree) => open_choices(app, true),
        (Action::Narrower, _) => {
            app.split.tree_percent = app.split.tree_percent.saturating_sub(10).max(20);
            app.split.zoomed = None;
            app.scroll_into_view();
        }
        (Action::Wider, _) => {
            app.split.tree_percent = (app.split.tree_percent + 10).min(80);
            app.split.zoomed = None;
            app.scroll_into_view();
        }
        (Action::Zoom, focus) => {
            app.split.zoomed = match app.split.zoomed {
                Some(_) => None,
                None => Some(focus),
            };
            app.scroll_into_view();
        }
        (Action::ChooseRoot, Focus::Tree) => app.overlay = Some(Overlay::Roots(app.root.0)),
        (Action::Filter, Focus::Tree) => open_editor(app),
        (Action::Up, Focus::Log) => move_log(app, -1),
        (Action::Down, Focus::Log) => move_log(app, 1),
        (Action::PageUp | Action::HalfPageUp, Focus::Log) => move_log(app, -page),
        (Action::PageDown | Action::HalfPageDown, Focus::Log) => move_log(app, page),
        (Action::Top, Focus::Log) => app.log_cursor = Some(0).filter(|_| log_len(app) > 0),
        (Action::Bottom, Focus::Log) => {
            let log = app.ws.conn.log();
            app.log_cursor = log_rows::rows(&log.statements, &app.unfolded)
                .last()
                .map(|r| r.first);
        }
        (Action::Expand, Focus::Log) => toggle_fold(app, true),
        (Action::Collapse, Focus::Log) => toggle_fold(app, false),
        (Action::Explain, Focus::Log) => explain(app, false)?,
        (Action::ExplainAnalyze, Focus::Log) => explain(app, true)?,
        (Action::DetailDown, Focus::Log) => {
            app.detail_scroll = app
                .detail_scroll
                .saturating_add(3)
                .min(app.detail_furthest.get())
        }
        (Action::DetailUp, Focus::Log) => app.detail_scroll = app.detail_scroll.saturating_sub(3),
        (Action::Copy, Focus::Log) => {
            if let Some(i) = app.log_cursor {
                let sql = app.ws.conn.log().statements[i].sql.to_string();
                app.pending_copy = Some(sql);
                app.set_status(
                    "statement copied to the clipboard (OSC 52)",
                    StatusKind::Info,
                );
            }
        }
        (Action::CopyRunnable, Focus::Log) => {
            if let Some(i) = app.log_cursor {
                let log = app.ws.conn.log();
                let s = &log.statements[i];
                let sql = crate::dialect::inline_params(app.ws.conn.dialect(), &s.sql, &s.params);
                drop(log);
                app.pending_copy = Some(format!("{sql};"));
                app.set_status(
                    format!(
                        "statement copied with its parameters inlined (OSC 52): paste it into {}",
                        app.ws.conn.shell()
                    ),
                    StatusKind::Info,
                );
            }
        }
        (Action::Scroll { column, row, down }, _) => scroll_at(app, column, row, down)?,
        (Action::Click { column, row }, _) => click_at(app, column, row),
        _ => {}
    }
    Ok(())
}

fn log_len(app: &App) -> usize {
    app.ws.conn.log().statements.len()
}

/// Moves the log cursor by `delta` rows (a folded run is one row).
fn move_log(app: &mut App, delta: isize) {
    let rows = {
        let log = app.ws.conn.log();
        log_rows::rows(&log.statements, &app.unfolded)
    };
    if rows.is_empty() {
        return;
    }
    let current = app
        .log_cursor
        .and_then(|c| rows.iter().position(|r| r.contains(c)))
        .unwrap_or(rows.len() - 1) as isize;
    let next = (current + delta).clamp(0, rows.len() as isize - 1) as usize;
    app.log_cursor = Some(rows[next].first);
    app.explain = None;
    app.detail_scroll = 0;
}

/// Enter or → unfolds the run of similar statements under the cursor
/// into one row each; ← folds it again.
fn toggle_fold(app: &mut App, unfold: bool) {
    let Some(cursor) = app.log_cursor else {
        return;
    };
    let group = {
        let log = app.ws.conn.log();
        log_rows::group_of(&log.statements, cursor).map(|g| (g, log.statements[g.first].seq))
    };
    let Some((group, seq)) = group.filter(|(g, _)| g.count > 1) else {
        return;
    };
    if unfold {
        app.unfolded.insert(seq);
    } else {
        app.unfolded.remove(&seq);
        app.log_cursor = Some(group.first);
    }
}

fn explain(app: &mut App, analyze: bool) -> anyhow::Result<()> {
    let Some(i) = app.log_cursor else {
        return Ok(());
    };
    let (sql, params, seq) = {
        let log = app.ws.conn.log();
        let s = &log.statements[i];
        (s.sql.to_string(), s.params.clone(), s.seq)
    };
    let plan = app.ws.conn.explain(&sql, &params, analyze)?;
    app.explain = Some((seq, app.ws.conn.explain_title(analyze), plan));
    // The plan is drawn first: back to the top, where it is.
    app.detail_scroll = 0;
    Ok(())
}

fn open_picker(app: &mut App) {
    open_choices(app, false);
}

/// The strategy picker; with `what_if`, each choice's cost for the
/// current view is worked out first (`w`).
fn open_choices(app: &mut App, what_if: bool) {
    let Some((parent, rel, _)) = app.current_relationship() else {
        app.set_status(
            "move to a relationship (such as posts) to choose how it loads",
            StatusKind::Info,
        );
        return;
    };
    let scalar = !app.model().rel(rel).is_collection();
    let choices: Vec<Strategy> = Strategy::ALL
        .into_iter()
        .filter(|s| !(scalar && s.attribute().needs_collection()))
        .collect();
    let current = app.session.strategy_for(parent, rel);
    let current = app.overrides.get(&rel).copied().unwrap_or(current);
    let selected = choices.iter().position(|s| *s == current).unwrap_or(0);
    let costs = what_if.then(|| app.what_if(rel, &choices));
    app.overlay = Some(Overlay::Picker(Picker {
        rel,
        choices,
        selected,
        costs,
    }));
}

fn open_editor(app: &mut App) {
    let Some((parent, rel, path)) = app.current_relationship() else {
        app.set_status(
            "move to a dynamic relationship to filter its query",
            StatusKind::Info,
        );
        return;
    };
    if app.session.strategy_for(parent, rel).attribute() != Attribute::Query {
        app.set_status(
            format!(
                "{} is not dynamic: only a dynamic relationship is a query you can filter (s: choose dynamic)",
                app.model().rel_display(rel)
            ),
            StatusKind::Info,
        );
        return;
    }
    let q = app.dynamic_queries.get(&path).cloned().unwrap_or_default();
    let worked = q.clone();
    let lines = vec![
        format!("filter: {}", q.filter.unwrap_or_default()),
        format!("order by: {}", q.order_by.unwrap_or_default()),
        format!(
            "limit: {}",
            q.limit.map(|l| l.to_string()).unwrap_or_default()
        ),
    ];
    let mut textarea = TextArea::new(lines);
    textarea.move_cursor(ratatui_textarea::CursorMove::Top);
    textarea.move_cursor(ratatui_textarea::CursorMove::End);
    app.overlay = Some(Overlay::Editor(Box::new(Editor {
        path,
        parent,
        rel,
        textarea,
        error: None,
        worked,
    })));
}

/// A list overlay (help, warnings): moving keys scroll it.
fn scroll_list(app: &mut App, scroll: u16, action: Action, list: fn(u16) -> Overlay) {
    match action {
        Action::Up => app.overlay = Some(list(scroll.saturating_sub(1))),
        Action::Down => app.overlay = Some(list(scroll + 1)),
        Action::PageUp => app.overlay = Some(list(scroll.saturating_sub(10))),
        Action::PageDown => app.overlay = Some(list(scroll + 10)),
        Action::Quit => app.should_quit = true,
        _ => {}
    }
}

fn apply_overlay(app: &mut App, overlay: Overlay, action: Action) -> anyhow::Result<()> {
    match overlay {
        Overlay::Help(scroll) => scroll_list(app, scroll, action, Overlay::Help),
        Overlay::Warnings(scroll) => scroll_list(app, scroll, action, Overlay::Warnings),
        Overlay::Picker(mut picker) => match action {
            Action::Up => {
                picker.selected = picker.selected.saturating_sub(1);
                app.overlay = Some(Overlay::Picker(picker));
            }
            Action::Down => {
                picker.selected = (picker.selected + 1).min(picker.choices.len() - 1);
                app.overlay = Some(Overlay::Picker(picker));
            }
            Action::Top => {
                picker.selected = 0;
                app.overlay = Some(Overlay::Picker(picker));
            }
            Action::Bottom => {
                picker.selected = picker.choices.len() - 1;
                app.overlay = Some(Overlay::Picker(picker));
            }
            Action::Confirm | Action::Expand => {
                app.choose_strategy(picker.rel, picker.choices[picker.selected])?;
            }
            Action::Quit => app.should_quit = true,
            Action::Back | Action::Cancel => {}
            _ => app.overlay = Some(Overlay::Picker(picker)),
        },
        Overlay::Roots(selected) => {
            let last = app.model().entities.len() - 1;
            let moved = match action {
                Action::Up => Some(selected.saturating_sub(1)),
                Action::Down => Some((selected + 1).min(last)),
                Action::Top => Some(0),
                Action::Bottom => Some(last),
                _ => None,
            };
            match action {
                _ if moved.is_some() => app.overlay = moved.map(Overlay::Roots),
                Action::Confirm | Action::Expand => {
                    app.set_root(crate::model::EntityId(selected))?;
                    let name = app.model().entity(app.root).name.clone();
                    app.set_status(format!("browsing {name}"), StatusKind::Info);
                }
                Action::Quit => app.should_quit = true,
                Action::Back | Action::Cancel => {}
                _ => app.overlay = Some(Overlay::Roots(selected)),
            }
        }
        Overlay::Search(mut input) => match action {
            Action::EditorKey(key) => {
                input.input(key);
                app.overlay = Some(Overlay::Search(input));
            }
            Action::Paste(text) => {
                // One line: a pasted line break is a space; a huge paste
                // is cut.
                let text: String = text.replace(['\r', '\n'], " ").chars().take(1000).collect();
                input.insert_str(text);
                app.overlay = Some(Overlay::Search(input));
            }
            Action::Confirm => {
                app.search = Some(input.lines().join(" ").trim().to_string());
                app.find(true);
            }
            _ => {}
        },
        Overlay::Editor(mut editor) => match action {
            Action::EditorKey(key) => {
                editor.textarea.input(key);
                editor.error = None;
                app.overlay = Some(Overlay::Editor(editor));
            }
            Action::Paste(text) => {
                // Terminals send a pasted line break as CR. No more than a
                // filter may hold is taken (a huge paste costs nothing).
                let room = crate::loader::dynamic::MAX_CLAUSE_LEN * 3;
                let text: String = text
                    .replace("\r\n", "\n")
                    .replace('\r', "\n")
                    .chars()
                    .take(room)
                    .collect();
                editor.textarea.insert_str(text);
                editor.error = None;
                app.overlay = Some(Overlay::Editor(editor));
            }
            Action::Confirm => match parse_dynamic(&editor.textarea.lines().join("\n")) {
                Ok(query) => {
                    let (path, parent, rel) = (editor.path.clone(), editor.parent, editor.rel);
                    app.apply_dynamic(path.clone(), parent, rel, query.clone())?;
                    if let Some(super::app::RelOutcome::Failed(message)) = app.outcomes.get(&path) {
                        // The query ran and failed: keep the editor open.
                        editor.error = Some(message.clone());
                        app.overlay = Some(Overlay::Editor(editor));
                    } else {
                        app.set_status(describe_dynamic(&query), StatusKind::Info);
                    }
                }
                Err(message) => {
                    editor.error = Some(message);
                    app.overlay = Some(Overlay::Editor(editor));
                }
            },
            Action::Quit => app.should_quit = true,
            Action::Back | Action::Cancel => {
                // A query that failed is not left in place: back to the
                // one that worked.
                if let Some(super::app::RelOutcome::Failed(_)) = app.outcomes.get(&editor.path) {
                    let worked = editor.worked.clone();
                    app.apply_dynamic(
                        editor.path.clone(),
                        editor.parent,
                        editor.rel,
                        worked.clone(),
                    )?;
                    app.set_status(
                        format!(
                            "back to the last query that worked: {}",
                            describe_dynamic(&worked)
                        ),
                        StatusKind::Info,
                    );
                }
            }
            _ => app.overlay = Some(Overlay::Editor(editor)),
        },
    }
    Ok(())
}

fn scroll_at(app: &mut App, column: u16, row: u16, down: bool) -> anyhow::Result<()> {
    let Some(layout) = super::ui::layout(
        ratatui::layout::Rect::new(0, 0, app.size.0, app.size.1),
        app.split,
    ) else {
        return Ok(());
    };
    let delta = if down { 3 } else { -3 };
    if layout.log.contains((column, row).into()) {
        app.focus = Focus::Log;
        move_log(app, delta);
    } else {
        app.move_cursor(delta)?;
    }
    Ok(())
}

fn click_at(app: &mut App, column: u16, row: u16) {
    let Some(layout) = super::ui::layout(
        ratatui::layout::Rect::new(0, 0, app.size.0, app.size.1),
        app.split,
    ) else {
        return;
    };
    if layout.log.contains((column, row).into()) {
        app.focus = Focus::Log;
        // The statement drawn on that row, if any.
        let clicked = {
            let (first, rows) = &*app.log_on_screen.borrow();
            row.checked_sub(*first)
                .and_then(|i| rows.get(i as usize).copied().flatten())
        };
        if let Some(i) = clicked {
            app.log_cursor = Some(i);
            app.explain = None;
            app.detail_scroll = 0;
        }
    } else if layout.tree.contains((column, row).into()) {
        app.focus = Focus::Tree;
        // Two lines of header (the border and the range line).
        let first = layout.tree.y + 2;
        if row >= first {
            let index = app.offset + (row - first) as usize;
            if index < app.lines.len() {
                app.cursor = index;
            }
        }
    }
}
