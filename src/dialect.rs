//! How a statement is spelt for one database, as SQLAlchemy's dialects
//! spell it: which identifiers are quoted, how a bound parameter is
//! written, and the LIMIT/OFFSET form. Loaders never write quotes or
//! placeholders: they mark identifiers ([`ident`]) and parameters ([`arg`],
//! [`constant`]), and the statement's dialect renders them when the
//! statement is finished ([`render`]), collecting the parameters in the
//! order they appear in the text, as SQLAlchemy's compiler does.

use rusqlite::types::Value;
use std::borrow::Cow;
use std::fmt::Write as _;

/// A database's spelling of SQL.
pub trait Dialect: Sync + std::fmt::Debug {
    /// SQLAlchemy's dialect name (`sqlite`, `postgresql`).
    fn name(&self) -> &'static str;

    /// Words the dialect quotes when used as names (lower case).
    fn reserved_words(&self) -> &'static [&'static str];

    /// `IdentifierPreparer._requires_quotes`: reserved words, names that
    /// are not all lower case, that start with a digit or `$`, or that hold
    /// anything but letters, digits, `_` and `$`.
    fn requires_quotes(&self, name: &str) -> bool {
        let Some(first) = name.chars().next() else {
            return true;
        };
        first.is_ascii_digit()
            || first == '$'
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
            || name.chars().any(|c| c.is_ascii_uppercase())
            || self
                .reserved_words()
                .binary_search(&name.to_ascii_lowercase().as_str())
                .is_ok()
    }

    /// The name as the dialect writes it: `"order"`, `"createdAt"`, `users`.
    fn quote<'a>(&self, name: &'a str) -> Cow<'a, str> {
        if self.requires_quotes(name) {
            Cow::Owned(format!("\"{}\"", name.replace('"', "\"\"")))
        } else {
            Cow::Borrowed(name)
        }
    }

    /// How a bound parameter is written: SQLite `?`, psycopg2
    /// `%(param_1)s`. `name` is SQLAlchemy's name for it; `column_type`
    /// the declared type of the column it is compared with, when known
    /// (psycopg 3 casts to it: `%(param_1)s::INTEGER`).
    fn placeholder(&self, out: &mut String, name: &str, column_type: Option<&str>);

    /// Whether placeholders show the binds' names (then [`render`] works
    /// them out as SQLAlchemy's compiler does).
    fn named_binds(&self) -> bool {
        false
    }

    /// Statement text between marks, escaped as the driver needs it
    /// (psycopg2's `pyformat` doubles every `%`).
    fn push_text(&self, out: &mut String, text: &str) {
        out.push_str(text);
    }

    /// What `.limit(K)` and `.offset(N)` add, parameters marked. SQLite
    /// always writes both: `LIMIT ? OFFSET ?` with `[K, 0]`, or `[-1, N]`.
    fn limit_offset(&self, limit: Option<i64>, offset: Option<i64>) -> String;

    /// A tuple IN lists its rows as `VALUES (?, ?), ...` (SQLAlchemy's
    /// `tuple_in_values`) rather than `(?, ?), ...`.
    fn tuple_in_values(&self) -> bool;
}

/// `col IN (?, ?)` for `n` keys of one column, `(a, b) IN (VALUES (?, ?),
/// ...)` (or without `VALUES`, per the dialect) for composite keys; the
/// keys are the caller's arguments from `first` on, bound as selectin's
/// expanding `primary_keys` (`primary_keys_1`, or `primary_keys_1_2` for
/// the second column of the first row).
pub fn in_keys(
    dialect: &dyn Dialect,
    columns: &[String],
    column_type: Option<&str>,
    n: usize,
    first: usize,
) -> String {
    let arity = columns.len();
    // A tuple's elements are bound untyped (SQLAlchemy's tuple_ IN).
    let column_type = column_type.filter(|_| arity == 1);
    let rows = (0..n).map(|row| {
        let arg = |col: usize| {
            let name = if arity == 1 {
                format!("primary_keys|{}", row + 1)
            } else {
                format!("primary_keys|{}|{}", row + 1, col + 1)
            };
            mark(
                &format!("a{}", first + row * arity + col),
                &name,
                column_type,
            )
        };
        if arity == 1 {
            arg(0)
        } else {
            let each: Vec<String> = (0..arity).map(arg).collect();
            format!("({})", each.join(", "))
        }
    });
    let rows: Vec<String> = rows.collect();
    if let [column] = columns {
        return format!("{column} IN ({})", rows.join(", "));
    }
    let values = if dialect.tuple_in_values() {
        "VALUES "
    } else {
        ""
    };
    format!("({}) IN ({values}{})", columns.join(", "), rows.join(", "))
}

