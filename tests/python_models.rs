//! SQLAlchemy `models.py` files read by `loadscope::model::python`.

use loadscope::model::SourceFile;
use loadscope::model::diagnostic::Severity;
use loadscope::model::python;
use loadscope::model::spec::{ModelSpec, ParsedModel, RelationshipSpec};
use std::path::Path;

fn asset(name: &str) -> SourceFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/models")
        .join(name);
    SourceFile::new(
        format!("assets/models/{name}"),
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
}

fn source(name: &str, text: &str) -> SourceFile {
    SourceFile::new(name, text)
}

fn parse_ok(name: &str, text: &str) -> ParsedModel {
    python::parse(source(name, text), false).unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(name: &str, text: &str) -> String {
    match python::parse(source(name, text), false) {
        Ok(parsed) => panic!("expected an error, got {:#?}", parsed.spec),
        Err(e) => e.to_string(),
    }
}

/// A relationship's values without spans, in the order
/// name, target, foreign_key, secondary, lazy, order_by, back_populates,
/// direction.
type RelValues = [Option<String>; 8];

fn rel_values(rel: &RelationshipSpec) -> RelValues {
    let value = |v: &Option<loadscope::model::diagnostic::Located<String>>| {
        v.as_ref().map(|v| v.value.clone())
    };
    [
        Some(rel.name.value.clone()),
        Some(rel.target.value.clone()),
        foreign_key(&rel.foreign_key),
        value(&rel.secondary),
        value(&rel.lazy),
        value(&rel.order_by),
        value(&rel.back_populates),
        value(&rel.direction),
    ]
}

/// Entity name, table, and each relationship's values.
fn normalise(spec: &ModelSpec) -> Vec<(String, String, Vec<RelValues>)> {
    spec.entities
        .iter()
        .map(|e| {
            (
                e.name.value.clone(),
                e.table
                    .as_ref()
                    .map(|t| t.value.clone())
                    .unwrap_or_default(),
                e.relationships.iter().map(rel_values).collect(),
            )
        })
        .collect()
}

fn rel<'a>(spec: &'a ModelSpec, entity: &str, name: &str) -> &'a RelationshipSpec {
    let entity = spec
        .entities
        .iter()
        .find(|e| e.name.value == entity)
        .unwrap_or_else(|| panic!("no entity {entity}"));
    entity
        .relationships
        .iter()
        .find(|r| r.name.value == name)
        .unwrap_or_else(|| panic!("no relationship {name}"))
}

/// A relationship's foreign key columns, written as in a model file.
fn foreign_key(v: &Option<loadscope::model::diagnostic::Located<Vec<String>>>) -> Option<String> {
    v.as_ref().map(|v| v.value.join(", "))
}

fn value(v: &Option<loadscope::model::diagnostic::Located<String>>) -> Option<&str> {
    v.as_ref().map(|v| v.value.as_str())
}

fn blog_toml() -> Vec<(String, String, Vec<RelValues>)> {
    let parsed = loadscope::model::toml::parse(asset("blog.toml")).unwrap();
    normalise(&parsed.spec)
}

#[test]
fn blog_1x_matches_blog_toml() {
    let parsed = python::parse(asset("blog_1x.py"), false).unwrap_or_else(|e| panic!("{e}"));
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(normalise(&parsed.spec), blog_toml());
}

#[test]
fn blog_20_matches_blog_toml() {
    let parsed = python::parse(asset("blog_20.py"), false).unwrap_or_else(|e| panic!("{e}"));
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(normalise(&parsed.spec), blog_toml());
}

#[test]
fn blog_spans_point_into_the_file() {
    let parsed = python::parse(asset("blog_1x.py"), false).unwrap();
    let posts = rel(&parsed.spec, "User", "posts");
    let span = posts.order_by.as_ref().unwrap().span.clone().unwrap();
    assert_eq!(&parsed.source.text[span], "\"Post.id\"");
    let span = posts.target.span.clone().unwrap();
    assert_eq!(&parsed.source.text[span], "Post");
}

