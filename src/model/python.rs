//! SQLAlchemy declarative `models.py` files, read with a real Python parser
//! (tree-sitter) and never executed. Both the 1.x style (`Column`,
//! `relationship("Post")`) and the 2.0 style (`Mapped[...]`,
//! `mapped_column`) become the same [`ModelSpec`] a TOML model gives; the
//! resolver then checks it against the database like any other model.
//!
//! Only what decides how relationships load is read: mapped classes and
//! their tables, foreign-key columns, and `relationship()` arguments.
//! Columns themselves come from the database, so unknown column types,
//! methods and other class attributes are skipped.

use super::diagnostic::{
    Diagnostic, Located, Severity, SourceFile, Span, did_you_mean, list, nearest,
};
use super::spec::{EntitySpec, ModelSpec, ParsedModel, RelationshipSpec};
use tree_sitter::{Node, Parser, Tree};

type Text = Located<String>;

/// Every parameter of SQLAlchemy 2.1's `relationship()` (plus the
/// deprecated ones it still accepts through `**kw`).
const RELATIONSHIP_PARAMS: &[&str] = &[
    "argument",
    "secondary",
    "uselist",
    "collection_class",
    "primaryjoin",
    "secondaryjoin",
    "back_populates",
    "order_by",
    "backref",
    "overlaps",
    "post_update",
    "cascade",
    "viewonly",
    "init",
    "repr",
    "default",
    "default_factory",
    "compare",
    "kw_only",
    "hash",
    "lazy",
    "passive_deletes",
    "passive_updates",
    "active_history",
    "enable_typechecks",
    "foreign_keys",
    "remote_side",
    "join_depth",
    "comparator_factory",
    "single_parent",
    "innerjoin",
    "distinct_target_key",
    "load_on_pending",
    "query_class",
    "info",
    "omit_join",
    "sync_backref",
    "dataclass_metadata",
    "bake_queries",
    "cascade_backrefs",
    "doc",
];

/// The strategy names `lazy=` accepts.
const LAZY_VALUES: &[&str] = &[
    "select",
    "immediate",
    "joined",
    "subquery",
    "selectin",
    "raise",
    "raise_on_sql",
    "noload",
    "dynamic",
    "write_only",
];

/// Query-time loader options people write as if they were relationship()
/// keywords, with the `lazy=` value that does the same for every query.
const LOADER_OPTIONS: &[(&str, &str)] = &[
    ("joinedload", "joined"),
    ("selectinload", "selectin"),
    ("subqueryload", "subquery"),
    ("lazyload", "select"),
    ("immediateload", "immediate"),
    ("noload", "noload"),
    ("raiseload", "raise"),
];

/// Parses a SQLAlchemy declarative models file. Entities are the mapped
/// classes (those with `__tablename__` or `__table__`) in file order.
///
/// With `lenient`, problems SQLAlchemy itself would reject (an unknown
/// `relationship()` keyword, an unknown `lazy=` value, a relationship
/// whose target cannot be told) become warnings and the offending part is
/// ignored; syntax errors are always errors.
pub fn parse(source: SourceFile, lenient: bool) -> Result<ParsedModel, Diagnostic> {
    let (spec, warnings) = {
        let tree = parse_python(&source.text).ok_or_else(|| {
            Diagnostic::error(&source, None, "the Python parser could not read this file")
        })?;
        let no_aliases = Aliases::new();
        let aliases = aliases_of(Expr {
            node: tree.root_node(),
            text: &source.text,
            offset: 0,
            aliases: &no_aliases,
        });
        let module = Expr {
            node: tree.root_node(),
            text: &source.text,
            offset: 0,
            aliases: &aliases,
        };
        check_depth(&source, module.node)?;
        check_syntax(&source, module.node)?;
        check_repeated_keywords(&source, module.node)?;
        let mut reader = Reader {
            source: &source,
            lenient,
            warnings: Vec::new(),
            tables: Vec::new(),
            classes: Vec::new(),
            flask_classes: Vec::new(),
            declarative: Vec::new(),
        };
        let spec = reader.read(module)?;
        (spec, reader.warnings)
    };
    Ok(ParsedModel {
        spec,
        source,
        warnings,
    })
}

fn parse_python(text: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .expect("tree-sitter-python is built for this tree-sitter version");
    parser.parse(blank_comments(text).as_bytes(), None)
}

/// The text with every comment's bytes turned into spaces, so that byte
/// offsets (and so diagnostics) stay those of the file. tree-sitter-python
/// 0.25's scanner takes time quadratic in the comment lines of an indented
/// block (10,000 of them took 5 s); blank lines cost it nothing. The
/// reader has no use for comments.
fn blank_comments(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                let end = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n' || b == b'\r')
                    .map_or(bytes.len(), |n| i + n);
                let blanked = out.get_or_insert_with(|| bytes.to_vec());
                blanked[i..end].fill(b' ');
                i = end;
            }
            quote @ (b'\'' | b'"') => i = string_end(bytes, i, quote),
            _ => i += 1,
        }
    }
    match out {
        // Only ASCII comment bytes became ASCII spaces: still UTF-8.
        Some(blanked) => String::from_utf8(blanked)
            .map_or(std::borrow::Cow::Borrowed(text), std::borrow::Cow::Owned),
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// Where the string literal opening at `start` ends (one past its closing
/// quote, or the end of the line of an unclosed one-line string).
fn string_end(bytes: &[u8], start: usize, quote: u8) -> usize {
    let triple = bytes[start..].starts_with(&[quote; 3]);
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote && !triple => return i + 1,
            b if b == quote && bytes[i..].starts_with(&[quote; 3]) => return i + 3,
            b'\n' if !triple => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// A syntax tree node together with the text it was parsed from: the file,
/// or the content of a string literal (`order_by="Post.id.desc()"`) parsed
/// on its own, whose spans are shifted by `offset` to point into the file.
#[derive(Clone, Copy)]
struct Expr<'a> {
    node: Node<'a>,
    text: &'a str,
    offset: usize,
    /// The file's other names for SQLAlchemy's callables (`Column =
    /// db.Column`, `from sqlalchemy.orm import relationship as rel`).
    aliases: &'a Aliases,
}

/// `(alias, SQLAlchemy's name)` pairs.
type Aliases = Vec<(String, &'static str)>;

/// The callables an alias may stand for.
const ALIASABLE: &[&str] = &[
    "Column",
    "mapped_column",
    "Field",
    "relationship",
    "Relationship",
    "dynamic_loader",
    "backref",
    "Table",
    "ForeignKey",
    "desc",
    "asc",
];

/// A module's aliases of [`ALIASABLE`] names, from its top-level
/// assignments and imports.
fn aliases_of(module: Expr<'_>) -> Aliases {
    let mut out = Aliases::new();
    for statement in module.named_children() {
        match statement.kind() {
            "expression_statement" => {
                let Some(a) = assignment(statement) else {
                    continue;
                };
                let (Some(left), Some(right)) = (a.field("left"), a.field("right")) else {
                    continue;
                };
                let Some(last) = right.dotted().and_then(|d| d.last().copied()) else {
                    continue;
                };
                if let Some(name) = ALIASABLE.iter().find(|n| **n == last)
                    && left.kind() == "identifier"
                    && left.source() != last
                {
                    out.push((left.source().to_string(), name));
                }
            }
            "import_from_statement" => {
                for imported in statement.named_children() {
                    if imported.kind() != "aliased_import" {
                        continue;
                    }
                    let (Some(name), Some(alias)) =
                        (imported.field("name"), imported.field("alias"))
                    else {
                        continue;
                    };
                    let last = name.source().rsplit('.').next().unwrap_or_default();
                    if let Some(name) = ALIASABLE.iter().find(|n| **n == last) {
                        out.push((alias.source().to_string(), name));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

impl<'a> Expr<'a> {
    fn with(self, node: Node<'a>) -> Expr<'a> {
        Expr { node, ..self }
    }

    fn kind(self) -> &'a str {
        self.node.kind()
    }

    fn source(self) -> &'a str {
        &self.text[self.node.byte_range()]
    }

    fn span(self) -> Span {
        let range = self.node.byte_range();
        range.start + self.offset..range.end + self.offset
    }

    fn located(self) -> Text {
        Located::new(self.source().to_string(), self.span())
    }

    fn field(self, name: &str) -> Option<Expr<'a>> {
        self.node.child_by_field_name(name).map(|n| self.with(n))
    }

    fn named_children(self) -> Vec<Expr<'a>> {
        let mut cursor = self.node.walk();
        self.node
            .named_children(&mut cursor)
            .filter(|n| n.kind() != "comment")
            .map(|n| self.with(n))
            .collect()
    }

    /// `(x)`, `lambda: x` (SQLAlchemy accepts callables for most arguments)
    /// and an annotation's `type` wrapper all stand for `x`.
    fn unwrapped(self) -> Expr<'a> {
        let inner = match self.kind() {
            "parenthesized_expression" | "type" => self.named_children().first().copied(),
            "lambda" => self.field("body"),
            _ => None,
        };
        inner.map_or(self, Expr::unwrapped)
    }

    /// A plain string literal's content (no f-string interpolation), with
    /// the span of the content inside the quotes.
    fn string(self) -> Option<Text> {
        if self.kind() != "string" {
            return None;
        }
        let mut content = None;
        let mut end = self.node.start_byte();
        for child in self.named_children() {
            match child.kind() {
                "string_start" => end = child.node.end_byte(),
                "string_content" => content = Some(child),
                "string_end" => {}
                _ => return None,
            }
        }
        Some(match content {
            Some(content) => content.located(),
            None => Located::new(String::new(), end + self.offset..end + self.offset),
        })
    }

    /// `a.b.c` as `["a", "b", "c"]`.
    fn dotted(self) -> Option<Vec<&'a str>> {
        match self.kind() {
            "identifier" => Some(vec![self.source()]),
            "attribute" => {
                let mut path = self.field("object")?.dotted()?;
                path.push(self.field("attribute")?.source());
                Some(path)
            }
            _ => None,
        }
    }

    /// The last name of a call's function: `relationship` for
    /// `sa.orm.relationship(...)`.
    fn call_name(self) -> Option<&'a str> {
        if self.kind() != "call" {
            return None;
        }
        let name = self.field("function")?.dotted()?;
        match name[..] {
            [one] => Some(
                self.aliases
                    .iter()
                    .find(|(alias, _)| alias == one)
                    .map_or(one, |(_, name)| *name),
            ),
            _ => name.last().copied(),
        }
    }

    /// A call's positional arguments and `name=value` keyword arguments.
    fn call_args(self) -> CallArgs<'a> {
        let mut args = CallArgs::default();
        let Some(list) = self
            .field("arguments")
            .filter(|a| a.kind() == "argument_list")
        else {
            return args;
        };
        for arg in list.named_children() {
            match arg.kind() {
                "keyword_argument" => {
                    if let (Some(name), Some(value)) = (arg.field("name"), arg.field("value")) {
                        args.keywords.push(Keyword {
                            whole: arg,
                            name,
                            value,
                        });
                    }
                }
                "list_splat" | "dictionary_splat" => args.splats.push(arg),
                _ => args.positional.push(arg),
            }
        }
        args
    }
}

#[derive(Default)]
struct CallArgs<'a> {
    positional: Vec<Expr<'a>>,
    keywords: Vec<Keyword<'a>>,
    splats: Vec<Expr<'a>>,
}

