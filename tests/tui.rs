//! The explorer, tested as text: keys go through the key table and
//! `update`, screens are drawn into ratatui's `TestBackend` and compared
//! with insta snapshots (timings masked), at 120×40 and 80×24.

mod common;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use loadscope::cli::workspace::{self, Workspace};
use loadscope::loader::Strategy;
use loadscope::tui::action::Action;
use loadscope::tui::app::App;
use loadscope::tui::keymap::{BINDINGS, Focus};
use loadscope::tui::theme::Theme;
use loadscope::tui::tree::TreeLine;
use loadscope::tui::ui::render;
use loadscope::tui::update::{action_for_event, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn sample() -> Workspace {
    workspace::open(None, &[], false, None).expect("the sample opens")
}

fn key(app: &mut App, code: KeyCode) {
    key_with(app, code, KeyModifiers::NONE);
}

fn key_with(app: &mut App, code: KeyCode, modifiers: KeyModifiers) {
    let event = Event::Key(KeyEvent::new(code, modifiers));
    if let Some(action) = action_for_event(app, &event) {
        update(app, action);
    }
}

fn keys(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| render(app, f)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Timings change from run to run; everything else on screen must not.
fn snapshot(name: &str, app: &App) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r" *\d+(\.\d+)? (µs|ms|s)\b", " [t]");
    settings.bind(|| insta::assert_snapshot!(name, screen(app)));
}

/// John's posts: expand John, move to `posts`, expand it.
fn open_johns_posts(app: &mut App) {
    key(app, KeyCode::Enter);
    key(app, KeyCode::Down);
    key(app, KeyCode::Enter);
}

/// The notes in the tree (errors, empty markers), wrapped lines joined.
fn notes(app: &App) -> String {
    app.lines
        .iter()
        .filter_map(|l| match l {
            TreeLine::Note { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The cursor on John's `posts`, which loads under `strategy` (a replay).
fn on_johns_posts_under(app: &mut App, strategy: Strategy) {
    key(app, KeyCode::Enter);
    key(app, KeyCode::Down);
    let (_, rel, _) = app.current_relationship().expect("on posts");
    app.choose_strategy(rel, strategy).unwrap();
}

fn statements(ws: &Workspace) -> usize {
    ws.conn.log().statements.len()
}

#[test]
fn first_screen_shows_users_and_the_root_query() {
    let ws = sample();
    for (w, h) in [(120, 40), (80, 24)] {
        let app = App::new(&ws, (w, h), Theme::mono()).unwrap();
        let text = screen(&app);
        assert!(text.contains("1  John"), "{text}");
        assert!(text.contains("Users 1-"), "{text}");
        assert!(text.contains("of 50"), "{text}");
        snapshot(&format!("first_screen_{w}x{h}"), &app);
    }
}

#[test]
fn expanding_johns_posts_under_select_adds_one_statement() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    let before = statements(&ws);
    open_johns_posts(&mut app);
    assert_eq!(statements(&ws), before + 1);
    let log = ws.conn.log();
    let last = log.statements.last().unwrap();
    assert_eq!(&*last.origin.loader, "User.posts");
    assert_eq!(last.origin.strategy, Some(Strategy::Select));
    assert!(last.sql.contains("WHERE ? = posts.user_id"));
    assert_eq!(
        log.step_of(last).as_deref(),
        Some("expand posts of User 1 John")
    );
    drop(log);
    let text = screen(&app);
    assert!(text.contains("posts (2)"), "{text}");
    assert!(
        text.contains("First Post") && text.contains("Second Post"),
        "{text}"
    );
    snapshot("johns_posts_select_120x40", &app);
    app.size = (80, 24);
    snapshot("johns_posts_select_80x24", &app);
}

#[test]
fn switching_to_selectin_replays_with_two_statements() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    open_johns_posts(&mut app);
    let expanded_before = app.expanded.clone();
    let cursor_before = app.cursor;
    // The picker lists strategies in Strategy::ALL order; selectin is 6th.
    key(&mut app, KeyCode::Char('s'));
    for _ in 0..5 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(
        app.overrides.values().copied().collect::<Vec<_>>(),
        vec![Strategy::Selectin]
    );
    // A fresh session: the new section holds the root fetch and one IN query.
    let log = ws.conn.log();
    let section: Vec<_> = log
        .statements
        .iter()
        .filter(|s| s.section == log.section)
        .collect();
    assert_eq!(section.len(), 2, "{section:#?}");
    assert!(section[1].sql.contains("WHERE posts.user_id IN ("));
    drop(log);
    assert_eq!(app.expanded, expanded_before, "the same nodes stay open");
    assert_eq!(app.cursor, cursor_before, "the cursor stays");
    let (status, _) = app.status.clone().unwrap();
    // The cost, not only the count: selectin's one statement loads the
    // posts of every user in the window.
    assert_eq!(
        status,
        "User.posts: select 1 stmt · 2 rows → selectin 1 stmt · 248 rows (loads for all 50 User rows in the window)"
    );
    let text = screen(&app);
    assert!(text.contains("User.posts: selectin"), "{text}");
    assert!(text.contains("First Post"), "{text}");
    snapshot("johns_posts_selectin_120x40", &app);
    app.size = (80, 24);
    snapshot("johns_posts_selectin_80x24", &app);
}

#[test]
fn raise_shows_the_error_on_the_node() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    on_johns_posts_under(&mut app, Strategy::Raise);
    let before = statements(&ws);
    key(&mut app, KeyCode::Enter);
    assert_eq!(statements(&ws), before, "raise runs no SQL");
    let text = notes(&app);
    assert!(
        text.contains("'User.posts' is not available due to lazy='raise'"),
        "{text}"
    );
    snapshot("raise_error_120x40", &app);
}

#[test]
fn picker_and_help_and_editor_overlays() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char('s'));
    let text = screen(&app);
    assert!(text.contains("how does User.posts load?"), "{text}");
    assert!(text.contains("noload (deprecated)"), "{text}");
    snapshot("strategy_picker_120x40", &app);
    key(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());

    key(&mut app, KeyCode::Char('?'));
    snapshot("help_120x40", &app);
    // Every key is in the help (it scrolls when it does not fit).
    let mut text = screen(&app);
    for _ in 0..BINDINGS.len() {
        key(&mut app, KeyCode::Char('j'));
        text.push_str(&screen(&app));
    }
    for binding in BINDINGS {
        assert!(
            text.contains(binding.description),
            "help lacks {}",
            binding.description
        );
    }
    key(&mut app, KeyCode::Esc);

    app.choose_strategy(app.current_relationship().unwrap().1, Strategy::Dynamic)
        .unwrap();
    key(&mut app, KeyCode::Char('f'));
    keys(&mut app, "posts.title LIKE '%Second%'");
    let text = screen(&app);
    assert!(
        text.contains("filter: posts.title LIKE '%Second%'"),
        "{text}"
    );
    snapshot("dynamic_editor_120x40", &app);
    key(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_none(), "{:?}", app.status);
    let log = ws.conn.log();
    let last = log.statements.last().unwrap();
    assert!(
        last.sql.contains("AND (posts.title LIKE '%Second%')"),
        "{}",
        last.sql
    );
    assert_eq!(last.rows, 1);
    drop(log);
    assert!(screen(&app).contains("Second Post"));
}