#[test]
fn seed_dynamic_loader_keyword_is_an_error_that_teaches() {
    let error = python::parse(asset("seed_example.py"), false).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("seed_example.py:16:26"), "{text}");
    assert!(
        text.contains("`dynamic_loader` is not a parameter of relationship()"),
        "{text}"
    );
    assert!(text.contains("lazy=\"dynamic\""), "{text}");
    assert!(text.contains("lazy=\"joined\""), "{text}");
    assert!(
        text.contains("relationship(\"Post\", lazy=\"joined\", back_populates=\"user\")"),
        "{text}"
    );
}

#[test]
fn seed_lenient_loads_with_a_warning() {
    let parsed = python::parse(asset("seed_example.py"), true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    let warning = &parsed.warnings[0];
    assert_eq!(warning.severity, Severity::Warning);
    assert_eq!(warning.position, Some((16, 26)));
    assert!(warning.to_string().contains("dynamic_loader"));
    let posts = rel(&parsed.spec, "User", "posts");
    assert_eq!(value(&posts.lazy), None);
    assert_eq!(
        foreign_key(&posts.foreign_key).as_deref(),
        Some("posts.user_id")
    );
    assert_eq!(
        foreign_key(&rel(&parsed.spec, "Post", "user").foreign_key).as_deref(),
        Some("posts.user_id")
    );
}

#[test]
fn syntax_error_gives_its_position() {
    let text = "class User(Base):\n    __tablename__ = \"users\"\n    posts = relationship(\"Post\",\n\nclass Post(Base):\n    __tablename__ = \"posts\"\n";
    let error = parse_err("models.py", text);
    assert!(error.contains("models.py:3:25"), "{error}");
    assert!(error.contains("syntax error"), "{error}");
}

#[test]
fn missing_colon_is_a_syntax_error() {
    let error = parse_err(
        "models.py",
        "class User(Base)\n    __tablename__ = \"users\"\n",
    );
    assert!(error.contains("models.py:1:"), "{error}");
    assert!(error.contains("syntax error"), "{error}");
}

#[test]
fn primaryjoin_expression_warns_and_the_rest_loads() {
    let text = r#"
class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    posts = relationship(
        "Post",
        primaryjoin="and_(User.id == Post.user_id, Post.published == True)",
        lazy="selectin",
    )

class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"))
"#;
    let parsed = parse_ok("models.py", text);
    assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    let warning = parsed.warnings[0].to_string();
    assert!(warning.contains("models.py:7:21"), "{warning}");
    assert!(warning.contains("primaryjoin"), "{warning}");
    let posts = rel(&parsed.spec, "User", "posts");
    assert_eq!(value(&posts.lazy), Some("selectin"));
    assert_eq!(
        foreign_key(&posts.foreign_key).as_deref(),
        Some("posts.user_id")
    );
}

#[test]
fn simple_primaryjoin_gives_the_foreign_key() {
    let text = r#"
class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    posts = relationship("Post", primaryjoin=lambda: User.id == Post.author_id)

class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    author_id = Column(Integer, ForeignKey("users.id"))
    editor_id = Column(Integer, ForeignKey("users.id"))
"#;
    let parsed = parse_ok("models.py", text);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    assert_eq!(
        foreign_key(&rel(&parsed.spec, "User", "posts").foreign_key).as_deref(),
        Some("posts.author_id")
    );
}

#[test]
fn unknown_lazy_value_lists_the_valid_ones() {
    let text = "class User(Base):\n    __tablename__ = \"users\"\n    posts = relationship(\"Post\", lazy=\"eager\")\n";
    let error = parse_err("models.py", text);
    assert!(error.contains("models.py:3:40"), "{error}");
    assert!(error.contains("unknown lazy value \"eager\""), "{error}");
    assert!(
        error.contains("select, immediate, joined, subquery, selectin, raise, raise_on_sql, noload, dynamic, write_only"),
        "{error}"
    );
}

#[test]
fn unknown_keyword_suggests_the_nearest_parameter() {
    let text = "class User(Base):\n    __tablename__ = \"users\"\n    posts = relationship(\"Post\", back_populate=\"user\")\n";
    let error = parse_err("models.py", text);
    assert!(error.contains("models.py:3:34"), "{error}");
    assert!(
        error.contains("`back_populate` is not a parameter of relationship()"),
        "{error}"
    );
    assert!(error.contains("did you mean `back_populates`?"), "{error}");
}

#[test]
fn loader_option_as_keyword_points_at_lazy() {
    let text = "class User(Base):\n    __tablename__ = \"users\"\n    posts = relationship(\"Post\", selectinload=True)\n";
    let error = parse_err("models.py", text);
    assert!(error.contains("lazy=\"selectin\""), "{error}");
}

#[test]
fn no_mapped_classes_says_what_was_expected() {
    let error = parse_err(
        "models.py",
        "class Base(DeclarativeBase):\n    pass\n\nx = 1\n",
    );
    assert!(error.contains("no mapped classes in models.py"), "{error}");
    assert!(error.contains("__tablename__"), "{error}");
}

#[test]
fn annotations_give_targets_and_strategies() {
    let text = r#"
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    a: Mapped[List["Post"]] = relationship()
    b: Mapped[list[Post]] = relationship()
    c: WriteOnlyMapped["Post"] = relationship()
    d: DynamicMapped["Post"] = relationship()
    e: "Mapped[typing.List[Post]]" = relationship()

class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    f: Mapped["User"] = relationship()
    g: Mapped[Optional["User"]] = relationship()
    h: Mapped["User | None"] = relationship()
    i: Mapped[Union[User, None]] = relationship()
"#;
    let parsed = parse_ok("models.py", text);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    for name in ["a", "b", "c", "d", "e"] {
        let r = rel(&parsed.spec, "User", name);
        assert_eq!(r.target.value, "Post", "{name}");
        assert_eq!(
            foreign_key(&r.foreign_key).as_deref(),
            Some("posts.user_id"),
            "{name}"
        );
    }
    assert_eq!(value(&rel(&parsed.spec, "User", "a").lazy), None);
    assert_eq!(
        value(&rel(&parsed.spec, "User", "c").lazy),
        Some("write_only")
    );
    assert_eq!(value(&rel(&parsed.spec, "User", "d").lazy), Some("dynamic"));
    for name in ["f", "g", "h", "i"] {
        assert_eq!(
            rel(&parsed.spec, "Post", name).target.value,
            "User",
            "{name}"
        );
    }
    // The span of a target inside a string annotation points into the file.
    let span = rel(&parsed.spec, "Post", "h").target.span.clone().unwrap();
    assert_eq!(&text[span], "User");
}

#[test]
fn lazy_forms_and_dynamic_loader_function() {
    let text = r#"
class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    a = relationship("Post", lazy=True)
    b = relationship("Post", lazy=False, innerjoin=True)
    c = relationship("Post", lazy=None)
    d = dynamic_loader("Post")
    e = orm.relationship(lambda: Post, lazy="raise_on_sql")

class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"))
"#;
    let parsed = parse_ok("models.py", text);
    let lazy = |name| value(&rel(&parsed.spec, "User", name).lazy).map(str::to_string);
    assert_eq!(lazy("a").as_deref(), Some("select"));
    assert_eq!(lazy("b").as_deref(), Some("joined"));
    assert_eq!(lazy("c").as_deref(), Some("noload"));
    assert_eq!(lazy("d").as_deref(), Some("dynamic"));
    assert_eq!(lazy("e").as_deref(), Some("raise_on_sql"));
    assert_eq!(
        rel(&parsed.spec, "User", "b")
            .innerjoin
            .as_ref()
            .map(|i| i.value),
        Some(true)
    );
    assert_eq!(rel(&parsed.spec, "User", "e").target.value, "Post");
}

#[test]
fn order_by_forms_map_attributes_to_columns() {
    let text = r#"
class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    a = relationship("Post", order_by=Post.created.desc())
    b = relationship("Post", order_by="Post.created.desc()")
    c = relationship("Post", order_by=[Post.title, desc(Post.id)])
    d = relationship("Post", order_by="[Post.title, Post.id.asc()]")
    e = relationship("Post", order_by=Post.title.nulls_last())

class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    title = Column(String)
    created = Column("created_at", String)
    user_id = Column(Integer, ForeignKey("users.id"))
"#;
    let parsed = parse_ok("models.py", text);
    let order = |name| value(&rel(&parsed.spec, "User", name).order_by).map(str::to_string);
    assert_eq!(order("a").as_deref(), Some("posts.created_at DESC"));
    assert_eq!(order("b").as_deref(), Some("posts.created_at DESC"));
    assert_eq!(order("c").as_deref(), Some("posts.title, posts.id DESC"));
    assert_eq!(order("d").as_deref(), Some("posts.title, posts.id"));
    assert_eq!(order("e"), None);
    assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    assert!(
        parsed.warnings[0]
            .to_string()
            .contains("order_by of User.e")
    );
}

#[test]
fn backref_creates_the_reverse_relationship() {
    let text = r#"
tags_link = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id")),
    Column("tag_id", ForeignKey("tags.id")),
)

class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    manager_id = Column(Integer, ForeignKey("users.id"))
    posts = relationship("Post", backref=backref("author", lazy="joined"))
    reports = relationship("User", backref="manager")

class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"))
    tags = relationship("Tag", secondary=tags_link, backref="posts")

class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
"#;
    let parsed = parse_ok("models.py", text);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let spec = &parsed.spec;
    assert_eq!(
        value(&rel(spec, "User", "posts").back_populates),
        Some("author")
    );
    let author = rel(spec, "Post", "author");
    assert_eq!(author.target.value, "User");
    assert_eq!(value(&author.lazy), Some("joined"));
    assert_eq!(
        foreign_key(&author.foreign_key).as_deref(),
        Some("posts.user_id")
    );
    assert_eq!(value(&author.back_populates), Some("posts"));

    let reports = rel(spec, "User", "reports");
    assert_eq!(value(&reports.direction), Some("one_to_many"));
    let manager = rel(spec, "User", "manager");
    assert_eq!(value(&manager.direction), Some("many_to_one"));
    assert_eq!(
        foreign_key(&manager.foreign_key).as_deref(),
        Some("users.manager_id")
    );

    assert_eq!(
        value(&rel(spec, "Post", "tags").secondary),
        Some("post_tags")
    );
    let posts = rel(spec, "Tag", "posts");
    assert_eq!(value(&posts.secondary), Some("post_tags"));
    assert_eq!(value(&posts.back_populates), Some("tags"));
    assert_eq!(foreign_key(&posts.foreign_key).as_deref(), None);
}

