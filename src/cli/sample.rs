//! `loadscope sample`: writes a larger copy of the sample blog database.
//!
//! The schema is taken from the built-in sample (`sample-db/blog.sql`, via
//! [`SAMPLE_SQL`]) so the two can never drift apart; only the rows are
//! generated. A few choices keep this fast and repeatable:
//!
//! - Everything is written in one transaction with the journal and syncing
//!   turned off. That is safe here because the file is new and private: it is
//!   built under `<out>.partial` and renamed into place only once complete, so
//!   an interrupted run never leaves a half-written file under the final name.
//! - The indexes are created after the rows are inserted: building an index
//!   once by sorting is much cheaper than updating it on every insert.
//! - Rows come from a small hand-written PRNG (splitmix64) seeded by
//!   `--seed`, so the same options always give the same database, on every
//!   platform and independently of any crate's versioning of its generator.

use crate::db::open::SAMPLE_SQL;
use anyhow::{Context, Result, bail, ensure};
use rusqlite::{Connection, Statement};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// What to generate, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOptions {
    /// Number of users (at least 1); user 1 is always "John".
    pub users: u64,
    /// Average number of posts per user (at most [`MAX_POSTS_PER_USER`]).
    pub posts_per_user: u64,
    /// Seed of the generator: the same options give the same rows.
    pub seed: u64,
    /// The database file to create.
    pub out: PathBuf,
    /// Replace `out` if it already exists.
    pub force: bool,
}

/// Row counts of the database that was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleSummary {
    pub users: u64,
    pub posts: u64,
    pub comments: u64,
    pub tags: u64,
    pub post_tags: u64,
}

/// Upper bound of `posts_per_user`, which keeps one batch of posts in memory
/// small (see [`AUTHOR_WINDOW`]).
pub const MAX_POSTS_PER_USER: u64 = 10_000;

/// Generates the database described by `options`; see the module docs.
pub fn generate(options: &SampleOptions) -> Result<SampleSummary> {
    if options.users < 1 {
        return Err(anyhow::Error::new(super::UsageError(
            "--users must be at least 1".to_string(),
        )));
    }
    ensure!(
        i64::try_from(options.users).is_ok(),
        "--users must be at most {}",
        i64::MAX
    );
    ensure!(
        options.posts_per_user <= MAX_POSTS_PER_USER,
        "--posts-per-user must be at most {MAX_POSTS_PER_USER}"
    );

    let out = &options.out;
    if crate::db::postgresql::is_url(&out.to_string_lossy()) {
        return super::sample_postgresql::generate(options, &out.to_string_lossy());
    }
    // Checked before the work too, so a mistake costs nothing.
    if !options.force && exists(out)? {
        bail!(already_exists(out));
    }

    let partial = with_suffix(out, ".partial");
    // A previous interrupted run may have left its partial file behind.
    remove_database_files(&partial)?;
    let result = write_database(&partial, options).and_then(|summary| {
        move_into_place(&partial, out, options.force)?;
        Ok(summary)
    });
    if result.is_err() {
        // Best effort: the original error matters more than this one.
        let _ = remove_database_files(&partial);
    }
    result
}

fn already_exists(path: &Path) -> String {
    format!(
        "{} already exists; pass --force to overwrite it",
        path.display()
    )
}

/// Renames the finished `partial` file to `out`, replacing `out` only if
/// `force`.
fn move_into_place(partial: &Path, out: &Path, force: bool) -> Result<()> {
    if force {
        // Stale -wal/-shm/-journal files would be applied to the new file by
        // the next connection, so they go together with the old database.
        remove_database_files(out)?;
    } else if exists(out)? {
        bail!(already_exists(out));
    }
    fs::rename(partial, out)
        .with_context(|| format!("renaming {} to {}", partial.display(), out.display()))
}

fn exists(path: &Path) -> Result<bool> {
    // `symlink_metadata` so that a dangling symlink also counts as "exists".
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error).with_context(|| format!("checking {}", path.display())),
    }
}

