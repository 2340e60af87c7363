//! Query budgets for CI: `--max-statements`, `--max-per-loader` and
//! `--fail-on n+1,duplicate,raise`. A run that breaks one is reported on
//! stderr, naming the loader, where its relationship is defined and the
//! statements at fault, and the command exits 3.

use crate::analysis::{self, Repeat, shape::shape};
use crate::model::Model;
use crate::navigation::Outcome;

/// What `--fail-on` can name.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finding {
    /// A loader issued the same SQL once per parent.
    #[value(name = "n+1")]
    NPlusOne,
    /// The same SQL with the same parameters ran more than once.
    Duplicate,
    /// An access was refused (raise, raise_on_sql, write_only iteration).
    Raise,
}

/// The limits a run must keep.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Budget {
    pub max_statements: Option<usize>,
    pub max_per_loader: Option<usize>,
    pub fail_on: Vec<Finding>,
}

/// One limit a run broke.
#[derive(Clone, Debug, PartialEq)]
pub struct Breach {
    /// `n+1`, `duplicate`, `raise`, `max-statements`, `max-per-loader`.
    pub kind: &'static str,
    /// The strategy of the loader at fault, when there is one.
    pub strategy: Option<String>,
    pub what: String,
    /// `User.posts`, or `all loaders` for the total.
    pub loader: String,
    /// Where the model defines the relationship (`models.py:12:5`).
    pub defined_at: Option<String>,
    /// The statements at fault (`seq`s), and one of them as its shape.
    pub statements: Vec<usize>,
    pub example: Option<String>,
}

/// The error a breached budget ends a command with (exit code 3).
#[derive(Debug)]
pub struct BudgetExceeded(pub String);

impl std::fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BudgetExceeded {}

impl Budget {
    pub fn is_empty(&self) -> bool {
        *self == Budget::default()
    }

    /// Every limit `outcome` breaks, in a stable order.
    pub fn check(&self, model: &Model, outcome: &Outcome) -> Vec<Breach> {
        let statements = &outcome.log.statements;
        let analysis = analysis::analyze_statements(statements);
        let mut out = Vec::new();
        let of_loader = |loader: &str| -> Vec<usize> {
            statements
                .iter()
                .filter(|s| &*s.origin.loader == loader)
                .map(|s| s.seq)
                .collect()
        };
        let example = |seqs: &[usize]| {
            seqs.first()
                .and_then(|seq| statements.get(seq - 1))
                .map(|s| shape(&s.sql))
        };
        if let Some(max) = self.max_statements
            && statements.len() > max
        {
            let seqs: Vec<usize> = statements.iter().skip(max).map(|s| s.seq).collect();
            out.push(Breach {
                kind: "max-statements",
                strategy: None,
                what: format!(
                    "{} statements, more than --max-statements {max}",
                    statements.len()
                ),
                loader: "all loaders".to_string(),
                defined_at: None,
                example: example(&seqs),
                statements: seqs,
            });
        }
        for loader in &analysis.loaders {
            let defined_at = defined_at(model, &loader.loader);
            let strategy = loader.strategy.map(|s| s.to_string());
            if let Some(max) = self.max_per_loader
                && loader.statements > max
            {
                let seqs = of_loader(&loader.loader);
                out.push(Breach {
                    kind: "max-per-loader",
                    strategy: strategy.clone(),
                    what: format!(
                        "{} statements from one loader, more than --max-per-loader {max}",
                        loader.statements
                    ),
                    loader: loader.loader.clone(),
                    defined_at: defined_at.clone(),
                    example: example(&seqs),
                    statements: seqs,
                });
            }
            if self.fail_on.contains(&Finding::NPlusOne) && loader.n_plus_one {
                let seqs = of_loader(&loader.loader);
                out.push(Breach {
                    kind: "n+1",
                    strategy: strategy.clone(),
                    what: format!(
                        "N+1: {} statements, one per parent, under {}",
                        loader.statements,
                        strategy.as_deref().unwrap_or("root")
                    ),
                    loader: loader.loader.clone(),
                    defined_at: defined_at.clone(),
                    example: example(&seqs),
                    statements: seqs,
                });
            }
            if self.fail_on.contains(&Finding::Duplicate) {
                // The runs again: each duplicate after its first.
                let mut first_runs = std::collections::HashSet::new();
                let seqs: Vec<usize> = statements
                    .iter()
                    .zip(&analysis.repeats)
                    .filter(|(s, r)| {
                        *s.origin.loader == *loader.loader && matches!(r, Repeat::Duplicate { .. })
                    })
                    .filter(|(s, _)| !first_runs.insert((&*s.sql, analysis::Params(&s.params))))
                    .map(|(s, _)| s.seq)
                    .collect();
                if !seqs.is_empty() {
                    out.push(Breach {
                        kind: "duplicate",
                        strategy: strategy.clone(),
                        what: format!(
                            "{} statement{} ran again with the same parameters",
                            seqs.len(),
                            if seqs.len() == 1 { "" } else { "s" }
                        ),
                        loader: loader.loader.clone(),
                        defined_at,
                        example: example(&seqs),
                        statements: seqs,
                    });
                }
            }
        }
        if self.fail_on.contains(&Finding::Raise) {
            // One breach per relationship path, with the first refusal.
            let mut paths: Vec<&str> = Vec::new();
            for e in &outcome.errors {
                if !paths.contains(&e.path.as_str()) {
                    paths.push(&e.path);
                }
            }
            for path in paths {
                let errors: Vec<_> = outcome.errors.iter().filter(|e| e.path == path).collect();
                let loader = loader_of_path(model, &outcome.root, path);
                let strategy = outcome
                    .strategies
                    .iter()
                    .find(|(p, _)| p == path)
                    .map(|(_, s)| s.to_string());
                out.push(Breach {
                    kind: "raise",
                    strategy,
                    what: format!(
                        "{} refused access{}: {}",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "es" },
                        errors[0].message
                    ),
                    defined_at: loader.as_deref().and_then(|l| defined_at(model, l)),
                    loader: loader.unwrap_or_else(|| path.to_string()),
                    statements: Vec::new(),
                    example: None,
                });
            }
        }
        out
    }
}