#[test]
fn remote_side_and_foreign_keys_forms() {
    let text = r#"
class Node(Base):
    __tablename__ = "nodes"
    id = Column(Integer, primary_key=True)
    parent_id = Column(Integer, ForeignKey("nodes.id"))
    owner_id = Column(Integer, ForeignKey("nodes.id"))
    parent = relationship("Node", remote_side="Node.id", foreign_keys=[parent_id])
    children = relationship("Node", remote_side=[parent_id], foreign_keys="Node.parent_id")
    owner = relationship("Node", remote_side=id, foreign_keys="[Node.owner_id]")
"#;
    let parsed = parse_ok("models.py", text);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let spec = &parsed.spec;
    let check = |name, direction, fk| {
        let r = rel(spec, "Node", name);
        assert_eq!(value(&r.direction), Some(direction), "{name}");
        assert_eq!(foreign_key(&r.foreign_key).as_deref(), Some(fk), "{name}");
    };
    check("parent", "many_to_one", "nodes.parent_id");
    check("children", "one_to_many", "nodes.parent_id");
    check("owner", "many_to_one", "nodes.owner_id");
}

#[test]
fn ambiguous_foreign_keys_are_left_to_the_resolver() {
    let text = r#"
class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    written = relationship("Post")

class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    author_id = Column(Integer, ForeignKey("users.id"))
    editor_id = Column(Integer, ForeignKey(User.id))
"#;
    let parsed = parse_ok("models.py", text);
    assert_eq!(
        foreign_key(&rel(&parsed.spec, "User", "written").foreign_key).as_deref(),
        None
    );
}

