//! Everything the explorer can be asked to do.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    HalfPageUp,
    HalfPageDown,
    Expand,
    Collapse,
    ToggleFocus,
    Strategy,
    /// Every strategy's cost for the current view, side by side.
    WhatIf,
    /// Give the tree less (`<`) or more (`>`) of the screen.
    Narrower,
    Wider,
    /// The focused pane takes the whole screen, or gives it back.
    Zoom,
    /// Choose the entity whose rows the tree lists.
    ChooseRoot,
    Reset,
    Explain,
    /// `EXPLAIN (ANALYZE, BUFFERS)`: the statement run by the planner.
    ExplainAnalyze,
    /// Scroll the selected statement's details.
    DetailUp,
    DetailDown,
    Filter,
    Copy,
    /// Copy the selected statement with its parameters inlined.
    CopyRunnable,
    Help,
    /// `/`: type what to find in the focused pane.
    Search,
    /// `n` / `N`: the next or previous match.
    SearchNext,
    SearchPrevious,
    /// The model's warnings (what it could not map).
    Warnings,
    Back,
    /// Esc: close or go back, but never quit.
    Cancel,
    Quit,
    /// The picker or editor confirms.
    Confirm,
    /// The mouse wheel over a point: down or up.
    Scroll {
        column: u16,
        row: u16,
        down: bool,
    },
    Click {
        column: u16,
        row: u16,
    },
    Resize(u16, u16),
    /// A key typed into the dynamic-query editor.
    EditorKey(crossterm::event::KeyEvent),
    /// Text pasted into the editor (bracketed paste: never run as keys).
    Paste(String),
}
