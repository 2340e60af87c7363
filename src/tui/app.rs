//! The explorer's state. Only `update` changes it (through the methods
//! here, which are also the only place the explorer runs SQL); `ui`
//! draws it without changing anything.

use super::keymap::Focus;
use super::theme::Theme;
use super::tree::{MAX_CHILDREN, NoteKind, Seg, TreeLine, TreePath, rel_chain};
use crate::analysis::thousands;
use crate::cli::workspace::Workspace;
use crate::db::Key;
use crate::dialect::ident;
use crate::loader::dynamic::{self, DynamicQuery};
use crate::loader::write_only::ITERATION_ERROR;
use crate::model::{EntityId, Model, RelId};
use crate::plan::LoadPlan;
use crate::session::{Access, ObjId, RootQuery, Session};
use crate::strategy::{Attribute, Strategy};
use anyhow::Result;
use ratatui_textarea::TextArea;
use std::collections::{BTreeMap, HashMap, HashSet};

/// What an expanded relationship showed that the session does not keep.
#[derive(Clone, Debug, PartialEq)]
pub enum RelOutcome {
    /// The loader refused (raise, raise_on_sql, write_only iteration).
    Refused(String),
    /// A dynamic query's result, or a write-only collection's select().
    Objects(Vec<ObjId>),
    /// The statement failed (a bad dynamic filter).
    Failed(String),
}

/// What one loader costs (see [`App::cost_of`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub statements: usize,
    pub rows: usize,
    pub errors: usize,
    pub root_rows: usize,
    pub root_duplicated: usize,
}

impl Cost {
    /// `selectin 1 stmt · 248 rows (loads for all 50 User rows in the
    /// window)`, `joined: folded into the root query, 50 → 256 rows (206
    /// duplicated)`, `raise 0 stmts · 4 errors`. `before` is the cost
    /// before the switch, for the cost after it (`None` for the cost
    /// before).
    pub fn describe(
        &self,
        strategy: Strategy,
        before: Option<&Cost>,
        window: Option<&str>,
    ) -> String {
        let plural = |n: usize, one: &str, many: &str| {
            format!(
                "{} {}",
                thousands(n as u64),
                if n == 1 { one } else { many }
            )
        };
        if crate::loader::is_joined(strategy) && self.statements == 0 {
            let mut text = match before {
                Some(before) => format!(
                    "{strategy}: folded into the root query, {} → {} rows",
                    thousands(before.root_rows as u64),
                    thousands(self.root_rows as u64)
                ),
                None => format!(
                    "{strategy} in the root query · {} rows",
                    thousands(self.root_rows as u64)
                ),
            };
            if self.root_duplicated > 0 {
                text.push_str(&format!(
                    " ({} duplicated)",
                    thousands(self.root_duplicated as u64)
                ));
            }
            return text;
        }
        let mut text = format!("{strategy} {}", plural(self.statements, "stmt", "stmts"));
        if self.statements > 0 {
            text.push_str(&format!(" · {}", plural(self.rows, "row", "rows")));
        }
        if self.errors > 0 {
            text.push_str(&format!(" · {}", plural(self.errors, "error", "errors")));
        }
        if let (Some(window), Some(before)) = (window, before)
            && self.rows > before.rows
            && crate::loader::loads_with_parents(strategy)
        {
            text.push_str(&format!(" (loads for all {window})"));
        }
        text
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Error,
}

pub struct Picker {
    pub rel: RelId,
    pub choices: Vec<Strategy>,
    pub selected: usize,
    /// What-if (`w`): each choice's cost for the current view.
    pub costs: Option<Vec<WhatIf>>,
}

/// What the current view would cost with one strategy for a relationship,
/// from a replay in a fresh session.
#[derive(Clone, Debug, PartialEq)]
pub struct WhatIf {
    pub statements: usize,
    pub rows: usize,
    /// Rows that repeat an object a statement already had (joins).
    pub duplicated: usize,
    pub errors: usize,
    pub time: std::time::Duration,
    /// Two or more collections joined into one statement multiply its
    /// rows: the root query's rows per root object.
    pub cartesian: Option<f64>,
    /// The replay failed (what SQLAlchemy would refuse).
    pub refused: Option<String>,
}

pub struct Editor {
    pub path: TreePath,
    pub parent: ObjId,
    pub rel: RelId,
    pub textarea: TextArea<'static>,
    pub error: Option<String>,
    /// The query in effect when the editor opened: Esc after a failed
    /// one goes back to it.
    pub worked: DynamicQuery,
}

pub enum Overlay {
    /// The key list, scrolled down by this many lines.
    Help(u16),
    /// The model's warnings, scrolled down by this many lines.
    Warnings(u16),
    Picker(Picker),
    /// The entity list for the root (`o`), the selected index.
    Roots(usize),
    /// What to find (`/`), as it is typed.
    Search(Box<TextArea<'static>>),
    Editor(Box<Editor>),
}

/// How many root rows one fetch asks for.
pub const PAGE: usize = 60;
/// The most root rows kept in the window; scrolling further drops the far
/// end, so memory stays flat on a table of any size.
pub const MAX_WINDOW: usize = 3 * PAGE;

pub struct App<'a> {
    pub ws: &'a Workspace,
    pub session: Session<'a>,
    pub root: EntityId,
    /// Rows of the root table.
    pub total: u64,
    /// The loaded window of root objects, in key order.
    pub roots: Vec<ObjId>,
    /// Position of `roots[0]` among all root rows.
    pub roots_offset: u64,
    pub expanded: HashSet<TreePath>,
    pub outcomes: HashMap<TreePath, RelOutcome>,
    pub dynamic_queries: HashMap<TreePath, DynamicQuery>,
    /// Write-only relationships whose explicit select() was run.
    pub selected: HashSet<TreePath>,
    /// Strategies chosen in the picker, per relationship.
    pub overrides: BTreeMap<RelId, Strategy>,
    pub lines: Vec<TreeLine>,
    pub cursor: usize,
    pub offset: usize,
    pub focus: Focus,
    pub overlay: Option<Overlay>,
    /// Selected statement (index into the log) when the log has focus.
    pub log_cursor: Option<usize>,
    /// Runs of similar statements shown one per row, by the `seq` of
    /// their first (the others are folded into one row, `×50`).
    pub unfolded: HashSet<usize>,
    /// The log rows last drawn: the first row's screen line, and the
    /// statement each row shows (`None` for a step or a note). Written by
    /// the renderer, read by a click, as a widget's state would be.
    pub log_on_screen: std::cell::RefCell<(u16, Vec<Option<usize>>)>,
    /// The log pane's analysis, kept from frame to frame while the log
    /// stays the same (by [`crate::db::TracedConnection::log_version`]).
    pub log_analysis: std::cell::RefCell<Option<(u64, std::rc::Rc<super::ui::LogAnalysis>)>>,
    /// The text `/` looks for (`n`, `N` go on with it).
    pub search: Option<String>,
    /// How the tree and the log share the screen (`<`, `>`, `z`).
    pub split: super::ui::Split,
    /// The plan asked for: the statement's number, a title, the lines.
    pub explain: Option<(usize, &'static str, Vec<String>)>,
    /// How far the selected statement's details are scrolled.
    pub detail_scroll: u16,
    /// How far the selected statement's details can scroll, as last drawn.
    pub detail_furthest: std::cell::Cell<u16>,
    pub status: Option<(String, StatusKind)>,
    pub size: (u16, u16),
    pub theme: Theme,
    pub should_quit: bool,
    /// Text for the clipboard, written by the event loop (OSC 52).
    pub pending_copy: Option<String>,
}

impl<'a> App<'a> {
    /// Starts over from `root`'s rows (`o`); the SQL log goes on.
    pub fn set_root(&mut self, root: EntityId) -> Result<()> {
        // A new session: the log starts a new section, as a reset does.
        self.ws.conn.new_section();
        let fresh = App::with_root(self.ws, self.size, self.theme, root)?;
        *self = fresh;
        Ok(())
    }