#[test]
fn a_bad_filter_stays_in_the_editor_with_its_error() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    on_johns_posts_under(&mut app, Strategy::Dynamic);
    key(&mut app, KeyCode::Char('f'));
    keys(&mut app, "1; DROP TABLE users");
    key(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_some(), "the editor stays open");
    assert!(screen(&app).contains("not several statements"));
    // A condition SQLite rejects is reported too, never a crash.
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('f'));
    keys(&mut app, "");
    for _ in 0..30 {
        key(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, "filter: no_such_column = 1");
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app).contains("no such column"), "{}", screen(&app));
    // Esc after a failed query goes back to the one that worked (none):
    // John's posts show again, not the error.
    key(&mut app, KeyCode::Esc);
    let text = screen(&app);
    assert!(app.overlay.is_none());
    assert!(
        text.contains("back to the last query that worked"),
        "{text}"
    );
    assert!(text.contains("First Post"), "{text}");
    assert!(
        !app.outcomes
            .values()
            .any(|o| matches!(o, loadscope::tui::app::RelOutcome::Failed(_)))
    );
}

#[test]
fn too_small_terminal_gets_a_message() {
    let ws = sample();
    let app = App::new(&ws, (50, 12), Theme::mono()).unwrap();
    let text = screen(&app);
    assert!(text.contains("terminal too small (needs 60×15"), "{text}");
    snapshot("too_small_50x12", &app);
}

#[test]
fn navigation_keys_move_expand_and_collapse() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    assert_eq!(app.cursor, 0);
    keys(&mut app, "jj");
    assert_eq!(app.cursor, 2);
    key(&mut app, KeyCode::Up);
    assert_eq!(app.cursor, 1);
    key(&mut app, KeyCode::Char('g'));
    assert_eq!(app.cursor, 0);
    key(&mut app, KeyCode::Char('G'));
    assert!(matches!(
        app.current(),
        Some(TreeLine::Object { depth: 0, .. })
    ));
    assert_eq!(app.visible_root_range().1, 50, "G shows the last user");
    key(&mut app, KeyCode::Home);
    key(&mut app, KeyCode::Right);
    assert!(
        matches!(app.lines[1], TreeLine::Relation { .. }),
        "John shows his relationships"
    );
    let lines = app.lines.len();
    key(&mut app, KeyCode::Left);
    assert_eq!(
        app.lines.len(),
        lines - 3,
        "posts, manager, reports go away"
    );
    key_with(&mut app, KeyCode::Char('d'), KeyModifiers::CONTROL);
    assert!(app.cursor > 5);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Log);
    assert_eq!(app.log_cursor, Some(statements(&ws) - 1));
    key(&mut app, KeyCode::Char('e'));
    assert!(
        app.explain
            .as_ref()
            .is_some_and(|(_, _, plan)| !plan.is_empty())
    );
    key(&mut app, KeyCode::Char('y'));
    assert!(
        app.pending_copy
            .as_ref()
            .is_some_and(|sql| sql.starts_with("SELECT"))
    );
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.focus, Focus::Tree);
    key(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit);
}