/// `path` with `suffix` appended to its file name (`blog.db` -> `blog.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes a database file and the companion files SQLite may keep next to it.
fn remove_database_files(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = with_suffix(path, suffix);
        match fs::remove_file(&file) {
            Ok(()) => {}
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| format!("removing {}", file.display()));
            }
        }
    }
    Ok(())
}

fn write_database(path: &Path, options: &SampleOptions) -> Result<SampleSummary> {
    let shown = path.display();
    let mut conn =
        Connection::open(path).with_context(|| format!("{shown}: cannot create the database"))?;
    // No journal and no fsync: this file is new and is only renamed into
    // place once complete, so there is nothing a crash could corrupt. No
    // foreign key checks either: batches of comments are inserted before
    // the batch holding their post, and the generator only ever refers to
    // rows it writes (the tests run `PRAGMA foreign_key_check`). The page
    // cache stays at its default size: a larger one makes building the
    // indexes slower, as SQLite then sorts longer lists in memory.
    conn.execute_batch(
        "PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         PRAGMA foreign_keys = OFF;",
    )
    .with_context(|| format!("{shown}: cannot configure the new database"))?;

    let summary = fill(&mut conn, options).with_context(|| format!("{shown}: writing"))?;
    conn.close()
        .map_err(|(_, error)| error)
        .with_context(|| format!("{shown}: closing the database"))?;
    Ok(summary)
}

/// Creates the sample's tables in `conn` and generates its rows and
/// indexes, in one transaction.
pub(super) fn fill(conn: &mut Connection, options: &SampleOptions) -> Result<SampleSummary> {
    let (tables, indexes) = sample_schema();
    let tx = conn.transaction()?;
    for statement in &tables {
        tx.execute_batch(statement).context("creating the schema")?;
    }
    let mut rng = SplitMix64::new(options.seed);
    let users = insert_users(&tx, &mut rng, options.users).context("inserting users")?;
    let tags = insert_tags(&tx).context("inserting tags")?;
    let (posts, comments, post_tags) = PostWriter::new(&tx, options)?
        .insert_all(&mut rng)
        .context("inserting posts")?;
    for statement in &indexes {
        tx.execute_batch(statement).context("creating an index")?;
    }
    tx.commit().context("committing the rows")?;
    Ok(SampleSummary {
        users,
        posts,
        comments,
        tags,
        post_tags,
    })
}

/// The sample's DDL, split into the table statements and the index
/// statements (which run after the rows are in). The DDL is everything in
/// [`SAMPLE_SQL`] before its first `INSERT` line.
pub(super) fn sample_schema() -> (Vec<&'static str>, Vec<&'static str>) {
    let mut tables = Vec::new();
    let mut indexes = Vec::new();
    let mut statement_start = None;
    let mut offset = 0;
    for line in SAMPLE_SQL.split_inclusive('\n') {
        if line.starts_with("INSERT") {
            break;
        }
        let line_start = offset;
        offset += line.len();
        // Comments may contain ';' (they do), so only a code line ending in
        // ';' closes a statement.
        let code = line.trim();
        if code.is_empty() || code.starts_with("--") {
            continue;
        }
        let start = *statement_start.get_or_insert(line_start);
        if code.ends_with(';') {
            // Kept verbatim, so sqlite_master records exactly the same SQL
            // as in the in-memory sample.
            let statement = &SAMPLE_SQL[start..offset];
            let upper = statement.to_ascii_uppercase();
            if upper.starts_with("CREATE INDEX") || upper.starts_with("CREATE UNIQUE INDEX") {
                indexes.push(statement);
            } else {
                tables.push(statement);
            }
            statement_start = None;
        }
    }
    (tables, indexes)
}

const FIRST_NAMES: &[&str] = &[
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Karl",
    "Laura", "Mallory", "Nina", "Oscar", "Peggy", "Quentin", "Rupert", "Sybil", "Trent", "Ursula",
    "Victor", "Wendy", "Xavier", "Yvonne", "Zack", "Amber", "Bruno", "Chloe", "Diego", "Elena",
    "Felix", "Gina", "Hugo", "Iris", "Jonas", "Kira", "Liam", "Maya", "Noah",
];