#[test]
fn missing_target_is_an_error() {
    let text = "class User(Base):\n    __tablename__ = \"users\"\n    posts = relationship(lazy=\"joined\")\n";
    let error = parse_err("models.py", text);
    assert!(
        error.contains("cannot tell which class User.posts points at"),
        "{error}"
    );
}

// ----- hostile files -----

fn with_body(body: &str) -> String {
    format!(
        "from sqlalchemy.orm import DeclarativeBase, relationship\n\
         class Base(DeclarativeBase):\n    pass\n\
         class User(Base):\n    __tablename__ = \"users\"\n{body}"
    )
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // 40,000 nested parentheses once aborted the process (exit 134).
    let deep = format!(
        "    posts = relationship(\"Post\", order_by={}1{})\n",
        "(".repeat(40_000),
        ")".repeat(40_000)
    );
    let err = parse_err("models.py", &with_body(&deep));
    assert!(
        err.contains("Python syntax error: too many nested parentheses"),
        "{}",
        &err[..err.len().min(300)]
    );
    assert!(err.contains("--> models.py:6:"), "{}", &err[..300]);
    // The same inside a string SQLAlchemy would evaluate: not readable, no crash.
    let deep = format!(
        "    posts = relationship(\"User\", order_by=\"{}User.id{}\")\n",
        "(".repeat(40_000),
        ")".repeat(40_000)
    );
    parse_ok("models.py", &with_body(&deep));
}