    /// The explorer on the model's first entity.
    pub fn new(ws: &'a Workspace, size: (u16, u16), theme: Theme) -> Result<App<'a>> {
        App::with_root(ws, size, theme, EntityId(0))
    }

    /// The explorer listing `root`'s rows.
    pub fn with_root(
        ws: &'a Workspace,
        size: (u16, u16),
        theme: Theme,
        root: EntityId,
    ) -> Result<App<'a>> {
        let entity = ws.model.entity(root);
        // Counting is loadscope's own question, not a loader's: untraced.
        // (A single-table subclass counts its own rows.)
        let mut count = format!("SELECT count(*) FROM {}", ident(&entity.table));
        if let Some(criterion) = crate::loader::sql::class_criterion(&ws.model, root, &entity.table)
        {
            count.push_str(&format!(" WHERE {criterion}"));
        }
        let (count, binds) = crate::dialect::render(ws.conn.dialect(), &count);
        let params = crate::dialect::Bind::resolve(&binds, Vec::new());
        let total = ws.conn.count(&count, &params)?;
        // The explorer shows what needed no SQL too.
        ws.conn.keep_no_sql();
        let session = Session::new(&ws.model, &ws.conn, LoadPlan::new(root));
        let mut app = App {
            ws,
            session,
            root,
            total: total as u64,
            roots: Vec::new(),
            roots_offset: 0,
            expanded: HashSet::new(),
            outcomes: HashMap::new(),
            dynamic_queries: HashMap::new(),
            selected: HashSet::new(),
            overrides: BTreeMap::new(),
            lines: Vec::new(),
            cursor: 0,
            offset: 0,
            focus: Focus::Tree,
            overlay: None,
            log_cursor: None,
            unfolded: HashSet::new(),
            split: super::ui::Split::default(),
            search: None,
            log_on_screen: Default::default(),
            log_analysis: Default::default(),
            explain: None,
            detail_scroll: 0,
            detail_furthest: Default::default(),
            status: None,
            size,
            theme,
            should_quit: false,
            pending_copy: None,
        };
        app.ws
            .conn
            .begin_step(format!("open: fetch {} rows 1-{PAGE}", entity.name));
        app.roots = app.session.load_root(&RootQuery {
            limit: Some(PAGE as i64),
            ..RootQuery::default()
        })?;
        app.rebuild();
        Ok(app)
    }

    pub fn model(&self) -> &'a Model {
        &self.ws.model
    }

    pub fn set_status(&mut self, text: impl Into<String>, kind: StatusKind) {
        self.status = Some((text.into(), kind));
    }

    // ----- the tree -----

    /// Flattens the tree into lines after any change.
    pub fn rebuild(&mut self) {
        let mut lines = Vec::new();
        for root in &self.roots {
            let key = self.session.object(*root).key.clone();
            self.push_object(&mut lines, *root, 0, vec![Seg::Obj(key)]);
        }
        self.lines = lines;
        self.cursor = self.cursor.min(self.lines.len().saturating_sub(1));
    }