const LAST_NAMES: &[&str] = &[
    "Moreno", "Smith", "Nakamura", "Okafor", "Larsen", "Silva", "Novak", "Kowalski", "Haddad",
    "Schmidt", "Rossi", "Dubois", "Jensen", "Murphy", "Kim", "Patel", "Garcia", "Ivanova", "Costa",
    "Fischer", "Tanaka", "Nguyen", "Berg", "Walsh", "Lopez", "Meyer", "Cohen", "Santos", "Wright",
    "Hughes",
];

fn insert_users(conn: &Connection, rng: &mut SplitMix64, users: u64) -> Result<u64> {
    let mut insert = BatchInsert::new(
        conn,
        "INSERT INTO users (id, name, email, manager_id) VALUES ",
        4,
    )?;
    insert.int(1);
    insert.text("John");
    insert.text("john@example.com");
    insert.null();
    insert.end_row()?;
    // Reused for every row: a million users should not mean two million
    // String allocations.
    let mut name = String::new();
    let mut email = String::new();
    for id in 2..=users {
        let first = rng.pick(FIRST_NAMES);
        let last = rng.pick(LAST_NAMES);
        name.clear();
        write!(name, "{first} {last} {id}")?;
        email.clear();
        push_lowercase(&mut email, first);
        email.push('.');
        push_lowercase(&mut email, last);
        write!(email, ".{id}@example.com")?;
        insert.int(to_id(id));
        insert.text(&name);
        insert.text(&email);
        // A tree with a fan-out of about three: the manager of n is among
        // n/4..=n/2, always a smaller id; about 5% of users have none.
        if rng.below(100) < 5 {
            insert.null();
        } else {
            let low = (id / 4).max(1);
            let high = (id / 2).max(1);
            insert.int(to_id(low + rng.below(high - low + 1)));
        }
        insert.end_row()?;
    }
    insert.finish()?;
    Ok(users)
}

/// The sample's tags, with the same ids.
const TAGS: &[&str] = &[
    "python",
    "rust",
    "sql",
    "sqlite",
    "orm",
    "performance",
    "testing",
    "design",
    "tooling",
    "career",
];

fn insert_tags(conn: &Connection) -> Result<u64> {
    let mut insert = conn.prepare("INSERT INTO tags (id, name) VALUES (?1, ?2)")?;
    for (id, name) in (1..).zip(TAGS) {
        insert.execute((id, name))?;
    }
    Ok(TAGS.len() as u64)
}

/// Title templates; `{}` stands for a topic.
const TITLE_TEMPLATES: &[(&str, &str)] = &[
    ("What I got wrong about ", ""),
    ("Getting started with ", ""),
    ("", " in practice"),
    ("", ": a field guide"),
    ("Notes on ", ""),
    ("Common mistakes with ", ""),
    ("Rethinking ", ""),
    ("A week with ", ""),
    ("Debugging ", ""),
    ("Ten tips for ", ""),
    ("Why I like ", ""),
    ("Lessons from ", ""),
];

const TOPICS: &[&str] = &[
    "remote work",
    "Rust",
    "foreign keys",
    "side projects",
    "query plans",
    "joins",
    "lazy loading",
    "JSON columns",
    "caching",
    "SQLite",
    "Python",
    "coffee",
    "the borrow checker",
    "migrations",
    "CI",
    "refactoring",
    "indexes",
    "Vim",
    "error handling",
    "logging",
    "async code",
    "testing",
    "transactions",
    "ORMs",
];

const POST_BODIES: &[&str] = &[
    "Short post, long title.",
    "Draft, will update.",
    "A few notes written down before I forget them.",
    "I spent a weekend on this; here is what I found.",
    "What follows is mostly a list of links.",
];

const COMMENT_BODIES: &[&str] = &[
    "I disagree with the second point.",
    "This matches my experience.",
    "Does this still hold in 2024?",
    "Can you do a follow-up?",
    "Well explained.",
    "I learned something new today.",
    "Interesting take.",
    "Thanks for writing this.",
    "I had the same problem last week.",
    "Could you share the code?",
    "The diagram helps a lot.",
    "Sharing this with my team.",
    "Nice write-up.",
    "Great post!",
    "Bookmarked.",
    "This saved me an afternoon.",
    "More of this, please.",
    "I tried it and it works.",
    "Clear and to the point.",
    "Typo in the third paragraph.",
    "Which version did you use?",
    "Have you measured it?",
    "Short and useful.",
    "What about PostgreSQL?",
    "How does this scale?",
];