#[test]
fn ctrl_c_quits_from_anywhere() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    key(&mut app, KeyCode::Char('?'));
    key_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(app.should_quit);
}

#[test]
fn reset_and_replay_keep_the_open_nodes() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    open_johns_posts(&mut app);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter); // First Post
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter); // First Post's comments
    let lines = app.lines.clone();
    let section = ws.conn.log().section;
    key(&mut app, KeyCode::Char('r'));
    assert_eq!(ws.conn.log().section, section + 1, "a new log section");
    assert_eq!(app.lines.len(), lines.len());
    let log = ws.conn.log();
    let loaders: Vec<&str> = log
        .statements
        .iter()
        .filter(|s| s.section == log.section)
        .map(|s| &*s.origin.loader)
        .collect();
    assert_eq!(loaders, vec!["User", "User.posts", "Post.comments"]);
}

#[test]
fn mouse_wheel_scrolls_and_click_selects() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    update(
        &mut app,
        Action::Scroll {
            column: 10,
            row: 10,
            down: true,
        },
    );
    assert_eq!(app.cursor, 3);
    update(&mut app, Action::Click { column: 10, row: 7 });
    assert_eq!(app.cursor, 4, "row 7 is the fifth line of the tree");
    update(
        &mut app,
        Action::Click {
            column: 100,
            row: 10,
        },
    );
    assert_eq!(app.focus, Focus::Log);
}

#[test]
fn no_color_gives_the_monochrome_theme() {
    assert_eq!(Theme::from_env(Some("1")), Theme::mono());
    assert_eq!(Theme::from_env(Some("")), Theme::color());
    assert_eq!(Theme::from_env(None), Theme::color());
    let mono = Theme::mono();
    for style in [mono.selected, mono.title, mono.error, mono.border_focused] {
        assert!(
            style.fg.is_none() && style.bg.is_none(),
            "mono shows focus without colour"
        );
    }
}

#[test]
fn write_only_refuses_iteration_and_offers_its_select() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    on_johns_posts_under(&mut app, Strategy::WriteOnly);
    let before = statements(&ws);
    key(&mut app, KeyCode::Enter);
    assert_eq!(statements(&ws), before, "iterating runs no SQL");
    let text = notes(&app);
    assert!(
        text.contains("WriteOnly collections don't support iteration in-place"),
        "{text}"
    );
    assert!(text.contains("Enter runs its explicit select()"), "{text}");
    // Down to the offer, Enter: the explicit select runs.
    while !matches!(app.current(), Some(TreeLine::Note { text, .. }) if text.contains("select()")) {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(statements(&ws), before + 1);
    let log = ws.conn.log();
    assert_eq!(
        log.statements.last().unwrap().origin.strategy,
        Some(Strategy::WriteOnly)
    );
    drop(log);
    assert!(screen(&app).contains("Second Post"));
}

#[test]
fn noload_shows_its_empty_collections_as_such() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    on_johns_posts_under(&mut app, Strategy::NoLoad);
    let before = statements(&ws);
    key(&mut app, KeyCode::Enter);
    assert_eq!(statements(&ws), before);
    let text = notes(&app);
    assert!(
        text.contains("empty: noload never loads (deprecated in SQLAlchemy 2.1)"),
        "{text}"
    );
}

#[test]
fn eager_strategies_load_when_the_parents_are_fetched() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Down);
    let rel = app.current_relationship().unwrap().1;
    for strategy in [
        Strategy::Joined,
        Strategy::Subquery,
        Strategy::Selectin,
        Strategy::Immediate,
    ] {
        app.choose_strategy(rel, strategy).unwrap();
        let after_replay = statements(&ws);
        key(&mut app, KeyCode::Enter); // open John's posts
        assert_eq!(
            statements(&ws),
            after_replay,
            "{strategy}: loaded with the parents, not at expansion"
        );
        assert!(screen(&app).contains("First Post"), "{strategy}");
        key(&mut app, KeyCode::Left); // close again
    }
}