#[test]
fn a_keyword_given_twice_is_an_error_as_in_python() {
    let err = parse_err(
        "models.py",
        &with_body("    posts = relationship(\"Post\", lazy=\"select\", lazy=\"joined\")\n"),
    );
    assert!(
        err.starts_with(
            "error: Python syntax error: keyword argument repeated: lazy\n  --> models.py:6:49"
        ),
        "{err}"
    );
}

#[test]
fn comments_are_read_past_and_strings_keep_their_hashes() {
    // 40,000 comment lines in a class body: once 86 s in the parser's
    // scanner, now blanked before parsing (BENCHMARKS.md has the figure).
    let comments: String = (0..40_000).map(|i| format!("    # note {i}\n")).collect();
    let text = with_body(&format!(
        "{comments}    \"\"\"Docs with # inside\n    # still the docstring\n    \"\"\"\n    \
         posts = relationship(\"User\", order_by=\"User.id\")  # trailing 'quote\n    \
         name = \"a # not a comment\"\n"
    ));
    let parsed = parse_ok("models.py", &text);
    let posts = rel(&parsed.spec, "User", "posts");
    assert_eq!(posts.target.value, "User");
    assert_eq!(value(&posts.order_by), Some("users.id"));
    // Spans still point into the file as written.
    let span = posts.target.span.clone().unwrap();
    assert_eq!(&text[span.start - 1..span.end + 1], "\"User\"");
}

// ----- Flask-SQLAlchemy -----

#[test]
fn flask_table_names_are_derived_as_flask_sqlalchemy_derives_them() {
    // Flask-SQLAlchemy 3.1's camel_to_snake_case on the same names.
    for (class, table) in [
        ("OrderLine", "order_line"),
        ("User", "user"),
        ("HTTPRequest", "http_request"),
        ("APIKey", "api_key"),
        ("User2FA", "user2_fa"),
        ("OAuth2Token", "o_auth2_token"),
        ("ABC", "abc"),
        ("Item3D", "item3_d"),
        ("userProfile", "user_profile"),
        ("IPv4Address", "i_pv4_address"),
        ("Tag_Item", "tag__item"),
    ] {
        assert_eq!(python::flask_table_name(class), table, "{class}");
    }
}

