//! Colours in one place. `NO_COLOR` gives a monochrome theme that shows
//! focus and selection by reverse video and bold only: crossterm 0.29 still
//! writes a reset where a colour would be, which would cancel them.

use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Theme {
    pub title: Style,
    pub border: Style,
    pub border_focused: Style,
    pub selected: Style,
    pub dim: Style,
    pub key: Style,
    pub entity: Style,
    pub relation: Style,
    pub error: Style,
    pub warning: Style,
    pub info: Style,
    pub sql: Style,
    pub separator: Style,
}

impl Theme {
    pub fn color() -> Theme {
        Theme {
            title: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Cyan),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            dim: Style::new().fg(Color::DarkGray),
            key: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            entity: Style::new(),
            relation: Style::new().fg(Color::Blue),
            error: Style::new().fg(Color::Red),
            warning: Style::new().fg(Color::Yellow),
            info: Style::new().fg(Color::Green),
            sql: Style::new(),
            separator: Style::new().fg(Color::Magenta),
        }
    }

    pub fn mono() -> Theme {
        let plain = Style::new();
        Theme {
            title: plain.add_modifier(Modifier::BOLD),
            border: plain,
            border_focused: plain.add_modifier(Modifier::BOLD),
            selected: plain.add_modifier(Modifier::REVERSED),
            dim: plain,
            key: plain.add_modifier(Modifier::BOLD),
            entity: plain,
            relation: plain,
            error: plain.add_modifier(Modifier::BOLD),
            warning: plain.add_modifier(Modifier::BOLD),
            info: plain,
            sql: plain,
            separator: plain.add_modifier(Modifier::BOLD),
        }
    }

    /// `NO_COLOR` set and not empty means monochrome (no-color.org).
    pub fn from_env(no_color: Option<&str>) -> Theme {
        match no_color {
            Some(v) if !v.is_empty() => Theme::mono(),
            _ => Theme::color(),
        }
    }
}