/// `?` for one argument, `(?, ?)` for a row of `arity` from `first` on.
pub fn args(first: usize, arity: usize) -> String {
    if arity == 1 {
        return arg(first, None);
    }
    let each: Vec<String> = (first..first + arity).map(|n| arg(n, None)).collect();
    format!("({})", each.join(", "))
}

/// A statement's bound parameter: the caller's `n`-th argument (a parent's
/// key), or a value fixed when the statement was built (a LIMIT, a
/// discriminator).
#[derive(Clone, Debug, PartialEq)]
pub enum Bind {
    Arg(usize),
    Value(Value),
}

impl Bind {
    /// The parameters of a statement run with `args`, in text order.
    pub fn resolve(binds: &[Bind], mut args: Vec<Value>) -> Vec<Value> {
        // The common case, a statement of arguments only, in order.
        if binds.len() == args.len() && binds.iter().enumerate().all(|(i, b)| *b == Bind::Arg(i)) {
            return args;
        }
        binds
            .iter()
            .map(|b| match b {
                Bind::Arg(i) => args
                    .get_mut(*i)
                    .map(|v| std::mem::replace(v, Value::Null))
                    .unwrap_or(Value::Null),
                Bind::Value(v) => v.clone(),
            })
            .collect()
    }
}

/// Marks the caller's `n`-th argument in statement text (an anonymous
/// bind, `param_1`), compared with a column of `column_type`.
pub fn arg(n: usize, column_type: Option<&str>) -> String {
    match column_type {
        None => format!("{BIND_START}a{n}{BIND_END}"),
        Some(_) => mark(&format!("a{n}"), "@param", column_type),
    }
}

/// Marks the caller's `n`-th argument bound under a fixed name (`pk_1`).
pub fn arg_named(n: usize, name: &str, column_type: Option<&str>) -> String {
    mark(&format!("a{n}"), name, column_type)
}

/// Marks the caller's `n`-th argument compared with `column`: an
/// anonymous bind named after it (`users.id > %(id_1)s`).
pub fn arg_for(n: usize, column: &str, column_type: Option<&str>) -> String {
    mark(&format!("a{n}"), &format!("@{column}"), column_type)
}

/// Separates a mark's name from the declared type of its column.
const TYPE_MARK: char = '\u{7}';

/// A bind mark with its name: `primary_keys|3` (an expanding bind's third
/// row), `@kind|1` (the first row of an anonymous expanding bind named
/// after the column `kind`, `kind_1_1`), and the declared type of the
/// column it is compared with, when the driver casts to it.
fn mark(body: &str, name: &str, column_type: Option<&str>) -> String {
    match column_type {
        Some(t) => format!("{BIND_START}{body}|{name}{TYPE_MARK}{t}{BIND_END}"),
        None => format!("{BIND_START}{body}|{name}{BIND_END}"),
    }
}

/// Marks a value fixed in the statement (its text is self-contained, so a
/// re-stated statement keeps its values).
pub fn constant(value: &Value) -> String {
    let mut s = constant_body(value);
    s.insert(0, BIND_START);
    s.push(BIND_END);
    s
}

/// `column IN (...)` over fixed values: one anonymous expanding bind named
/// after the column (SQLAlchemy's `column.in_(values)`: `kind_1_1`,
/// `kind_1_2`).
pub fn constants_in(column: &str, column_type: Option<&str>, values: &[Value]) -> String {
    let each: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(row, value)| {
            mark(
                &constant_body(value),
                &format!("@{column}|{}", row + 1),
                column_type,
            )
        })
        .collect();
    each.join(", ")
}

