//! The key table: every binding with its description. The `?` overlay and
//! the hint bar are generated from it, so they cannot drift from what the
//! keys do.

use super::action::Action;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Which pane has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    Tree,
    Log,
}

/// Where a binding applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Everywhere,
    Tree,
    Log,
    Picker,
}

pub struct Binding {
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// How the keys are written in help.
    pub label: &'static str,
    pub action: Action,
    pub context: Context,
    pub description: &'static str,
    /// Short form for the hint bar; `None` keeps it out of the bar.
    pub hint: Option<&'static str>,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)],
        label: "↑ k",
        action: Action::Up,
        context: Context::Everywhere,
        description: "move up",
        hint: Some("↑↓/jk move"),
    },
    Binding {
        keys: &[(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        label: "↓ j",
        action: Action::Down,
        context: Context::Everywhere,
        description: "move down",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyCode::Right, NONE),
            (KeyCode::Char('l'), NONE),
            (KeyCode::Enter, NONE),
        ],
        label: "→ l Enter",
        action: Action::Expand,
        context: Context::Tree,
        description: "expand: an object shows its relationships; a relationship loads (its loader runs)",
        hint: Some("→/l expand"),
    },
    Binding {
        keys: &[(KeyCode::Left, NONE), (KeyCode::Char('h'), NONE)],
        label: "← h",
        action: Action::Collapse,
        context: Context::Tree,
        description: "collapse, or go to the parent",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyCode::Right, NONE),
            (KeyCode::Char('l'), NONE),
            (KeyCode::Enter, NONE),
        ],
        label: "→ l Enter",
        action: Action::Expand,
        context: Context::Log,
        description: "unfold a run of similar statements (×50) into one row each",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Left, NONE), (KeyCode::Char('h'), NONE)],
        label: "← h",
        action: Action::Collapse,
        context: Context::Log,
        description: "fold the run again",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('g'), NONE), (KeyCode::Home, NONE)],
        label: "g Home",
        action: Action::Top,
        context: Context::Everywhere,
        description: "first row",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyCode::Char('G'), SHIFT),
            (KeyCode::Char('G'), NONE),
            (KeyCode::End, NONE),
        ],
        label: "G End",
        action: Action::Bottom,
        context: Context::Everywhere,
        description: "last row (fetched directly, never by walking the table)",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::PageUp, NONE)],
        label: "PgUp",
        action: Action::PageUp,
        context: Context::Everywhere,
        description: "page up",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::PageDown, NONE)],
        label: "PgDn",
        action: Action::PageDown,
        context: Context::Everywhere,
        description: "page down",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('u'), CTRL)],
        label: "Ctrl-u",
        action: Action::HalfPageUp,
        context: Context::Everywhere,
        description: "half a page up",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('d'), CTRL)],
        label: "Ctrl-d",
        action: Action::HalfPageDown,
        context: Context::Everywhere,
        description: "half a page down",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('s'), NONE)],
        label: "s",
        action: Action::Strategy,
        context: Context::Tree,
        description: "choose the loader strategy of the relationship under the cursor, and replay",
        hint: Some("s strategy"),
    },
    Binding {
        keys: &[(KeyCode::Char('w'), NONE)],
        label: "w",
        action: Action::WhatIf,
        context: Context::Tree,
        description: "what if: every strategy's cost for this view side by side (Enter switches)",
        hint: Some("w what-if"),
    },
    Binding {
        keys: &[(KeyCode::Char('o'), NONE)],
        label: "o",
        action: Action::ChooseRoot,
        context: Context::Tree,
        description: "browse from another entity: choose whose rows the tree lists",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('<'), NONE), (KeyCode::Char('<'), SHIFT)],
        label: "<",
        action: Action::Narrower,
        context: Context::Everywhere,
        description: "move the split: the tree gets less of the screen, the log more",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('>'), NONE), (KeyCode::Char('>'), SHIFT)],
        label: ">",
        action: Action::Wider,
        context: Context::Everywhere,
        description: "move the split: the tree gets more of the screen",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('/'), NONE), (KeyCode::Char('/'), SHIFT)],
        label: "/",
        action: Action::Search,
        context: Context::Everywhere,
        description: "find text in the focused pane (tree: names and labels; log: SQL and loaders)",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('n'), NONE)],
        label: "n",
        action: Action::SearchNext,
        context: Context::Everywhere,
        description: "the next match",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('N'), SHIFT), (KeyCode::Char('N'), NONE)],
        label: "N",
        action: Action::SearchPrevious,
        context: Context::Everywhere,
        description: "the previous match",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('z'), NONE)],
        label: "z",
        action: Action::Zoom,
        context: Context::Everywhere,
        description: "zoom the focused pane to the whole screen, or back",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('r'), NONE)],
        label: "r",
        action: Action::Reset,
        context: Context::Everywhere,
        description: "reset the session (expire all) and load what is open again",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('f'), NONE)],
        label: "f",
        action: Action::Filter,
        context: Context::Tree,
        description: "filter, order or limit a dynamic relationship's query",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Tab, NONE), (KeyCode::BackTab, SHIFT)],
        label: "Tab",
        action: Action::ToggleFocus,
        context: Context::Everywhere,
        description: "switch between the tree and the SQL log",
        hint: Some("Tab SQL"),
    },
    Binding {
        keys: &[(KeyCode::Char('e'), NONE)],
        label: "e",
        action: Action::Explain,
        context: Context::Log,
        description: "the plan of the selected statement (EXPLAIN QUERY PLAN; on PostgreSQL, EXPLAIN)",
        hint: Some("e explain"),
    },
    Binding {
        keys: &[(KeyCode::Char('E'), SHIFT), (KeyCode::Char('E'), NONE)],
        label: "E",
        action: Action::ExplainAnalyze,
        context: Context::Log,
        description: "PostgreSQL: EXPLAIN (ANALYZE, BUFFERS), run inside the read-only transaction",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('J'), SHIFT), (KeyCode::Char('J'), NONE)],
        label: "J",
        action: Action::DetailDown,
        context: Context::Log,
        description: "scroll the selected statement's details down",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('K'), SHIFT), (KeyCode::Char('K'), NONE)],
        label: "K",
        action: Action::DetailUp,
        context: Context::Log,
        description: "scroll the selected statement's details up",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('y'), NONE)],
        label: "y",
        action: Action::Copy,
        context: Context::Log,
        description: "copy the selected statement (OSC 52 clipboard)",
        hint: Some("y copy"),
    },
    Binding {
        keys: &[(KeyCode::Char('Y'), SHIFT), (KeyCode::Char('Y'), NONE)],
        label: "Y",
        action: Action::CopyRunnable,
        context: Context::Log,
        description: "copy the selected statement with its parameters inlined, runnable in sqlite3 or psql",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Enter, NONE)],
        label: "Enter",
        action: Action::Confirm,
        context: Context::Picker,
        description: "use the strategy and replay",
        hint: Some("Enter choose"),
    },
    Binding {
        keys: &[
            (KeyCode::Char('?'), NONE),
            (KeyCode::Char('?'), SHIFT),
            (KeyCode::F(1), NONE),
        ],
        label: "? F1",
        action: Action::Help,
        context: Context::Everywhere,
        description: "this help",
        hint: Some("? help"),
    },
    Binding {
        keys: &[(KeyCode::Char('!'), NONE), (KeyCode::Char('!'), SHIFT)],
        label: "!",
        action: Action::Warnings,
        context: Context::Everywhere,
        description: "the model's warnings: what it left out, and why",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('q'), NONE)],
        label: "q",
        action: Action::Back,
        context: Context::Everywhere,
        description: "close, go back; quit from the tree",
        hint: Some("q quit"),
    },
    Binding {
        keys: &[(KeyCode::Esc, NONE)],
        label: "Esc",
        action: Action::Cancel,
        context: Context::Everywhere,
        description: "close, go back (never quits)",
        hint: None,
    },
    Binding {
        keys: &[(KeyCode::Char('c'), CTRL)],
        label: "Ctrl-c",
        action: Action::Quit,
        context: Context::Everywhere,
        description: "quit at once",
        hint: None,
    },
];