/// The root list is a window over the table: paging through a thousand
/// users fetches pages at either end, keeps at most a few of them, and
/// never skips, repeats or reorders a row.
#[test]
fn paging_through_a_large_table_keeps_the_window_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.db");
    loadscope::cli::sample::generate(&loadscope::cli::sample::SampleOptions {
        users: 1000,
        posts_per_user: 1,
        seed: 3,
        out: path.clone(),
        force: false,
    })
    .unwrap();
    let ws = workspace::open(
        Some(&path),
        &["assets/models/blog.toml".into()],
        false,
        None,
    )
    .unwrap();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    let window_is_contiguous = |app: &App| {
        let keys: Vec<u64> = app
            .roots
            .iter()
            .map(|o| match app.session.object(*o).key {
                loadscope::db::Key::Int(i) => i as u64,
                _ => unreachable!(),
            })
            .collect();
        assert!(
            keys.windows(2).all(|w| w[1] == w[0] + 1),
            "window not contiguous: {keys:?}"
        );
        assert_eq!(
            keys[0],
            app.roots_offset + 1,
            "the offset matches the first key"
        );
        assert!(app.roots.len() <= loadscope::tui::app::MAX_WINDOW);
        assert!(
            !matches!(
                app.status,
                Some((_, loadscope::tui::app::StatusKind::Error))
            ),
            "{:?}",
            app.status
        );
    };
    let mut last_seen = app.visible_root_range().1;
    for _ in 0..200 {
        key(&mut app, KeyCode::PageDown);
        window_is_contiguous(&app);
        let (first, last) = app.visible_root_range();
        // Paging moves on without skipping: the screen after starts where
        // the one before ended (one line of context).
        assert!(
            first <= last_seen + 1 && last > last_seen,
            "{first}-{last} after {last_seen}"
        );
        last_seen = last;
        if last == 1000 {
            break;
        }
    }
    assert_eq!(last_seen, 1000, "paging reaches the last user");
    assert!(screen(&app).contains("of 1,000"));
    for _ in 0..200 {
        key(&mut app, KeyCode::PageUp);
        window_is_contiguous(&app);
        if app.visible_root_range().0 == 1 {
            break;
        }
    }
    assert_eq!(
        app.visible_root_range().0,
        1,
        "paging back reaches the first user"
    );
    key(&mut app, KeyCode::Char('G'));
    window_is_contiguous(&app);
    assert_eq!(app.visible_root_range().1, 1000);
    for _ in 0..30 {
        key(&mut app, KeyCode::Char('k'));
    }
    window_is_contiguous(&app);
}

#[test]
fn h_on_a_closed_node_goes_up_without_closing_and_esc_never_quits() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    open_johns_posts(&mut app);
    key(&mut app, KeyCode::Down); // First Post, closed
    let posts_line = app.cursor - 1;
    key(&mut app, KeyCode::Char('h'));
    assert_eq!(app.cursor, posts_line, "h goes to `posts`");
    assert!(
        screen(&app).contains("First Post"),
        "and `posts` stays open"
    );
    key(&mut app, KeyCode::Esc);
    assert!(!app.should_quit, "Esc in the tree does not quit");
    key(&mut app, KeyCode::Char('q'));
    assert!(app.should_quit);
}

#[test]
fn enter_on_a_write_only_relationship_runs_its_select() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    on_johns_posts_under(&mut app, Strategy::WriteOnly);
    key(&mut app, KeyCode::Enter); // iterating: refused
    let before = statements(&ws);
    key(&mut app, KeyCode::Enter); // on the same line: the explicit select
    assert_eq!(statements(&ws), before + 1);
    assert!(screen(&app).contains("First Post"));
}

#[test]
fn help_scrolls_on_a_short_terminal() {
    let ws = sample();
    let mut app = App::new(&ws, (80, 24), Theme::mono()).unwrap();
    key(&mut app, KeyCode::Char('?'));
    let text = screen(&app);
    assert!(text.contains("j/k scroll"), "{text}");
    assert!(!text.contains("f in a dynamic filter"), "{text}");
    for _ in 0..30 {
        key(&mut app, KeyCode::Char('j'));
    }
    let text = screen(&app);
    assert!(
        text.contains("f in a dynamic filter"),
        "the last line comes into view:\n{text}"
    );
    key(&mut app, KeyCode::Esc);
    assert!(app.overlay.is_none());
}

#[test]
fn the_selected_statement_scrolls_with_shift_j_and_k() {
    let ws = sample();
    // Short enough that the statement's details do not fit.
    let mut app = App::new(&ws, (120, 24), Theme::mono()).unwrap();
    open_johns_posts(&mut app);
    key(&mut app, KeyCode::Tab);
    let top = screen(&app);
    assert!(top.contains("J/K: scroll"), "{top}");
    key_with(&mut app, KeyCode::Char('J'), KeyModifiers::SHIFT);
    assert_eq!(app.detail_scroll, 3);
    assert!(
        !screen(&app).contains("J/K: scroll"),
        "the first lines scrolled away"
    );
    key_with(&mut app, KeyCode::Char('K'), KeyModifiers::SHIFT);
    assert_eq!(app.detail_scroll, 0);
    // J stops where the last line reaches the bottom: one K comes back.
    for _ in 0..50 {
        key_with(&mut app, KeyCode::Char('J'), KeyModifiers::SHIFT);
        let _ = screen(&app);
    }
    let furthest = app.detail_scroll;
    assert!(furthest < 40, "{furthest}");
    key_with(&mut app, KeyCode::Char('K'), KeyModifiers::SHIFT);
    assert_eq!(app.detail_scroll, furthest.saturating_sub(3));
    key(&mut app, KeyCode::Char('k'));
    assert_eq!(app.detail_scroll, 0, "a new selection starts at the top");
}