#[derive(Clone, Copy)]
struct Keyword<'a> {
    whole: Expr<'a>,
    name: Expr<'a>,
    value: Expr<'a>,
}

/// Python code written inside a string literal (`order_by="Post.id"`,
/// `Mapped["User | None"]`), which SQLAlchemy evaluates later: parsed as an
/// expression and handed to `f`. `a, b` comes as one list-like node.
fn in_string<R>(string: Expr<'_>, f: impl FnOnce(Expr<'_>) -> Option<R>) -> Option<R> {
    let content = string.string()?;
    let tree = parse_python(&content.value)?;
    if tree.root_node().has_error() || deepest(tree.root_node()).1 > MAX_DEPTH {
        return None;
    }
    let module = Expr {
        node: tree.root_node(),
        text: &content.value,
        offset: content.span.as_ref()?.start,
        aliases: string.aliases,
    };
    let [statement] = module.named_children()[..] else {
        return None;
    };
    if statement.kind() != "expression_statement" {
        return None;
    }
    match statement.named_children()[..] {
        [one] => f(one),
        _ => f(statement),
    }
}

/// A SQLModel class without `table=True` (`HeroBase`): its fields, its
/// own bases' first, for the table classes that derive from it.
struct SqlModelBase<'a> {
    name: String,
    fields: Vec<Field<'a>>,
    /// A plain class (a mixin, an `__abstract__` base), not a SQLModel one.
    mixin: bool,
    /// `@declared_attr.directive def __tablename__(cls): return
    /// cls.__name__.lower()`: its subclasses' tables are their lowered names.
    lower_tablename: bool,
}

struct SqlModelKind<'a> {
    /// `table=True`: a mapped class.
    table: bool,
    /// The fields of its SQLModel bases, in MRO order.
    inherited: Vec<Field<'a>>,
}

/// Whether `class` is a SQLModel class: it derives from `SQLModel` or from
/// a SQLModel class of the file.
fn sqlmodel_kind<'a>(class: Expr<'a>, bases: &[SqlModelBase<'a>]) -> Option<SqlModelKind<'a>> {
    let list = class.field("superclasses")?;
    let mut sqlmodel = false;
    let mut table = false;
    let mut inherited = Vec::new();
    for arg in list.named_children() {
        if arg.kind() == "keyword_argument" {
            let is_table = arg.field("name").is_some_and(|n| n.source() == "table")
                && arg.field("value").is_some_and(|v| v.kind() == "true");
            table |= is_table;
            continue;
        }
        let Some(last) = arg.dotted().and_then(|d| d.last().copied()) else {
            continue;
        };
        if last == "SQLModel" {
            sqlmodel = true;
        } else if let Some(base) = bases.iter().find(|b| !b.mixin && b.name == last) {
            sqlmodel = true;
            inherited.extend(base.fields.iter().copied());
        }
    }
    sqlmodel.then_some(SqlModelKind { table, inherited })
}

/// A SQLModel field: every annotated attribute but a `Relationship()` or
/// a `ClassVar` is a column, `Field(primary_key=True,
/// foreign_key="team.id", sa_column_kwargs=...)` saying more.
fn sqlmodel_field(attr: &Attr<'_>, name: Text) -> Option<ColumnDef> {
    let annotation = attr.annotation?;
    if annotation_generic(annotation)
        .and_then(|(head, _)| head.dotted()?.last().copied())
        .is_some_and(|h| h == "ClassVar")
    {
        return None;
    }
    let call = attr.value.map(Expr::unwrapped);
    if call.and_then(|c| c.call_name()) == Some("Relationship") {
        return None;
    }
    let field = call.filter(|c| c.call_name() == Some("Field"));
    let keyword = |wanted: &str| {
        field.and_then(|f| {
            f.call_args()
                .keywords
                .into_iter()
                .find(|k| k.name.source() == wanted)
                .map(|k| k.value)
        })
    };
    let primary_key = keyword("primary_key").is_some_and(|v| v.kind() == "true");
    let references = keyword("foreign_key")
        .and_then(|v| v.string())
        .and_then(|text| {
            let mut parts = text.value.rsplit('.');
            parts.next();
            parts
                .next()
                .map(|table| Reference::Table(table.to_string()))
        });
    Some(ColumnDef {
        column: name.value.clone(),
        attr: name,
        references,
        primary_key,
    })
}

/// Calls in a class body whose meaning for the mapped columns is known:
/// columns, relationships, and attributes that map no column of their own.
const KNOWN_CALLS: &[&str] = &[
    "Column",
    "mapped_column",
    "Field",
    "relationship",
    "Relationship",
    "dynamic_loader",
    "backref",
    "synonym",
    "association_proxy",
    "query_expression",
    "Table",
];

/// The last names of a class's bases: `Base`, `Model` for `db.Model`.
fn base_names(class: Expr<'_>) -> Vec<String> {
    class
        .field("superclasses")
        .map(|list| list.named_children())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|b| b.dotted().and_then(|d| d.last().map(|l| l.to_string())))
        .collect()
}

/// An attribute a class body declares: an assignment (`name: Mapped[int]
/// = mapped_column()`, `id = Column(...)`), or a `@declared_attr` method,
/// whose return expression stands for the value (SQLAlchemy calls it for
/// each class that uses the mixin).
#[derive(Clone, Copy)]
struct Field<'a> {
    left: Expr<'a>,
    annotation: Option<Expr<'a>>,
    right: Option<Expr<'a>>,
}

impl Field<'_> {
    fn named(&self, name: &str) -> bool {
        self.left.source() == name
    }
}

/// The attributes a class body declares, in order.
fn fields_of(body: Expr<'_>) -> Vec<Field<'_>> {
    body.named_children()
        .into_iter()
        .filter_map(|statement| {
            if let Some(a) = assignment(statement) {
                return Some(Field {
                    left: a.field("left")?,
                    annotation: a.field("type"),
                    right: a.field("right"),
                });
            }
            declared_attr(statement)
        })
        .collect()
}

/// `@declared_attr def owner_id(cls) -> Mapped[int]: return
/// mapped_column(ForeignKey("accounts.id"))` as the field `owner_id`. A
/// `__tablename__` one is read by [`lowers_its_name`].
fn declared_attr(statement: Expr<'_>) -> Option<Field<'_>> {
    if statement.kind() != "decorated_definition" {
        return None;
    }
    let declared = statement
        .named_children()
        .iter()
        .any(|d| d.kind() == "decorator" && d.source().contains("declared_attr"));
    let function = statement.field("definition")?;
    let name = function.field("name")?;
    if !declared || function.kind() != "function_definition" || name.source() == "__tablename__" {
        return None;
    }
    let returned = function
        .field("body")?
        .named_children()
        .into_iter()
        .rev()
        .find(|r| r.kind() == "return_statement")?
        .named_children()
        .first()
        .copied();
    Some(Field {
        left: name,
        annotation: function.field("return_type"),
        right: returned,
    })
}

/// `__abstract__ = True` among a class's assignments.
fn is_abstract(fields: &[Field<'_>]) -> bool {
    fields
        .iter()
        .any(|f| f.named("__abstract__") && f.right.is_some_and(|r| r.kind() == "true"))
}

/// A class body with `@declared_attr` (or `.directive`) `def
/// __tablename__(cls): return cls.__name__.lower()`.
fn lowers_its_name(body: Expr<'_>) -> bool {
    body.named_children().into_iter().any(|statement| {
        if statement.kind() != "decorated_definition" {
            return false;
        }
        let Some(function) = statement.field("definition") else {
            return false;
        };
        let declared = statement
            .named_children()
            .iter()
            .any(|d| d.kind() == "decorator" && d.source().contains("declared_attr"));
        declared
            && function
                .field("name")
                .is_some_and(|n| n.source() == "__tablename__")
            && function.field("body").is_some_and(|b| {
                b.named_children().iter().any(|r| {
                    r.kind() == "return_statement"
                        && r.source().split_whitespace().collect::<String>()
                            == "returncls.__name__.lower()"
                })
            })
    })
}

/// Flask-SQLAlchemy 3.1's `camel_to_snake_case`: `OrderLine` ->
/// `order_line`, `HTTPRequest` -> `http_request`, `User2FA` -> `user2_fa`.
/// An underscore goes before a capital that follows a lower-case letter or
/// a digit, and before one (not the first) that a lower-case letter follows.
pub fn flask_table_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let after_lower = previous.is_ascii_lowercase() || previous.is_ascii_digit();
            let before_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if after_lower || before_lower {
                out.push('_');
            }
        }
        out.push(c);
    }
    out.to_lowercase().trim_start_matches('_').to_string()
}

/// How deep a syntax tree may nest before the reader (which recurses)
/// refuses it. CPython stops at 200 nested brackets ("too many nested
/// parentheses"); a bracket is about two levels of tree, and no model file
/// comes near.
const MAX_DEPTH: usize = 500;

/// A tree nested deeper than [`MAX_DEPTH`] is an error at its deepest
/// point, found without recursion so that no file can exhaust the stack.
fn check_depth(source: &SourceFile, root: Node<'_>) -> Result<(), Diagnostic> {
    let (node, depth) = deepest(root);
    if depth <= MAX_DEPTH {
        return Ok(());
    }
    Err(Diagnostic::error(
        source,
        Some(&(node.start_byte()..node.start_byte())),
        format!("Python syntax error: too many nested parentheses (more than {MAX_DEPTH} levels of nesting)"),
    )
    .with_help("CPython refuses more than 200 nested brackets too; a model file needs a handful"))
}