#[test]
fn flask_models_map_without_tablename_and_subclasses_inherit() {
    // Flask-SQLAlchemy makes a subclass without a primary key of its own
    // single-table inheritance, even when it names a table; one with a key
    // of its own is joined-table inheritance, which is left out.
    let text = "from flask_sqlalchemy import SQLAlchemy\n\
        db = SQLAlchemy()\n\
        class Base(db.Model):\n    __abstract__ = True\n    created = db.Column(db.String)\n\
        class OrderLine(Base):\n    id = db.Column(db.Integer, primary_key=True)\n\
        class Employee(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n    type = db.Column(\"kind\", db.String)\n    __mapper_args__ = {\"polymorphic_on\": type, \"polymorphic_identity\": \"employee\"}\n\
        class Manager(Employee):\n    __tablename__ = \"managers\"\n    bonus = db.Column(db.Integer)\n    __mapper_args__ = {\"polymorphic_identity\": \"manager\"}\n\
        class Engineer(Employee):\n    id = db.Column(db.Integer, db.ForeignKey(\"employee.id\"), primary_key=True)\n\
        class Helper:\n    pass\n";
    let parsed = parse_ok("models.py", text);
    let entities: Vec<(&str, Option<&str>, Option<&str>)> = parsed
        .spec
        .entities
        .iter()
        .map(|e| {
            (
                e.name.value.as_str(),
                e.table.as_ref().map(|t| t.value.as_str()),
                e.inherits.as_ref().map(|t| t.value.as_str()),
            )
        })
        .collect();
    assert_eq!(
        entities,
        [
            ("OrderLine", Some("order_line"), None),
            ("Employee", Some("employee"), None),
            ("Manager", None, Some("Employee")),
        ]
    );
    let employee = &parsed.spec.entities[1];
    // The discriminator is the attribute's column.
    assert_eq!(value(&employee.polymorphic_on), Some("kind"));
    assert_eq!(value(&employee.polymorphic_identity), Some("employee"));
    let manager = &parsed.spec.entities[2];
    assert_eq!(value(&manager.polymorphic_identity), Some("manager"));
    assert_eq!(
        manager.columns.as_ref().map(|c| c.value.clone()),
        Some(vec!["bonus".to_string()])
    );
    let warnings: Vec<String> = parsed.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(|w| w.contains(
            "class Engineer inherits from the mapped class Employee with a table of its own: it is left out, as joined-table inheritance is not supported yet"
        ) && w.contains("models.py:16:7")),
        "{warnings:?}"
    );
}

#[test]
fn a_subclass_with_its_own_tablename_is_joined_table_inheritance() {
    let text = "from sqlalchemy import Column, ForeignKey, Integer, String\n\
        from sqlalchemy.orm import DeclarativeBase\n\
        class Base(DeclarativeBase):\n    pass\n\
        class Employee(Base):\n    __tablename__ = \"employees\"\n    id = Column(Integer, primary_key=True)\n    type = Column(String)\n    __mapper_args__ = {\"polymorphic_on\": \"type\", \"polymorphic_identity\": 1}\n\
        class Engineer(Employee):\n    __tablename__ = \"engineers\"\n    id = Column(ForeignKey(\"employees.id\"), primary_key=True)\n\
        class Clerk(Employee):\n    __mapper_args__ = dict(polymorphic_identity=2)\n";
    let parsed = parse_ok("models.py", text);
    let names: Vec<&str> = parsed
        .spec
        .entities
        .iter()
        .map(|e| e.name.value.as_str())
        .collect();
    assert_eq!(names, ["Employee", "Clerk"]);
    assert_eq!(
        value(&parsed.spec.entities[0].polymorphic_identity),
        Some("1")
    );
    let warnings: Vec<String> = parsed.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(|w| w.contains(
            "class Engineer inherits from the mapped class Employee with a table of its own"
        )),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains(
            "cannot read `__mapper_args__` of Clerk; inheritance settings in it are ignored"
        ) && w.contains("models.py:14:23")),
        "{warnings:?}"
    );
}