fn constant_body(value: &Value) -> String {
    let mut s = String::new();
    match value {
        Value::Null => s.push('n'),
        Value::Integer(i) => {
            let _ = write!(s, "i{i}");
        }
        Value::Real(f) => {
            let _ = write!(s, "r{:x}", f.to_bits());
        }
        Value::Text(t) => {
            s.push('t');
            hex(&mut s, t.as_bytes());
        }
        Value::Blob(b) => {
            s.push('b');
            hex(&mut s, b);
        }
    }
    s
}

fn hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A mark's bind, its name (`None`: anonymous `param`) and its column's
/// declared type.
fn parse_mark(mark: &str) -> Option<(Bind, Option<&str>, Option<&str>)> {
    let (mark, column_type) = match mark.split_once(TYPE_MARK) {
        Some((mark, t)) => (mark, Some(t)),
        None => (mark, None),
    };
    match mark.split_once('|') {
        Some((bind, name)) => Some((parse_bind(bind)?, Some(name), column_type)),
        None => Some((parse_bind(mark)?, None, column_type)),
    }
}

fn parse_bind(mark: &str) -> Option<Bind> {
    let (kind, body) = mark.split_at_checked(1)?;
    Some(match kind {
        "a" => Bind::Arg(body.parse().ok()?),
        "n" => Bind::Value(Value::Null),
        "i" => Bind::Value(Value::Integer(body.parse().ok()?)),
        "r" => Bind::Value(Value::Real(f64::from_bits(
            u64::from_str_radix(body, 16).ok()?,
        ))),
        "t" => Bind::Value(Value::Text(String::from_utf8(unhex(body)?).ok()?)),
        "b" => Bind::Value(Value::Blob(unhex(body)?)),
        _ => return None,
    })
}

/// SQLAlchemy 2.1's `sqlite` dialect.
#[derive(Debug)]
pub struct Sqlite;

impl Dialect for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn reserved_words(&self) -> &'static [&'static str] {
        &SQLITE_RESERVED
    }

    fn placeholder(&self, out: &mut String, _name: &str, _column_type: Option<&str>) {
        out.push('?');
    }

    fn limit_offset(&self, limit: Option<i64>, offset: Option<i64>) -> String {
        format!(
            " LIMIT {} OFFSET {}",
            constant(&Value::Integer(limit.unwrap_or(-1))),
            constant(&Value::Integer(offset.unwrap_or(0)))
        )
    }

    fn tuple_in_values(&self) -> bool {
        true
    }
}

pub static SQLITE: Sqlite = Sqlite;

/// `SQLiteIdentifierPreparer.reserved_words` of SQLAlchemy 2.1.9, sorted
/// (`user` is not one: SQLAlchemy writes it bare on SQLite).
const SQLITE_RESERVED: [&str; 117] = [
    "add",
    "after",
    "all",
    "alter",
    "analyze",
    "and",
    "as",
    "asc",
    "attach",
    "autoincrement",
    "before",
    "begin",
    "between",
    "by",
    "cascade",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "commit",
    "conflict",
    "constraint",
    "create",
    "cross",
    "current_date",
    "current_time",
    "current_timestamp",
    "database",
    "default",
    "deferrable",
    "deferred",
    "delete",
    "desc",
    "detach",
    "distinct",
    "drop",
    "each",
    "else",
    "end",
    "escape",
    "except",
    "exclusive",
    "exists",
    "explain",
    "fail",
    "false",
    "for",
    "foreign",
    "from",
    "full",
    "glob",
    "group",
    "having",
    "if",
    "ignore",
    "immediate",
    "in",
    "index",
    "indexed",
    "initially",
    "inner",
    "insert",
    "instead",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "key",
    "left",
    "like",
    "limit",
    "match",
    "natural",
    "not",
    "notnull",
    "null",
    "of",
    "offset",
    "on",
    "or",
    "order",
    "outer",
    "plan",
    "pragma",
    "primary",
    "query",
    "raise",
    "references",
    "reindex",
    "rename",
    "replace",
    "restrict",
    "right",
    "rollback",
    "row",
    "select",
    "set",
    "table",
    "temp",
    "temporary",
    "then",
    "to",
    "transaction",
    "trigger",
    "true",
    "union",
    "unique",
    "update",
    "using",
    "vacuum",
    "values",
    "view",
    "virtual",
    "when",
    "where",
];