/// The first node at the greatest depth, and that depth, walking the tree
/// with a cursor (no recursion). Stops early once past [`MAX_DEPTH`].
fn deepest(root: Node<'_>) -> (Node<'_>, usize) {
    let mut cursor = root.walk();
    let (mut best, mut best_depth, mut depth) = (root, 0, 0);
    loop {
        if depth > best_depth {
            best = cursor.node();
            best_depth = depth;
            if best_depth > MAX_DEPTH {
                return (best, best_depth);
            }
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return (best, best_depth);
            }
            depth -= 1;
        }
    }
}

/// A keyword given twice in one call is a SyntaxError in Python
/// (`keyword argument repeated: lazy`), wherever the call is.
fn check_repeated_keywords(source: &SourceFile, root: Node<'_>) -> Result<(), Diagnostic> {
    let text = source.text.as_bytes();
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.kind() == "argument_list" {
            let mut seen: Vec<&[u8]> = Vec::new();
            let mut args = node.walk();
            for arg in node.named_children(&mut args) {
                let Some(name) = arg
                    .child_by_field_name("name")
                    .filter(|_| arg.kind() == "keyword_argument")
                else {
                    continue;
                };
                let word = &text[name.byte_range()];
                if seen.contains(&word) {
                    return Err(Diagnostic::error(
                        source,
                        Some(&name.byte_range()),
                        format!(
                            "Python syntax error: keyword argument repeated: {}",
                            String::from_utf8_lossy(word)
                        ),
                    )
                    .with_help("give each keyword once; Python refuses the file as it is"));
                }
                seen.push(word);
            }
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return Ok(());
            }
        }
    }
}

fn check_syntax(source: &SourceFile, root: Node<'_>) -> Result<(), Diagnostic> {
    if !root.has_error() {
        return Ok(());
    }
    let (span, message) = match first_error(root) {
        Some(missing) if missing.is_missing() => {
            let what = if missing.is_named() {
                missing.kind().replace('_', " ")
            } else {
                format!("`{}`", missing.kind())
            };
            (
                missing.start_byte()..missing.start_byte(),
                format!("Python syntax error: missing {what}"),
            )
        }
        Some(error) => match unclosed_bracket(error) {
            Some(open) => (
                open.byte_range(),
                format!("Python syntax error: `{}` was never closed", open.kind()),
            ),
            None => (
                first_leaf(error).byte_range(),
                "Python syntax error: invalid syntax".to_string(),
            ),
        },
        None => (0..0, "Python syntax error".to_string()),
    };
    Err(
        Diagnostic::error(source, Some(&span), message).with_help(format!(
            "loadscope reads models.py with a Python parser and runs none of it; \
             `python -m py_compile {}` reports the same problem",
            source.name
        )),
    )
}

/// The first ERROR or MISSING node in file order.
fn first_error(node: Node<'_>) -> Option<Node<'_>> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut cursor = node.walk();
    let children: Vec<Node<'_>> = node.children(&mut cursor).collect();
    children
        .into_iter()
        .filter(|c| c.has_error() || c.is_missing())
        .find_map(first_error)
}

/// An opening bracket among an ERROR node's tokens that nothing closes:
/// what Python reports as "'(' was never closed".
fn unclosed_bracket(error: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = error.walk();
    let mut open: Vec<Node<'_>> = Vec::new();
    for token in error.children(&mut cursor) {
        let closes = match token.kind() {
            "(" | "[" | "{" => {
                open.push(token);
                continue;
            }
            ")" => "(",
            "]" => "[",
            "}" => "{",
            _ => continue,
        };
        if open.last().is_some_and(|o| o.kind() == closes) {
            open.pop();
        }
    }
    open.first().copied()
}

fn first_leaf(node: Node<'_>) -> Node<'_> {
    node.child(0).map_or(node, first_leaf)
}

/// A `Table("post_tags", metadata, Column(...), ...)` at module level.
struct TableDef {
    /// The Python variable it is assigned to.
    var: String,
    name: Text,
    columns: Vec<ColumnDef>,
}

/// What a `ForeignKey(...)` points at, resolved to a table once every
/// class is known.
#[derive(Clone)]
enum Reference {
    /// `ForeignKey("users.id")`
    Table(String),
    /// `ForeignKey(User.id)` or `ForeignKey(users_table.c.id)`: a class or
    /// a Table variable.
    Name(String),
}

#[derive(Clone)]
struct ColumnDef {
    /// The attribute (or, in a Table, the column) as written.
    attr: Text,
    /// The database column: `Column("name", ...)` may differ from `attr`.
    column: String,
    references: Option<Reference>,
    primary_key: bool,
}

struct ClassDef {
    name: Text,
    table: Text,
    columns: Vec<ColumnDef>,
    relationships: Vec<RelationshipSpec>,
    /// Every base is known (the file's own classes, SQLAlchemy's,
    /// Flask-SQLAlchemy's or SQLModel's), so `columns` is all the mapper
    /// maps, in its order; otherwise the table's columns are taken.
    knows_all_columns: bool,
    /// A single-table subclass: the mapped class it inherits from, whose
    /// table it maps. Its `columns` start with the base's.
    inherits: Option<usize>,
    /// How many of `columns` come from the base.
    inherited_columns: usize,
    /// From `__mapper_args__`.
    polymorphic: MapperArgs,
}

/// What `__mapper_args__` says about inheritance.
#[derive(Default)]
struct MapperArgs {
    /// The discriminator: an attribute of the class (`kind`, `"kind"`).
    on: Option<Text>,
    identity: Option<Text>,
}

/// One attribute assignment of a mapped class, in a class body or at
/// module level (`User.posts = relationship(...)`).
struct Attr<'a> {
    class: usize,
    name: Expr<'a>,
    annotation: Option<Expr<'a>>,
    value: Option<Expr<'a>>,
    /// Declared in a SQLModel class: every annotated field is a column.
    sqlmodel: bool,
}

/// A column as a relationship argument names it (`Post.id`, `"User.id"`,
/// `post_tags.c.post_id`, a bare `id` in the class body).
struct ColumnRef<'r> {
    table: String,
    column: String,
    def: Option<&'r ColumnDef>,
}

impl ColumnRef<'_> {
    fn qualified(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}

/// What an annotation such as `Mapped[list["Post"]]` or
/// `WriteOnlyMapped["Post"]` says about a relationship.
#[derive(Default)]
struct Annotation {
    target: Option<Text>,
    lazy: Option<Text>,
    /// `Mapped["X"]` or `Mapped[Optional["X"]]` rather than a collection:
    /// SQLAlchemy makes the relationship `uselist=False` (a one-to-one on
    /// the one-to-many side).
    scalar: Option<Span>,
}

/// The arguments of one `relationship()`, `dynamic_loader()` or `backref()`
/// call that matter for loading. Expressions that name classes or columns
/// are kept as written and interpreted once every class is known.
#[derive(Default)]
struct Options<'a> {
    positional: Vec<Expr<'a>>,
    argument: Option<Expr<'a>>,
    secondary: Option<Expr<'a>>,
    lazy: Option<Text>,
    innerjoin: Option<Located<bool>>,
    /// `uselist=True` / `uselist=False` as written.
    uselist: Option<Located<bool>>,
    order_by: Option<Expr<'a>>,
    back_populates: Option<Text>,
    backref: Option<Expr<'a>>,
    remote_side: Option<Expr<'a>>,
    foreign_keys: Option<Expr<'a>>,
    /// `primaryjoin=` and `secondaryjoin=`, with their keyword.
    joins: Vec<(&'static str, Expr<'a>)>,
}

struct Reader<'s> {
    source: &'s SourceFile,
    lenient: bool,
    warnings: Vec<Diagnostic>,
    tables: Vec<TableDef>,
    classes: Vec<ClassDef>,
    /// Classes that derive from Flask-SQLAlchemy's `db.Model` (mapped or
    /// `__abstract__`): their subclasses get table names derived as
    /// Flask-SQLAlchemy derives them.
    flask_classes: Vec<String>,
    /// Declarative bases (`class Base(DeclarativeBase)`, `Base =
    /// declarative_base()`) and the unmapped classes that derive from them:
    /// a class below one must map a table, or SQLAlchemy refuses it.
    declarative: Vec<String>,
}