/// Posts are generated for this many consecutive users at a time and
/// shuffled, so post ids interleave across authors (as in the sample, where
/// `ORDER BY` matters) while memory stays bounded.
const AUTHOR_WINDOW: u64 = 64;

/// Inserts posts with their comments and tags, in post id order.
struct PostWriter<'conn> {
    insert_post: BatchInsert<'conn>,
    insert_comment: BatchInsert<'conn>,
    insert_post_tag: BatchInsert<'conn>,
    users: u64,
    posts_per_user: u64,
    clock: Clock,
    title: String,
    body: String,
    created_at: String,
    authors: Vec<u64>,
    posts: u64,
    comments: u64,
    post_tags: u64,
}

impl<'conn> PostWriter<'conn> {
    fn new(conn: &'conn Connection, options: &SampleOptions) -> Result<Self> {
        let expected_posts = u128::from(options.users) * u128::from(options.posts_per_user);
        Ok(Self {
            insert_post: BatchInsert::new(
                conn,
                "INSERT INTO posts (id, title, body, user_id, created_at) VALUES ",
                5,
            )?,
            insert_comment: BatchInsert::new(
                conn,
                "INSERT INTO comments (id, post_id, user_id, body) VALUES ",
                4,
            )?,
            insert_post_tag: BatchInsert::new(
                conn,
                "INSERT INTO post_tags (post_id, tag_id) VALUES ",
                2,
            )?,
            users: options.users,
            posts_per_user: options.posts_per_user,
            clock: Clock::new(expected_posts),
            title: String::new(),
            body: String::new(),
            created_at: String::new(),
            authors: Vec::new(),
            posts: 0,
            comments: 0,
            post_tags: 0,
        })
    }

    /// Inserts every post; returns the numbers of posts, comments and post
    /// tags.
    fn insert_all(mut self, rng: &mut SplitMix64) -> Result<(u64, u64, u64)> {
        let mut first = 1;
        while first <= self.users {
            let last = self.users.min(first + AUTHOR_WINDOW - 1);
            let mut authors = std::mem::take(&mut self.authors);
            authors.clear();
            for user in first..=last {
                // Uniform in 0..=2M: an average of M, and some users with none.
                let mut count = rng.below(2 * self.posts_per_user + 1);
                if user == 1 && self.posts_per_user > 0 {
                    // John's first two posts are the well-known ids 1 and 2.
                    count = count.max(2) - 2;
                    let first_post = ("First Post", "Hello, world! This is my first post.");
                    let second_post = ("Second Post", "Back again with a second post.");
                    self.insert_post(rng, 1, Some(first_post))?;
                    self.insert_post(rng, 1, Some(second_post))?;
                }
                authors.extend(std::iter::repeat_n(user, count as usize));
            }
            rng.shuffle(&mut authors);
            for &author in &authors {
                self.insert_post(rng, author, None)?;
            }
            self.authors = authors;
            first = last + 1;
        }
        self.insert_post.finish()?;
        self.insert_comment.finish()?;
        self.insert_post_tag.finish()?;
        Ok((self.posts, self.comments, self.post_tags))
    }