/// The driver under SQLAlchemy's `postgresql` dialect: what the statement
/// it sends looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// `postgresql+psycopg2`: `%(param_1)s`.
    Psycopg2,
    /// `postgresql+psycopg` (psycopg 3): `%(param_1)s::INTEGER`.
    Psycopg,
}

/// SQLAlchemy 2.1's `postgresql` dialect through psycopg2: `pyformat`
/// binds named as SQLAlchemy names them, `LIMIT` without a default
/// `OFFSET`, `user` quoted.
#[derive(Debug)]
pub struct Postgresql {
    pub driver: Driver,
}

impl Dialect for Postgresql {
    fn name(&self) -> &'static str {
        "postgresql"
    }

    fn reserved_words(&self) -> &'static [&'static str] {
        &POSTGRESQL_RESERVED
    }

    fn placeholder(&self, out: &mut String, name: &str, column_type: Option<&str>) {
        out.push_str("%(");
        out.push_str(name);
        out.push_str(")s");
        if self.driver == Driver::Psycopg
            && let Some(cast) = column_type.and_then(psycopg_cast)
        {
            out.push_str("::");
            out.push_str(&cast);
        }
    }

    fn named_binds(&self) -> bool {
        true
    }

    fn push_text(&self, out: &mut String, text: &str) {
        // psycopg2 reads `%` as the start of a placeholder.
        if text.contains('%') {
            out.push_str(&text.replace('%', "%%"));
        } else {
            out.push_str(text);
        }
    }

    /// `PGCompiler.limit_clause`: only what was asked for, `LIMIT ALL`
    /// before an OFFSET alone.
    fn limit_offset(&self, limit: Option<i64>, offset: Option<i64>) -> String {
        let mut out = String::new();
        // SQLAlchemy binds both as Integer.
        let integer = |n: i64| {
            mark(
                &constant_body(&Value::Integer(n)),
                "@param",
                Some("INTEGER"),
            )
        };
        if let Some(limit) = limit {
            out.push_str(" LIMIT ");
            out.push_str(&integer(limit));
        }
        if let Some(offset) = offset {
            if limit.is_none() {
                out.push_str(" LIMIT ALL");
            }
            out.push_str(" OFFSET ");
            out.push_str(&integer(offset));
        }
        out
    }

    fn tuple_in_values(&self) -> bool {
        false
    }
}

pub static POSTGRESQL: Postgresql = Postgresql {
    driver: Driver::Psycopg2,
};

/// The `postgresql` dialect as psycopg 3 gets it.
pub static POSTGRESQL_PSYCOPG: Postgresql = Postgresql {
    driver: Driver::Psycopg,
};

/// The cast psycopg 3's dialect adds to a bind compared with a column of
/// `declared` type (PostgreSQL's `format_type`, upper-cased): SQLAlchemy
/// renders one for the types whose psycopg implementation sets
/// `render_bind_cast` (strings, integers, booleans, dates and times,
/// intervals), as the type compiler spells them; none for the others
/// (numeric, float, uuid, json, arrays, enums).
fn psycopg_cast(declared: &str) -> Option<String> {
    let declared = declared.trim();
    let (head, size) = match declared.split_once('(') {
        Some((head, rest)) => (head.trim(), rest.split(')').next().map(str::trim)),
        None => (declared, None),
    };
    let zone = if declared.ends_with("WITH TIME ZONE") {
        "WITH TIME ZONE"
    } else {
        "WITHOUT TIME ZONE"
    };
    Some(match head {
        "INTEGER" | "INT" | "INT4" | "SERIAL" => "INTEGER".to_string(),
        "BIGINT" | "INT8" | "BIGSERIAL" => "BIGINT".to_string(),
        "SMALLINT" | "INT2" | "SMALLSERIAL" => "SMALLINT".to_string(),
        "BOOLEAN" | "BOOL" => "BOOLEAN".to_string(),
        "DATE" => "DATE".to_string(),
        "INTERVAL" => "INTERVAL".to_string(),
        // Every String (Text, CHAR, VARCHAR) adapts to psycopg's VARCHAR.
        "TEXT" | "CHARACTER VARYING" | "VARCHAR" | "CHARACTER" | "CHAR" | "BPCHAR" => match size {
            Some(n) => format!("VARCHAR({n})"),
            None => "VARCHAR".to_string(),
        },
        // DateTime and Time carry no precision: `TIMESTAMP(3)` casts as
        // `TIMESTAMP WITHOUT TIME ZONE`.
        h if h.starts_with("TIMESTAMP") => format!("TIMESTAMP {zone}"),
        h if h.starts_with("TIME") => format!("TIME {zone}"),
        _ => return None,
    })
}

