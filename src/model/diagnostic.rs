//! Errors and warnings about a model file, shown the way rustc shows them:
//! what is wrong, where (file:line:column, with the line underlined), and
//! what would be valid.

use std::fmt;
use std::ops::Range;

/// A byte range in the model file's text.
pub type Span = Range<usize>;

/// A value read from a model file together with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub span: Option<Span>,
}

impl<T> Located<T> {
    pub fn new(value: T, span: Span) -> Located<T> {
        Located {
            value,
            span: Some(span),
        }
    }

    /// A value with no place in a file (inferred models, defaults).
    pub fn bare(value: T) -> Located<T> {
        Located { value, span: None }
    }
}

/// The text of a model file, kept so diagnostics can quote it.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Several files read as one (a package given as `--model DIR`):
    /// where each begins in `text`, and its name. Empty for one file.
    pub parts: Vec<(usize, String)>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        SourceFile {
            name: name.into(),
            text: text.into(),
            parts: Vec::new(),
        }
    }

    /// Files read as one text, each ending in a newline so that none runs
    /// into the next; `name` names them all (`models/`).
    pub fn joined(name: impl Into<String>, files: Vec<(String, String)>) -> SourceFile {
        let mut text = String::new();
        let mut parts = Vec::with_capacity(files.len());
        for (file, content) in files {
            parts.push((text.len(), file));
            text.push_str(&content);
            if !content.ends_with('\n') {
                text.push('\n');
            }
        }
        SourceFile {
            name: name.into(),
            text,
            parts,
        }
    }

    /// The file an offset falls in: its name, and its text's start.
    fn part(&self, offset: usize) -> (&str, usize) {
        match self.parts.iter().rev().find(|(start, _)| *start <= offset) {
            Some((start, name)) => (name, *start),
            None => (&self.name, 0),
        }
    }

    /// 1-based line and column (in characters) of a byte offset, in its
    /// own file.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let (_, start) = self.part(offset);
        let before = &self.text[start..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(start, |i| start + i + 1);
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }

    /// `file:line:column` of a byte offset, in the file it falls in.
    pub fn place(&self, offset: usize) -> String {
        let (file, _) = self.part(offset.min(self.text.len()));
        let (line, col) = self.line_col(offset);
        format!("{file}:{line}:{col}")
    }

    /// The text of a 1-based line of the file `offset` falls in.
    fn line_text(&self, offset: usize, line: usize) -> &str {
        let (_, start) = self.part(offset.min(self.text.len()));
        self.text[start..].lines().nth(line - 1).unwrap_or("")
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub file: String,
    /// 1-based line and column, when the problem has a place.
    pub position: Option<(usize, usize)>,
    /// The offending line and the underline under it.
    pub excerpt: Option<(String, usize, usize)>,
    pub help: Vec<String>,
}

impl Diagnostic {
    pub fn new(
        severity: Severity,
        source: &SourceFile,
        span: Option<&Span>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let mut diagnostic = Diagnostic {
            severity,
            message: message.into(),
            file: source.name.clone(),
            position: None,
            excerpt: None,
            help: Vec::new(),
        };
        if let Some(span) = span {
            diagnostic.file = source.part(span.start.min(source.text.len())).0.to_string();
            let (line, col) = source.line_col(span.start);
            let text = source.line_text(span.start, line);
            let (end_line, end_col) = source.line_col(span.end.max(span.start + 1));
            let width = if end_line == line {
                end_col.saturating_sub(col).max(1)
            } else {
                text.chars().count().saturating_sub(col - 1).max(1)
            };
            diagnostic.position = Some((line, col));
            // Very long lines (minified input) are not quoted in full.
            let shown: String = text.chars().take(200).collect();
            diagnostic.excerpt = Some((shown, col, width.min(200)));
        }
        diagnostic
    }

    pub fn error(
        source: &SourceFile,
        span: Option<&Span>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(Severity::Error, source, span, message)
    }

    pub fn warning(
        source: &SourceFile,
        span: Option<&Span>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(Severity::Warning, source, span, message)
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help.push(help.into());
        self
    }

    /// `file:line:column`, or just the file when there is no place.
    pub fn location(&self) -> String {
        match self.position {
            Some((line, col)) => format!("{}:{line}:{col}", self.file),
            None => self.file.clone(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{kind}: {}", self.message)?;
        write!(f, "  --> {}", self.location())?;
        if let (Some((line, _)), Some((text, col, width))) = (self.position, &self.excerpt) {
            let gutter = line.to_string().len();
            write!(f, "\n{:gutter$} |", "")?;
            write!(f, "\n{line} | {text}")?;
            write!(
                f,
                "\n{:gutter$} | {}{}",
                "",
                " ".repeat(col - 1),
                "^".repeat(*width)
            )?;
        }
        for help in &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// The names closest to `wanted`, best first, for "did you mean" hints.
pub fn nearest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&wanted_lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (wanted.len().max(c.len()) / 2).max(2))
        .collect();
    scored.sort();
    scored.into_iter().map(|(_, c)| c).take(3).collect()
}

/// "did you mean `x`?" or nothing.
pub fn did_you_mean<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match nearest(wanted, candidates).first() {
        Some(best) => format!("; did you mean `{best}`?"),
        None => String::new(),
    }
}

/// `a, b, c` for a list of names.
pub fn list<S: AsRef<str>>(names: &[S]) -> String {
    if names.is_empty() {
        "(none)".to_string()
    } else {
        let names: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        names.join(", ")
    }
}