fn matches(binding: &Binding, key: &KeyEvent) -> bool {
    binding.keys.iter().any(|(code, mods)| {
        *code == key.code
            && (key.modifiers == *mods
                || (*mods == NONE && key.modifiers == SHIFT && matches!(code, KeyCode::Char(_))))
    })
}

/// The action for a key in a context (picker keys first, then the pane's,
/// then global ones).
pub fn action_for(key: &KeyEvent, context: Context) -> Option<Action> {
    let order: &[Context] = match context {
        Context::Picker => &[Context::Picker, Context::Everywhere],
        Context::Tree => &[Context::Tree, Context::Everywhere],
        Context::Log => &[Context::Log, Context::Everywhere],
        Context::Everywhere => &[Context::Everywhere],
    };
    order.iter().find_map(|c| {
        BINDINGS
            .iter()
            .filter(|b| b.context == *c)
            .find(|b| matches(b, key))
            .map(|b| b.action.clone())
    })
}

/// The hint bar: the short forms, in table order. The picker takes only
/// moving, choosing and closing.
pub fn hints(context: Context) -> Vec<&'static str> {
    BINDINGS
        .iter()
        .filter(|b| match context {
            Context::Picker => {
                b.context == Context::Picker || matches!(b.action, Action::Up | Action::Back)
            }
            _ => b.context == context || b.context == Context::Everywhere,
        })
        .filter_map(|b| b.hint)
        .collect()
}
