//! A statement's shape: what tells loader strategies apart, with the
//! column lists and key lists folded away, as Django Debug Toolbar shows
//! `SELECT ••• FROM posts WHERE ...`. What is left is the FROM, the JOINs,
//! the WHERE and the ORDER BY, short enough to read in a log line.

/// `SELECT posts.id, posts.title FROM posts WHERE posts.user_id IN (?, ?,
/// ?, ?)` as `SELECT ••• FROM posts WHERE posts.user_id IN (… 4 keys)`.
/// Every select list is folded (subqueries' too); `IN` lists of more than
/// three placeholders, or of tuples, are counted. Text in quotes is kept
/// as it is.
pub fn shape(sql: &str) -> String {
    condense(sql, true, |_, keys| format!("… {keys} keys"))
}

/// Only the key lists folded, the rest as sent: `IN (?, … 500 keys)`,
/// for text reports that print the statement itself.
pub fn fold_key_lists(sql: &str) -> String {
    condense(sql, false, |first, keys| format!("{first}, … {keys} keys"))
}

/// The statement laid out on lines by clause (sqlformat), key lists
/// folded into a comment, for reading a whole statement.
pub fn pretty(sql: &str) -> String {
    // sqlformat would split `%(name)s` (and psycopg's `::INTEGER`); it
    // keeps a quoted identifier whole, so each bind goes in as one.
    const GUARD: char = '\u{1}';
    let mut guarded = String::with_capacity(sql.len() + 16);
    let folded = condense(sql, false, |first, keys| {
        format!("{first}, /* … {keys} keys */")
    });
    for token in tokenize(&folded) {
        if token.is_bind() && token.text != "?" {
            guarded.push_str(&format!("\"{GUARD}{}{GUARD}\"", token.text));
        } else {
            guarded.push_str(token.text);
        }
    }
    sqlformat::format(
        &guarded,
        &sqlformat::QueryParams::None,
        &sqlformat::FormatOptions::default(),
    )
    .replace(&format!("\"{GUARD}"), "")
    .replace(&format!("{GUARD}\""), "")
}

fn condense(sql: &str, fold_select: bool, keys_mark: impl Fn(&str, usize) -> String) -> String {
    let tokens = tokenize(sql);
    let mut out = String::with_capacity(sql.len() / 2);
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        out.push_str(token.text);
        if fold_select && token.is_word("SELECT") {
            // Keep DISTINCT, fold everything up to this level's FROM.
            let mut j = i + 1;
            while j < tokens.len() && tokens[j].is_space() {
                j += 1;
            }
            if j < tokens.len() && tokens[j].is_word("DISTINCT") {
                out.push_str(" DISTINCT");
                j += 1;
            }
            if let Some(from) = find_at_depth(&tokens, j, |t| t.is_word("FROM")) {
                out.push_str(" ••• ");
                i = from;
                continue;
            }
        } else if token.is_word("IN")
            && let Some((open, close, keys)) = key_list(&tokens, i + 1)
        {
            out.push_str(
                &tokens[i + 1..open]
                    .iter()
                    .map(|t| t.text)
                    .collect::<String>(),
            );
            let first = tokens[open + 1..close]
                .iter()
                .find(|t| t.is_bind())
                .map_or("?", |t| t.text);
            out.push_str(&format!("({})", keys_mark(first, keys)));
            i = close + 1;
            continue;
        }
        i += 1;
    }
    out
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    text: &'a str,
    depth: i32,
}

impl Token<'_> {
    fn is_word(&self, word: &str) -> bool {
        self.text.eq_ignore_ascii_case(word)
    }

    /// A bound parameter: `?`, or pyformat's `%(name)s` (with a cast).
    fn is_bind(&self) -> bool {
        self.text == "?" || self.text.starts_with("%(")
    }

    fn is_space(&self) -> bool {
        self.text.chars().all(char::is_whitespace)
    }
}