    fn push_object(&self, lines: &mut Vec<TreeLine>, obj: ObjId, depth: usize, path: TreePath) {
        let expanded = self.expanded.contains(&path);
        lines.push(TreeLine::Object {
            obj,
            depth,
            path: path.clone(),
        });
        if !expanded {
            return;
        }
        let entity = self.model().entity(self.session.object(obj).entity);
        for rel in &entity.relationships {
            let mut rel_path = path.clone();
            rel_path.push(Seg::Rel(*rel));
            let open = self.expanded.contains(&rel_path);
            lines.push(TreeLine::Relation {
                parent: obj,
                rel: *rel,
                depth: depth + 1,
                path: rel_path.clone(),
            });
            if open {
                self.push_related(lines, obj, *rel, depth + 2, rel_path);
            }
        }
    }

    fn push_related(
        &self,
        lines: &mut Vec<TreeLine>,
        parent: ObjId,
        rel: RelId,
        depth: usize,
        path: TreePath,
    ) {
        let strategy = self.session.strategy_for(parent, rel);
        let objects = match self.outcomes.get(&path) {
            Some(RelOutcome::Refused(message)) => {
                self.push_note(lines, depth, &path, message.clone(), NoteKind::Error);
                if strategy.attribute() == Attribute::WriteOnly {
                    self.push_note(
                        lines,
                        depth,
                        &path,
                        "Enter runs its explicit select()".to_string(),
                        NoteKind::Info,
                    );
                }
                return;
            }
            Some(RelOutcome::Failed(message)) => {
                self.push_note(lines, depth, &path, message.clone(), NoteKind::Error);
                return;
            }
            Some(RelOutcome::Objects(objects)) => {
                if strategy.attribute() == Attribute::Query {
                    let q = self.dynamic_queries.get(&path).cloned().unwrap_or_default();
                    self.push_note(lines, depth, &path, describe_dynamic(&q), NoteKind::Info);
                }
                objects.clone()
            }
            None => match self.session.related(parent, rel) {
                Some(related) => related.objects(),
                None => return,
            },
        };
        if objects.is_empty() {
            let never_loads = crate::loader::for_strategy(strategy).on_first_sight()
                == crate::loader::FirstSight::Empty;
            let text = if never_loads {
                let deprecated = if strategy.is_deprecated() {
                    " (deprecated in SQLAlchemy 2.1)"
                } else {
                    ""
                };
                format!("empty: {strategy} never loads{deprecated}")
            } else if self.model().rel(rel).is_collection() {
                "empty".to_string()
            } else {
                "none".to_string()
            };
            self.push_note(lines, depth, &path, text, NoteKind::Empty);
            return;
        }
        for obj in objects.iter().take(MAX_CHILDREN) {
            let mut child_path = path.clone();
            child_path.push(Seg::Obj(self.session.object(*obj).key.clone()));
            self.push_object(lines, *obj, depth, child_path);
        }
        if objects.len() > MAX_CHILDREN {
            self.push_note(
                lines,
                depth,
                &path,
                format!("… {} more not shown", objects.len() - MAX_CHILDREN),
                NoteKind::More,
            );
        }
    }

    /// A note under a relationship, wrapped to the tree's width so that
    /// long messages (SQLAlchemy's errors) are read in full.
    fn push_note(
        &self,
        lines: &mut Vec<TreeLine>,
        depth: usize,
        path: &TreePath,
        text: String,
        kind: NoteKind,
    ) {
        let width = super::ui::layout(
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
            self.split,
        )
        .map_or(80, |l| l.tree.width.saturating_sub(2) as usize);
        let room = width.saturating_sub(depth * 2 + 2).max(20);
        for (i, chunk) in wrap(&text, room).into_iter().enumerate() {
            lines.push(TreeLine::Note {
                depth,
                text: chunk,
                kind,
                path: path.clone(),
                first: i == 0,
            });
        }
    }

    pub fn current(&self) -> Option<&TreeLine> {
        self.lines.get(self.cursor)
    }

    /// The relationship the cursor is on or under.
    pub fn current_relationship(&self) -> Option<(ObjId, RelId, TreePath)> {
        let line = self.current()?;
        let path = line.path();
        let rel_index = path.iter().rposition(|s| matches!(s, Seg::Rel(_)))?;
        let Seg::Rel(rel) = path[rel_index] else {
            unreachable!()
        };
        let rel_path: TreePath = path[..=rel_index].to_vec();
        let parent = self.lines.iter().find_map(|l| match l {
            TreeLine::Relation { parent, path, .. } if *path == rel_path => Some(*parent),
            _ => None,
        })?;
        Some((parent, rel, rel_path))
    }

    // ----- loading -----

    /// Expands the node under the cursor: an object shows its
    /// relationships (no SQL); a relationship is touched (its loader runs).
    pub fn expand_current(&mut self) -> Result<()> {
        let Some(line) = self.current().cloned() else {
            return Ok(());
        };
        match line {
            TreeLine::Object { path, .. } => {
                self.expanded.insert(path);
            }
            TreeLine::Relation {
                parent, rel, path, ..
            } => {
                let refused = matches!(self.outcomes.get(&path), Some(RelOutcome::Refused(_)));
                if self.expanded.contains(&path)
                    && refused
                    && self.session.strategy_for(parent, rel).attribute() == Attribute::WriteOnly
                {
                    // Iteration was refused: Enter runs the explicit select().
                    self.select_write_only(parent, rel, path)?;
                } else if self.expanded.contains(&path) && !self.outcomes.contains_key(&path) {
                    self.cursor += 1; // already open: step into it
                } else {
                    let label = self.object_title(parent);
                    let name = self.model().rel(rel).name.clone();
                    self.ws.conn.begin_step(format!("expand {name} of {label}"));
                    self.touch(parent, rel, &path)?;
                    self.expanded.insert(path);
                }
            }
            TreeLine::Note { path, kind, .. } => {
                // Enter on a write-only note runs the explicit select().
                if kind == NoteKind::Info
                    && let Some((parent, rel, rel_path)) = self.current_relationship()
                    && self.session.strategy_for(parent, rel).attribute() == Attribute::WriteOnly
                    && rel_path == path
                {
                    self.select_write_only(parent, rel, path)?;
                }
            }
        }
        self.rebuild();
        Ok(())
    }

