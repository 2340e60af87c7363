//! `loadscope trace`: one navigation, headless, its statement log printed.

use super::budget::{Baseline, BudgetExceeded, report};
use super::{Format, TraceArgs, navigation, print_warnings};
use crate::navigation as nav;
use anyhow::Result;

pub fn run(args: &TraceArgs) -> Result<()> {
    let ws = args.nav.open()?;
    print_warnings(&ws.model);
    let mut navigation = navigation(&ws.model, &args.nav, &args.strategy)?;
    super::dynamic_queries(&mut navigation, &args.filter, &args.order_by)?;
    if (args.baseline.is_some() || args.update_baseline.is_some()) && args.nav.budget().is_empty() {
        return Err(anyhow::Error::new(super::UsageError(
            "a baseline holds budget findings: say which with --fail-on n+1,duplicate,raise, \
             --max-statements or --max-per-loader"
                .to_string(),
        )));
    }
    // A baseline that cannot be read fails before anything runs.
    let stored = args.baseline.as_deref().map(Baseline::read).transpose()?;
    let outcome = nav::run(&ws.model, &ws.conn, &navigation)?;
    match args.nav.format {
        Format::Text => super::print_out(&super::report::to_text(&outcome))?,
        Format::Markdown => super::print_out(&super::report::to_markdown(&outcome))?,
        Format::Json => super::report::write_json(&[&outcome], false, std::io::stdout().lock())?,
        // (Written below, with the budget's findings.)
        Format::Github | Format::Junit => {}
    }
    let breaches = args.nav.budget().check(&ws.model, &outcome);
    match args.nav.format {
        Format::Github => super::print_out(&super::budget::github_annotations(
            &ws.model, &outcome, &breaches,
        ))?,
        Format::Junit => {
            let title = format!("loadscope trace {}", outcome.root);
            super::print_out(&super::junit::write(
                &ws.model,
                &[(title, &outcome, breaches.clone())],
            ))?
        }
        _ => {}
    }
    if let Some(path) = &args.update_baseline {
        Baseline::of(&breaches).write(path)?;
        eprintln!(
            "baseline: {} finding{} written to {}",
            breaches.len(),
            if breaches.len() == 1 { "" } else { "s" },
            path.display()
        );
        return Ok(());
    }
    if let (Some(path), Some(stored)) = (&args.baseline, stored) {
        let now = Baseline::of(&breaches);
        let new: Vec<_> = breaches
            .iter()
            .filter(|b| !stored.findings.contains(&b.fingerprint()))
            .cloned()
            .collect();
        let fixed: Vec<&String> = stored
            .findings
            .iter()
            .filter(|f| !now.findings.contains(f))
            .collect();
        let unchanged = now.findings.len() - new.len().min(now.findings.len());
        let mut text = format!(
            "baseline {}: {} new, {} fixed, {unchanged} unchanged\n",
            path.display(),
            new.len(),
            fixed.len()
        );
        for f in &fixed {
            text.push_str(&format!("fixed: {f}\n"));
        }
        if new.is_empty() {
            eprint!("{text}");
            return Ok(());
        }
        text.push_str(&report(&new));
        return Err(BudgetExceeded(text).into());
    }
    if !breaches.is_empty() {
        return Err(BudgetExceeded(report(&breaches)).into());
    }
    Ok(())
}