/// Words, quoted strings and identifiers, single punctuation marks and
/// runs of space, each with the parenthesis depth it starts at.
fn tokenize(sql: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut depth = 0;
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let c = bytes[i];
        let at = depth;
        match c {
            b'\'' | b'"' | b'`' => {
                i += 1;
                while i < bytes.len() {
                    if bytes[i] == c {
                        // A doubled quote is a quote inside the text.
                        if bytes.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
            }
            // pyformat's `%(name)s`, and the `::TYPE` psycopg adds, as one.
            b'%' if bytes.get(i + 1) == Some(&b'(') && sql[i..].contains(")s") => {
                i += sql[i..].find(")s").unwrap() + 2;
                while sql[i..].starts_with("::") {
                    i += 2;
                    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_')
                    {
                        i += 1;
                    }
                }
            }
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                depth -= 1;
                i += 1;
            }
            c if c.is_ascii_whitespace() => {
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        // (Multi-byte characters are consumed whole above.)
        while !sql.is_char_boundary(i) {
            i += 1;
        }
        tokens.push(Token {
            text: &sql[start..i],
            depth: at,
        });
    }
    tokens
}

/// The first token from `start` on that matches, at the depth of `start`
/// (not inside a nested parenthesis, not past the end of this level).
fn find_at_depth(
    tokens: &[Token<'_>],
    start: usize,
    wanted: impl Fn(&Token) -> bool,
) -> Option<usize> {
    let depth = tokens.get(start)?.depth;
    for (i, t) in tokens.iter().enumerate().skip(start) {
        if t.depth < depth || (t.text == ")" && t.depth == depth) {
            return None;
        }
        if t.depth == depth && wanted(t) {
            return Some(i);
        }
    }
    None
}

/// After `IN`: a parenthesized list of placeholders (`?, ?, ?, ?`), or of
/// rows of them (`VALUES (?, ?), (?, ?)`, `(?, ?), (?, ?)`). Returns the
/// opening and closing parenthesis and the number of keys, when there are
/// more than three (or any rows).
fn key_list(tokens: &[Token<'_>], start: usize) -> Option<(usize, usize, usize)> {
    let open = (start..tokens.len()).find(|i| !tokens[*i].is_space())?;
    if tokens[open].text != "(" {
        return None;
    }
    let depth = tokens[open].depth;
    let mut placeholders = 0;
    let mut rows = 0;
    for (i, t) in tokens.iter().enumerate().skip(open + 1) {
        match t.text {
            ")" if t.depth == depth + 1 => {
                let keys = if rows > 0 { rows } else { placeholders };
                return (keys > 3 || rows > 0).then_some((open, i, keys));
            }
            "(" if t.depth == depth + 1 => rows += 1,
            _ if t.is_bind() => placeholders += 1,
            "," => {}
            text if t.is_space() || text.eq_ignore_ascii_case("VALUES") => {}
            _ if t.depth > depth + 1 => {}
            // Anything else (a subquery, literal values): left as it is.
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_lists_fold_and_the_rest_stays() {
        assert_eq!(
            shape(
                "SELECT posts.id, posts.title, posts.user_id FROM posts WHERE ? = posts.user_id ORDER BY posts.id"
            ),
            "SELECT ••• FROM posts WHERE ? = posts.user_id ORDER BY posts.id"
        );
    }

    #[test]
    fn subqueries_and_distinct_fold_too() {
        assert_eq!(
            shape(
                "SELECT posts.id AS posts_id, anon_1.users_id AS anon_1_users_id FROM (SELECT DISTINCT users.id AS users_id FROM users ORDER BY users.id LIMIT ? OFFSET ?) AS anon_1 JOIN posts ON anon_1.users_id = posts.user_id"
            ),
            "SELECT ••• FROM (SELECT DISTINCT ••• FROM users ORDER BY users.id LIMIT ? OFFSET ?) AS anon_1 JOIN posts ON anon_1.users_id = posts.user_id"
        );
    }

    #[test]
    fn pyformat_binds_are_placeholders_and_survive_the_layout() {
        let keys: Vec<String> = (1..=5).map(|i| format!("%(primary_keys_{i})s")).collect();
        let sql = format!(
            "SELECT posts.user_id, posts.id FROM posts WHERE posts.user_id IN ({})",
            keys.join(", ")
        );
        assert_eq!(
            shape(&sql),
            "SELECT ••• FROM posts WHERE posts.user_id IN (… 5 keys)"
        );
        assert_eq!(
            fold_key_lists(&sql),
            "SELECT posts.user_id, posts.id FROM posts WHERE posts.user_id IN (%(primary_keys_1)s, … 5 keys)"
        );
        let laid_out = pretty(&sql);
        assert!(
            laid_out.contains("  %(primary_keys_1)s,\n    /* … 5 keys */\n"),
            "{laid_out}"
        );
        let cast = pretty("SELECT posts.id FROM posts WHERE %(param_1)s::INTEGER = posts.user_id");
        assert!(
            cast.contains("%(param_1)s::INTEGER = posts.user_id"),
            "{cast}"
        );
        assert!(pretty("SELECT a FROM t WHERE t.a = ?").contains("t.a = ?"));
    }

    #[test]
    fn key_lists_are_counted() {
        let keys = vec!["?"; 500].join(", ");
        assert_eq!(
            shape(&format!(
                "SELECT posts.user_id, posts.id FROM posts WHERE posts.user_id IN ({keys})"
            )),
            "SELECT ••• FROM posts WHERE posts.user_id IN (… 500 keys)"
        );
        assert_eq!(
            shape("SELECT a FROM t WHERE (t.a, t.b) IN (VALUES (?, ?), (?, ?))"),
            "SELECT ••• FROM t WHERE (t.a, t.b) IN (… 2 keys)"
        );
        // Short lists and discriminators read better as they are.
        assert_eq!(
            shape("SELECT a FROM t WHERE t.kind IN (?, ?)"),
            "SELECT ••• FROM t WHERE t.kind IN (?, ?)"
        );
    }

    #[test]
    fn text_reports_fold_only_key_lists() {
        let keys = vec!["?"; 500].join(", ");
        assert_eq!(
            fold_key_lists(&format!(
                "SELECT posts.id FROM posts WHERE posts.user_id IN ({keys})"
            )),
            "SELECT posts.id FROM posts WHERE posts.user_id IN (?, … 500 keys)"
        );
    }

    #[test]
    fn quoted_text_is_left_alone() {
        assert_eq!(
            shape(
                "SELECT \"order\".\"from\", 'a FROM b' FROM \"order\" WHERE x = 'IN (?, ?, ?, ?)'"
            ),
            "SELECT ••• FROM \"order\" WHERE x = 'IN (?, ?, ?, ?)'"
        );
        // Unbalanced or odd text never panics.
        for text in [
            "SELECT",
            "SELECT (",
            "IN (",
            "SELECT a FROM (",
            "'",
            "é SELECT é FROM é",
        ] {
            let _ = shape(text);
        }
    }
}