#[test]
fn the_mapped_columns_are_the_classes_unless_a_call_could_hide_one() {
    let text = "from sqlalchemy import Column, Integer, String\n\
        from sqlalchemy.orm import DeclarativeBase\n\
        class Base(DeclarativeBase):\n    pass\n\
        class Stamp:\n    created = Column(String)\n\
        class User(Stamp, Base):\n    __tablename__ = \"users\"\n    id = Column(Integer, primary_key=True)\n    name = Column(String)\n\
        def pk():\n    return Column(Integer, primary_key=True)\n\
        class Post(Base):\n    __tablename__ = \"posts\"\n    id = pk()\n    title = Column(String)\n";
    let parsed = parse_ok("models.py", text);
    let columns = |name: &str| {
        parsed
            .spec
            .entities
            .iter()
            .find(|e| e.name.value == name)
            .unwrap()
            .columns
            .as_ref()
            .map(|c| c.value.clone())
    };
    // Own columns first, then the mixin's, as SQLAlchemy orders them.
    assert_eq!(
        columns("User"),
        Some(vec![
            "id".to_string(),
            "name".to_string(),
            "created".to_string()
        ])
    );
    // `pk()` may return a column: the table's columns are taken instead.
    assert_eq!(columns("Post"), None);
}

#[test]
fn a_class_below_the_base_without_a_table_is_reported_a_mixin_is_not() {
    let text = "from sqlalchemy import Column, ForeignKey, Integer\n\
        from sqlalchemy.orm import DeclarativeBase, relationship\n\
        class Base(DeclarativeBase):\n    pass\n\
        class Owned:\n    user_id = Column(ForeignKey(\"users.id\"))\n    owner = relationship(\"User\")\n\
        class Abstract(Base):\n    __abstract__ = True\n\
        class Forgotten(Abstract):\n    id = Column(Integer, primary_key=True)\n\
        class User(Base):\n    __tablename__ = \"users\"\n    id = Column(Integer, primary_key=True)\n";
    let parsed = parse_ok("models.py", text);
    let warnings: Vec<String> = parsed.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "warning: class Forgotten has no `__tablename__` or `__table__`: SQLAlchemy refuses to map it, and it is left out\n  --> models.py:10:7"
        ),
        "{warnings:?}"
    );
}

#[test]
fn aliases_of_sqlalchemy_callables_are_followed() {
    // `Column = db.Column` (Flask tutorials), `rel = db.relationship`,
    // and `import ... as ...`.
    let text = "from flask_sqlalchemy import SQLAlchemy\n\
        from sqlalchemy import ForeignKey as FK\n\
        from sqlalchemy.orm import relationship as rel\n\
        db = SQLAlchemy()\n\
        Column = db.Column\n\
        relation = db.relationship\n\
        class User(db.Model):\n    id = Column(db.Integer, primary_key=True)\n    posts = relation(\"Post\", lazy=\"selectin\")\n\
        class Post(db.Model):\n    id = Column(db.Integer, primary_key=True)\n    user_id = Column(db.Integer, FK(\"user.id\"))\n    author = rel(\"User\", back_populates=\"posts\")\n";
    let parsed = parse_ok("models.py", text);
    let posts = rel(&parsed.spec, "User", "posts");
    assert_eq!(posts.target.value, "Post");
    assert_eq!(value(&posts.lazy), Some("selectin"));
    let author = rel(&parsed.spec, "Post", "author");
    assert_eq!(value(&author.back_populates), Some("posts"));
    let post = &parsed.spec.entities[1];
    assert_eq!(
        post.columns.as_ref().map(|c| c.value.clone()),
        Some(vec!["id".to_string(), "user_id".to_string()])
    );
}