    /// Runs a write-only collection's explicit select() and loads again
    /// what was open below it.
    fn select_write_only(&mut self, parent: ObjId, rel: RelId, path: TreePath) -> Result<()> {
        let label = self.object_title(parent);
        let name = self.model().rel(rel).name.clone();
        self.ws
            .conn
            .begin_step(format!("{name}.select() of {label}"));
        let objects = self.session.select_write_only(parent, rel)?;
        self.selected.insert(path.clone());
        self.outcomes
            .insert(path.clone(), RelOutcome::Objects(objects));
        self.touch_open_below(&path)
    }

    /// Touches the open relationships below `prefix` (or everywhere, for an
    /// empty prefix) in screen order, as the objects they hang from may be
    /// new: after a replay, a dynamic query or a write-only select.
    fn touch_open_below(&mut self, prefix: &TreePath) -> Result<()> {
        let mut done: HashSet<TreePath> = HashSet::new();
        loop {
            self.rebuild();
            let next = self.lines.iter().find_map(|l| match l {
                TreeLine::Relation {
                    parent, rel, path, ..
                } if path.len() > prefix.len()
                    && path.starts_with(prefix)
                    && self.expanded.contains(path)
                    && !done.contains(path) =>
                {
                    Some((*parent, *rel, path.clone()))
                }
                _ => None,
            });
            let Some((parent, rel, path)) = next else {
                return Ok(());
            };
            self.touch(parent, rel, &path)?;
            done.insert(path);
        }
    }

    /// Touches `parent.rel` and records what the tree must show.
    fn touch(&mut self, parent: ObjId, rel: RelId, path: &TreePath) -> Result<()> {
        let strategy = self.session.strategy_for(parent, rel);
        let outcome = match strategy.attribute() {
            Attribute::Query => {
                let q = self.dynamic_queries.get(path).cloned().unwrap_or_default();
                let node = self.session.plan.child_or_insert(
                    self.model(),
                    self.session.object(parent).node,
                    rel,
                );
                match dynamic::query(&mut self.session, parent, node, &q) {
                    Ok(objects) => Some(RelOutcome::Objects(objects)),
                    Err(e) => Some(RelOutcome::Failed(sqlite_message(&e))),
                }
            }
            Attribute::WriteOnly if self.selected.contains(path) => Some(RelOutcome::Objects(
                self.session.select_write_only(parent, rel)?,
            )),
            Attribute::WriteOnly => Some(RelOutcome::Refused(ITERATION_ERROR.to_string())),
            Attribute::Loaded => match self.session.access(parent, rel)? {
                Access::Loaded(_) => None,
                Access::Refused(message) => Some(RelOutcome::Refused(message)),
            },
        };
        match outcome {
            Some(o) => self.outcomes.insert(path.clone(), o),
            None => self.outcomes.remove(path),
        };
        Ok(())
    }

    pub fn collapse_current(&mut self) {
        let Some(line) = self.current().cloned() else {
            return;
        };
        let path = line.path().clone();
        // An open node closes; on a closed one (or a note) the cursor goes
        // up to the node it belongs to, which stays open.
        let target = match line {
            TreeLine::Note { .. } => path,
            _ if self.expanded.contains(&path) => {
                self.expanded.remove(&path);
                path
            }
            _ => {
                let mut parent = path;
                parent.pop();
                parent
            }
        };
        if let Some(i) = self
            .lines
            .iter()
            .position(|l| *l.path() == target && !matches!(l, TreeLine::Note { .. }))
        {
            self.cursor = i;
        }
        self.rebuild();
    }

    /// A short title for an object: `User 1 John`.
    pub fn object_title(&self, obj: ObjId) -> String {
        let o = self.session.object(obj);
        let entity = &self.model().entity(o.entity).name;
        let label = self
            .session
            .label(obj)
            .map(crate::db::value::value_to_text)
            .unwrap_or_default();
        format!("{entity} {} {label}", o.key).trim_end().to_string()
    }

    /// Height of the tree's list area, for paging and windowing.
    pub fn tree_height(&self) -> usize {
        super::ui::layout(
            ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1),
            self.split,
        )
        .map_or(10, |l| l.tree.height.saturating_sub(3) as usize)
        .max(1)
    }

    /// Moves the cursor by `delta` lines, fetching root rows at either end
    /// of the window as needed.
    pub fn move_cursor(&mut self, delta: isize) -> Result<()> {
        let target = self.cursor as isize + delta;
        if target >= self.lines.len() as isize {
            self.fetch_forward()?;
        } else if target < 0 {
            self.fetch_backward()?;
        }
        let target =
            (self.cursor as isize + delta).clamp(0, self.lines.len().saturating_sub(1) as isize);
        self.cursor = target as usize;
        // Keep a screen of rows ready below the cursor.
        let height = self.tree_height();
        if self.cursor + height >= self.lines.len() {
            self.fetch_forward()?;
        }
        self.scroll_into_view();
        Ok(())
    }