impl Reader<'_> {
    fn warn(&mut self, span: Span, message: impl Into<String>, help: &str) {
        let warning = Diagnostic::warning(self.source, Some(&span), message).with_help(help);
        self.warnings.push(warning);
    }

    /// Something SQLAlchemy would reject: an error, or with `lenient` a
    /// warning that says what is ignored instead.
    fn problem(&mut self, diagnostic: Diagnostic, ignored: &str) -> Result<(), Diagnostic> {
        if !self.lenient {
            return Err(diagnostic);
        }
        let mut warning = diagnostic.with_help(format!("lenient: {ignored}"));
        warning.severity = Severity::Warning;
        self.warnings.push(warning);
        Ok(())
    }

    fn read(&mut self, module: Expr<'_>) -> Result<ModelSpec, Diagnostic> {
        let mut class_nodes = Vec::new();
        let mut outside = Vec::new();
        for statement in module.named_children() {
            match statement.kind() {
                "class_definition" => class_nodes.push(statement),
                "decorated_definition" => class_nodes.extend(
                    statement
                        .field("definition")
                        .filter(|d| d.kind() == "class_definition"),
                ),
                "expression_statement" => {
                    let Some(assignment) = assignment(statement) else {
                        continue;
                    };
                    let (Some(left), Some(right)) =
                        (assignment.field("left"), assignment.field("right"))
                    else {
                        continue;
                    };
                    match left.kind() {
                        "identifier" if right.call_name() == Some("Table") => {
                            self.read_table(left.source(), right);
                        }
                        "identifier" if right.call_name() == Some("declarative_base") => {
                            self.declarative.push(left.source().to_string());
                        }
                        "attribute" => outside.push(assignment),
                        _ => {}
                    }
                }
                _ => {}
            }
        }

        let mut attrs = Vec::new();
        let mut unmapped = Vec::new();
        let mut sqlmodel_bases = Vec::new();
        for class in class_nodes {
            self.read_class(class, &mut attrs, &mut unmapped, &mut sqlmodel_bases);
        }
        for assignment in outside {
            let Some(left) = assignment.field("left") else {
                continue;
            };
            let Some(path) = left.dotted() else { continue };
            let [owner, _] = path[..] else { continue };
            if let Some(class) = self.class_index(owner) {
                attrs.push(Attr {
                    class,
                    name: left.field("attribute").unwrap_or(left),
                    annotation: None,
                    value: assignment.field("right"),
                    sqlmodel: false,
                });
            }
        }
        if self.classes.is_empty() {
            let mut error = Diagnostic::error(
                self.source,
                None,
                format!("no mapped classes in {}", self.source.name),
            )
            .with_help(
                "expected SQLAlchemy declarative classes such as `class User(Base):` with \
                 `__tablename__ = \"users\"`, their columns, and relationships like \
                 `posts = relationship(\"Post\", back_populates=\"user\")`",
            );
            if !unmapped.is_empty() {
                let shown: Vec<&str> = unmapped.iter().take(8).map(String::as_str).collect();
                let more = match unmapped.len() - shown.len() {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                error = error.with_help(format!(
                    "classes found without `__tablename__` or `__table__`: {}{more}",
                    list(&shown)
                ));
            }
            return Err(error);
        }

        // Columns first: inferring a relationship's foreign key needs the
        // columns of every class, including those defined after it.
        for attr in &attrs {
            if let Some(column) = self.column_of_attr(attr) {
                self.classes[attr.class].columns.push(column);
            }
        }
        // A subclass has its base's columns, first (the base comes first
        // in the file, as Python needs it to).
        for i in 0..self.classes.len() {
            if let Some(base) = self.classes[i].inherits {
                let inherited = self.classes[base].columns.clone();
                self.classes[i].inherited_columns = inherited.len();
                self.classes[i].columns.splice(0..0, inherited);
            }
        }
        let mut backrefs = Vec::new();
        for attr in &attrs {
            let Some(call) = attr.value.map(Expr::unwrapped) else {
                continue;
            };
            match call.call_name() {
                Some(func @ ("relationship" | "dynamic_loader")) => {
                    self.read_relationship(attr, call, func, &mut backrefs)?;
                }
                Some("Relationship") if attr.sqlmodel => {
                    self.read_sqlmodel_relationship(attr, call)?;
                }
                _ => {}
            }
        }
        // A backref's relationship comes after those its class declares.
        for (target, reverse) in backrefs {
            if let Some(class) = self.class_index(&target) {
                self.classes[class].relationships.push(reverse);
            }
        }

        let names: Vec<String> = self.classes.iter().map(|c| c.name.value.clone()).collect();
        let entities = std::mem::take(&mut self.classes)
            .into_iter()
            .map(|class| {
                let discriminator = class.polymorphic.on.map(|on| {
                    // The attribute's column (`kind = mapped_column("type")`).
                    let column = class
                        .columns
                        .iter()
                        .find(|c| c.attr.value == on.value)
                        .map_or(on.value.clone(), |c| c.column.clone());
                    Located {
                        value: column,
                        span: on.span,
                    }
                });
                let polymorphic_identity = class.polymorphic.identity;
                if let Some(base) = class.inherits {
                    let own: Vec<String> = class.columns[class.inherited_columns..]
                        .iter()
                        .map(|c| c.column.clone())
                        .collect();
                    return EntitySpec {
                        columns: (!own.is_empty()).then(|| Located {
                            value: own,
                            span: class.name.span.clone(),
                        }),
                        name: class.name,
                        table: None,
                        label: None,
                        primary_key: None,
                        inherits: Some(Located {
                            value: names[base].clone(),
                            span: None,
                        }),
                        polymorphic_on: discriminator,
                        polymorphic_identity,
                        relationships: class.relationships,
                    };
                }
                EntitySpec {
                    // The mapper's columns in its order: the class's own, then
                    // its mixins' (SQLAlchemy's order), or SQLModel's field order.
                    // (An attribute a class redeclares counts once, where the
                    // class itself puts it.)
                    columns: (class.knows_all_columns && !class.columns.is_empty()).then(|| {
                        let mut names: Vec<String> = Vec::new();
                        for c in &class.columns {
                            if !names.contains(&c.column) {
                                names.push(c.column.clone());
                            }
                        }
                        // A column the database lacks is reported at the class.
                        Located {
                            value: names,
                            span: class.name.span.clone(),
                        }
                    }),
                    name: class.name,
                    table: Some(class.table),
                    label: None,
                    primary_key: None,
                    inherits: None,
                    polymorphic_on: discriminator,
                    polymorphic_identity,
                    relationships: class.relationships,
                }
            })
            .collect();
        Ok(ModelSpec { entities })
    }

    fn read_table(&mut self, var: &str, call: Expr<'_>) {
        let Some(name) = call.call_args().positional.first().and_then(|a| a.string()) else {
            self.warn(
                call.span(),
                format!("cannot read the table name of `{var}`; it is skipped"),
                "write the name as a string: `Table(\"post_tags\", Base.metadata, ...)`",
            );
            return;
        };
        let columns = self.table_columns(call);
        self.tables.push(TableDef {
            var: var.to_string(),
            name,
            columns,
        });
    }

    fn table_columns(&self, call: Expr<'_>) -> Vec<ColumnDef> {
        call.call_args()
            .positional
            .into_iter()
            .filter(|a| a.call_name() == Some("Column"))
            .filter_map(|c| self.column_def(c, None))
            .collect()
    }

    /// Reads a class: an entity when it has `__tablename__` or `__table__`;
    /// its attribute assignments go to `attrs`.
    fn read_class<'a>(
        &mut self,
        class: Expr<'a>,
        attrs: &mut Vec<Attr<'a>>,
        unmapped: &mut Vec<String>,
        sqlmodel_bases: &mut Vec<SqlModelBase<'a>>,
    ) {
        let (Some(name), Some(body)) = (class.field("name"), class.field("body")) else {
            return;
        };
        let own: Vec<Field<'a>> = fields_of(body);
        let sqlmodel = sqlmodel_kind(class, sqlmodel_bases);
        let assignments: Vec<Field<'a>> = match &sqlmodel {
            // A SQLModel class has its bases' fields first, as pydantic
            // orders them (and SQLModel builds the table).
            Some(kind) => kind
                .inherited
                .iter()
                .copied()
                .chain(own.iter().copied())
                .collect(),
            None => own,
        };
        if let Some(kind) = &sqlmodel
            && !kind.table
        {
            // `class HeroBase(SQLModel)`: fields for its subclasses, no table.
            sqlmodel_bases.push(SqlModelBase {
                name: name.source().to_string(),
                fields: assignments,
                mixin: false,
                lower_tablename: false,
            });
            return;
        }
        // Mixins and abstract bases of the file lend their columns and
        // relationships (SQLAlchemy puts a class's own columns first).
        let base_names = base_names(class);
        let mixins: Vec<&SqlModelBase<'a>> = base_names
            .iter()
            .filter_map(|b| sqlmodel_bases.iter().find(|m| m.mixin && &m.name == b))
            .collect();
        let lower_tablename = lowers_its_name(body) || mixins.iter().any(|m| m.lower_tablename);
        // `__abstract__` counts only where it is written (declarative reads
        // it from the class's own `__dict__`).
        let abstract_ = is_abstract(&assignments);
        let assignments: Vec<Field<'a>> = assignments
            .into_iter()
            .chain(mixins.iter().flat_map(|m| m.fields.iter().copied()))
            .collect();
        let dunder = |wanted: &str| {
            assignments
                .iter()
                .find(|a| a.named(wanted))
                .and_then(|a| a.right)
        };
        let polymorphic = self.mapper_args(dunder("__mapper_args__"), name.source());
        // A subclass of a mapped class is mapper inheritance: joined-table
        // when it maps a table of its own (under Flask-SQLAlchemy: when it
        // declares a primary key of its own, whatever its `__tablename__`),
        // single-table otherwise.
        if let Some((base, base_name)) = base_names
            .iter()
            .find_map(|b| Some((self.class_index(b)?, b.clone())))
        {
            let flask = self.flask_classes.contains(&base_name);
            let joined = if flask {
                declares_primary_key(&assignments)
            } else {
                dunder("__tablename__").is_some() || dunder("__table__").is_some()
            };
            if joined {
                self.warn(
                    name.span(),
                    format!(
                        "class {} inherits from the mapped class {base_name} with a table of its own: it is left out, as joined-table inheritance is not supported yet",
                        name.source()
                    ),
                    "single-table inheritance (a subclass without a table or a primary key of its own) is",
                );
                return;
            }
            if flask {
                self.flask_classes.push(name.source().to_string());
            }
            let index = self.classes.len();
            self.classes.push(ClassDef {
                name: name.located(),
                table: self.classes[base].table.clone(),
                columns: Vec::new(),
                relationships: Vec::new(),
                knows_all_columns: true,
                inherits: Some(base),
                inherited_columns: 0,
                polymorphic,
            });
            push_attrs(attrs, index, &assignments, sqlmodel.is_some());
            return;
        }
        let (table, columns) = if let Some(value) = dunder("__tablename__") {
            match value.string() {
                Some(table) => (table, Vec::new()),
                None => {
                    self.warn(
                        value.span(),
                        format!(
                            "cannot read `__tablename__` of {}; the class is skipped",
                            name.source()
                        ),
                        "loadscope runs no Python: write the table name as a string literal",
                    );
                    return;
                }
            }
        } else if let Some(value) = dunder("__table__") {
            match self.table_value(value) {
                Some(found) => found,
                None => {
                    self.warn(
                        value.span(),
                        format!("cannot read `__table__` of {}; the class is skipped", name.source()),
                        "use `Table(\"name\", Base.metadata, ...)` or a module-level variable holding one",
                    );
                    return;
                }
            }
        } else if sqlmodel.is_some() || (lower_tablename && !abstract_) {
            // SQLModel's `__tablename__` is `__name__.lower()`, and so is a
            // `declared_attr` one that returns `cls.__name__.lower()`.
            (
                Located {
                    value: name.source().to_lowercase(),
                    span: Some(name.span()),
                },
                Vec::new(),
            )
        } else if let Some(table) = self.flask_table(class, name, &assignments, abstract_) {
            (table, Vec::new())
        } else {
            // Below a declarative base a class must map a table (or be
            // `__abstract__`); a mixin need not.
            let is_base = base_names
                .iter()
                .any(|b| matches!(b.as_str(), "DeclarativeBase" | "DeclarativeBaseNoMeta"));
            let below_base = base_names.iter().any(|b| self.declarative.contains(b));
            if is_base || below_base {
                self.declarative.push(name.source().to_string());
            }
            if below_base && !abstract_ {
                self.warn(
                    name.span(),
                    format!(
                        "class {} has no `__tablename__` or `__table__`: SQLAlchemy refuses to map it, and it is left out",
                        name.source()
                    ),
                    "give it `__tablename__ = \"...\"`, or `__abstract__ = True` if it is a base for other classes",
                );
            }
            unmapped.push(name.source().to_string());
            sqlmodel_bases.push(SqlModelBase {
                name: name.source().to_string(),
                fields: assignments,
                mixin: true,
                lower_tablename,
            });
            return;
        };
        let index = self.classes.len();
        const KNOWN_BASES: [&str; 6] = [
            "DeclarativeBase",
            "DeclarativeBaseNoMeta",
            "MappedAsDataclass",
            "Model",
            "SQLModel",
            "object",
        ];
        // A call the reader does not know (a helper returning a column, an
        // alias of Column) may be a column: then the table's columns are
        // taken, as they always were.
        let knows_every_call = assignments.iter().all(|a| {
            let Some(call) = a.right.map(Expr::unwrapped) else {
                return true;
            };
            call.kind() != "call"
                || a.left.source().starts_with("__")
                || call.call_name().is_some_and(|f| KNOWN_CALLS.contains(&f))
        });
        let knows_all_columns = knows_every_call
            && base_names.iter().all(|b| {
                KNOWN_BASES.contains(&b.as_str()) || sqlmodel_bases.iter().any(|m| &m.name == b)
            })
            && columns.is_empty();
        self.classes.push(ClassDef {
            name: name.located(),
            table,
            columns,
            relationships: Vec::new(),
            knows_all_columns,
            inherits: None,
            inherited_columns: 0,
            polymorphic,
        });
        push_attrs(attrs, index, &assignments, sqlmodel.is_some());
    }

    /// `__mapper_args__ = {"polymorphic_on": kind, "polymorphic_identity":
    /// "truck"}`; what cannot be read is a warning.
    fn mapper_args(&mut self, value: Option<Expr<'_>>, class: &str) -> MapperArgs {
        let mut args = MapperArgs::default();
        let Some(value) = value.map(Expr::unwrapped) else {
            return args;
        };
        if value.kind() != "dictionary" {
            self.warn(
                value.span(),
                format!("cannot read `__mapper_args__` of {class}; inheritance settings in it are ignored"),
                "write it as a dict literal: `{\"polymorphic_on\": kind, \"polymorphic_identity\": \"truck\"}`",
            );
            return args;
        }
        for pair in value
            .named_children()
            .into_iter()
            .filter(|p| p.kind() == "pair")
        {
            let (Some(key), Some(v)) = (
                pair.field("key").and_then(|k| k.string()),
                pair.field("value").map(Expr::unwrapped),
            ) else {
                continue;
            };
            match key.value.as_str() {
                "polymorphic_on" => {
                    // An attribute, by name or as a string; `cls.kind` or
                    // `__table__.c.kind` name it too.
                    let attr = v.string().or_else(|| {
                        let path = v.dotted()?;
                        let last = path.last()?;
                        Some(Located::new(last.to_string(), v.span()))
                    });
                    if attr.is_none() {
                        self.warn(
                            v.span(),
                            format!("cannot read polymorphic_on of {class}: its rows are loaded as the class the statement names"),
                            "name a column: `\"polymorphic_on\": kind` or `\"polymorphic_on\": \"kind\"`",
                        );
                    }
                    args.on = attr;
                }
                "polymorphic_identity" => {
                    args.identity = v.string().or_else(|| {
                        (v.kind() == "integer")
                            .then(|| Located::new(v.source().to_string(), v.span()))
                    });
                    if args.identity.is_none() {
                        self.warn(
                            v.span(),
                            format!(
                                "cannot read polymorphic_identity of {class}; it is taken as None"
                            ),
                            "write the identity as a string or integer literal",
                        );
                    }
                }
                _ => {}
            }
        }
        args
    }

    /// The table Flask-SQLAlchemy 3.1 gives a class that names none: a
    /// subclass of `db.Model` (directly or through classes of its own)
    /// that declares a primary key maps `camel_to_snake_case(name)`; one
    /// that declares none (or `__abstract__`) maps nothing.
    fn flask_table(
        &mut self,
        class: Expr<'_>,
        name: Expr<'_>,
        assignments: &[Field<'_>],
        abstract_: bool,
    ) -> Option<Text> {
        let bases: Vec<Vec<&str>> = class
            .field("superclasses")
            .map(|list| list.named_children())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|b| b.dotted())
            .collect();
        let flask = bases.iter().any(|b| {
            matches!(b[..], [_, "Model"])
                || matches!(b[..], [one] if self.flask_classes.iter().any(|c| c == one))
        });
        if !flask {
            return None;
        }
        self.flask_classes.push(name.source().to_string());
        (!abstract_ && declares_primary_key(assignments)).then(|| Located {
            value: flask_table_name(name.source()),
            span: Some(name.span()),
        })
    }

    /// `__table__ = Table(...)` or `__table__ = some_table`.
    fn table_value(&self, value: Expr<'_>) -> Option<(Text, Vec<ColumnDef>)> {
        if value.call_name() == Some("Table") {
            let name = value.call_args().positional.first()?.string()?;
            return Some((name, self.table_columns(value)));
        }
        let table = self.table_by_var(value.source())?;
        Some((table.name.clone(), table.columns.clone()))
    }

    fn column_of_attr(&self, attr: &Attr<'_>) -> Option<ColumnDef> {
        let name = attr.name.located();
        if attr.sqlmodel {
            return sqlmodel_field(attr, name);
        }
        match attr.value {
            Some(value) => {
                let mut call = value.unwrapped();
                // `deferred(Column(...))` and `column_property(Column(...))`
                if matches!(call.call_name(), Some("deferred" | "column_property")) {
                    call = *call.call_args().positional.first()?;
                }
                match call.call_name()? {
                    "Column" | "mapped_column" => self.column_def(call, Some(name)),
                    _ => None,
                }
            }
            // `name: Mapped[str]` with no value is a column named after the attribute.
            None => {
                let head = annotation_generic(attr.annotation?)?.0;
                (head.dotted()?.last() == Some(&"Mapped")).then(|| ColumnDef {
                    column: name.value.clone(),
                    attr: name,
                    references: None,
                    primary_key: false,
                })
            }
        }
    }

    /// `Column("name", Integer, ForeignKey("users.id"), primary_key=True)`;
    /// in a Table the first argument names the column, in a class it may.
    fn column_def(&self, call: Expr<'_>, attr: Option<Text>) -> Option<ColumnDef> {
        let args = call.call_args();
        let explicit = args.positional.first().and_then(|a| a.string());
        let attr = attr.or_else(|| explicit.clone())?;
        let references = args
            .positional
            .iter()
            .find_map(|a| foreign_key_reference(*a));
        let primary_key = args
            .keywords
            .iter()
            .any(|k| k.name.source() == "primary_key" && k.value.kind() == "true");
        Some(ColumnDef {
            column: explicit.map_or_else(|| attr.value.clone(), |e| e.value),
            attr,
            references,
            primary_key,
        })
    }

    fn class_index(&self, name: &str) -> Option<usize> {
        self.classes.iter().position(|c| c.name.value == name)
    }

    fn table_by_var(&self, var: &str) -> Option<&TableDef> {
        self.tables.iter().find(|t| t.var == var)
    }

    fn referenced_table<'r>(&'r self, reference: &'r Reference) -> &'r str {
        match reference {
            Reference::Table(table) => table,
            Reference::Name(name) => match self.class_index(name) {
                Some(class) => &self.classes[class].table.value,
                None => self.table_by_var(name).map_or(name, |t| &t.name.value),
            },
        }
    }

    fn references(&self, column: &ColumnDef, table: &str) -> bool {
        column
            .references
            .as_ref()
            .is_some_and(|r| self.referenced_table(r).eq_ignore_ascii_case(table))
    }

    /// SQLModel's `heroes: list["Hero"] = Relationship(back_populates="team",
    /// link_model=HeroTeamLink, sa_relationship_kwargs={"lazy": "selectin"})`:
    /// the target from the annotation, a link model's table as `secondary`,
    /// `lazy` and `order_by` from `sa_relationship_kwargs`.
    fn read_sqlmodel_relationship(
        &mut self,
        attr: &Attr<'_>,
        call: Expr<'_>,
    ) -> Result<(), Diagnostic> {
        let class = attr.class;
        let name = attr.name.located();
        let display = format!("{}.{}", self.classes[class].name.value, name.value);
        let Some(target) = attr.annotation.and_then(type_target) else {
            let error = Diagnostic::error(
                self.source,
                Some(&attr.name.span()),
                format!("cannot tell which class {display} points at"),
            )
            .with_help("annotate it with the class: `team: Optional[\"Team\"] = Relationship()`");
            return self.problem(error, &format!("{display} is skipped"));
        };
        let args = call.call_args();
        let keyword = |wanted: &str| {
            args.keywords
                .iter()
                .find(|k| k.name.source() == wanted)
                .map(|k| k.value)
        };
        let mut spec = RelationshipSpec::new(name, target.clone());
        spec.back_populates = keyword("back_populates").and_then(|v| v.string());
        spec.secondary = keyword("link_model").and_then(|v| self.secondary_table(v));
        if let Some(kwargs) = keyword("sa_relationship_kwargs").filter(|v| v.kind() == "dictionary")
        {
            for pair in kwargs
                .named_children()
                .into_iter()
                .filter(|p| p.kind() == "pair")
            {
                let (Some(key), Some(value)) = (
                    pair.field("key").and_then(|k| k.string()),
                    pair.field("value"),
                ) else {
                    continue;
                };
                match key.value.as_str() {
                    "lazy" => spec.lazy = self.read_lazy(value, &display)?,
                    "order_by" => {
                        spec.order_by = self.order_by_option(class, Some(value), &display)
                    }
                    "uselist" => {
                        spec.uselist = Some(Located::new(value.kind() == "true", value.span()))
                    }
                    _ => {}
                }
            }
        }
        if spec.secondary.is_none() {
            let target_class = self.class_index(&target.value);
            spec.foreign_key = self
                .infer_foreign_key(class, target_class)
                .map(|fk| Located {
                    value: vec![fk.value],
                    span: fk.span,
                });
        }
        self.classes[class].relationships.push(spec);
        Ok(())
    }

    fn read_relationship<'a>(
        &mut self,
        attr: &Attr<'a>,
        call: Expr<'a>,
        func: &str,
        backrefs: &mut Vec<(String, RelationshipSpec)>,
    ) -> Result<(), Diagnostic> {
        let class = attr.class;
        let name = attr.name.located();
        let display = format!("{}.{}", self.classes[class].name.value, name.value);
        let options = self.read_options(call, func, &display)?;
        if let Some(extra) = options.positional.get(2) {
            self.warn(
                extra.span(),
                format!("positional arguments of {func}() after `secondary` are not read"),
                "pass them by keyword, such as `primaryjoin=...`",
            );
        }
        let annotation = attr.annotation.map(read_annotation).unwrap_or_default();
        let argument = options.positional.first().copied().or(options.argument);
        let Some(target) = argument.map_or(annotation.target, target_name) else {
            let span = argument.map_or_else(|| call.span(), Expr::span);
            let error = Diagnostic::error(
                self.source,
                Some(&span),
                format!("cannot tell which class {display} points at"),
            )
            .with_help(
                "name the class as the first argument, `relationship(\"Post\")`, or in the \
                 annotation, `posts: Mapped[list[\"Post\"]] = relationship()`",
            );
            return self.problem(error, &format!("{display} is skipped"));
        };
        let target_class = self.class_index(&target.value);
        let self_referential = target_class == Some(class);

        let secondary = match options.secondary.or(options.positional.get(1).copied()) {
            Some(expr) if expr.kind() != "none" => match self.secondary_table(expr) {
                Some(table) => Some(table),
                None => {
                    self.warn(
                        expr.span(),
                        format!(
                            "cannot read `secondary` of {display}; the relationship is skipped"
                        ),
                        "write the link table as its name, `secondary=\"post_tags\"`, or as a \
                         module-level Table variable, `secondary=post_tags`",
                    );
                    return Ok(());
                }
            },
            _ => None,
        };

        let foreign_key =
            self.foreign_key(class, target_class, &options, secondary.is_some(), &display);
        // Through a link table the direction is many-to-many; its join
        // conditions say which link column is which side.
        let direction =
            (self_referential && secondary.is_none()).then(|| match options.remote_side {
                Some(expr) => Located::new(
                    self.remote_side_direction(class, expr).to_string(),
                    expr.span(),
                ),
                None => Located {
                    value: "one_to_many".to_string(),
                    span: name.span.clone(),
                },
            });

        let lazy = options.lazy.or_else(|| match func {
            "dynamic_loader" => call
                .field("function")
                .map(|f| Located::new("dynamic".to_string(), f.span())),
            _ => annotation.lazy,
        });
        let order_by = self.order_by_option(class, options.order_by, &display);

        let mut spec = RelationshipSpec::new(name.clone(), target.clone());
        spec.foreign_key = foreign_key.map(|fk| Located {
            value: vec![fk.value],
            span: fk.span,
        });
        spec.secondary = secondary;
        spec.lazy = lazy;
        spec.order_by = order_by;
        spec.back_populates = options.back_populates;
        spec.innerjoin = options.innerjoin;
        spec.direction = direction;
        // A scalar annotation makes it hold one object (SQLAlchemy derives
        // uselist=False from it), unless uselist= says otherwise.
        spec.uselist = options.uselist.clone();
        if spec.uselist.is_none()
            && let Some(span) = annotation.scalar.clone()
        {
            spec.uselist = Some(Located::new(false, span));
        }
        if spec.secondary.is_some() {
            for &(keyword, expr) in &options.joins {
                let condition = self
                    .condition_text(class, expr)
                    .map(|text| Located::new(text, expr.span()));
                match keyword {
                    "primaryjoin" => spec.primaryjoin = condition,
                    _ => spec.secondaryjoin = condition,
                }
            }
        }

        if let Some(expr) = options.backref.filter(|b| b.kind() != "none")
            && let Some(reverse) = self.read_backref(expr, &spec, class, target_class, &display)?
        {
            spec.back_populates = Some(reverse.name.clone());
            backrefs.push((target.value, reverse));
        }
        self.classes[class].relationships.push(spec);
        Ok(())
    }

    /// The foreign key of a relationship without `secondary`: from
    /// `foreign_keys=`, else from a simple `primaryjoin=`, else the one
    /// foreign-key column the classes declare between the two tables.
    /// Join conditions it cannot use are reported and left out.
    fn foreign_key(
        &mut self,
        class: usize,
        target_class: Option<usize>,
        options: &Options<'_>,
        secondary: bool,
        display: &str,
    ) -> Option<Text> {
        let mut foreign_key = None;
        if let Some(expr) = options.foreign_keys.filter(|_| !secondary) {
            match self.column_refs(class, expr).as_deref() {
                Some([first, ..]) => {
                    foreign_key = Some(Located::new(first.qualified(), expr.span()));
                }
                _ => self.warn(
                    expr.span(),
                    format!("cannot map foreign_keys of {display} to a table column; it is ignored"),
                    "write it as `foreign_keys=[Post.user_id]` or `foreign_keys=\"[Post.user_id]\"`",
                ),
            }
        }
        for &(keyword, expr) in &options.joins {
            // With `secondary` the link table's foreign keys come from the
            // database, so a simple condition there adds nothing.
            match self.join_columns(class, expr) {
                Some(_) if secondary => {}
                Some(fk) if keyword == "primaryjoin" => {
                    foreign_key.get_or_insert(Located::new(fk, expr.span()));
                }
                _ => self.warn(
                    expr.span(),
                    format!(
                        "{keyword} of {display} is ignored: loadscope joins on the foreign key"
                    ),
                    "a condition loadscope can use is one equality between a foreign key \
                     and the column it references, `Post.user_id == User.id`; other conditions \
                     are left out and the join follows the database's foreign key",
                ),
            }
        }
        if secondary {
            return None;
        }
        foreign_key.or_else(|| self.infer_foreign_key(class, target_class))
    }

    /// `backref="user"` or `backref=backref("user", lazy="joined")`: the
    /// relationship it creates on the target, pointing back.
    fn read_backref(
        &mut self,
        expr: Expr<'_>,
        forward: &RelationshipSpec,
        class: usize,
        target_class: Option<usize>,
        display: &str,
    ) -> Result<Option<RelationshipSpec>, Diagnostic> {
        if let Some(back_populates) = &forward.back_populates {
            let error = Diagnostic::error(
                self.source,
                Some(&expr.span()),
                format!("{display} has both `backref` and `back_populates`"),
            )
            .with_help(format!(
                "they are two ways of naming the other side: keep `back_populates=\"{}\"` and \
                 declare that relationship on the target, or keep only `backref`",
                back_populates.value
            ));
            self.problem(error, "`backref` is ignored")?;
            return Ok(None);
        }
        let (name, options) = match expr.string() {
            Some(name) => (Some(name), Options::default()),
            None if expr.call_name() == Some("backref") => {
                let options =
                    self.read_options(expr, "backref", &format!("the backref of {display}"))?;
                (options.positional.first().and_then(|n| n.string()), options)
            }
            None => (None, Options::default()),
        };
        let Some(name) = name else {
            self.warn(
                expr.span(),
                format!("cannot read `backref` of {display}; it is ignored"),
                "write `backref=\"name\"` or `backref=backref(\"name\", lazy=...)`",
            );
            return Ok(None);
        };
        let parent = Located {
            value: self.classes[class].name.value.clone(),
            span: name.span.clone(),
        };
        let mut reverse = RelationshipSpec::new(name.clone(), parent);
        reverse.from_backref = true;
        reverse.foreign_key = forward.foreign_key.clone();
        reverse.secondary = forward.secondary.clone();
        // The way back through a link table swaps its two sides.
        reverse.primaryjoin = forward.secondaryjoin.clone();
        reverse.secondaryjoin = forward.primaryjoin.clone();
        reverse.back_populates = Some(forward.name.clone());
        reverse.lazy = options.lazy;
        reverse.innerjoin = options.innerjoin;
        reverse.uselist = options.uselist.clone();
        let reverse_display = format!("{}.{}", forward.target.value, name.value);
        reverse.order_by = self.order_by_option(
            target_class.unwrap_or(class),
            options.order_by,
            &reverse_display,
        );
        // The other side of a self-referential relationship runs the other way.
        reverse.direction = forward.direction.as_ref().map(|d| {
            let other = if d.value == "many_to_one" {
                "one_to_many"
            } else {
                "many_to_one"
            };
            Located {
                value: other.to_string(),
                span: d.span.clone(),
            }
        });
        Ok(Some(reverse))
    }

    /// Reads the keyword arguments of a `relationship()`-like call, checking
    /// each against the parameters SQLAlchemy has.
    fn read_options<'a>(
        &mut self,
        call: Expr<'a>,
        func: &str,
        display: &str,
    ) -> Result<Options<'a>, Diagnostic> {
        let args = call.call_args();
        for splat in &args.splats {
            self.warn(
                splat.span(),
                format!(
                    "`{}` in {display} is not read; loadscope runs no Python",
                    splat.source()
                ),
                "write the arguments out in the call",
            );
        }
        let mut options = Options {
            positional: args.positional,
            ..Options::default()
        };
        for keyword in args.keywords {
            let value = keyword.value;
            match keyword.name.source() {
                "argument" => options.argument = Some(value),
                "secondary" => options.secondary = Some(value),
                "lazy" => options.lazy = self.read_lazy(value, display)?,
                "innerjoin" => options.innerjoin = self.read_innerjoin(value, display),
                "uselist" => {
                    options.uselist = match value.kind() {
                        "true" => Some(Located::new(true, value.span())),
                        "false" => Some(Located::new(false, value.span())),
                        _ => None,
                    }
                }
                "order_by" => options.order_by = Some(value),
                "back_populates" => match value.string() {
                    Some(name) => options.back_populates = Some(name),
                    None if value.kind() == "none" => {}
                    None => self.warn(
                        value.span(),
                        format!("cannot read back_populates of {display}; it is ignored"),
                        "write the other side's attribute name as a string",
                    ),
                },
                "backref" => options.backref = Some(value),
                "remote_side" => options.remote_side = Some(value),
                "foreign_keys" => options.foreign_keys = Some(value),
                "primaryjoin" => options.joins.push(("primaryjoin", value)),
                "secondaryjoin" => options.joins.push(("secondaryjoin", value)),
                // Real parameters that do not change how rows are loaded.
                known if RELATIONSHIP_PARAMS.contains(&known) => {}
                _ => self.unknown_keyword(call, keyword, func, display)?,
            }
        }
        Ok(options)
    }

    fn read_lazy(&mut self, value: Expr<'_>, display: &str) -> Result<Option<Text>, Diagnostic> {
        let literal = match value.kind() {
            "true" => "select",
            "false" => "joined",
            "none" => "noload",
            _ => {
                let Some(lazy) = value.string() else {
                    self.warn(
                        value.span(),
                        format!("cannot read lazy of {display}; the default \"select\" is used"),
                        "loadscope runs no Python: write the strategy as a string, `lazy=\"selectin\"`",
                    );
                    return Ok(None);
                };
                if LAZY_VALUES.contains(&lazy.value.as_str()) {
                    return Ok(Some(lazy));
                }
                let error = Diagnostic::error(
                    self.source,
                    lazy.span.as_ref(),
                    format!("unknown lazy value \"{}\" in {display}", lazy.value),
                )
                .with_help(format!(
                    "valid lazy values: {}{}",
                    LAZY_VALUES.join(", "),
                    did_you_mean(&lazy.value, LAZY_VALUES.iter().copied())
                ))
                .with_help(
                    "lazy=True means \"select\", lazy=False \"joined\" and lazy=None \"noload\"",
                );
                self.problem(
                    error,
                    &format!("ignored; {display} loads with the default \"select\""),
                )?;
                return Ok(None);
            }
        };
        Ok(Some(Located::new(literal.to_string(), value.span())))
    }

    fn read_innerjoin(&mut self, value: Expr<'_>, display: &str) -> Option<Located<bool>> {
        let inner = match value.kind() {
            "true" => true,
            "false" => false,
            // "unnested" is still an inner join, only nested differently.
            "string" if value.string().is_some_and(|s| s.value == "unnested") => true,
            _ => {
                self.warn(
                    value.span(),
                    format!("cannot read innerjoin of {display}; it is ignored"),
                    "write `innerjoin=True` or `innerjoin=False`",
                );
                return None;
            }
        };
        Some(Located::new(inner, value.span()))
    }

    fn unknown_keyword(
        &mut self,
        call: Expr<'_>,
        keyword: Keyword<'_>,
        func: &str,
        display: &str,
    ) -> Result<(), Diagnostic> {
        let name = keyword.name.source();
        let mut error = Diagnostic::error(
            self.source,
            Some(&keyword.name.span()),
            format!("`{name}` is not a parameter of {func}()"),
        );
        // A string value that is a strategy name shows what was meant.
        let strategy = keyword
            .value
            .string()
            .map(|s| s.value)
            .filter(|s| LAZY_VALUES.contains(&s.as_str()) && s != "dynamic");
        let loader_option = LOADER_OPTIONS.iter().find(|(option, _)| *option == name);
        if name == "dynamic_loader" {
            let target = call
                .call_args()
                .positional
                .first()
                .and_then(|a| target_name(*a))
                .map_or_else(|| "...".to_string(), |t| format!("\"{}\"", t.value));
            error = error.with_help(format!(
                "`dynamic_loader()` is a function, not a keyword: `dynamic_loader({target})` is \
                 `relationship({target}, lazy=\"dynamic\")`, which makes {display} a query \
                 object that runs a new SELECT on every access; that is the opposite of loading \
                 it in one joined query"
            ));
            let lazy = strategy.unwrap_or_else(|| "joined".to_string());
            let example = rewrite(call, keyword.whole, &format!("lazy=\"{lazy}\""))
                .map_or_else(String::new, |call| format!(": `{call}`"));
            error = error.with_help(format!(
                "the loading strategy is `lazy=`; one query with a JOIN is `lazy=\"joined\"`{example}"
            ));
        } else if let Some((option, lazy)) = loader_option {
            error = error.with_help(format!(
                "`{option}` is a loader option for one query, `select(...).options({option}(...))`; \
                 the relationship's default strategy is `lazy=\"{lazy}\"`"
            ));
        } else if let Some(lazy) = strategy {
            let example = rewrite(call, keyword.whole, &format!("lazy=\"{lazy}\""))
                .map_or_else(String::new, |call| format!(": `{call}`"));
            error = error.with_help(format!(
                "\"{lazy}\" is a loading strategy, chosen with `lazy=\"{lazy}\"`{example}"
            ));
        } else if let Some(best) = nearest(name, RELATIONSHIP_PARAMS.iter().copied()).first() {
            error = error.with_help(format!("did you mean `{best}`?"));
        }
        error = error.with_help(format!(
            "parameters of relationship(): {}",
            RELATIONSHIP_PARAMS.join(", ")
        ));
        self.problem(
            error,
            &format!("`{name}` is ignored; {display} loads as if it were not written"),
        )
    }

    /// `"post_tags"`, `post_tags` (a Table variable) or `PostTag.__table__`.
    fn secondary_table(&self, expr: Expr<'_>) -> Option<Text> {
        let expr = expr.unwrapped();
        if let Some(name) = expr.string() {
            return Some(name);
        }
        let path = expr.dotted()?;
        let name = match path[..] {
            [var] => match (self.table_by_var(var), self.class_index(var)) {
                (Some(table), _) => table.name.value.clone(),
                (None, Some(class)) => self.classes[class].table.value.clone(),
                // Imported from elsewhere: the variable usually is the table's name.
                (None, None) => var.to_string(),
            },
            [class, "__table__"] => self.classes[self.class_index(class)?].table.value.clone(),
            _ => return None,
        };
        Some(Located::new(name, expr.span()))
    }

    /// Resolves a column reference written in `class`'s body or in a string
    /// SQLAlchemy evaluates later.
    fn column_ref(&self, class: usize, expr: Expr<'_>) -> Option<ColumnRef<'_>> {
        let expr = expr.unwrapped();
        if expr.kind() == "string" {
            return in_string(expr, |e| self.column_ref(class, e));
        }
        match expr.dotted()?[..] {
            [attr] => Some(self.class_column(class, attr)),
            [owner, attr] => match self.class_index(owner) {
                Some(owner) => Some(self.class_column(owner, attr)),
                None => self.table_column(owner, attr),
            },
            [owner, "c" | "columns", column] => self.table_column(owner, column),
            [owner, "__table__", "c" | "columns", column] => {
                let class = &self.classes[self.class_index(owner)?];
                let def = class.columns.iter().find(|c| c.column == column);
                Some(ColumnRef {
                    table: class.table.value.clone(),
                    column: column.to_string(),
                    def,
                })
            }
            _ => None,
        }
    }

    /// An attribute of a class; one the file does not declare (a mixin's,
    /// say) is taken to be a column of the same name.
    fn class_column(&self, class: usize, attr: &str) -> ColumnRef<'_> {
        let class = &self.classes[class];
        let def = class.columns.iter().find(|c| c.attr.value == attr);
        ColumnRef {
            table: class.table.value.clone(),
            column: def.map_or(attr, |d| &d.column).to_string(),
            def,
        }
    }

    /// `post_tags.c.post_id`, or `posts.id` in a string naming a table.
    fn table_column(&self, owner: &str, column: &str) -> Option<ColumnRef<'_>> {
        let table = self
            .table_by_var(owner)
            .or_else(|| self.tables.iter().find(|t| t.name.value == owner))?;
        Some(ColumnRef {
            table: table.name.value.clone(),
            column: column.to_string(),
            def: table.columns.iter().find(|c| c.column == column),
        })
    }

    /// One column reference or a list of them (`remote_side=[id]`).
    fn column_refs(&self, class: usize, expr: Expr<'_>) -> Option<Vec<ColumnRef<'_>>> {
        let expr = expr.unwrapped();
        match expr.kind() {
            "string" => in_string(expr, |e| self.column_refs(class, e)),
            "list" | "tuple" | "set" | "expression_list" | "expression_statement" => expr
                .named_children()
                .into_iter()
                .map(|e| self.column_ref(class, e))
                .collect(),
            _ => Some(vec![self.column_ref(class, expr)?]),
        }
    }

    /// A self-referential relationship runs many-to-one when `remote_side`
    /// names the referenced column (usually `id`), one-to-many when it
    /// names the foreign key itself.
    fn remote_side_direction(&self, class: usize, expr: Expr<'_>) -> &'static str {
        let table = &self.classes[class].table.value;
        let refs = self.column_refs(class, expr).unwrap_or_default();
        let all_foreign = !refs.is_empty()
            && refs
                .iter()
                .all(|r| r.def.is_some_and(|d| self.references(d, table)));
        if all_foreign {
            "one_to_many"
        } else {
            "many_to_one"
        }
    }

    /// The foreign key of a `primaryjoin` that is one equality such as
    /// `User.id == Post.user_id`, as `table.column`.
    /// A join condition of equalities between columns (`followers.c.follower_id
    /// == id`, `and_(a == b, c == d)`, `"User.id == followers.c.x"`) as the
    /// model writes it: `user.id = followers.follower_id AND ...`.
    fn condition_text(&self, class: usize, expr: Expr<'_>) -> Option<String> {
        let expr = expr.unwrapped();
        if expr.kind() == "string" {
            return in_string(expr, |e| self.condition_text(class, e));
        }
        if expr.call_name() == Some("and_") {
            let terms: Option<Vec<String>> = expr
                .call_args()
                .positional
                .into_iter()
                .map(|t| self.condition_text(class, t))
                .collect();
            return Some(terms?.join(" AND "));
        }
        if expr.kind() != "comparison_operator" || expr.field("operators")?.source() != "==" {
            return None;
        }
        let [left, right] = expr.named_children()[..] else {
            return None;
        };
        Some(format!(
            "{} = {}",
            self.column_ref(class, left)?.qualified(),
            self.column_ref(class, right)?.qualified()
        ))
    }

    fn join_columns(&self, class: usize, expr: Expr<'_>) -> Option<String> {
        let expr = expr.unwrapped();
        if expr.kind() == "string" {
            return in_string(expr, |e| self.join_columns(class, e));
        }
        if expr.kind() != "comparison_operator" || expr.field("operators")?.source() != "==" {
            return None;
        }
        let [left, right] = expr.named_children()[..] else {
            return None;
        };
        let (left, right) = (
            self.column_ref(class, left)?,
            self.column_ref(class, right)?,
        );
        let points_at = |a: &ColumnRef<'_>, b: &ColumnRef<'_>| {
            a.def.is_some_and(|d| self.references(d, &b.table))
        };
        let is_key = |a: &ColumnRef<'_>| a.def.is_some_and(|d| d.primary_key);
        let foreign = if points_at(&left, &right) {
            left
        } else if points_at(&right, &left) || is_key(&left) {
            right
        } else if is_key(&right) {
            left
        } else {
            return None;
        };
        Some(foreign.qualified())
    }

    /// The foreign key SQLAlchemy would pick from the classes: the one
    /// column of the target referencing the parent's table (one-to-many)
    /// or of the parent referencing the target's (many-to-one). Anything
    /// else is left to the resolver, which asks the database.
    fn infer_foreign_key(&self, parent: usize, target: Option<usize>) -> Option<Text> {
        let target = target?;
        let mut sides = vec![(target, parent)];
        if target != parent {
            sides.push((parent, target));
        }
        let mut found = sides.into_iter().flat_map(|(holder, referenced)| {
            let holder = &self.classes[holder];
            let referenced = &self.classes[referenced].table.value;
            holder
                .columns
                .iter()
                .filter(move |c| self.references(c, referenced))
                .map(move |c| Located {
                    value: format!("{}.{}", holder.table.value, c.column),
                    span: c.attr.span.clone(),
                })
        });
        match (found.next(), found.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    }

    fn order_by_option(
        &mut self,
        class: usize,
        expr: Option<Expr<'_>>,
        display: &str,
    ) -> Option<Text> {
        let expr = expr.filter(|e| !matches!(e.kind(), "false" | "none"))?;
        match self.order_by(class, expr) {
            Some(order) => Some(Located::new(order, expr.span())),
            None => {
                self.warn(
                    expr.span(),
                    format!("cannot map order_by of {display} to table columns; it is ignored"),
                    "write it as \"Post.id\", Post.id, Post.id.desc(), desc(Post.id) or a list of those",
                );
                None
            }
        }
    }

    /// `order_by` in the TOML form: `posts.id, posts.title DESC`.
    fn order_by(&self, class: usize, expr: Expr<'_>) -> Option<String> {
        let expr = expr.unwrapped();
        match expr.kind() {
            "string" => in_string(expr, |e| self.order_by(class, e)),
            "list" | "tuple" | "expression_list" | "expression_statement" => {
                let terms = expr
                    .named_children()
                    .into_iter()
                    .map(|e| self.order_by(class, e))
                    .collect::<Option<Vec<_>>>()?;
                (!terms.is_empty()).then(|| terms.join(", "))
            }
            "call" => {
                let function = expr.field("function")?;
                let descending = match expr.call_name()? {
                    "desc" => true,
                    "asc" => false,
                    _ => return None,
                };
                // `desc(Post.id)` or `Post.id.desc()`
                let column = match expr.call_args().positional[..] {
                    [column] => column,
                    [] if function.kind() == "attribute" => function.field("object")?,
                    _ => return None,
                };
                let column = self.column_ref(class, column)?.qualified();
                Some(if descending {
                    format!("{column} DESC")
                } else {
                    column
                })
            }
            _ => Some(self.column_ref(class, expr)?.qualified()),
        }
    }
}

/// The assignment inside an expression statement (`x = 1`, `x: int = 1`,
/// `x: int`).
fn assignment(statement: Expr<'_>) -> Option<Expr<'_>> {
    if statement.kind() != "expression_statement" {
        return None;
    }
    statement
        .named_children()
        .first()
        .copied()
        .filter(|a| a.kind() == "assignment")
}

/// The table a `ForeignKey(...)` argument points at.
fn foreign_key_reference(expr: Expr<'_>) -> Option<Reference> {
    if expr.call_name() != Some("ForeignKey") {
        return None;
    }
    let target = *expr.call_args().positional.first()?;
    if let Some(text) = target.string() {
        // "users.id", or "schema.users.id"
        let mut parts = text.value.rsplit('.');
        parts.next();
        return parts
            .next()
            .map(|table| Reference::Table(table.to_string()));
    }
    let path = target.unwrapped().dotted()?;
    (path.len() >= 2).then(|| Reference::Name(path[0].to_string()))
}

/// A class named as a relationship's first argument: `"Post"`,
/// `"myapp.models.Post"`, `Post`, `lambda: Post`.
fn target_name(expr: Expr<'_>) -> Option<Text> {
    let expr = expr.unwrapped();
    if let Some(text) = expr.string() {
        let name = text.value.rsplit('.').next()?.trim();
        return (!name.is_empty()).then(|| Located {
            value: name.to_string(),
            span: text.span,
        });
    }
    let last = expr.dotted()?.last()?.to_string();
    Some(Located::new(last, expr.span()))
}

/// `Mapped[...]`, `WriteOnlyMapped[...]` or `DynamicMapped[...]`, also
/// when the whole annotation is a string.
fn read_annotation(annotation: Expr<'_>) -> Annotation {
    let annotation = annotation.unwrapped();
    if annotation.kind() == "string" {
        return in_string(annotation, |e| Some(read_annotation(e))).unwrap_or_default();
    }
    let Some((head, args)) = annotation_generic(annotation) else {
        return Annotation::default();
    };
    let lazy = match head.dotted().and_then(|p| p.last().copied()) {
        Some("Mapped") => None,
        Some("WriteOnlyMapped") => Some("write_only"),
        Some("DynamicMapped") => Some("dynamic"),
        _ => return Annotation::default(),
    };
    let scalar = match (lazy, args.first()) {
        (None, Some(arg)) if !is_collection_type(*arg) => Some(arg.span()),
        _ => None,
    };
    Annotation {
        target: args.first().and_then(|a| type_target(*a)),
        lazy: lazy.map(|l| Located::new(l.to_string(), head.span())),
        scalar,
    }
}

/// `list["Post"]`, `Set[Post]`, `"dict[str, Note]"`: a collection type.
fn is_collection_type(expr: Expr<'_>) -> bool {
    let expr = expr.unwrapped();
    if expr.kind() == "string" {
        return in_string(expr, |e| Some(is_collection_type(e))).unwrap_or(false);
    }
    let head = annotation_generic(expr).map_or(expr, |(head, _)| head);
    head.dotted()
        .and_then(|d| d.last().copied())
        .is_some_and(|name| {
            matches!(
                name,
                "list"
                    | "List"
                    | "set"
                    | "Set"
                    | "frozenset"
                    | "FrozenSet"
                    | "dict"
                    | "Dict"
                    | "Sequence"
                    | "MutableSequence"
                    | "Collection"
                    | "Iterable"
                    | "Mapping"
                    | "MutableMapping"
                    | "MutableSet"
                    | "AbstractSet"
                    | "tuple"
                    | "Tuple"
            )
        })
}

/// `X[a, b]` as `X` and `[a, b]`: a `generic_type` in an annotation, a
/// `subscript` in an expression.
fn annotation_generic(expr: Expr<'_>) -> Option<(Expr<'_>, Vec<Expr<'_>>)> {
    let expr = expr.unwrapped();
    match expr.kind() {
        "generic_type" => {
            let children = expr.named_children();
            let head = *children.first()?;
            let params = children.iter().find(|c| c.kind() == "type_parameter")?;
            Some((head, params.named_children()))
        }
        "subscript" => {
            let mut cursor = expr.node.walk();
            let args = expr
                .node
                .children_by_field_name("subscript", &mut cursor)
                .map(|n| expr.with(n))
                .collect();
            Some((expr.field("value")?, args))
        }
        _ => None,
    }
}

/// The class inside a relationship's type: `"Post"` in `list["Post"]`,
/// `User` in `Optional[User]`, `"User | None"` or `Union[User, None]`.
fn type_target(expr: Expr<'_>) -> Option<Text> {
    let expr = expr.unwrapped();
    match expr.kind() {
        "string" => in_string(expr, type_target),
        "none" => None,
        "identifier" | "attribute" => {
            let last = expr.dotted()?.last()?.to_string();
            (last != "None").then(|| Located::new(last, expr.span()))
        }
        "binary_operator" => {
            type_target(expr.field("left")?).or_else(|| type_target(expr.field("right")?))
        }
        _ => {
            let (head, args) = annotation_generic(expr)?;
            // Keyed collections (`dict[str, "Note"]`) hold the class last.
            let keyed = matches!(
                head.dotted()?.last(),
                Some(&("dict" | "Dict" | "Mapping" | "MutableMapping"))
            );
            if keyed {
                args.last().and_then(|a| type_target(*a))
            } else {
                args.into_iter().find_map(type_target)
            }
        }
    }
}

/// The call with `argument` replaced by `replacement`, on one line, for a
/// "write this instead" hint; None when it would be too long to read.
fn rewrite(call: Expr<'_>, argument: Expr<'_>, replacement: &str) -> Option<String> {
    let text = call.source();
    let start = argument.node.start_byte() - call.node.start_byte();
    let end = argument.node.end_byte() - call.node.start_byte();
    let joined = format!("{}{replacement}{}", &text[..start], &text[end..]);
    let one_line = joined
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(")
        .replace(", )", ")")
        .replace(" )", ")");
    (one_line.len() <= 120).then_some(one_line)
}

/// A class body's attributes, for its class at `class`.
fn push_attrs<'a>(attrs: &mut Vec<Attr<'a>>, class: usize, fields: &[Field<'a>], sqlmodel: bool) {
    for field in fields {
        if field.left.kind() != "identifier" || field.left.source().starts_with("__") {
            continue;
        }
        attrs.push(Attr {
            class,
            name: field.left,
            annotation: field.annotation,
            value: field.right,
            sqlmodel,
        });
    }
}

/// Some attribute declares a primary key column.
fn declares_primary_key(fields: &[Field<'_>]) -> bool {
    fields.iter().any(|a| {
        a.right.is_some_and(|r| {
            let call = r.unwrapped();
            matches!(call.call_name(), Some("Column" | "mapped_column"))
                && call
                    .call_args()
                    .keywords
                    .iter()
                    .any(|k| k.name.source() == "primary_key" && k.value.kind() == "true")
        })
    })
}
