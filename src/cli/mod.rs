//! The command line: the explorer (no subcommand), `trace`, `compare`,
//! `sample`, `model`. Exit codes: 0 success, 1 error, 2 bad usage, 3 a
//! query budget broken (`--max-statements`, `--fail-on`).

pub mod budget;
pub mod compare;
pub mod junit;
pub mod report;
pub mod sample;
pub mod sample_postgresql;
pub mod scale;
pub mod trace;
pub mod workspace;

use crate::model::{Diagnostic, Model};
use crate::navigation::Navigation;
use crate::strategy::Strategy;
use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "loadscope",
    version,
    about = "See what an ORM's relationship loaders really do to a database",
    long_about = "See what an ORM's relationship loaders really do to a database.\n\n\
        Without a subcommand, opens the explorer on DB (or the built-in sample): browse \
        the rows, expand relationships, switch loader strategies (SQLAlchemy's lazy= \
        values) and watch every SQL statement they send.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub open: OpenArgs,
    /// The entity whose rows the explorer lists first (default: the
    /// model's first; `o` chooses another)
    #[arg(long, value_name = "ENTITY")]
    pub root: Option<String>,
}

/// Which database and model to use.
#[derive(Args, Debug, Clone, Default)]
pub struct OpenArgs {
    /// SQLite file or postgresql:// URL, opened read-only (default: the
    /// built-in sample)
    #[arg(value_name = "DB")]
    pub db: Option<PathBuf>,
    /// Model: a .toml, or SQLAlchemy models .py files and directories of
    /// them, read together (repeatable; default: the sample's model, or
    /// inferred from foreign keys for a user database)
    #[arg(long, value_name = "FILE|DIR")]
    pub model: Vec<PathBuf>,
    /// Load a .py model even where it misuses SQLAlchemy (as warnings)
    #[arg(long)]
    pub lenient: bool,
    /// PostgreSQL: the driver whose SQL to show, psycopg2's (`%(param_1)s`)
    /// or psycopg 3's (`%(param_1)s::INTEGER`)
    #[arg(long, value_enum, value_name = "DRIVER")]
    pub driver: Option<DriverArg>,
    /// Measure the explorer headless (first frame, G, keypress, memory)
    #[arg(long, hide = true)]
    pub bench_startup: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one navigation headless and print its statement log
    Trace(TraceArgs),
    /// Run the same navigation under every strategy, one row each
    Compare(CompareArgs),
    /// Write a generated database of any size (same seed, same data)
    Sample(SampleArgs),
    /// Print the model (inferred from foreign keys, or a model file) as TOML
    Model(ModelArgs),
}

#[derive(Args, Debug, Clone)]
pub struct NavArgs {
    /// SQLite file or postgresql:// URL, opened read-only (default: the
    /// built-in sample)
    #[arg(value_name = "DB", conflicts_with = "db")]
    pub db_path: Option<PathBuf>,
    /// The database, as a flag (the same as DB)
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Model: a .toml, or .py files and directories (repeatable; default:
    /// the sample's, or inferred)
    #[arg(long, value_name = "FILE|DIR")]
    pub model: Vec<PathBuf>,
    /// Load a .py model even where it misuses SQLAlchemy (as warnings)
    #[arg(long)]
    pub lenient: bool,
    /// PostgreSQL: the driver whose SQL to show, psycopg2's (`%(param_1)s`)
    /// or psycopg 3's (`%(param_1)s::INTEGER`)
    #[arg(long, value_enum, value_name = "DRIVER")]
    pub driver: Option<DriverArg>,
    /// Root entity (default: the model's first)
    #[arg(long, value_name = "ENTITY")]
    pub root: Option<String>,
    /// Load only the first K roots (SQLAlchemy's .limit(K)); default: all
    #[arg(
        long,
        value_name = "K",
        allow_negative_numbers = true,
        value_parser = clap::value_parser!(i64).range(0..)
    )]
    pub limit: Option<i64>,
    /// Relationship paths to touch, comma-separated (posts,posts.comments);
    /// default: every relationship of the root
    #[arg(long, value_name = "PATHS", value_delimiter = ',')]
    pub expand: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Fail (exit 3) above N statements in all
    #[arg(long, value_name = "N")]
    pub max_statements: Option<usize>,
    /// Fail (exit 3) when one loader issues more than N statements
    #[arg(long, value_name = "N")]
    pub max_per_loader: Option<usize>,
    /// Fail (exit 3) on these findings, comma-separated
    #[arg(long, value_name = "FINDINGS", value_delimiter = ',', value_enum)]
    pub fail_on: Vec<budget::Finding>,
}