    /// Inserts one post (generated, unless a fixed title and body are
    /// given), then its 0-3 comments and 0-3 tags.
    fn insert_post(
        &mut self,
        rng: &mut SplitMix64,
        author: u64,
        fixed: Option<(&str, &str)>,
    ) -> Result<()> {
        self.posts += 1;
        let post_id = to_id(self.posts);
        self.title.clear();
        self.body.clear();
        match fixed {
            Some((title, body)) => {
                self.title.push_str(title);
                self.body.push_str(body);
            }
            None => self.generate_title_and_body(rng),
        }
        self.clock.tick(rng);
        self.clock.format(&mut self.created_at);
        let insert = &mut self.insert_post;
        insert.int(post_id);
        insert.text(&self.title);
        insert.text(&self.body);
        insert.int(to_id(author));
        insert.text(&self.created_at);
        insert.end_row()?;

        for _ in 0..rng.below(4) {
            self.comments += 1;
            let insert = &mut self.insert_comment;
            insert.int(to_id(self.comments));
            insert.int(post_id);
            insert.int(to_id(1 + rng.below(self.users)));
            let body = rng.pick(COMMENT_BODIES);
            insert.text(body);
            insert.end_row()?;
        }

        // 0-3 distinct tags: a partial Fisher-Yates shuffle of the tag ids,
        // sorted so the primary key index is appended to in order.
        let mut tag_ids: [i64; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        let count = rng.below(4) as usize;
        for i in 0..count {
            let j = i + rng.below((tag_ids.len() - i) as u64) as usize;
            tag_ids.swap(i, j);
        }
        let chosen = &mut tag_ids[..count];
        chosen.sort_unstable();
        for &tag_id in chosen.iter() {
            self.insert_post_tag.int(post_id);
            self.insert_post_tag.int(tag_id);
            self.insert_post_tag.end_row()?;
        }
        self.post_tags += count as u64;
        Ok(())
    }

    fn generate_title_and_body(&mut self, rng: &mut SplitMix64) {
        let (before, after) = *rng.pick(TITLE_TEMPLATES);
        let topic = rng.pick(TOPICS);
        self.title.push_str(before);
        if before.is_empty() {
            // The topic starts the title: "The borrow checker in practice".
            let mut chars = topic.chars();
            if let Some(c) = chars.next() {
                self.title.push(c.to_ascii_uppercase());
            }
            self.title.push_str(chars.as_str());
        } else {
            self.title.push_str(topic);
        }
        self.title.push_str(after);
        // One body in six echoes the title, as some of the sample's do.
        let choice = rng.below(POST_BODIES.len() as u64 + 1) as usize;
        match POST_BODIES.get(choice) {
            Some(body) => self.body.push_str(body),
            None => {
                self.body.push_str("Some thoughts on ");
                push_lowercase(&mut self.body, &self.title);
                self.body.push('.');
            }
        }
    }
}

/// The `created_at` of successive posts: strictly increasing, starting in
/// 2020 and spread over about five years whatever the number of posts.
struct Clock {
    /// Seconds since the Unix epoch (UTC).
    now: u64,
    max_step: u64,
}

impl Clock {
    /// 2020-01-01 09:00:00 UTC.
    const START: u64 = 1_577_869_200;
    const SPAN: u128 = 5 * 365 * 86_400;
    const MAX_STEP: u64 = 2 * 86_400;

    fn new(expected_posts: u128) -> Self {
        // Steps are uniform in 1..=max_step, so they average about max_step/2.
        let max_step = (2 * Self::SPAN / expected_posts.max(1)).clamp(1, Self::MAX_STEP.into());
        Self {
            now: Self::START,
            max_step: max_step as u64,
        }
    }

    fn tick(&mut self, rng: &mut SplitMix64) {
        self.now += 1 + rng.below(self.max_step);
    }

