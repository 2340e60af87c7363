//! `loadscope compare`: the same navigation under every strategy, each in
//! a fresh session, one row each.

use super::{CompareArgs, Format, navigation, print_warnings, report, workspace};
use crate::analysis::format_duration;
use crate::model::Direction;
use crate::navigation::{self as nav, Outcome};
use crate::strategy::Strategy;
use anyhow::Result;

pub fn run(compare_args: &CompareArgs) -> Result<()> {
    let args = &compare_args.nav;
    if args.format == Format::Github {
        return Err(anyhow::Error::new(super::UsageError(
            "--format github annotates one run: use it with trace".to_string(),
        )));
    }
    let ws = args.open()?;
    print_warnings(&ws.model);
    let base = navigation(&ws.model, args, &[])?;
    if !compare_args.scale.is_empty() {
        return scale(&ws, &base, &compare_args.scale, args.format);
    }
    let outcomes = compare(&ws.model, &ws.conn, &base)?;
    match args.format {
        Format::Json => {
            let all: Vec<&Outcome> = outcomes.iter().map(|(_, o)| o).collect();
            report::write_json(&all, true, std::io::stdout().lock())?;
        }
        Format::Text => super::print_out(&text(&outcomes))?,
        Format::Markdown => super::print_out(&markdown(&outcomes))?,
        Format::Junit => {
            let budget = args.budget();
            let runs: Vec<(String, &Outcome, Vec<super::budget::Breach>)> = outcomes
                .iter()
                .map(|(s, o)| {
                    let title = format!("loadscope compare {} under {s}", o.root);
                    (title, o, budget.check(&ws.model, o))
                })
                .collect();
            super::print_out(&super::junit::write(&ws.model, &runs))?;
        }
        Format::Github => unreachable!("refused above"),
    }
    // Under a budget, compare asks: does any strategy keep it? It fails
    // (exit 3) only when none does, and says what broke each.
    let budget = args.budget();
    if !budget.is_empty() {
        let checked: Vec<(Strategy, Vec<super::budget::Breach>)> = outcomes
            .iter()
            .map(|(s, o)| (*s, budget.check(&ws.model, o)))
            .collect();
        // A strategy that refuses the accesses or loads nothing (raise,
        // noload) keeps any budget and cures nothing: not counted.
        let loads = |(s, o): &(Strategy, Outcome)| {
            o.errors.is_empty()
                && crate::loader::for_strategy(*s).on_first_sight()
                    != crate::loader::FirstSight::Empty
        };
        let keep: Vec<String> = checked
            .iter()
            .zip(&outcomes)
            .filter(|((_, b), run)| b.is_empty() && loads(run))
            .map(|((s, _), _)| s.to_string())
            .collect();
        if keep.is_empty() {
            // (Strategies that load nothing count as breaking it.)
            let mut text = String::from("budget: no strategy keeps it\n");
            for (strategy, breaches) in &checked {
                text.push_str(&format!("under {strategy}:\n"));
                if breaches.is_empty() {
                    text.push_str("  keeps it, but loads nothing (refused, or left empty)\n");
                }
                for line in super::budget::report(breaches).lines() {
                    text.push_str(&format!("  {line}\n"));
                }
            }
            return Err(super::budget::BudgetExceeded(text).into());
        }
        eprintln!("budget kept by: {}", keep.join(", "));
    }
    Ok(())
}

/// `--scale`: every strategy at the limit and its multiples, with each
/// one's verdict.
fn scale(
    ws: &workspace::Workspace,
    base: &nav::Navigation,
    factors: &[u32],
    format: Format,
) -> Result<()> {
    use super::scale::{DEFAULT_BASE, series, text};
    if !matches!(format, Format::Text | Format::Json) {
        return Err(anyhow::Error::new(super::UsageError(
            "--scale prints text or json".to_string(),
        )));
    }
    let first = base.limit.filter(|l| *l > 0).unwrap_or(DEFAULT_BASE);
    let limits: Vec<i64> = std::iter::once(first)
        .chain(factors.iter().map(|f| first * i64::from(*f)))
        .collect();
    let runs = limits
        .iter()
        .map(|limit| {
            let at = nav::Navigation {
                limit: Some(*limit),
                ..base.clone()
            };
            compare(&ws.model, &ws.conn, &at)
        })
        .collect::<Result<Vec<_>>>()?;
    // The batch sizes of the expanded relationships (selectin's).
    let mut chunksizes: Vec<usize> = base
        .paths()
        .iter()
        .filter_map(|path| {
            let mut plan = crate::plan::LoadPlan::new(base.root);
            let node = plan.add_path(&ws.model, path).ok()?;
            Some(ws.model.rel(plan.node(node).rel?).chunksize)
        })
        .collect();
    chunksizes.sort_unstable();
    chunksizes.dedup();
    let all = series(&limits, &runs, &chunksizes);
    match format {
        Format::Json => {
            let mut out = serde_json::to_string_pretty(&all)?;
            out.push('\n');
            super::print_out(&out)
        }
        _ => {
            let heading = runs.first().map(|r| heading(r)).unwrap_or_default();
            super::print_out(&text(&heading, &all))
        }
    }
}