#[derive(Args, Debug, Clone)]
pub struct TraceArgs {
    #[command(flatten)]
    pub nav: NavArgs,
    /// Strategy for every expanded path, or PATH=NAME for one path
    /// (repeatable); default: each relationship's lazy from the model
    #[arg(long, value_name = "NAME|PATH=NAME")]
    pub strategy: Vec<String>,
    /// A dynamic relationship's `.filter(EXPR)`, an SQL condition on its
    /// target (`posts:posts.id > 3`; PATH may be left out when one path is
    /// expanded) (repeatable)
    #[arg(long, value_name = "[PATH:]EXPR")]
    pub filter: Vec<String>,
    /// A dynamic relationship's `.order_by(EXPR)` (`posts:posts.id DESC`)
    /// (repeatable)
    #[arg(long, value_name = "[PATH:]EXPR")]
    pub order_by: Vec<String>,
    /// Fail (exit 3) only on budget findings FILE does not hold
    #[arg(long, value_name = "FILE", conflicts_with = "update_baseline")]
    pub baseline: Option<PathBuf>,
    /// Write this run's budget findings to FILE, for --baseline
    #[arg(long, value_name = "FILE")]
    pub update_baseline: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    #[command(flatten)]
    pub nav: NavArgs,
    /// Also run at these multiples of --limit (default 10) and say per
    /// strategy how the statement count grows: constant, linear (k per
    /// parent) or batched (per 500 parents)
    #[arg(long, value_name = "M,M", value_delimiter = ',', value_parser = clap::value_parser!(u32).range(2..))]
    pub scale: Vec<u32>,
}

#[derive(Args, Debug, Clone)]
pub struct SampleArgs {
    /// Number of users
    #[arg(long)]
    pub users: u64,
    /// Average posts per user
    #[arg(long, default_value_t = 10)]
    pub posts_per_user: u64,
    /// Seed of the generator: the same seed gives the same data
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The database file to write, or a postgresql://…/NEWDB URL (a new
    /// database, created)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace FILE if it exists
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    #[command(flatten)]
    pub open: OpenArgs,
}

/// `--driver`: SQLAlchemy's PostgreSQL driver, for the SQL shown.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriverArg {
    Psycopg2,
    Psycopg,
}

impl From<DriverArg> for crate::dialect::Driver {
    fn from(driver: DriverArg) -> Self {
        match driver {
            DriverArg::Psycopg2 => crate::dialect::Driver::Psycopg2,
            DriverArg::Psycopg => crate::dialect::Driver::Psycopg,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
    /// GitHub Actions workflow annotations, at the model's lines (trace)
    Github,
    /// JUnit XML: a test case per loader (path and strategy), budget
    /// breaches as failures
    Junit,
}

/// Arguments that parse but do not make sense (an unknown strategy, path
/// or entity): bad usage, exit code 2 like clap's own errors.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(error: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(UsageError(format!("{error:#}")))
}

/// Parses the arguments, runs the command and reports errors: the whole
/// program, behind a thin `main`. Exit codes: 0, 1 on error, 2 on bad usage.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(exceeded) = error.downcast_ref::<budget::BudgetExceeded>() {
                // The report is on stdout already; the breaches go to stderr.
                eprint!("{exceeded}");
                return ExitCode::from(3);
            }
            report_error(&error);
            if error.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Writes a report to stdout. A reader that went away (`| head`) ends the