/// `postgresql.base.RESERVED_WORDS` of SQLAlchemy 2.1.9, sorted.
const POSTGRESQL_RESERVED: [&str; 102] = [
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "new",
    "not",
    "notnull",
    "null",
    "of",
    "off",
    "offset",
    "old",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "over",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// Marks an identifier (a table, column, alias or label name) in statement
/// text; [`render_identifiers`] turns the marks into the dialect's
/// spelling. The marks are control characters, which no typed text may
/// hold (`dynamic::check_clause`).
pub fn ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push(IDENT_START);
    s.push_str(name);
    s.push(IDENT_END);
    s
}

/// `ident(qualifier).ident(column)`.
pub fn qualified(qualifier: &str, column: &str) -> String {
    format!("{}.{}", ident(qualifier), ident(column))
}

pub const IDENT_START: char = '\u{3}';
pub const IDENT_END: char = '\u{4}';
pub const BIND_START: char = '\u{5}';
pub const BIND_END: char = '\u{6}';

/// Marks the `N`-th anonymous name of a statement (an alias `posts_1`, a
/// label `id_1`), whose base the caller keeps (see [`render_named`]).
pub const ANON_START: char = '\u{1}';
pub const ANON_END: char = '\u{2}';

/// Replaces every marked identifier by the dialect's spelling of it and
/// every marked parameter by its placeholder; returns the text and the
/// parameters in text order.
pub fn render(dialect: &dyn Dialect, sql: &str) -> (String, Vec<Bind>) {
    render_named(dialect, sql, &[])
}

/// [`render`], with the statement's anonymous names (`anonymous[N]` is
/// the base of the `N`-th): aliases, labels and binds are numbered per
/// base in one count, in the order they appear, as SQLAlchemy's compiler
/// numbers them from one `anon_map` (a label `kind_1` in the select list
/// makes the discriminator bind after it `kind_2_1`).
pub fn render_named(dialect: &dyn Dialect, sql: &str, anonymous: &[String]) -> (String, Vec<Bind>) {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut binds = Vec::new();
    let mut names = BindNames {
        anonymous,
        numbers: vec![None; anonymous.len()],
        counters: Vec::new(),
    };
    let mut rest = sql;
    while let Some(start) = rest.find([IDENT_START, BIND_START]) {
        let text = names.number_anonymous(&rest[..start]);
        dialect.push_text(&mut out, &text);
        let mark = rest[start..].chars().next().unwrap_or(IDENT_START);
        let end_mark = if mark == IDENT_START {
            IDENT_END
        } else {
            BIND_END
        };
        let after = &rest[start + mark.len_utf8()..];
        let Some(end) = after.find(end_mark) else {
            let text = names.number_anonymous(after);
            dialect.push_text(&mut out, &text);
            return (out, binds);
        };
        let body = &after[..end];
        if mark == IDENT_START {
            let name = names.number_anonymous(body);
            dialect.push_text(&mut out, &dialect.quote(&name));
        } else if let Some((bind, name, column_type)) = parse_mark(body) {
            if dialect.named_binds() {
                dialect.placeholder(&mut out, &names.name(name), column_type);
            } else {
                dialect.placeholder(&mut out, "", None);
            }
            binds.push(bind);
        }
        rest = &after[end + end_mark.len_utf8()..];
    }
    let text = names.number_anonymous(rest);
    dialect.push_text(&mut out, &text);
    (out, binds)
}

/// SQLAlchemy's names for a statement's binds, given in text order (the
/// order its compiler visits them): an anonymous bind is its base name
/// numbered per base (`param_1`, `param_2`, `kind_1`); an expanding bind
/// adds the row (`primary_keys_3`, `kind_1_2`) and, for a tuple, the
/// column (`primary_keys_3_1`).
struct BindNames<'a> {
    /// The base of each anonymous name the statement marks.
    anonymous: &'a [String],
    /// The number each of them got, once seen.
    numbers: Vec<Option<usize>>,
    /// The last number given to each anonymous base name.
    counters: Vec<(String, usize)>,
}