/// The shapes schema of the SQLAlchemy oracle, in a temp dir.
fn shapes(dir: &std::path::Path) -> Workspace {
    let db = common::fixture_db(dir, "tests/fixtures/shapes/shapes.sql");
    let model = std::path::Path::new("tests/fixtures/shapes/shapes.toml");
    workspace::open(Some(&db), &[model.to_path_buf()], false, None)
        .expect("the shapes schema opens")
}

#[test]
fn a_one_to_one_is_an_object_and_composite_keys_are_tuples() {
    let dir = tempfile::TempDir::new().unwrap();
    let ws = shapes(dir.path());
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    // Ada, her profile (a one-to-one), then her accounts (composite keys).
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(text.contains("▾ profile  select"), "{text}");
    assert!(
        !text.contains("profile (1)"),
        "a one-to-one has no count: {text}"
    );
    assert!(text.contains("▸ 10  first"), "{text}");
    for _ in 0..4 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(text.contains("▾ accounts (2)  select"), "{text}");
    assert!(text.contains("▸ (1, 1)  T1-1"), "{text}");
    assert!(text.contains("▸ (1, 2)  T1-2"), "{text}");
    // The log shows the statement's shape: the column list folded.
    assert!(
        text.contains("SELECT ••• FROM accounts WHERE ? = accounts.customer_id"),
        "{text}"
    );
    // Cyd has no profile: the one-to-one is none, not an empty list.
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(text.contains("▾ 3  Cyd"), "{text}");
    assert!(text.contains("▾ profile (none)  select"), "{text}");
    assert_eq!(notes(&app), "none");
}

#[test]
fn list_headers_are_proper_plurals() {
    let dir = tempfile::TempDir::new().unwrap();
    for (table, header) in [
        ("notifications", "Notifications 1-2 of 2"),
        ("category", "Categories 1-2 of 2"),
        ("boxes", "Boxes 1-2 of 2"),
    ] {
        let db = dir.path().join(format!("{table}.db"));
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO {table} VALUES (1, 'a'), (2, 'b');"
        ))
        .unwrap();
        drop(conn);
        let ws = workspace::open(Some(&db), &[], false, None).unwrap();
        let app = App::new(&ws, (80, 24), Theme::mono()).unwrap();
        let text = screen(&app);
        assert!(text.contains(header), "{table}: {text}");
    }
}

#[test]
fn the_models_warnings_are_counted_in_the_title_and_listed_on_bang() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("app.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE log (at TEXT, line TEXT);
         INSERT INTO users VALUES (1, 'Ada');",
    )
    .unwrap();
    drop(conn);
    let ws = workspace::open(Some(&db), &[], false, None).unwrap();
    for (w, h) in [(120, 40), (80, 24)] {
        let mut app = App::new(&ws, (w, h), Theme::mono()).unwrap();
        let text = screen(&app);
        assert!(text.contains("⚠ 1 warning (!)"), "{text}");
        keys(&mut app, "!");
        let text = screen(&app);
        assert!(
            text.contains("1 warning (j/k scroll, q, Esc or ! closes)"),
            "{text}"
        );
        assert!(
            text.contains("table `log` is left out: it has no primary key"),
            "{text}"
        );
        // Any other key closes it, as help closes.
        keys(&mut app, "!");
        assert!(app.overlay.is_none());
    }
}

#[test]
fn keyset_paging_walks_a_composite_key() {
    // 620 ledgers keyed (tenant_id, n): G fetches the last page by the
    // whole key, paging down from the top walks it with (a, b) > (?, ?).
    let dir = tempfile::TempDir::new().unwrap();
    let db = common::fixture_db(dir.path(), "tests/fixtures/shapes/shapes.sql");
    let model = dir.path().join("ledger.toml");
    std::fs::write(
        &model,
        "[entities.Ledger]\ntable = \"ledgers\"\nlabel = \"title\"\n",
    )
    .unwrap();
    let ws = workspace::open(Some(&db), &[model], false, None).unwrap();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    key(&mut app, KeyCode::End);
    let text = screen(&app);
    assert!(text.contains("Ledgers 587-620 of 620"), "{text}");
    assert!(text.contains("(2, 310)  L2-310"), "{text}");
    key(&mut app, KeyCode::Home);
    for _ in 0..6 {
        key(&mut app, KeyCode::PageDown);
    }
    let text = screen(&app);
    assert!(text.contains("(1, 205)  L1-205"), "{text}");
    let sql: Vec<String> = ws
        .conn
        .log()
        .statements
        .iter()
        .map(|s| s.sql.to_string())
        .collect();
    assert!(
        sql.iter()
            .any(|s| s.contains("WHERE (ledgers.tenant_id, ledgers.n) > (?, ?)")),
        "{sql:#?}"
    );
}