    /// PgUp/PgDn: the view moves a whole page and the cursor with it.
    pub fn page(&mut self, delta: isize) -> Result<()> {
        let offset = self.offset;
        self.move_cursor(delta)?;
        let height = self.tree_height();
        let last_start = self.lines.len().saturating_sub(height);
        // move_cursor may have shifted lines (a window fetch): follow the
        // cursor, a page on from where the view was.
        let wanted = (offset as isize + delta).clamp(0, last_start as isize) as usize;
        self.offset = wanted
            .min(self.cursor)
            .max(self.cursor.saturating_sub(height - 1));
        Ok(())
    }

    pub fn scroll_into_view(&mut self) {
        let height = self.tree_height();
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
        self.offset = self.offset.min(self.lines.len().saturating_sub(1));
    }

    fn root_key(&self, i: usize) -> Option<Key> {
        self.roots
            .get(i)
            .map(|o| self.session.object(*o).key.clone())
    }

    fn entity_name(&self) -> String {
        self.model().entity(self.root).name.clone()
    }

    /// Fetches the page after the window (keyset: `WHERE pk > ?`).
    pub fn fetch_forward(&mut self) -> Result<()> {
        let loaded_end = self.roots_offset + self.roots.len() as u64;
        if loaded_end >= self.total {
            return Ok(());
        }
        let after = self.root_key(self.roots.len().wrapping_sub(1));
        self.ws.conn.begin_step(format!(
            "scroll: fetch {} {}-{}",
            self.entity_name(),
            loaded_end + 1,
            (loaded_end + PAGE as u64).min(self.total)
        ));
        let page = self.session.load_root(&RootQuery {
            after,
            limit: Some(PAGE as i64),
            ..RootQuery::default()
        })?;
        if page.is_empty() {
            self.total = loaded_end;
            return Ok(());
        }
        self.roots.extend(page);
        if self.roots.len() > MAX_WINDOW {
            // Drop rows from the top; the lines under the cursor stay put.
            let drop = self.roots.len() - MAX_WINDOW;
            let shift = self.line_of_root(self.roots[drop]).unwrap_or(0);
            self.roots.drain(..drop);
            self.roots_offset += drop as u64;
            self.rebuild();
            self.cursor = self.cursor.saturating_sub(shift);
            self.offset = self.offset.saturating_sub(shift);
        } else {
            self.rebuild();
        }
        Ok(())
    }

    /// The line of a root object in the tree as it is now.
    fn line_of_root(&self, root: ObjId) -> Option<usize> {
        self.lines
            .iter()
            .position(|l| matches!(l, TreeLine::Object { obj, depth: 0, .. } if *obj == root))
    }

    /// Fetches the page before the window (keyset: `WHERE pk < ?`).
    pub fn fetch_backward(&mut self) -> Result<()> {
        if self.roots_offset == 0 {
            return Ok(());
        }
        let before = self.root_key(0);
        let count = (self.roots_offset as usize).min(PAGE);
        self.ws.conn.begin_step(format!(
            "scroll: fetch {} {}-{}",
            self.entity_name(),
            self.roots_offset + 1 - count as u64,
            self.roots_offset
        ));
        let page = self.session.load_root(&RootQuery {
            before,
            limit: Some(count as i64),
            ..RootQuery::default()
        })?;
        let added_roots = page.len();
        let old_first = self.roots.first().copied();
        let mut roots = page;
        roots.append(&mut self.roots);
        self.roots = roots;
        self.roots_offset -= added_roots as u64;
        self.roots.truncate(MAX_WINDOW);
        self.rebuild();
        // The same line stays under the cursor.
        let shift = old_first.and_then(|r| self.line_of_root(r)).unwrap_or(0);
        self.cursor += shift;
        self.offset += shift;
        Ok(())
    }

    /// `g`: the first rows.
    pub fn go_top(&mut self) -> Result<()> {
        if self.roots_offset > 0 {
            self.ws.conn.begin_step(format!(
                "jump: fetch the first {PAGE} {} rows",
                self.entity_name()
            ));
            self.roots = self.session.load_root(&RootQuery {
                limit: Some(PAGE as i64),
                ..RootQuery::default()
            })?;
            self.roots_offset = 0;
            self.rebuild();
        }
        self.cursor = 0;
        self.offset = 0;
        Ok(())
    }

    /// `G`: the last rows, fetched directly (`ORDER BY pk DESC LIMIT ?`),
    /// never by walking a million rows.
    pub fn go_bottom(&mut self) -> Result<()> {
        let loaded_end = self.roots_offset + self.roots.len() as u64;
        if loaded_end < self.total {
            self.ws.conn.begin_step(format!(
                "jump: fetch the last {PAGE} {} rows",
                self.entity_name()
            ));
            self.roots = self.session.load_root(&RootQuery {
                from_end: true,
                limit: Some(PAGE as i64),
                ..RootQuery::default()
            })?;
            self.roots_offset = self.total.saturating_sub(self.roots.len() as u64);
            self.rebuild();
        }
        self.cursor = self.lines.len().saturating_sub(1);
        self.scroll_into_view();
        Ok(())
    }

    /// The range of root rows on screen, 1-based: `(first, last)`.
    pub fn visible_root_range(&self) -> (u64, u64) {
        let height = self.tree_height();
        let mut first = None;
        let mut last = None;
        let mut index = 0u64;
        for (i, line) in self.lines.iter().enumerate() {
            if let TreeLine::Object { depth: 0, .. } = line {
                if i >= self.offset && i < self.offset + height {
                    first.get_or_insert(index);
                    last = Some(index);
                }
                index += 1;
            }
        }
        match (first, last) {
            (Some(f), Some(l)) => (self.roots_offset + f + 1, self.roots_offset + l + 1),
            _ => (0, 0),
        }
    }