impl BindNames<'_> {
    /// `text` with each anonymous name mark replaced by `base_N`.
    fn number_anonymous<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        if !text.contains(ANON_START) {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(ANON_START) {
            out.push_str(&rest[..start]);
            let after = &rest[start + ANON_START.len_utf8()..];
            // Text typed into a dynamic query could hold the delimiter:
            // anything that is not one of ours stays as it is.
            let index = after.find(ANON_END).and_then(|end| {
                let index: usize = after[..end].parse().ok()?;
                (index < self.anonymous.len()).then_some((index, end))
            });
            let Some((index, end)) = index else {
                out.push(ANON_START);
                rest = after;
                continue;
            };
            let base = self.anonymous[index].as_str();
            let n = match self.numbers[index] {
                Some(n) => n,
                None => {
                    let n = self.number(base, true);
                    self.numbers[index] = Some(n);
                    n
                }
            };
            let _ = write!(out, "{base}_{n}");
            rest = &after[end + ANON_END.len_utf8()..];
        }
        out.push_str(rest);
        Cow::Owned(out)
    }

    fn name(&mut self, spec: Option<&str>) -> String {
        let spec = spec.unwrap_or("@param");
        let mut parts = spec.split('|');
        let base = parts.next().unwrap_or("param");
        let rest: Vec<&str> = parts.collect();
        let mut name = match base.strip_prefix('@') {
            Some(anonymous) => {
                let base = bind_base(anonymous);
                // An expanding bind's later rows keep its first row's number.
                let fresh = rest.first().is_none_or(|row| *row == "1");
                let n = self.number(&base, fresh);
                format!("{base}_{n}")
            }
            None => base.to_string(),
        };
        for part in rest {
            name.push('_');
            name.push_str(part);
        }
        name
    }

    fn number(&mut self, base: &str, fresh: bool) -> usize {
        match self.counters.iter_mut().find(|(b, _)| b == base) {
            Some((_, n)) => {
                if fresh {
                    *n += 1;
                }
                *n
            }
            None => {
                self.counters.push((base.to_string(), 1));
                1
            }
        }
    }
}

/// A column name as the base of an anonymous bind name: SQLAlchemy's
/// `sanitize_key` (runs of `%`, `(`, `)`, ` `, `$` become `_`), then its
/// compiler's `bindname_escape_characters`.
fn bind_base(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run = false;
    for c in name.chars() {
        if matches!(c, '%' | '(' | ')' | ' ' | '$') {
            if !run {
                out.push('_');
            }
            run = true;
            continue;
        }
        run = false;
        out.push(match c {
            ':' => 'C',
            '.' | '[' | ']' => '_',
            c => c,
        });
    }
    out.trim_matches('_').to_string()
}

/// The bind names of a rendered statement, in text order (`param_1`,
/// `primary_keys_1`, ...); empty for a dialect of `?` placeholders.
pub fn param_names(sql: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = sql;
    while let Some(start) = rest.find('%') {
        let after = &rest[start + 1..];
        if let Some(escaped) = after.strip_prefix('%') {
            rest = escaped;
            continue;
        }
        match after.strip_prefix('(').and_then(|a| a.split_once(")s")) {
            Some((name, tail)) => {
                names.push(name);
                rest = tail;
            }
            None => rest = after,
        }
    }
    names
}

/// `value` as an SQL literal: `NULL`, `42`, `0.5`, `'it''s'`, `X'00ff'`.
pub fn literal(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_string(),
        Value::Integer(i) => i.to_string(),
        // `{:?}` keeps a decimal point (1.0, not 1) and every digit.
        Value::Real(f) if f.is_finite() => format!("{f:?}"),
        Value::Real(_) => "NULL".to_string(),
        Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
        Value::Blob(b) => {
            let mut s = String::from("X'");
            hex(&mut s, b);
            s.push('\'');
            s
        }
    }
}