/// Where the relationship a loader name (`User.posts`) stands for is
/// defined.
pub(super) fn defined_at(model: &Model, loader: &str) -> Option<String> {
    let (entity, rel) = loader.split_once('.')?;
    let entity = model.entity_by_name(entity)?;
    let rel = model.rel_by_name(entity, rel)?;
    model.rel(rel).defined_at.clone()
}

/// `User.posts` for the path `posts.comments`'s last step from `root`.
fn loader_of_path(model: &Model, root: &str, path: &str) -> Option<String> {
    let mut entity = model.entity_by_name(root)?;
    let mut last = None;
    for step in path.split('.') {
        let rel = model.rel_by_name(entity, step)?;
        entity = model.rel(rel).target;
        last = Some(rel);
    }
    last.map(|r| model.rel_display(r))
}

impl Breach {
    /// What identifies the finding from one run to the next: its kind, the
    /// loader, its strategy and its statement's SQL (parameters are `?`,
    /// and counts and times are left out).
    pub fn fingerprint(&self) -> String {
        let sql = self
            .example
            .as_deref()
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        format!(
            "{} · {} · {} · {sql}",
            self.kind,
            self.loader,
            self.strategy.as_deref().unwrap_or("-")
        )
    }
}

/// A stored set of findings (`--update-baseline`), and a run's findings
/// against it (`--baseline`): only new ones fail.
#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
pub struct Baseline {
    pub loadscope_baseline: u32,
    pub findings: Vec<String>,
}

impl Baseline {
    pub fn of(breaches: &[Breach]) -> Baseline {
        let mut findings: Vec<String> = breaches.iter().map(Breach::fingerprint).collect();
        findings.sort();
        findings.dedup();
        Baseline {
            loadscope_baseline: 1,
            findings,
        }
    }

    pub fn read(path: &std::path::Path) -> anyhow::Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the baseline: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}: not a loadscope baseline ({e}); write one with --update-baseline",
                path.display()
            )
        })
    }

    pub fn write(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        std::fs::write(path, text)
            .map_err(|e| anyhow::anyhow!("{}: cannot write the baseline: {e}", path.display()))
    }
}