    /// Writes `now` as SQLite's text form, 'YYYY-MM-DD HH:MM:SS'.
    fn format(&self, out: &mut String) {
        let days = self.now / 86_400;
        let seconds = self.now % 86_400;
        let (year, month, day) = civil_from_days(days);
        out.clear();
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

fn push_lowercase(out: &mut String, text: &str) {
    out.extend(text.chars().map(|c| c.to_ascii_lowercase()));
}

/// Ids count rows actually written (and `users` is checked up front), so they
/// fit in SQLite's `i64` for any database that fits on a disk.
fn to_id(n: u64) -> i64 {
    i64::try_from(n).expect("row id fits in i64")
}

/// Rows per multi-row `INSERT`. Executing one statement per 64 rows instead
/// of per row saves SQLite's per-execution work (reset, reopening the table
/// cursor and seeking down to where the row goes); larger batches gain
/// nothing measurable.
const BATCH_ROWS: usize = 64;

/// One value waiting in a [`BatchInsert`]; the `String`s are reused from
/// batch to batch, so buffering a row allocates nothing after the first batch.
enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// Buffers rows for one table and inserts them [`BATCH_ROWS`] at a time.
/// Values are given column by column with [`int`](Self::int),
/// [`null`](Self::null) and [`text`](Self::text), each row closed by
/// [`end_row`](Self::end_row); [`finish`](Self::finish) inserts the rest.
struct BatchInsert<'conn> {
    conn: &'conn Connection,
    /// `INSERT INTO table (columns) VALUES `
    head: &'static str,
    columns: usize,
    full: Statement<'conn>,
    cells: Vec<Cell>,
    filled: usize,
}

impl<'conn> BatchInsert<'conn> {
    fn new(conn: &'conn Connection, head: &'static str, columns: usize) -> Result<Self> {
        Ok(Self {
            conn,
            head,
            columns,
            full: conn.prepare(&Self::sql(head, columns, BATCH_ROWS))?,
            cells: std::iter::repeat_with(|| Cell::Null)
                .take(columns * BATCH_ROWS)
                .collect(),
            filled: 0,
        })
    }

    /// `head` followed by `rows` groups of `columns` placeholders.
    fn sql(head: &str, columns: usize, rows: usize) -> String {
        let row = format!("({})", vec!["?"; columns].join(", "));
        format!("{head}{}", vec![row; rows].join(", "))
    }

    fn null(&mut self) {
        self.cells[self.filled] = Cell::Null;
        self.filled += 1;
    }

    fn int(&mut self, value: i64) {
        self.cells[self.filled] = Cell::Int(value);
        self.filled += 1;
    }

    fn text(&mut self, value: &str) {
        match &mut self.cells[self.filled] {
            Cell::Text(text) => {
                text.clear();
                text.push_str(value);
            }
            cell => *cell = Cell::Text(value.to_owned()),
        }
        self.filled += 1;
    }

    fn end_row(&mut self) -> Result<()> {
        debug_assert_eq!(self.filled % self.columns, 0, "{}", self.head);
        if self.filled == self.cells.len() {
            Self::execute(&mut self.full, &self.cells)?;
            self.filled = 0;
        }
        Ok(())
    }

    /// Inserts the rows still buffered.
    fn finish(self) -> Result<()> {
        if self.filled > 0 {
            let rows = self.filled / self.columns;
            let mut statement = self
                .conn
                .prepare(&Self::sql(self.head, self.columns, rows))?;
            Self::execute(&mut statement, &self.cells[..self.filled])?;
        }
        Ok(())
    }

    fn execute(statement: &mut Statement<'_>, cells: &[Cell]) -> Result<()> {
        for (index, cell) in (1..).zip(cells) {
            match cell {
                Cell::Null => statement.raw_bind_parameter(index, rusqlite::types::Null)?,
                Cell::Int(value) => statement.raw_bind_parameter(index, value)?,
                Cell::Text(text) => statement.raw_bind_parameter(index, text.as_str())?,
            }
        }
        statement.raw_execute()?;
        Ok(())
    }
}

/// splitmix64 (Steele, Lea and Flood): tiny, fast, and good enough for test
/// data; written out here so the output depends only on the seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by Lemire's multiply-shift; its bias of
    /// at most n / 2^64 does not matter here.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::open::open_sample;
    use tempfile::TempDir;

    const TABLES: [&str; 5] = ["users", "posts", "comments", "tags", "post_tags"];

    fn options(dir: &TempDir, name: &str, seed: u64) -> SampleOptions {
        SampleOptions {
            users: 1_234,
            posts_per_user: 3,
            seed,
            out: dir.path().join(name),
            force: false,
        }
    }

    fn count(conn: &Connection, sql: &str) -> u64 {
        let n: i64 = conn.query_row(sql, [], |row| row.get(0)).unwrap();
        u64::try_from(n).unwrap()
    }