/// A rendered statement with its placeholders (`?`, or `%(name)s` with
/// `%%` for `%`) replaced by the values as literals, runnable as it is in
/// `sqlite3` or `psql` (a `?` inside quoted text is left alone).
pub fn inline_params(dialect: &dyn Dialect, sql: &str, params: &[Value]) -> String {
    let named = dialect.named_binds();
    let mut out = String::with_capacity(sql.len() + params.len() * 4);
    let mut next = params.iter();
    let mut quote = None;
    let mut chars = sql.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match (quote, c) {
            (_, '%') if named && sql[at..].starts_with("%%") => {
                chars.next();
                out.push('%');
                continue;
            }
            (_, '%') if named && sql[at..].starts_with("%(") => {
                if let Some(len) = sql[at..].find(")s") {
                    let value = next.next().map_or_else(|| "NULL".to_string(), literal);
                    out.push_str(&value);
                    let end = at + len + 2;
                    while chars.peek().is_some_and(|(i, _)| *i < end) {
                        chars.next();
                    }
                    continue;
                }
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '?') => {
                if let Some(value) = next.next() {
                    out.push_str(&literal(value));
                    continue;
                }
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_inline_as_literals() {
        let params = [
            Value::Integer(3),
            Value::Text("it's".into()),
            Value::Real(1.0),
            Value::Null,
            Value::Blob(vec![0, 255]),
        ];
        assert_eq!(
            inline_params(
                &SQLITE,
                "SELECT '?' WHERE a = ? AND b = ? AND c IN (?, ?, ?)",
                &params
            ),
            "SELECT '?' WHERE a = 3 AND b = 'it''s' AND c IN (1.0, NULL, X'00ff')"
        );
    }

    #[test]
    fn reserved_words_are_sorted_for_binary_search() {
        assert!(SQLITE_RESERVED.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn sqlite_quotes_as_sqlalchemy_does() {
        let q = |n| SQLITE.quote(n).into_owned();
        assert_eq!(q("users"), "users");
        assert_eq!(q("user"), "user");
        assert_eq!(q("order"), "\"order\"");
        assert_eq!(q("Key"), "\"Key\"");
        assert_eq!(q("createdAt"), "\"createdAt\"");
        assert_eq!(q("order_1"), "order_1");
        assert_eq!(q("first name"), "\"first name\"");
        assert_eq!(q("2fa"), "\"2fa\"");
        assert_eq!(q("a\"b"), "\"a\"\"b\"");
        assert_eq!(q(""), "\"\"");
    }

    #[test]
    fn marked_identifiers_render_quoted() {
        let sql = format!(
            "SELECT {} FROM {}",
            qualified("order", "createdAt"),
            ident("order")
        );
        assert_eq!(
            render(&SQLITE, &sql).0,
            "SELECT \"order\".\"createdAt\" FROM \"order\""
        );
    }

    #[test]
    fn parameters_render_as_placeholders_in_text_order() {
        let values = [
            Value::Text("truck \u{6} é".into()),
            Value::Integer(-7),
            Value::Real(0.1),
            Value::Null,
            Value::Blob(vec![0, 255]),
        ];
        let marks: Vec<String> = values.iter().map(constant).collect();
        let sql = format!(
            "{} = x AND y IN ({}) {}",
            arg(1, None),
            marks.join(", "),
            arg(0, None)
        );
        let (text, binds) = render(&SQLITE, &sql);
        assert_eq!(text, "? = x AND y IN (?, ?, ?, ?, ?) ?");
        let mut expected = vec![Bind::Arg(1)];
        expected.extend(values.iter().cloned().map(Bind::Value));
        expected.push(Bind::Arg(0));
        assert_eq!(binds, expected);
        let params = Bind::resolve(&binds, vec![Value::Integer(10), Value::Integer(11)]);
        assert_eq!(params[0], Value::Integer(11));
        assert_eq!(params[6], Value::Integer(10));
    }

    #[test]
    fn in_keys_numbers_the_arguments_row_by_row() {
        let one = in_keys(&SQLITE, &["t.a".to_string()], None, 2, 0);
        assert_eq!(
            render(&SQLITE, &one),
            (
                "t.a IN (?, ?)".to_string(),
                vec![Bind::Arg(0), Bind::Arg(1)]
            )
        );
        let two = in_keys(&SQLITE, &["t.a".to_string(), "t.b".to_string()], None, 2, 0);
        assert_eq!(
            render(&SQLITE, &two).0,
            "(t.a, t.b) IN (VALUES (?, ?), (?, ?))"
        );
    }
}