/// Runs `base` once per strategy. Strategies that cannot apply to one of
/// the expanded paths (dynamic and write_only on a many-to-one) are left
/// out, as SQLAlchemy would refuse that mapping.
pub fn compare(
    model: &crate::model::Model,
    conn: &crate::db::TracedConnection,
    base: &nav::Navigation,
) -> Result<Vec<(Strategy, Outcome)>> {
    let has_many_to_one = base.expand.iter().any(|path| {
        let mut plan = crate::plan::LoadPlan::new(base.root);
        plan.add_path(model, path)
            .ok()
            .and_then(|n| plan.node(n).rel)
            .is_some_and(|r| model.rel(r).direction == Direction::ManyToOne)
    });
    // A dynamic or write-only mapping refuses eager options (SQLAlchemy's
    // words, once per strategy left out).
    let effects = |strategy: Strategy| {
        base.expand
            .iter()
            .filter_map(|path| {
                let mut plan = crate::plan::LoadPlan::new(base.root);
                let rel = model.rel(
                    plan.add_path(model, path)
                        .ok()
                        .and_then(|n| plan.node(n).rel)?,
                );
                let display = model.rel_display(rel.id);
                let effect =
                    crate::strategy::option_on_query_attribute(rel.lazy, strategy, &display)?;
                Some((display, rel.lazy, effect))
            })
            .collect::<Vec<_>>()
    };
    let refusal = |strategy: Strategy| {
        let effects = effects(strategy);
        for (display, lazy, effect) in &effects {
            if effect.is_ok() {
                eprintln!(
                    "note: {strategy} leaves {display} {} (a lazy-style option does not change it)",
                    lazy.lazy_value()
                );
            }
        }
        effects.into_iter().find_map(|(_, _, effect)| effect.err())
    };
    let mut out = Vec::new();
    for strategy in Strategy::ALL {
        if has_many_to_one && strategy.attribute().needs_collection() {
            continue;
        }
        if let Some(refusal) = refusal(strategy) {
            eprintln!("note: {strategy} left out: {refusal}");
            continue;
        }
        out.push((
            strategy,
            nav::run(model, conn, &base.with_strategy(strategy))?,
        ));
    }
    Ok(out)
}

struct Row {
    strategy: String,
    statements: usize,
    rows: usize,
    duplicated: usize,
    time: String,
    errors: usize,
}

fn rows(outcomes: &[(Strategy, Outcome)]) -> Vec<Row> {
    outcomes
        .iter()
        .map(|(s, o)| Row {
            strategy: if s.is_deprecated() {
                format!("{s} (deprecated)")
            } else {
                s.to_string()
            },
            statements: o.log.statements.len(),
            rows: o.log.total_rows(),
            duplicated: report::duplicated_rows(o),
            time: format_duration(o.log.total_duration()),
            errors: o.errors.len(),
        })
        .collect()
}

/// `User (limit 5) · posts`: the navigation every row ran.
fn heading(outcomes: &[(Strategy, Outcome)]) -> String {
    let Some((_, first)) = outcomes.first() else {
        return String::new();
    };
    format!(
        "{} ({}) · {}",
        first.root,
        first
            .limit
            .map_or("all".to_string(), |k| format!("limit {k}")),
        first
            .strategies
            .iter()
            .map(|(p, _)| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn text(outcomes: &[(Strategy, Outcome)]) -> String {
    if outcomes.is_empty() {
        return String::new();
    }
    let mut out = format!("{}\n\n", heading(outcomes));
    out.push_str(&format!(
        "{:<24} {:>10} {:>8} {:>11} {:>10} {:>7}\n",
        "strategy", "statements", "rows", "duplicated", "time", "errors"
    ));
    for r in rows(outcomes) {
        out.push_str(&format!(
            "{:<24} {:>10} {:>8} {:>11} {:>10} {:>7}\n",
            r.strategy, r.statements, r.rows, r.duplicated, r.time, r.errors
        ));
    }
    out
}

fn markdown(outcomes: &[(Strategy, Outcome)]) -> String {
    let mut out = format!(
        "### {}\n\n| strategy | statements | rows | duplicated rows | time | errors |\n|---|---:|---:|---:|---:|---:|\n",
        heading(outcomes)
    );
    for r in rows(outcomes) {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            r.strategy, r.statements, r.rows, r.duplicated, r.time, r.errors
        ));
    }
    // Each strategy's statements, as a post would quote them.
    for (strategy, outcome) in outcomes {
        out.push_str(&format!("\n#### `{strategy}`\n\n```sql\n"));
        for s in &outcome.log.statements {
            let sql = crate::analysis::shape::pretty(&s.sql);
            out.push_str(&format!(
                "-- #{} {} ({} row{})\n{sql};\n",
                s.seq,
                s.origin.loader,
                s.rows,
                if s.rows == 1 { "" } else { "s" },
            ));
        }
        out.push_str("```\n");
    }
    out
}