#[test]
fn o_chooses_the_entity_the_tree_lists() {
    let ws = sample();
    let mut app = App::new(&ws, (80, 24), Theme::mono()).unwrap();
    key(&mut app, KeyCode::Char('o'));
    let text = screen(&app);
    assert!(text.contains("browse from which entity?"), "{text}");
    assert!(text.contains("users  (listed now)"), "{text}");
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_none());
    let text = screen(&app);
    assert!(text.contains("Comments 1-"), "{text}");
    assert!(text.contains("browsing Comment"), "{text}");
    let log = ws.conn.log();
    assert!(
        log.statements
            .last()
            .unwrap()
            .sql
            .starts_with("SELECT comments.id"),
        "the new root's rows are fetched"
    );
}

#[test]
fn an_n_plus_one_folds_into_one_row_and_the_panes_can_be_resized() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    app.choose_strategy(
        ws.model
            .rel_by_name(ws.model.entity_by_name("User").unwrap(), "posts")
            .unwrap(),
        Strategy::Immediate,
    )
    .unwrap();
    let text = screen(&app);
    // Fifty per-parent statements: one row, with its shape.
    assert!(
        text.contains("#3–52 User.posts · immediate ×50  ⚠ N+1  248 rows"),
        "{text}"
    );
    assert!(
        text.contains("SELECT ••• FROM posts WHERE ? = posts.user_id"),
        "{text}"
    );
    assert!(!text.contains("#4 User.posts"), "{text}");
    // In the log, Enter unfolds the run and ← folds it again.
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(
        text.contains("#3 User.posts · immediate  ⚠ N+1 ×50  2 rows"),
        "{text}"
    );
    assert!(!text.contains("×50  ⚠ N+1  248 rows"), "{text}");
    key(&mut app, KeyCode::Left);
    assert!(screen(&app).contains("×50  ⚠ N+1  248 rows"));
    // z zooms the focused pane (the log) to the whole screen, and back.
    key(&mut app, KeyCode::Char('z'));
    let text = screen(&app);
    assert!(!text.contains("Users 1-"), "{text}");
    assert!(text.contains("┌ SQL · this session"), "{text}");
    key(&mut app, KeyCode::Char('z'));
    assert!(screen(&app).contains("Users 1-"));
    // < gives the tree less room: the log's title starts further left.
    let column = |text: &str| {
        text.lines()
            .find_map(|l| l.find("┌ SQL").map(|i| l[..i].chars().count()))
            .unwrap()
    };
    let before = column(&screen(&app));
    key(&mut app, KeyCode::Char('<'));
    let after = column(&screen(&app));
    assert!(after < before, "{before} -> {after}");
    snapshot("n_plus_one_folded_narrow_tree_120x40", &app);
}

#[test]
fn the_before_after_line_tells_rows_duplicates_and_errors() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    open_johns_posts(&mut app);
    let posts = ws
        .model
        .rel_by_name(ws.model.entity_by_name("User").unwrap(), "posts")
        .unwrap();
    app.choose_strategy(posts, Strategy::Joined).unwrap();
    let (status, _) = app.status.clone().unwrap();
    assert_eq!(
        status,
        "User.posts: select 1 stmt · 2 rows → joined: folded into the root query, 50 → 256 rows (206 duplicated)"
    );
    app.choose_strategy(posts, Strategy::Raise).unwrap();
    let (status, _) = app.status.clone().unwrap();
    assert_eq!(
        status,
        "User.posts: joined in the root query · 256 rows (206 duplicated) → raise 0 stmts · 1 error"
    );
}

/// An eager strategy chosen on a relationship that is shown but not open
/// (each post's `user`, under a tag's open posts) applies when its
/// parents load in the replay, as the loader option
/// `selectinload(Tag.posts).immediateload(Post.user)` would.
#[test]
fn an_eager_strategy_on_an_unopened_nested_relationship_loads_with_its_parents() {
    let ws = sample();
    let tag = ws.model.entity_by_name("Tag").unwrap();
    let mut app = App::with_root(&ws, (120, 40), Theme::mono(), tag).unwrap();
    // python → posts, open; its first post, open; the cursor on `user`.
    keys(&mut app, "ljljlj");
    let post = ws.model.entity_by_name("Post").unwrap();
    let user = ws.model.rel_by_name(post, "user").unwrap();
    assert_eq!(app.statements_of("Post.user"), 0);
    app.choose_strategy(user, Strategy::Immediate).unwrap();
    // One get per distinct author of python's 28 posts (22), fired as the
    // posts load.
    assert_eq!(app.statements_of("Post.user"), 22);
    let (status, _) = app.status.clone().unwrap();
    assert_eq!(
        status,
        "Post.user: select 0 stmts → immediate 22 stmts · 22 rows"
    );
}