    // ----- strategies, replay -----

    /// The strategy each relationship in use loads with.
    pub fn strategies_in_use(&self) -> Vec<(RelId, Strategy)> {
        let mut seen = BTreeMap::new();
        for line in &self.lines {
            if let TreeLine::Relation {
                parent, rel, path, ..
            } = line
                && self.expanded.contains(path)
            {
                seen.entry(*rel)
                    .or_insert_with(|| self.session.strategy_for(*parent, *rel));
            }
        }
        for (rel, s) in &self.overrides {
            seen.insert(*rel, *s);
        }
        seen.into_iter().collect()
    }

    /// The plan for a fresh session: each chosen strategy, as a loader
    /// option on every path in use that ends in its relationship (and on
    /// the root's own relationships, so fetching rows loads them eagerly).
    fn plan(&self) -> LoadPlan {
        let model = self.model();
        let mut plan = LoadPlan::new(self.root);
        let mut paths: Vec<Vec<RelId>> = model
            .entity(self.root)
            .relationships
            .iter()
            .map(|r| vec![*r])
            .collect();
        for path in &self.expanded {
            if matches!(path.last(), Some(Seg::Rel(_))) {
                let chain = rel_chain(path);
                // The relationships of the objects an open one shows (a
                // post's `user` under a tag's open posts) load with them
                // when eager: their options apply there, open or not. Not
                // back to a class already on the path (a manager's
                // manager, a post's tags' posts): there only an open one
                // goes deeper, or a long chain would join past SQLite's
                // 64 tables, as SQLAlchemy's own eager loads stop there.
                if let Some(last) = chain.last() {
                    let on_path = |entity| {
                        entity == self.root || chain.iter().any(|r| model.rel(*r).target == entity)
                    };
                    for rel in &model.entity(model.rel(*last).target).relationships {
                        if self.overrides.contains_key(rel) && !on_path(model.rel(*rel).target) {
                            let mut deeper = chain.clone();
                            deeper.push(*rel);
                            paths.push(deeper);
                        }
                    }
                }
                paths.push(chain);
            }
        }
        paths.sort();
        paths.dedup();
        for chain in paths {
            let Some(strategy) = chain.last().and_then(|r| self.overrides.get(r)) else {
                continue;
            };
            let mut node = crate::plan::NodeId::ROOT;
            for rel in &chain {
                node = plan.child_or_insert(model, node, *rel);
            }
            plan.set_strategy(node, Some(*strategy));
        }
        plan
    }

    /// Runs the same navigation again in a fresh session: same rows, same
    /// nodes expanded, same scroll position. The log gets a new section.
    pub fn replay(&mut self, reason: &str) -> Result<()> {
        let first_key = self.window_start();
        self.replay_from(reason, first_key)
    }

    /// The key the window of root rows starts at (`None` at the top).
    fn window_start(&self) -> Option<Key> {
        if self.roots_offset == 0 {
            None
        } else {
            self.root_key(0)
        }
    }

    /// [`Self::replay`] with the window starting at `first_key`.
    fn replay_from(&mut self, reason: &str, first_key: Option<Key>) -> Result<()> {
        // At least a page: an inner join that hid some rows must not shrink
        // the window for every replay after it.
        let count = self.roots.len().max(PAGE);
        self.ws.conn.new_section();
        self.ws.conn.begin_step(reason.to_string());
        self.session = Session::new(&self.ws.model, &self.ws.conn, self.plan());
        self.roots.clear();
        self.lines.clear();
        let query = RootQuery {
            from: first_key,
            limit: Some(count.max(1) as i64),
            ..RootQuery::default()
        };
        // Fetched again before the old session's objects go.
        self.outcomes.clear();
        self.roots = self.session.load_root(&query)?;
        let cursor = self.cursor;
        let offset = self.offset;
        // Touch every expanded relationship again, in screen order.
        self.touch_open_below(&Vec::new())?;
        self.rebuild();
        self.cursor = cursor.min(self.lines.len().saturating_sub(1));
        self.offset = offset.min(self.cursor);
        Ok(())
    }

    /// Statements of `loader` in the current log section.
    pub fn statements_of(&self, loader: &str) -> usize {
        let log = self.ws.conn.log();
        log.statements
            .iter()
            .filter(|s| s.section == log.section && &*s.origin.loader == loader)
            .count()
    }

    /// What `rel` costs in the current log section: its own statements and
    /// rows, the refusals on screen, and the root query's rows (a joined
    /// load adds its rows there).
    pub fn cost_of(&self, rel: RelId) -> Cost {
        let name = self.model().rel_display(rel);
        let root = &self.model().entity(self.root).name;
        let log = self.ws.conn.log();
        let mut cost = Cost::default();
        for s in log.statements.iter().filter(|s| s.section == log.section) {
            if *s.origin.loader == *name {
                cost.statements += 1;
                cost.rows += s.rows;
            } else if s.origin.strategy.is_none() && *s.origin.loader == **root {
                cost.root_rows += s.rows;
                cost.root_duplicated += s.rows - s.distinct.unwrap_or(s.rows).min(s.rows);
            }
        }
        cost.errors = self
            .outcomes
            .iter()
            .filter(|(path, outcome)| {
                matches!(outcome, RelOutcome::Refused(_) | RelOutcome::Failed(_))
                    && path.last() == Some(&Seg::Rel(rel))
            })
            .count();
        cost
    }