/// GitHub Actions workflow commands: a warning at the model's line for
/// each N+1, and an error for each breach of the budget.
/// (`::warning file=models.py,line=14,col=5,title=N+1 User.posts::...`)
pub fn github_annotations(model: &Model, outcome: &Outcome, breaches: &[Breach]) -> String {
    let analysis = analysis::analyze_statements(&outcome.log.statements);
    let mut out = String::new();
    let mut line = |level: &str, place: Option<&str>, title: &str, message: &str| {
        let mut props = Vec::new();
        if let Some((file, rest)) = place.and_then(|p| p.split_once(':')) {
            let (line, col) = rest.split_once(':').unwrap_or((rest, ""));
            props.push(format!("file={}", escape_property(file)));
            props.push(format!("line={line}"));
            if !col.is_empty() {
                props.push(format!("col={col}"));
            }
        }
        props.push(format!("title={}", escape_property(title)));
        out.push_str(&format!(
            "::{level} {}::{}\n",
            props.join(","),
            escape_data(message)
        ));
    };
    for l in analysis.loaders.iter().filter(|l| l.n_plus_one) {
        let strategy = l.strategy.map_or("root".to_string(), |s| s.to_string());
        line(
            "warning",
            defined_at(model, &l.loader).as_deref(),
            &format!("N+1 {}", l.loader),
            &format!(
                "{} runs one statement per parent under {strategy}: {} statements. selectin or joined load them in one or two.",
                l.loader, l.statements
            ),
        );
    }
    for b in breaches {
        let mut message = b.what.clone();
        if let Some(example) = &b.example {
            message.push_str(&format!("\n{example}"));
        }
        line(
            "error",
            b.defined_at.as_deref(),
            &format!("query budget: {}", b.loader),
            &message,
        );
    }
    out
}

/// A workflow command's message: `%`, CR and LF escaped.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The breaches as stderr shows them: one paragraph each.
pub fn report(breaches: &[Breach]) -> String {
    let mut out = String::new();
    for b in breaches {
        out.push_str(&format!("budget: {}: {}\n", b.loader, b.what));
        if let Some(place) = &b.defined_at {
            out.push_str(&format!("  --> {place}\n"));
        }
        if !b.statements.is_empty() {
            let shown: Vec<String> = b
                .statements
                .iter()
                .take(10)
                .map(|s| format!("#{s}"))
                .collect();
            let more = b.statements.len().saturating_sub(shown.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            out.push_str(&format!("  statements {}{more}\n", shown.join(", ")));
        }
        if let Some(example) = &b.example {
            out.push_str(&format!("  {example}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Origin, QueryLog, Statement, StatementKind};
    use rusqlite::types::Value;

    fn statement(seq: usize, loader: &str, sql: &str, param: i64) -> Statement {
        Statement {
            seq,
            origin: Origin {
                loader: loader.into(),
                path: Some("manager".into()),
                strategy: Some(crate::strategy::Strategy::Select),
                kind: StatementKind::PerParent,
            },
            sql: sql.into(),
            params: vec![Value::Integer(param)],
            rows: 1,
            duration: std::time::Duration::ZERO,
            step: None,
            section: 0,
            distinct: None,
        }
    }

    #[test]
    fn the_same_statement_with_the_same_parameters_is_a_duplicate() {
        let sql = "SELECT users.id FROM users WHERE users.id = ? AND users.name = 'x'";
        let outcome = Outcome {
            root: "User".into(),
            limit: None,
            strategies: Vec::new(),
            relationships: Vec::new(),
            log: QueryLog {
                statements: vec![
                    statement(1, "User.manager", sql, 7),
                    statement(2, "User.manager", sql, 7),
                    statement(3, "User.manager", sql, 8),
                ],
                ..QueryLog::default()
            },
            graph: Vec::new(),
            errors: Vec::new(),
        };
        let ws = crate::cli::workspace::open(None, &[], false, None).unwrap();
        let model = ws.model;
        let budget = Budget {
            fail_on: vec![Finding::Duplicate],
            ..Budget::default()
        };
        let breaches = budget.check(&model, &outcome);
        assert_eq!(breaches.len(), 1, "{breaches:?}");
        assert_eq!(
            breaches[0].what,
            "1 statement ran again with the same parameters"
        );
        assert_eq!(breaches[0].statements, vec![2]);
        assert_eq!(breaches[0].loader, "User.manager");
        // Not asked for: nothing.
        assert!(Budget::default().check(&model, &outcome).is_empty());
    }
}
