//! How a statement is spelt for one database, as SQLAlchemy's dialects
//! spell it: which identifiers are quoted, and the LIMIT/OFFSET form.
//! Loaders never write quotes: they mark identifiers ([`ident`]) and the
//! statement's dialect renders them when the statement is finished.

use std::borrow::Cow;

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

    /// What `.limit(K)` adds (its parameters are `[K, 0]`).
    fn limit_offset(&self) -> &'static str;

    /// A tuple IN lists its rows as `VALUES (?, ?), ...` (SQLAlchemy's
    /// `tuple_in_values`) rather than `(?, ?), ...`.
    fn tuple_in_values(&self) -> bool;
}

/// `col IN (?, ?)` for `n` keys of one column, `(a, b) IN (VALUES (?, ?),
/// ...)` (or without `VALUES`, per the dialect) for composite keys.
pub fn in_keys(dialect: &dyn Dialect, columns: &[String], n: usize) -> String {
    if let [column] = columns {
        return format!("{column} IN ({})", placeholders(1, n));
    }
    let values = if dialect.tuple_in_values() {
        "VALUES "
    } else {
        ""
    };
    format!(
        "({}) IN ({values}{})",
        columns.join(", "),
        placeholders(columns.len(), n)
    )
}

/// `?, ?, ?` for `n` scalars, `(?, ?), (?, ?)` for `n` tuples of `arity`.
fn placeholders(arity: usize, n: usize) -> String {
    let one = if arity == 1 {
        "?".to_string()
    } else {
        format!("({})", vec!["?"; arity].join(", "))
    };
    vec![one; n].join(", ")
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

    fn limit_offset(&self) -> &'static str {
        " LIMIT ? OFFSET ?"
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

/// Replaces every marked identifier by the dialect's spelling of it.
pub fn render_identifiers(dialect: &dyn Dialect, sql: &str) -> String {
    if !sql.contains(IDENT_START) {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(start) = rest.find(IDENT_START) {
        out.push_str(&rest[..start]);
        let after = &rest[start + IDENT_START.len_utf8()..];
        let Some(end) = after.find(IDENT_END) else {
            out.push_str(after);
            return out;
        };
        out.push_str(&dialect.quote(&after[..end]));
        rest = &after[end + IDENT_END.len_utf8()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
            render_identifiers(&SQLITE, &sql),
            "SELECT \"order\".\"createdAt\" FROM \"order\""
        );
    }
}