#[test]
fn what_needs_no_sql_is_in_the_log_too() {
    let ws = sample();
    let post = ws.model.entity_by_name("Post").unwrap();
    let mut app = App::with_root(&ws, (120, 40), Theme::mono(), post).unwrap();
    // Post 1 → comments → the first comment → post: Post 1 is in the
    // identity map, so the many-to-one runs no SQL.
    key(&mut app, KeyCode::Enter);
    for _ in 0..2 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(text.contains("▾ comments (3)  select"), "{text}");
    let statements = ws.conn.log().statements.len();
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    assert_eq!(ws.conn.log().statements.len(), statements, "no statement");
    let text = screen(&app);
    assert!(
        text.contains("Comment.post · select · no SQL: identity map"),
        "{text}"
    );
    // Not a statement: the counts do not change.
    assert!(
        text.contains(&format!("SQL · this session: {statements} statements")),
        "{text}"
    );
}

#[test]
fn shift_y_copies_a_statement_that_runs_as_it_is() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    open_johns_posts(&mut app);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('Y'));
    let copied = app.pending_copy.clone().unwrap();
    assert_eq!(
        copied,
        "SELECT posts.id, posts.title, posts.body, posts.user_id, posts.created_at \
         FROM posts WHERE 1 = posts.user_id ORDER BY posts.id;"
    );
    // It runs, with no parameters, and finds John's two posts.
    let rows: i64 = ws
        .conn
        .sqlite()
        .unwrap()
        .query_row(
            &format!("SELECT count(*) FROM ({})", copied.trim_end_matches(';')),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 2);
}

#[test]
fn what_if_shows_every_strategy_for_this_view_and_leaves_the_log_alone() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    open_johns_posts(&mut app);
    let before = ws.conn.log().statements.len();
    key(&mut app, KeyCode::Char('w'));
    let text = screen(&app);
    assert!(
        text.contains("what if User.posts loaded another way?"),
        "{text}"
    );
    let row = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!("│  {name} ")) || l.contains(&format!("│▸ {name} ")))
            .unwrap_or_else(|| panic!("no {name} row:\n{text}"))
            .split_whitespace()
            .skip_while(|w| *w != name)
            .skip(1)
            .take(4)
            .collect::<Vec<_>>()
            .join(" ")
    };
    // stmts rows duplicated errors, for the root window and John's posts.
    assert_eq!(row("select"), "2 52 0 0");
    assert_eq!(row("selectin"), "2 298 0 0");
    assert_eq!(row("joined"), "1 256 206 0");
    assert_eq!(row("raise"), "1 50 0 1");
    assert!(text.contains("← now"), "{text}");
    // The replays ran in fresh sessions: the log and the tree are as they were.
    assert_eq!(ws.conn.log().statements.len(), before);
    key(&mut app, KeyCode::Esc);
    assert!(screen(&app).contains("▾ posts (2)  select"));
    // Enter on a row switches to it, as the picker does.
    key(&mut app, KeyCode::Char('w'));
    for _ in 0..5 {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app).contains("User.posts: selectin"));
}

#[test]
fn what_if_names_a_cartesian_product() {
    let ws = sample();
    let user = ws.model.entity_by_name("User").unwrap();
    let reports = ws.model.rel_by_name(user, "reports").unwrap();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    open_johns_posts(&mut app);
    app.choose_strategy(reports, Strategy::Joined).unwrap();
    key(&mut app, KeyCode::Char('w'));
    let text = screen(&app);
    let joined = text
        .lines()
        .find(|l| l.contains("│  joined "))
        .unwrap_or_else(|| panic!("{text}"));
    // posts and reports both joined: the root query's rows multiply.
    assert!(joined.contains("cartesian product ×"), "{joined}");
    let select = text.lines().find(|l| l.contains("select ")).unwrap();
    assert!(!select.contains("cartesian"), "{select}");
}

#[test]
fn the_per_loader_summary_keeps_loaders_without_statements() {
    let ws = sample();
    let user = ws.model.entity_by_name("User").unwrap();
    let posts = ws.model.rel_by_name(user, "posts").unwrap();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    open_johns_posts(&mut app);
    app.choose_strategy(posts, Strategy::Joined).unwrap();
    let text = screen(&app);
    assert!(
        text.contains("User.posts joined         0 stmts  in the root query"),
        "{text}"
    );
    app.choose_strategy(posts, Strategy::Raise).unwrap();
    let text = screen(&app);
    assert!(
        text.contains("User.posts raise          0 stmts  1 error"),
        "{text}"
    );
}

