//! `--format junit`: a run as JUnit XML, the report CI systems (GitLab,
//! Jenkins, Azure, GitHub test reporters) show per test. One test suite
//! per run (per strategy for `compare`), one test case per loader: the
//! root query and each expanded path under its strategy. A budget breach
//! (`--max-*`, `--fail-on`) is a `<failure>` of the loader at fault, or of
//! the run's `all statements` case for `--max-statements`.

use super::budget::Breach;
use crate::model::Model;
use crate::navigation::Outcome;
use std::fmt::Write;
use std::time::Duration;

/// The test suites, one per `(title, run, its breaches)`.
pub fn write(model: &Model, runs: &[(String, &Outcome, Vec<Breach>)]) -> String {
    let suites: Vec<Suite> = runs
        .iter()
        .map(|(title, outcome, breaches)| suite(model, title, outcome, breaches))
        .collect();
    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(Suite::failures).sum();
    let time: Duration = suites.iter().map(|s| s.time).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"loadscope\" tests=\"{tests}\" failures=\"{failures}\" time=\"{}\">",
        seconds(time)
    );
    for suite in &suites {
        suite.write(&mut out);
    }
    out.push_str("</testsuites>\n");
    out
}

struct Suite {
    name: String,
    time: Duration,
    cases: Vec<Case>,
}

struct Case {
    /// `User` for every loader of a run from User.
    classname: String,
    /// `User (root)`, `posts · selectin`.
    name: String,
    /// Where the relationship is defined, `models.py` and its line.
    file: Option<(String, String)>,
    time: Duration,
    summary: String,
    failures: Vec<Breach>,
}

impl Suite {
    fn failures(&self) -> usize {
        self.cases.iter().filter(|c| !c.failures.is_empty()).count()
    }

    fn write(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" time=\"{}\">",
            escape(&self.name),
            self.cases.len(),
            self.failures(),
            seconds(self.time)
        );
        for case in &self.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\"",
                escape(&case.classname),
                escape(&case.name)
            );
            if let Some((file, line)) = &case.file {
                let _ = write!(out, " file=\"{}\" line=\"{}\"", escape(file), escape(line));
            }
            let _ = writeln!(out, " time=\"{}\">", seconds(case.time));
            for b in &case.failures {
                let mut body = b.what.clone();
                if !b.statements.is_empty() {
                    let seqs: Vec<String> = b.statements.iter().map(|s| format!("#{s}")).collect();
                    let _ = write!(body, "\nstatements {}", seqs.join(", "));
                }
                if let Some(example) = &b.example {
                    let _ = write!(body, "\n{example}");
                }
                let _ = writeln!(
                    out,
                    "      <failure type=\"{}\" message=\"{}: {}\">{}</failure>",
                    b.kind,
                    escape(&b.loader),
                    escape(&b.what),
                    escape(&body)
                );
            }
            let _ = writeln!(
                out,
                "      <system-out>{}</system-out>\n    </testcase>",
                escape(&case.summary)
            );
        }
        out.push_str("  </testsuite>\n");
    }
}

fn suite(model: &Model, title: &str, outcome: &Outcome, breaches: &[Breach]) -> Suite {
    let statements = &outcome.log.statements;
    let case = |loader: &str, name: String, defined_at: Option<String>| {
        let own: Vec<_> = statements
            .iter()
            .filter(|s| &*s.origin.loader == loader)
            .collect();
        let rows: usize = own.iter().map(|s| s.rows).sum();
        let count = own.len();
        Case {
            classname: outcome.root.clone(),
            name,
            file: defined_at.and_then(|place| {
                let (file, rest) = place.split_once(':')?;
                let line = rest.split(':').next()?.to_string();
                Some((file.to_string(), line))
            }),
            time: own.iter().map(|s| s.duration).sum(),
            summary: format!(
                "{count} statement{} · {rows} row{}",
                if count == 1 { "" } else { "s" },
                if rows == 1 { "" } else { "s" }
            ),
            failures: breaches
                .iter()
                .filter(|b| b.loader == loader)
                .cloned()
                .collect(),
        }
    };
    let mut cases = vec![case(
        &outcome.root,
        format!("{} (root)", outcome.root),
        None,
    )];
    for (path, strategy) in &outcome.strategies {
        let loader = outcome
            .relationships
            .iter()
            .find(|(p, _)| p == path)
            .map_or(path.as_str(), |(_, r)| r.as_str());
        let defined_at = super::budget::defined_at(model, loader);
        cases.push(case(loader, format!("{path} · {strategy}"), defined_at));
    }
    let total: Vec<Breach> = breaches
        .iter()
        .filter(|b| b.loader == "all loaders")
        .cloned()
        .collect();
    if !total.is_empty() || breaches.iter().any(|b| b.kind == "max-statements") {
        cases.push(Case {
            classname: outcome.root.clone(),
            name: "all statements".to_string(),
            file: None,
            time: statements.iter().map(|s| s.duration).sum(),
            summary: format!("{} statements", statements.len()),
            failures: total,
        });
    }
    Suite {
        name: title.to_string(),
        time: statements.iter().map(|s| s.duration).sum(),
        cases,
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.6}", d.as_secs_f64())
}

/// Text as an XML attribute value or character data: the five markup
/// characters escaped, a line feed as `&#10;` (an attribute would read a
/// raw one as a space), and the control characters XML 1.0 cannot hold
/// shown as `\u{..}`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_and_control_characters_are_escaped() {
        assert_eq!(
            escape("a < b && c > \"d\" 'e'\n\u{1}"),
            "a &lt; b &amp;&amp; c &gt; &quot;d&quot; &apos;e&apos;&#10;\\u{1}"
        );
    }
}
