//! `loadscope trace`: one navigation, headless, its statement log printed.

use super::{Format, TraceArgs, navigation, print_warnings, report, workspace};
use crate::navigation as nav;
use anyhow::Result;

pub fn run(args: &TraceArgs) -> Result<()> {
    let ws = workspace::open(args.nav.database(), &args.nav.model, args.nav.lenient)?;
    print_warnings(&ws.model);
    let navigation = navigation(&ws.model, &args.nav, &args.strategy)?;
    let outcome = nav::run(&ws.model, &ws.conn, &navigation)?;
    match args.nav.format {
        Format::Text => print!("{}", report::to_text(&outcome)),
        Format::Markdown => print!("{}", report::to_markdown(&outcome)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report::to_json(&outcome))?
        ),
    }
    let breaches = args.nav.budget().check(&ws.model, &outcome);
    if !breaches.is_empty() {
        return Err(super::budget::BudgetExceeded(super::budget::report(&breaches)).into());
    }
    Ok(())
}