    /// Every row of every table, as text.
    fn dump(path: &Path) -> String {
        let conn = Connection::open(path).unwrap();
        let queries = [
            "SELECT group_concat(id || '|' || name || '|' || email || '|' \
             || ifnull(manager_id, '-'), char(10)) FROM (SELECT * FROM users ORDER BY id)",
            "SELECT group_concat(id || '|' || title || '|' || body || '|' || user_id || '|' \
             || created_at, char(10)) FROM (SELECT * FROM posts ORDER BY id)",
            "SELECT group_concat(id || '|' || post_id || '|' || user_id || '|' || body, char(10)) \
             FROM (SELECT * FROM comments ORDER BY id)",
            "SELECT group_concat(id || '|' || name, char(10)) FROM (SELECT * FROM tags ORDER BY id)",
            "SELECT group_concat(post_id || '|' || tag_id, char(10)) \
             FROM (SELECT * FROM post_tags ORDER BY post_id, tag_id)",
        ];
        queries
            .iter()
            .map(|sql| {
                conn.query_row(sql, [], |row| row.get::<_, String>(0))
                    .unwrap()
            })
            .collect::<Vec<_>>()
            .join("\n--\n")
    }

    fn table_info(conn: &Connection, table: &str) -> Vec<String> {
        let mut statement = conn
            .prepare(&format!("PRAGMA table_info({table})"))
            .unwrap();
        statement
            .query_map([], |row| {
                Ok(format!(
                    "{}|{}|{}|{}|{:?}|{}",
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, i64>(5)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn master(conn: &Connection) -> Vec<(String, String, String, Option<String>)> {
        let mut statement = conn
            .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
            .unwrap();
        statement
            .query_map([], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn generates_consistent_rows() {
        let dir = TempDir::new().unwrap();
        let options = options(&dir, "blog.db", 7);
        let summary = generate(&options).unwrap();
        assert!(!with_suffix(&options.out, ".partial").exists());

        let conn = Connection::open(&options.out).unwrap();
        assert_eq!(summary.users, 1_234);
        assert_eq!(summary.tags, 10);
        assert!(summary.posts > 0 && summary.comments > 0 && summary.post_tags > 0);
        for (table, expected) in TABLES.iter().zip([
            summary.users,
            summary.posts,
            summary.comments,
            summary.tags,
            summary.post_tags,
        ]) {
            assert_eq!(
                count(&conn, &format!("SELECT count(*) FROM {table}")),
                expected
            );
        }
        // Around users * posts_per_user.
        assert!((3_000..4_500).contains(&summary.posts), "{summary:?}");

        let john: (String, String) = conn
            .query_row("SELECT name, email FROM users WHERE id = 1", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap();
        assert_eq!(john, ("John".into(), "john@example.com".into()));
        let johns_first: Vec<String> = conn
            .prepare("SELECT title FROM posts WHERE user_id = 1 AND id <= 2 ORDER BY id")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(johns_first, ["First Post", "Second Post"]);

        let checks = [
            "SELECT count(*) FROM users WHERE manager_id >= id",
            "SELECT count(*) FROM users WHERE id > 1 AND manager_id IS NULL",
            "SELECT count(*) - count(DISTINCT email) FROM users",
            "SELECT count(*) FROM users WHERE email <> lower(email)",
            "SELECT count(*) FROM posts p JOIN posts q ON q.id = p.id + 1 \
             WHERE q.created_at <= p.created_at",
            "SELECT count(*) FROM posts WHERE created_at NOT GLOB \
             '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]'",
            "SELECT count(*) FROM users u WHERE NOT EXISTS \
             (SELECT 1 FROM posts WHERE user_id = u.id)",
            "SELECT max(n) FROM (SELECT count(*) AS n FROM comments GROUP BY post_id)",
            "SELECT max(n) FROM (SELECT count(*) AS n FROM post_tags GROUP BY post_id)",
        ];
        let [
            backwards,
            unmanaged,
            duplicate_emails,
            uppercase,
            unordered,
            malformed,
            idle,
            comments,
            tags,
        ] = checks.map(|sql| count(&conn, sql));
        assert_eq!(backwards, 0);
        assert!(unmanaged > 0 && unmanaged < 150, "{unmanaged}");
        assert_eq!(duplicate_emails, 0);
        assert_eq!(uppercase, 0);
        assert_eq!(unordered, 0);
        assert_eq!(malformed, 0);
        assert!(idle > 0, "some users should have no posts");
        assert_eq!(comments, 3);
        assert_eq!(tags, 3);

        let violations: Vec<String> = conn
            .prepare("PRAGMA foreign_key_check")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(violations.is_empty(), "{violations:?}");
    }

    #[test]
    fn same_seed_same_rows_and_other_seed_other_rows() {
        let dir = TempDir::new().unwrap();
        let a = options(&dir, "a.db", 42);
        let b = options(&dir, "b.db", 42);
        let c = options(&dir, "c.db", 43);
        for options in [&a, &b, &c] {
            generate(options).unwrap();
        }
        let (a, b, c) = (dump(&a.out), dump(&b.out), dump(&c.out));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn schema_matches_the_builtin_sample() {
        let dir = TempDir::new().unwrap();
        let options = options(&dir, "blog.db", 1);
        generate(&options).unwrap();
        let generated = Connection::open(&options.out).unwrap();
        let sample = open_sample().unwrap();
        for table in TABLES {
            let info = table_info(&generated, table);
            assert!(!info.is_empty(), "{table}");
            assert_eq!(info, table_info(&sample, table), "{table}");
        }
        // Same tables, same five indexes, same SQL text.
        let master_generated = master(&generated);
        assert_eq!(master_generated, master(&sample));
        let indexes = master_generated
            .iter()
            .filter(|(kind, name, ..)| kind == "index" && name.starts_with("ix_"))
            .count();
        assert_eq!(indexes, 5);
    }

    #[test]
    fn refuses_to_overwrite_without_force() {
        let dir = TempDir::new().unwrap();
        let mut options = options(&dir, "blog.db", 5);
        fs::write(&options.out, "precious").unwrap();
        fs::write(with_suffix(&options.out, "-wal"), "stale").unwrap();

        let error = generate(&options).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "{} already exists; pass --force to overwrite it",
                options.out.display()
            )
        );
        assert_eq!(fs::read_to_string(&options.out).unwrap(), "precious");

        options.force = true;
        let summary = generate(&options).unwrap();
        assert!(!with_suffix(&options.out, "-wal").exists());
        let conn = Connection::open(&options.out).unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM users"), summary.users);
    }

    #[test]
    fn partial_files_never_linger() {
        let dir = TempDir::new().unwrap();
        let mut options = options(&dir, "blog.db", 9);
        let partial = with_suffix(&options.out, ".partial");

        // A leftover of an interrupted run is replaced.
        fs::write(&partial, "half-written").unwrap();
        generate(&options).unwrap();
        assert!(!partial.exists());

        // A failed run removes its partial file; here the rename fails, as
        // the output is a directory.
        fs::remove_file(&options.out).unwrap();
        fs::create_dir(&options.out).unwrap();
        options.force = true;
        assert!(generate(&options).is_err());
        assert!(options.out.is_dir());
        assert!(!partial.exists());
    }

    #[test]
    fn validates_options() {
        let dir = TempDir::new().unwrap();
        let mut options = options(&dir, "blog.db", 0);
        options.users = 0;
        let error = generate(&options).unwrap_err().to_string();
        assert_eq!(error, "--users must be at least 1");
        options.users = 1;
        options.posts_per_user = MAX_POSTS_PER_USER + 1;
        assert!(generate(&options).is_err());
        assert!(!options.out.exists());
    }

    #[test]
    fn zero_posts_and_a_single_user_work() {
        let dir = TempDir::new().unwrap();
        let mut options = options(&dir, "blog.db", 0);
        options.users = 1;
        options.posts_per_user = 0;
        let summary = generate(&options).unwrap();
        assert_eq!(
            summary,
            SampleSummary {
                users: 1,
                posts: 0,
                comments: 0,
                tags: 10,
                post_tags: 0
            }
        );
    }

    #[test]
    fn dates_are_formatted_as_sqlite_text() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        let mut text = String::new();
        Clock::new(1).format(&mut text);
        assert_eq!(text, "2020-01-01 09:00:00");
    }
}