    /// The text a tree line is found by: an object's title, a
    /// relationship's name, a note.
    fn line_text(&self, line: &TreeLine) -> String {
        match line {
            TreeLine::Object { obj, .. } => self.object_title(*obj),
            TreeLine::Relation { rel, .. } => self.model().rel(*rel).name.clone(),
            TreeLine::Note { text, .. } => text.clone(),
        }
    }

    /// Moves to the next (or previous) match of the search in the focused
    /// pane, from the cursor on, wrapping around; says how many match.
    pub fn find(&mut self, forward: bool) {
        let Some(needle) = self.search.clone().filter(|s| !s.is_empty()) else {
            self.set_status("nothing to find: / and type", StatusKind::Info);
            return;
        };
        let needle = needle.to_lowercase();
        let (hits, current): (Vec<usize>, usize) = match self.focus {
            Focus::Tree => (
                self.lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| self.line_text(l).to_lowercase().contains(&needle))
                    .map(|(i, _)| i)
                    .collect(),
                self.cursor,
            ),
            Focus::Log => {
                let log = self.ws.conn.log();
                let rows = super::log_rows::rows(&log.statements, &self.unfolded);
                let hits = rows
                    .iter()
                    .filter(|r| {
                        // What the row shows: loader, strategy, SQL, and
                        // the step that caused it.
                        let s = &log.statements[r.first];
                        let strategy = s.origin.strategy.map(|st| st.name()).unwrap_or("root");
                        let step = log.step_of(s).unwrap_or_default();
                        [&*s.sql, &*s.origin.loader, strategy, step.as_str()]
                            .iter()
                            .any(|t| t.to_lowercase().contains(&needle))
                    })
                    .map(|r| r.first)
                    .collect();
                (hits, self.log_cursor.unwrap_or(0))
            }
        };
        let next = if forward {
            hits.iter().find(|i| **i > current).or(hits.first())
        } else {
            hits.iter().rev().find(|i| **i < current).or(hits.last())
        };
        let Some(&next) = next else {
            self.set_status(format!("no match for `{needle}`"), StatusKind::Info);
            return;
        };
        match self.focus {
            Focus::Tree => {
                self.cursor = next;
                self.scroll_into_view();
            }
            Focus::Log => {
                self.log_cursor = Some(next);
                self.detail_scroll = 0;
            }
        }
        let n = hits.iter().position(|i| *i == next).unwrap_or(0) + 1;
        self.set_status(
            format!(
                "`{needle}`: match {n} of {} (n next, N previous)",
                hits.len()
            ),
            StatusKind::Info,
        );
    }

    /// What-if: the current view (the open nodes, the same window) replayed
    /// under each of `choices` for `rel`, each in a fresh session; the
    /// explorer's own state and log are as they were afterwards.
    pub fn what_if(&mut self, rel: RelId, choices: &[Strategy]) -> Vec<WhatIf> {
        choices
            .iter()
            .map(|strategy| {
                self.hidden_replay(rel, Some(*strategy), |app, replayed| {
                    let log = app.ws.conn.log();
                    let section: Vec<&crate::db::Statement> = log
                        .statements
                        .iter()
                        .filter(|s| s.section == log.section)
                        .collect();
                    let root_name = &app.model().entity(app.root).name;
                    let joined_collections = app
                        .strategies_in_use()
                        .iter()
                        .filter(|(r, s)| {
                            crate::loader::is_joined(*s) && app.model().rel(*r).is_collection()
                        })
                        .count();
                    let cartesian = section
                        .iter()
                        .find(|s| s.origin.strategy.is_none() && *s.origin.loader == **root_name)
                        .and_then(|s| Some((s.rows, s.distinct?)))
                        .filter(|(rows, distinct)| {
                            joined_collections > 1 && *distinct > 0 && rows > distinct
                        })
                        .map(|(rows, distinct)| rows as f64 / distinct as f64);
                    WhatIf {
                        statements: section.len(),
                        rows: section.iter().map(|s| s.rows).sum(),
                        duplicated: section
                            .iter()
                            .map(|s| s.rows - s.distinct.unwrap_or(s.rows).min(s.rows))
                            .sum(),
                        errors: app
                            .outcomes
                            .values()
                            .filter(|o| matches!(o, RelOutcome::Refused(_) | RelOutcome::Failed(_)))
                            .count(),
                        time: section.iter().map(|s| s.duration).sum(),
                        cartesian,
                        refused: replayed.err().map(|e| format!("{e:#}")),
                    }
                })
            })
            .collect()
    }

    /// Replays the current view (the open nodes, the same window) with
    /// `strategy` for `rel` (`None`: as it is) in a fresh session, measures
    /// it with `measure`, and puts everything back as it was: session,
    /// tree, status and log.
    fn hidden_replay<T>(
        &mut self,
        rel: RelId,
        strategy: Option<Strategy>,
        measure: impl FnOnce(&App<'a>, Result<()>) -> T,
    ) -> T {
        let first_key = self.window_start();
        let saved_log = self.ws.conn.take_log();
        let saved_overrides = self.overrides.clone();
        let fresh = Session::new(&self.ws.model, &self.ws.conn, self.plan());
        let saved_session = std::mem::replace(&mut self.session, fresh);
        let saved_roots = self.roots.clone();
        let saved_lines = std::mem::take(&mut self.lines);
        let saved_outcomes = std::mem::take(&mut self.outcomes);
        let (cursor, offset, status) = (self.cursor, self.offset, self.status.clone());
        if let Some(strategy) = strategy {
            self.overrides.insert(rel, strategy);
        }
        let replayed = self.replay_from("what-if", first_key);
        let measured = measure(self, replayed);
        self.overrides = saved_overrides;
        self.session = saved_session;
        self.roots = saved_roots;
        self.lines = saved_lines;
        self.outcomes = saved_outcomes;
        (self.cursor, self.offset, self.status) = (cursor, offset, status);
        self.ws.conn.restore_log(saved_log);
        measured
    }

    /// Chooses `strategy` for `rel` and replays, reporting before → after:
    /// statements, rows, rows a join duplicated, and errors.
    pub fn choose_strategy(&mut self, rel: RelId, strategy: Strategy) -> Result<()> {
        let name = self.model().rel_display(rel);
        let before_strategy = self
            .strategies_in_use()
            .into_iter()
            .find(|(r, _)| *r == rel)
            .map_or(self.model().rel(rel).lazy, |(_, s)| s);
        // Both sides measured on the same view: the one on screen, replayed
        // unseen under the strategy it has now.
        let before = self.hidden_replay(rel, None, |app, _| app.cost_of(rel));
        self.overrides.insert(rel, strategy);
        self.replay(&format!("replay under {name}: {strategy}"))?;
        let after = self.cost_of(rel);
        let window = (self.model().rel(rel).parent == self.root).then(|| {
            format!(
                "{} {} rows in the window",
                self.roots.len(),
                self.model().entity(self.root).name
            )
        });
        let text = format!(
            "{name}: {} → {}",
            before.describe(before_strategy, None, None),
            after.describe(strategy, Some(&before), window.as_deref())
        );
        self.set_status(text, StatusKind::Info);
        Ok(())
    }

    /// Applies the dynamic query typed in the editor and re-runs it.
    pub fn apply_dynamic(
        &mut self,
        path: TreePath,
        parent: ObjId,
        rel: RelId,
        query: DynamicQuery,
    ) -> Result<()> {
        self.dynamic_queries.insert(path.clone(), query);
        let label = self.object_title(parent);
        let name = self.model().rel(rel).name.clone();
        self.ws.conn.begin_step(format!("filter {name} of {label}"));
        self.touch(parent, rel, &path)?;
        self.expanded.insert(path.clone());
        self.touch_open_below(&path)?;
        self.rebuild();
        Ok(())
    }
}