#[test]
fn slash_finds_in_the_tree_and_in_the_log() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    open_johns_posts(&mut app);
    key(&mut app, KeyCode::Char('/'));
    assert!(screen(&app).contains("find in the tree"));
    keys(&mut app, "carol");
    key(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_none());
    let TreeLine::Object { obj, .. } = &app.lines[app.cursor] else {
        panic!("the cursor is on {:?}", app.lines[app.cursor]);
    };
    assert_eq!(app.object_title(*obj), "User 4 Carol");
    assert!(screen(&app).contains("`carol`: match 1 of 1"));
    // n goes on (and wraps around).
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(
        app.object_title(match &app.lines[app.cursor] {
            TreeLine::Object { obj, .. } => *obj,
            other => panic!("{other:?}"),
        }),
        "User 4 Carol"
    );
    // In the log: the statement of User.posts.
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "posts.user_id");
    key(&mut app, KeyCode::Enter);
    let log = ws.conn.log();
    let found = &log.statements[app.log_cursor.unwrap()];
    assert_eq!(&*found.origin.loader, "User.posts");
    drop(log);
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "nothing like this");
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app).contains("no match for `nothing like this`"));
}

#[test]
fn what_if_works_anywhere_in_a_long_table_and_o_starts_a_new_session() {
    let ws = sample();
    let post = ws.model.entity_by_name("Post").unwrap();
    let mut app = App::with_root(&ws, (120, 40), Theme::mono(), post).unwrap();
    // The last window of 248 posts (the window no longer starts at 0).
    key(&mut app, KeyCode::Char('G'));
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char('w'));
    assert!(
        screen(&app).contains("what if Post.user loaded another way?"),
        "{}",
        screen(&app)
    );
    key(&mut app, KeyCode::Esc);
    // o: a fresh session, so the log starts a new section (and its counts).
    key(&mut app, KeyCode::Char('o'));
    key(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(text.contains("SQL · this session: 1 statement"), "{text}");
}

#[test]
fn before_and_after_are_measured_on_the_same_view() {
    let ws = sample();
    let user = ws.model.entity_by_name("User").unwrap();
    let posts = ws.model.rel_by_name(user, "posts").unwrap();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    // John's posts opened and closed again: no longer in the view.
    open_johns_posts(&mut app);
    key(&mut app, KeyCode::Left);
    key(&mut app, KeyCode::Left);
    app.choose_strategy(posts, Strategy::Selectin).unwrap();
    let (status, _) = app.status.clone().unwrap();
    assert!(
        status.starts_with("User.posts: select 0 stmts → selectin 1 stmt"),
        "{status}"
    );
}

#[test]
fn a_row_of_a_hierarchy_shows_its_class() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("inheritance.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        &std::fs::read_to_string("tests/fixtures/inheritance/inheritance.sql").unwrap(),
    )
    .unwrap();
    drop(conn);
    let ws = loadscope::cli::workspace::open(
        Some(&db),
        &["tests/fixtures/inheritance/inheritance.toml".into()],
        false,
        None,
    )
    .unwrap();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    // Shop North → vehicles: each row comes back as its own class.
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Enter);
    let text = screen(&app);
    assert!(text.contains("▸ 1  Vehicle  V1"), "{text}");
    assert!(text.contains("▸ 2  Truck  T2"), "{text}");
    assert!(text.contains("▸ 4  Pickup  P4"), "{text}");
    assert!(text.contains("▸ 3  Car  C3"), "{text}");
}

#[test]
fn the_hint_bar_keeps_help_and_quit_and_follows_the_editor_and_a_huge_paste_is_cut() {
    let ws = sample();
    let mut app = App::new(&ws, (80, 24), Theme::mono()).unwrap();
    let last_line = |app: &App| screen(app).lines().last().unwrap().trim_end().to_string();
    assert!(
        last_line(&app).ends_with("? help  q quit"),
        "{}",
        last_line(&app)
    );
    open_johns_posts(&mut app);
    app.choose_strategy(app.current_relationship().unwrap().1, Strategy::Dynamic)
        .unwrap();
    key(&mut app, KeyCode::Char('f'));
    assert_eq!(last_line(&app), " Enter apply  Esc cancel");
    // A 200 kB paste: cut to what a filter may hold.
    update(&mut app, Action::Paste("x".repeat(200_000)));
    let text = match &app.overlay {
        Some(loadscope::tui::app::Overlay::Editor(editor)) => editor.textarea.lines().join("\n"),
        _ => panic!("the editor is open"),
    };
    assert!(text.len() < 4_000, "{} bytes kept", text.len());
}

#[test]
fn a_click_in_the_log_selects_that_statement() {
    let ws = sample();
    let mut app = App::new(&ws, (120, 40), Theme::mono()).unwrap();
    open_johns_posts(&mut app);
    let text = screen(&app);
    let (row, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("#2 User.posts · select"))
        .unwrap_or_else(|| panic!("{text}"));
    let column = line.chars().position(|c| c == '#').unwrap() as u16;
    update(
        &mut app,
        Action::Click {
            column,
            row: row as u16,
        },
    );
    assert_eq!(app.focus, Focus::Log);
    assert_eq!(app.log_cursor, Some(1), "the second statement");
    // A click on the shape line below selects the same statement.
    update(
        &mut app,
        Action::Click {
            column: column + 3,
            row: row as u16 + 1,
        },
    );
    assert_eq!(app.log_cursor, Some(1));
}