/// output quietly: what it did not want is not an error.
pub fn print_out(text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Prints an error: a model diagnostic as it is (it is already a full
/// screen), anything else as `error: ...` with its causes.
pub fn report_error(error: &anyhow::Error) {
    if let Some(diagnostic) = error.downcast_ref::<Diagnostic>() {
        eprintln!("{diagnostic}");
    } else {
        eprintln!("error: {error:#}");
    }
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None if cli.open.bench_startup => crate::tui::bench::run(&cli.open),
        None => {
            // `loadscope tarce`: a mistyped command reads as a database path.
            if let Some(db) = &cli.open.db
                && !db.exists()
                && db.extension().is_none()
                && db.components().count() == 1
            {
                let name = db.to_string_lossy();
                let hint = crate::model::diagnostic::nearest(
                    &name,
                    ["trace", "compare", "sample", "model", "help"],
                );
                if let Some(command) = hint.first() {
                    return Err(usage(anyhow::anyhow!(
                        "{name}: no such file, and not a command; did you mean the command `{command}`?"
                    )));
                }
            }
            crate::tui::run(&cli.open, cli.root.as_deref())
        }
        Some(Command::Trace(args)) => trace::run(&args),
        Some(Command::Compare(args)) => compare::run(&args),
        Some(Command::Sample(args)) => {
            let summary = sample::generate(&sample::SampleOptions {
                users: args.users,
                posts_per_user: args.posts_per_user,
                seed: args.seed,
                out: args.out.clone(),
                force: args.force,
            })?;
            println!(
                "wrote {}: {} users, {} posts, {} comments, {} tags, {} post_tags",
                args.out.display(),
                summary.users,
                summary.posts,
                summary.comments,
                summary.tags,
                summary.post_tags
            );
            Ok(())
        }
        Some(Command::Model(args)) => {
            let ws = args.open.open()?;
            print_warnings(&ws.model);
            print_out(&crate::model::toml::write(&ws.model.to_spec()))?;
            Ok(())
        }
    }
}

/// Warnings of a model (things a .py model could not map), on stderr.
pub fn print_warnings(model: &Model) {
    for warning in &model.warnings {
        eprintln!("{warning}");
    }
}

/// The navigation the arguments ask for; what does not fit the model is
/// a usage error.
pub fn navigation(model: &Model, args: &NavArgs, strategies: &[String]) -> Result<Navigation> {
    navigation_of(model, args, strategies).map_err(usage)
}

impl OpenArgs {
    /// The database and model the arguments name.
    pub fn open(&self) -> Result<workspace::Workspace> {
        workspace::open(
            self.db.as_deref(),
            &self.model,
            self.lenient,
            self.driver.map(Into::into),
        )
    }
}

impl NavArgs {
    /// The database and model the arguments name.
    pub fn open(&self) -> Result<workspace::Workspace> {
        workspace::open(
            self.database(),
            &self.model,
            self.lenient,
            self.driver.map(Into::into),
        )
    }

    /// The query budget the arguments set.
    pub fn budget(&self) -> budget::Budget {
        budget::Budget {
            max_statements: self.max_statements,
            max_per_loader: self.max_per_loader,
            fail_on: self.fail_on.clone(),
        }
    }

    /// The database, given as DB or as `--db`.
    pub fn database(&self) -> Option<&std::path::Path> {
        self.db.as_deref().or(self.db_path.as_deref())
    }
}

/// The entity named `name` (the model's first without one), or a usage
/// error that lists the entities.
pub fn root_entity(model: &Model, name: Option<&str>) -> Result<crate::model::EntityId> {
    let Some(name) = name else {
        return Ok(crate::model::EntityId(0));
    };
    model.entity_by_name(name).ok_or_else(|| {
        let names: Vec<&str> = model.entities.iter().map(|e| e.name.as_str()).collect();
        usage(anyhow::anyhow!(
            "unknown root entity `{name}`; entities: {}{}",
            names.join(", "),
            crate::model::diagnostic::did_you_mean(name, names.iter().copied())
        ))
    })
}

fn navigation_of(model: &Model, args: &NavArgs, strategies: &[String]) -> Result<Navigation> {
    let root = root_entity(model, args.root.as_deref())?;
    if let Some(limit) = args.limit
        && limit < 0
    {
        bail!("--limit must be 0 or more, not {limit}");
    }
    let mut nav = Navigation::default_for(model, root, args.limit);
    let expand: Vec<String> = args
        .expand
        .iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    if !expand.is_empty() {
        nav.expand = expand;
    }
    for item in strategies {
        match item.split_once('=') {
            Some((path, name)) => nav
                .strategies
                .push((path.trim().to_string(), parse_strategy(name)?)),
            None => {
                let strategy = parse_strategy(item)?;
                nav.strategies = nav.paths().into_iter().map(|p| (p, strategy)).collect();
            }
        }
    }
    // Check the paths now, for a clear message.
    let mut plan = crate::plan::LoadPlan::new(root);
    for path in nav
        .expand
        .iter()
        .chain(nav.strategies.iter().map(|(p, _)| p))
    {
        plan.add_path(model, path)?;
    }
    Ok(nav)
}

/// `--filter` and `--order-by` into the navigation's dynamic queries:
/// `PATH:EXPR` for an expanded path, or `EXPR` when one path is expanded
/// (an `EXPR` may hold `:` itself: `posts.id::int`, `'a:b'`).
pub fn dynamic_queries(nav: &mut Navigation, filters: &[String], orders: &[String]) -> Result<()> {
    use crate::loader::dynamic::{DynamicQuery, check_filter, check_order};
    let paths = nav.paths();
    let mut queries: Vec<(String, DynamicQuery)> = Vec::new();
    for (flag, items) in [("--filter", filters), ("--order-by", orders)] {
        for item in items {
            // `posts.id::int > 3` is a cast, not a path.
            let prefix = item
                .split_once(':')
                .filter(|(path, expr)| is_path_like(path) && !expr.starts_with(':'));
            let (path, expr) = match prefix {
                Some((path, expr)) if paths.iter().any(|p| p == path.trim()) => {
                    (path.trim().to_string(), expr.trim())
                }
                Some((path, _)) => {
                    return Err(usage(anyhow::anyhow!(
                        "{flag} {item:?}: `{}` is not an expanded path (expanded: {})",
                        path.trim(),
                        paths.join(", ")
                    )));
                }
                _ => match &paths[..] {
                    [only] => (only.clone(), item.trim()),
                    _ => {
                        return Err(usage(anyhow::anyhow!(
                            "{flag} {item:?}: say which path it shapes, as PATH:EXPR \
                             (expanded: {})",
                            paths.join(", ")
                        )));
                    }
                },
            };
            let i = match queries.iter().position(|(p, _)| *p == path) {
                Some(i) => i,
                None => {
                    queries.push((path, DynamicQuery::default()));
                    queries.len() - 1
                }
            };
            let query = &mut queries[i].1;
            // Each is one clause: a second --filter for a path is ANDed, a
            // second --order-by appended, as chained calls would be.
            if flag == "--filter" {
                check_filter(expr).map_err(usage)?;
                query.filter = Some(match &query.filter {
                    Some(before) => format!("({before}) AND ({expr})"),
                    None => expr.to_string(),
                });
            } else {
                check_order(expr).map_err(usage)?;
                query.order_by = Some(match &query.order_by {
                    Some(before) => format!("{before}, {expr}"),
                    None => expr.to_string(),
                });
            }
        }
    }
    nav.queries = queries;
    Ok(())
}

/// `posts` or `posts.comments`: names joined by dots, nothing else.
fn is_path_like(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text
            .split('.')
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_'))
}

pub fn parse_strategy(name: &str) -> Result<Strategy> {
    Strategy::parse(name).ok_or_else(|| {
        let names = Strategy::names();
        anyhow::anyhow!(
            "unknown strategy `{}`; strategies: {}{}",
            name.trim(),
            names.join(", "),
            crate::model::diagnostic::did_you_mean(name.trim(), names.iter().copied())
        )
    })
}