/// Splits text into lines of at most `width` characters, at spaces where
/// possible.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > width {
            let head: String = line.chars().take(width).collect();
            line = line.chars().skip(width).collect();
            lines.push(head);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// SQLite's own words for a failed statement (`no such column: x`),
/// without the statement, which the log shows in full; other errors as
/// they are.
fn sqlite_message(error: &anyhow::Error) -> String {
    for cause in error.chain() {
        if let Some(rusqlite::Error::SqliteFailure(_, Some(message))) =
            cause.downcast_ref::<rusqlite::Error>()
        {
            let short = message.split(" in SELECT").next().unwrap_or(message);
            return short.to_string();
        }
        if let Some(rusqlite::Error::InvalidParameterCount(got, needed)) =
            cause.downcast_ref::<rusqlite::Error>()
        {
            return format!(
                "the query takes {needed} parameters, the filter may not add `?` ({got} given)"
            );
        }
    }
    format!("{error:#}")
}

/// One line describing a dynamic query's current clauses.
pub fn describe_dynamic(q: &DynamicQuery) -> String {
    let mut parts = Vec::new();
    if let Some(f) = q.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        parts.push(format!("filter {f}"));
    }
    if let Some(o) = q.order_by.as_deref().filter(|o| !o.trim().is_empty()) {
        parts.push(format!("order by {o}"));
    }
    if let Some(l) = q.limit {
        parts.push(format!("limit {l}"));
    }
    if parts.is_empty() {
        "dynamic query: every expand runs it (f filters)".to_string()
    } else {
        format!("dynamic query: {} (f edits)", parts.join(", "))
    }
}

/// Parses the editor's three lines (`filter:`, `order by:`, `limit:`).
pub fn parse_dynamic(text: &str) -> Result<DynamicQuery, String> {
    let mut q = DynamicQuery::default();
    for (i, line) in text.lines().enumerate() {
        let Some((label, value)) = line.split_once(':') else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(format!(
                "line {}: expected `filter:`, `order by:` or `limit:`",
                i + 1
            ));
        };
        let value = value.trim();
        match label.trim().to_ascii_lowercase().as_str() {
            "filter" | "where" => q.filter = (!value.is_empty()).then(|| value.to_string()),
            "order by" | "order_by" | "order" => {
                q.order_by = (!value.is_empty()).then(|| value.to_string())
            }
            "limit" => {
                q.limit = if value.is_empty() {
                    None
                } else {
                    match value.parse::<i64>() {
                        Ok(n) if n >= 0 => Some(n),
                        _ => {
                            return Err(format!(
                                "line {}: limit must be a whole number, 0 or more, not `{value}`",
                                i + 1
                            ));
                        }
                    }
                }
            }
            other => {
                return Err(format!(
                    "line {}: unknown clause `{other}`; use filter, order by or limit",
                    i + 1
                ));
            }
        }
    }
    if let Some(f) = &q.filter {
        dynamic::check_filter(f).map_err(|e| e.to_string())?;
    }
    if let Some(o) = &q.order_by {
        dynamic::check_order(o).map_err(|e| e.to_string())?;
    }
    Ok(q)
}
