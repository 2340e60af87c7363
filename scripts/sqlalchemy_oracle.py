"""SQLAlchemy oracle: golden SQL fixtures for loadscope's loader strategies.

Dev-only. loadscope never runs Python; this script only regenerates the JSON
fixtures in tests/fixtures/sqlalchemy/ that the Rust tests compare against.
The reference is SQLAlchemy 2.1.9 (on the stdlib sqlite3 module).

Run from the repository root:

    python3 -m venv scripts/.venv
    scripts/.venv/bin/pip install 'sqlalchemy==2.1.9'
    scripts/.venv/bin/python scripts/sqlalchemy_oracle.py

What it does: loads sample-db/blog.sql into an in-memory SQLite database, maps
it with declarative classes that mirror assets/models/blog.toml (relationship
names, order_by, back_populates; columns in table order), and for every
scenario builds fresh classes with the scenario's `lazy=` settings, runs the
"trace" navigation (root query ordered by id, optional LIMIT, then every
expand path accessed depth first for every root object) in a fresh Session,
captures every statement with a `before_cursor_execute` listener, and writes
tests/fixtures/sqlalchemy/<scenario>.json.

Strategies are set with `lazy=` on the relationship (fixture key "via":
"mapping"); the *_option fixtures set them with loader options instead
(joinedload(User.manager), ...; "via": "options") because the two differ for
self-referential relationships: a mapping-level eager loader stops where the
path already holds its target mapper (no join_depth), falling back to lazy
(an immediate one goes on, reading only the identity map for a many-to-one).

The generated matrix (matrix_*.json, see matrix_scenarios) runs every
pair of loading strategies over two-level navigations through loader
options; a combination SQLAlchemy itself refuses is left out (none is, as
of 2.1.9). rule_scenarios pins, once each, the rules the matrix led to.

No scenario has two relationships of one entity loaded by selectin,
immediate or subquery on the same path (e.g. posts and reports of User,
both selectin): SQLAlchemy runs such siblings in the iteration order of
`mapper._prop_set`, a frozenset hashed by object id, so their order changes
from one process (or one set of classes) to the next. loadscope runs them
in model order.

Optional arguments: scenario names to run only those (default: all), or
--compare-options to check every mapping scenario against its loader-option
twin (prints same / differ; writes nothing).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import warnings
from pathlib import Path
from typing import Callable, NamedTuple

import sqlalchemy
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Session,
    immediateload,
    joinedload,
    lazyload,
    mapped_column,
    noload,
    raiseload,
    relationship,
    selectinload,
    subqueryload,
)
from sqlalchemy.pool import StaticPool

REFERENCE_VERSION = "2.1.9"

ROOT_DIR = Path(__file__).resolve().parent.parent
SQL_FILE = ROOT_DIR / "sample-db" / "blog.sql"
OUT_DIR = ROOT_DIR / "tests" / "fixtures" / "sqlalchemy"

STRATEGIES = [
    "select",
    "immediate",
    "joined",
    "joined+innerjoin",
    "subquery",
    "selectin",
    "raise",
    "raise_on_sql",
    "noload",
    "dynamic",
    "write_only",
]

# label column per entity, as in assets/models/blog.toml
LABELS = {"User": "name", "Post": "title", "Comment": "body", "Tag": "name"}

# relationship name -> (target entity, is collection), per entity
RELATIONSHIPS = {
    "User": {"posts": ("Post", True), "manager": ("User", False), "reports": ("User", True)},
    "Post": {"user": ("User", False), "comments": ("Comment", True), "tags": ("Tag", True)},
    "Comment": {"post": ("Post", False), "author": ("User", False)},
    "Tag": {"posts": ("Post", True)},
}


# --------------------------------------------------------------------------
# mapping
# --------------------------------------------------------------------------


def lazy_kwargs(strategy: str) -> dict:
    if strategy == "joined+innerjoin":
        return {"lazy": "joined", "innerjoin": True}
    return {"lazy": strategy}


def build_models(lazy: dict[str, str]) -> dict[str, type]:
    """Fresh declarative classes mirroring blog.toml.

    `lazy` maps "Entity.relationship" to a strategy name; every relationship
    not in it keeps lazy="select".
    """

    def rel(key: str) -> dict:
        return lazy_kwargs(lazy.get(key, "select"))

    class Base(DeclarativeBase):
        pass

    post_tags = Table(
        "post_tags",
        Base.metadata,
        Column("post_id", Integer, ForeignKey("posts.id"), primary_key=True),
        Column("tag_id", Integer, ForeignKey("tags.id"), primary_key=True),
    )

    class User(Base):
        __tablename__ = "users"
        id = mapped_column(Integer, primary_key=True)
        name = mapped_column(String, nullable=False)
        email = mapped_column(String, nullable=False)
        manager_id = mapped_column(Integer, ForeignKey("users.id"))

        posts = relationship(
            "Post", back_populates="user", order_by="Post.id", **rel("User.posts")
        )
        manager = relationship(
            "User",
            remote_side=[id],
            back_populates="reports",
            **rel("User.manager"),
        )
        reports = relationship(
            "User",
            back_populates="manager",
            order_by="User.id",
            **rel("User.reports"),
        )

    class Post(Base):
        __tablename__ = "posts"
        id = mapped_column(Integer, primary_key=True)
        title = mapped_column(String, nullable=False)
        body = mapped_column(String, nullable=False)
        user_id = mapped_column(Integer, ForeignKey("users.id"), nullable=False)
        created_at = mapped_column(String, nullable=False)

        user = relationship("User", back_populates="posts", **rel("Post.user"))
        comments = relationship(
            "Comment",
            back_populates="post",
            order_by="Comment.id",
            **rel("Post.comments"),
        )
        tags = relationship(
            "Tag",
            secondary=post_tags,
            back_populates="posts",
            order_by="Tag.name",
            **rel("Post.tags"),
        )

    class Comment(Base):
        __tablename__ = "comments"
        id = mapped_column(Integer, primary_key=True)
        post_id = mapped_column(Integer, ForeignKey("posts.id"), nullable=False)
        user_id = mapped_column(Integer, ForeignKey("users.id"), nullable=False)
        body = mapped_column(String, nullable=False)

        post = relationship("Post", back_populates="comments", **rel("Comment.post"))
        author = relationship("User", **rel("Comment.author"))

    class Tag(Base):
        __tablename__ = "tags"
        id = mapped_column(Integer, primary_key=True)
        name = mapped_column(String, nullable=False, unique=True)

        posts = relationship(
            "Post",
            secondary=post_tags,
            back_populates="tags",
            order_by="Post.id",
            **rel("Tag.posts"),
        )

    classes = {"User": User, "Post": Post, "Comment": Comment, "Tag": Tag}
    sqlalchemy.orm.configure_mappers()
    return classes


# --------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------


def fs(strategy: str) -> str:
    return strategy.replace("+", "_")


def scenario(name, root, limit, expand, strategies, via="mapping"):
    return {
        "name": name,
        "root": root,
        "limit": limit,
        "expand": list(expand),
        "strategies": dict(strategies),
        "via": via,
    }


def all_scenarios() -> list[dict]:
    out = []
    # a) one-to-many, every strategy
    for s in STRATEGIES:
        out.append(scenario(f"users_posts_{fs(s)}", "User", 5, ["posts"], {"posts": s}))
    # b) two levels
    for s in ["select", "immediate", "joined", "joined+innerjoin", "subquery", "selectin"]:
        out.append(
            scenario(
                f"users_posts_comments_{fs(s)}",
                "User",
                5,
                ["posts", "posts.comments"],
                {"posts": s, "posts.comments": s},
            )
        )
    for p, c in [
        ("selectin", "joined"),
        ("joined", "selectin"),
        ("select", "selectin"),
        ("dynamic", "select"),
    ]:
        out.append(
            scenario(
                f"users_posts_{fs(p)}_comments_{fs(c)}",
                "User",
                5,
                ["posts", "posts.comments"],
                {"posts": p, "posts.comments": c},
            )
        )
    # c) many-to-many and many-to-one from Post
    for s in [
        "select",
        "immediate",
        "joined",
        "joined+innerjoin",
        "subquery",
        "selectin",
        "raise",
        "noload",
        "dynamic",
        "write_only",
    ]:
        out.append(scenario(f"posts_tags_{fs(s)}", "Post", 5, ["tags"], {"tags": s}))
    for s in [
        "select",
        "immediate",
        "joined",
        "joined+innerjoin",
        "subquery",
        "selectin",
        "raise_on_sql",
    ]:
        out.append(scenario(f"posts_user_{fs(s)}", "Post", 5, ["user"], {"user": s}))
    # d) identity map
    for s in ["select", "raise_on_sql"]:
        out.append(
            scenario(
                f"users_posts_selectin_user_{fs(s)}",
                "User",
                5,
                ["posts", "posts.user"],
                {"posts": "selectin", "posts.user": s},
            )
        )
    # e) self-referential
    for s in ["select", "joined", "selectin", "subquery", "immediate"]:
        out.append(scenario(f"users_manager_{fs(s)}", "User", 5, ["manager"], {"manager": s}))
    for s in ["select", "joined", "selectin", "subquery"]:
        out.append(scenario(f"users_reports_{fs(s)}", "User", 5, ["reports"], {"reports": s}))
    # e') the same through loader options (joinedload(User.manager), ...) on a
    # lazy="select" mapping: a mapping-level eager loader stops where the path
    # already contains its target mapper (no join_depth), an option does not.
    for s in ["select", "joined", "selectin", "subquery", "immediate"]:
        out.append(
            scenario(
                f"users_manager_{fs(s)}_option", "User", 5, ["manager"], {"manager": s}, "options"
            )
        )
    for s in ["select", "joined", "selectin", "subquery"]:
        out.append(
            scenario(
                f"users_reports_{fs(s)}_option", "User", 5, ["reports"], {"reports": s}, "options"
            )
        )
    # e'') a many-to-one selectin whose targets are partly in the identity map
    # (comment authors among users 1-5), by mapping and by options
    three = ["posts", "posts.comments", "posts.comments.author"]
    for via, suffix in [("mapping", ""), ("options", "_option")]:
        out.append(
            scenario(
                f"users_posts_comments_author_selectin{suffix}",
                "User",
                5,
                three,
                {p: "selectin" for p in three},
                via,
            )
        )
    # f) no limit
    for s in ["joined", "subquery", "selectin"]:
        out.append(
            scenario(f"users_posts_{fs(s)}_nolimit", "User", None, ["posts"], {"posts": s})
        )
    # g) many-to-one from Comment
    for s in ["select", "selectin"]:
        out.append(scenario(f"comments_author_{fs(s)}", "Comment", 5, ["author"], {"author": s}))
    # h) rules the generated matrix led to, each pinned once
    out.extend(rule_scenarios())
    out.extend(matrix_scenarios())
    return out


def chain(*pairs: tuple[str, str]) -> tuple[list[str], dict[str, str]]:
    """(relationship, strategy) per level -> expand paths and strategies."""
    paths, strategies, prefix = [], {}, ""
    for rel, strategy in pairs:
        prefix = f"{prefix}.{rel}" if prefix else rel
        paths.append(prefix)
        strategies[prefix] = strategy
    return paths, strategies


def rule_scenarios() -> list[dict]:
    out = []

    def add(name, root, limit, via, *pairs):
        expand, strategies = chain(*pairs)
        out.append(scenario(name, root, limit, expand, strategies, via))

    # a subquery load fired by a statement other than the root query starts
    # its path afresh: the joinedload below it does not apply
    add("deep_users_posts_selectin_comments_subquery_author_joined", "User", 2, "options",
        ("posts", "selectin"), ("comments", "subquery"), ("author", "joined"))
    # a subquery load runs at the first row that needs it (users 2 and 3
    # are not in the identity map yet), and an immediate path registered by
    # several statements of one round only reads the identity map
    add("deep_users_posts_subquery_comments_immediate_author_immediate", "User", 3, "options",
        ("posts", "subquery"), ("comments", "immediate"), ("author", "immediate"))
    # an outer join below an inner join spliced into an outer join's group
    # goes after the group
    add("deep_users_posts_joined_comments_joined_innerjoin_author_joined", "User", 3, "options",
        ("posts", "joined"), ("comments", "joined+innerjoin"), ("author", "joined"))
    # a selectin many-to-one takes what its rows hold (an inner join below
    # dropped users 1 and 25), not what the identity map holds
    add("users_manager_selectin_manager_joined_innerjoin_nolimit", "User", None, "options",
        ("manager", "selectin"), ("manager", "joined+innerjoin"))
    # a joined collection of an object the statement created starts afresh,
    # over the empty collection a noload elsewhere in the rows gave it
    add("users_reports_joined_reports_noload_nolimit", "User", None, "options",
        ("reports", "joined"), ("reports", "noload"))
    # mapping-level (lazy=) rules: a lazy load loads the many-to-one way
    # back lazily; a joined loader checks the path within its statement; a
    # stopped joined collection still wraps a LIMITed statement; immediate
    # goes on down a self-referential tree; an immediate load's lazy loads
    # keep its path; a subquery load re-states a many-to-many lazy load
    add("posts_user_select_posts_joined", "Post", 5, "mapping", ("user", "select"), ("posts", "joined"))
    add("users_posts_selectin_user_joined", "User", 5, "mapping", ("posts", "selectin"), ("user", "joined"))
    add("posts_user_joined_posts_joined", "Post", 5, "mapping", ("user", "joined"), ("posts", "joined"))
    add("users_reports_immediate_posts_select", "User", 5, "mapping", ("reports", "immediate"), ("posts", "select"))
    add("users_posts_select_comments_immediate_author_selectin", "User", 3, "mapping",
        ("posts", "select"), ("comments", "immediate"), ("author", "selectin"))
    add("posts_tags_select_posts_joined_user_subquery", "Post", 3, "mapping",
        ("tags", "select"), ("posts", "joined"), ("user", "subquery"))
    return out


# Two-level navigations for the generated matrix: (root, first, second).
MATRIX_PATHS = [
    ("User", "posts", "comments"),
    ("User", "posts", "tags"),
    ("User", "posts", "user"),
    ("User", "manager", "posts"),
    ("User", "reports", "posts"),
    ("Post", "tags", "posts"),
    ("Post", "user", "posts"),
    ("Post", "comments", "author"),
]
MATRIX_LOADING = ["select", "immediate", "joined", "joined+innerjoin", "subquery", "selectin"]
MATRIX_SECOND = MATRIX_LOADING + ["raise", "raise_on_sql", "noload"]
# A few of the same without LIMIT (no anon_1 wrapping, no LIMIT in subquery);
# all rooted at User, as every post would make a Post-rooted one large.
MATRIX_NOLIMIT = [
    ("User", "posts", "comments", "selectin", "joined"),
    ("User", "posts", "comments", "joined", "selectin"),
    ("User", "posts", "comments", "subquery", "subquery"),
    ("User", "posts", "comments", "joined", "joined"),
    ("User", "posts", "tags", "subquery", "joined"),
    ("User", "manager", "posts", "joined", "subquery"),
    ("User", "reports", "posts", "subquery", "selectin"),
    ("User", "posts", "user", "joined", "immediate"),
]
TABLES = {"User": "users", "Post": "posts", "Comment": "comments", "Tag": "tags"}


def matrix_scenarios() -> list[dict]:
    """The generated matrix (loader options, `via: options`, limit 5): every
    pair of loading strategies over two levels, plus raise / raise_on_sql /
    noload at the second; a few without LIMIT; the self-referential
    reports.reports. Named matrix_<root table>_<first>_<s1>_<second>_<s2>."""

    def one(root, first, second, s1, s2, limit, suffix=""):
        name = f"matrix_{TABLES[root]}_{first}_{fs(s1)}_{second}_{fs(s2)}{suffix}"
        return scenario(
            name,
            root,
            limit,
            [first, f"{first}.{second}"],
            {first: s1, f"{first}.{second}": s2},
            "options",
        )

    out = []
    for root, first, second in MATRIX_PATHS:
        for s1 in MATRIX_LOADING:
            for s2 in MATRIX_SECOND:
                out.append(one(root, first, second, s1, s2, 5))
    for s1 in MATRIX_LOADING:
        for s2 in MATRIX_LOADING:
            out.append(one("User", "reports", "reports", s1, s2, 5))
    for root, first, second, s1, s2 in MATRIX_NOLIMIT:
        out.append(one(root, first, second, s1, s2, None, "_nolimit"))
    return out


# --------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.active = False
        self.statements: list[dict] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            if parameters is None:
                params = []
            elif isinstance(parameters, dict):
                params = dict(parameters)
            else:
                params = list(parameters)
            self.statements.append({"sql": statement, "params": params})


class Models(NamedTuple):
    """What a run needs to know of a set of models: how to build fresh
    classes with given `lazy=` settings, each relationship's (target,
    uselist) by entity, and each entity's label column (or None)."""

    build: Callable[[dict[str, str]], dict[str, type]]
    relationships: dict[str, dict[str, tuple[str, bool]]]
    labels: dict[str, str | None]


def lazy_settings(sc: dict, models: Models) -> dict[str, str]:
    """Map each expand path to "Entity.relationship" and its strategy
    (after the scenario's own "mapping" settings, if any)."""
    out: dict[str, str] = dict(sc.get("mapping", {}))
    for path in sc["expand"]:
        if sc["via"] == "options" and sc["strategies"][path] not in ("dynamic", "write_only"):
            continue
        entity = sc["root"]
        parts = path.split(".")
        for part in parts[:-1]:
            entity = models.relationships[entity][part][0]
        key = f"{entity}.{parts[-1]}"
        strategy = sc["strategies"][path]
        if key in out and out[key] != strategy:
            raise ValueError(f"{key} given two strategies in {sc['name']}")
        out[key] = strategy
    return out


OPTION_LOADERS = {
    "select": lambda load, attr: load.lazyload(attr),
    "immediate": lambda load, attr: load.immediateload(attr),
    "joined": lambda load, attr: load.joinedload(attr),
    "joined+innerjoin": lambda load, attr: load.joinedload(attr, innerjoin=True),
    "subquery": lambda load, attr: load.subqueryload(attr),
    "selectin": lambda load, attr: load.selectinload(attr),
    "raise": lambda load, attr: load.raiseload(attr),
    "raise_on_sql": lambda load, attr: load.raiseload(attr, sql_only=True),
    "noload": lambda load, attr: load.noload(attr),
}
TOP_LOADERS = {
    "select": lambda attr: lazyload(attr),
    "immediate": lambda attr: immediateload(attr),
    "joined": lambda attr: joinedload(attr),
    "joined+innerjoin": lambda attr: joinedload(attr, innerjoin=True),
    "subquery": lambda attr: subqueryload(attr),
    "selectin": lambda attr: selectinload(attr),
    "raise": lambda attr: raiseload(attr),
    "raise_on_sql": lambda attr: raiseload(attr, sql_only=True),
    "noload": lambda attr: noload(attr),
}


def loader_options(sc: dict, classes: dict[str, type], models: Models) -> list:
    """One option chain per expand path, e.g. selectinload(User.posts).joinedload(Post.comments)."""
    if sc["via"] != "options":
        return []
    opts = []
    for path in sc["expand"]:
        entity = sc["root"]
        parts = path.split(".")
        opt = None
        for i, part in enumerate(parts):
            strategy = sc["strategies"][".".join(parts[: i + 1])]
            if strategy in ("dynamic", "write_only"):
                raise ValueError(f"{path}: no loader option for {strategy}")
            attr = getattr(classes[entity], part)
            opt = TOP_LOADERS[strategy](attr) if opt is None else OPTION_LOADERS[strategy](opt, attr)
            entity = models.relationships[entity][part][0]
        opts.append(opt)
    return opts


def access(session: Session, obj, rel: str, strategy: str):
    value = getattr(obj, rel)
    if strategy == "dynamic":
        return list(value)
    if strategy == "write_only":
        return session.scalars(value.select()).all()
    return value


def identity(obj):
    """The object's primary key: a value, or a list for a composite key."""
    key = inspect(obj).identity
    return key[0] if len(key) == 1 else list(key)


def run(engine, recorder: Recorder, sc: dict, models: Models | None = None) -> dict:
    """One scenario in fresh classes and a fresh Session: the root query
    ordered by the primary key, then every expand path depth first. A
    mapping SQLAlchemy refuses records its refusal as "config_error"."""
    models = models or SAMPLE
    header = {
        "name": sc["name"],
        "sqlalchemy": sqlalchemy.__version__,
        "root": sc["root"],
        "limit": sc["limit"],
        "expand": sc["expand"],
        "strategies": sc["strategies"],
        "via": sc["via"],
    }
    settings = lazy_settings(sc, models)
    if "mapping" in sc:
        header["mapping"] = sc["mapping"]
    try:
        classes = models.build(settings)
    except sqlalchemy.exc.InvalidRequestError as exc:
        return {**header, "config_error": str(exc).splitlines()[0]}
    root_cls = classes[sc["root"]]

    # children of each path prefix, in expand order
    children: dict[str, list[str]] = {}
    for path in sc["expand"]:
        prefix, _, rel = path.rpartition(".")
        children.setdefault(prefix, []).append(rel)

    errors: list[dict] = []

    def walk(session, obj, prefix: str) -> dict:
        entity = type(obj).__name__
        label = models.labels[entity]
        out = {"entity": entity, "pk": identity(obj),
               "label": getattr(obj, label) if label else None}
        for rel in children.get(prefix, []):
            path = f"{prefix}.{rel}" if prefix else rel
            strategy = sc["strategies"][path]
            try:
                value = access(session, obj, rel, strategy)
            except sqlalchemy.exc.SQLAlchemyError as exc:
                errors.append(
                    {"path": path, "parent_pk": identity(obj), "message": str(exc).splitlines()[0]}
                )
                continue
            if models.relationships[entity][rel][1]:
                out[rel] = [walk(session, child, path) for child in value]
            else:
                out[rel] = None if value is None else walk(session, value, path)
        return out

    stmt = select(root_cls).order_by(*inspect(root_cls).primary_key)
    opts = loader_options(sc, classes, models)
    if opts:
        stmt = stmt.options(*opts)
    if sc["limit"] is not None:
        stmt = stmt.limit(sc["limit"])

    recorder.statements = []
    recorder.active = True
    try:
        with Session(engine) as session:
            roots = session.scalars(stmt).unique().all()
            graph = [walk(session, obj, "") for obj in roots]
    finally:
        recorder.active = False
        root_cls.registry.dispose()

    return {**header, "statements": recorder.statements, "graph": graph, "errors": errors}


SAMPLE = Models(build_models, RELATIONSHIPS, LABELS)


def build_in_memory(models: Models, populate, sql_path: Path, script: str,
                    check=None) -> sqlite3.Connection:
    """A schema's database, made by its own models (create_all, then
    `populate` through the ORM), kept in memory and written as SQL to
    `sql_path`; `check(conn)` may look at it before it is written."""
    dbapi_conn = sqlite3.connect(":memory:", check_same_thread=False)
    engine = create_engine("sqlite://", creator=lambda: dbapi_conn, poolclass=StaticPool)
    classes = models.build({})
    registry = next(iter(classes.values())).registry
    registry.metadata.create_all(engine)
    with Session(engine) as session:
        populate(session, classes)
    registry.dispose()
    if check:
        check(dbapi_conn)
    sql_path.parent.mkdir(parents=True, exist_ok=True)
    dump = "\n".join(dbapi_conn.iterdump()) + "\n"
    header = (
        f"-- Generated by {script} from its SQLAlchemy models; do not edit.\n"
        "PRAGMA foreign_keys = OFF;\n"  # tables come in name order, not dependency order
    )
    sql_path.write_text(header + dump)
    return dbapi_conn


def record_scenarios(dbapi_conn: sqlite3.Connection, scenarios, run_one, out_dir: Path,
                     argv: list[str]) -> int:
    """Runs each scenario (those named in `argv`, or all) with
    `run_one(engine, recorder, scenario)` and writes its fixture to
    `out_dir`; returns the exit code (1 if any failed)."""
    if sqlalchemy.__version__ != REFERENCE_VERSION:
        print(f"warning: SQLAlchemy {sqlalchemy.__version__}, the reference is "
              f"{REFERENCE_VERSION}", file=sys.stderr)
    warnings.filterwarnings("ignore", message=".*noload.*")
    engine = create_engine("sqlite://", creator=lambda: dbapi_conn, poolclass=StaticPool)
    recorder = Recorder()
    event.listen(engine, "before_cursor_execute", recorder)
    wanted = set(argv)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for sc in scenarios:
        if wanted and sc["name"] not in wanted:
            continue
        try:
            fixture = run_one(engine, recorder, sc)
        except Exception as exc:
            failed += 1
            print(f"FAILED {sc['name']}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        (out_dir / f"{sc['name']}.json").write_text(json.dumps(fixture, indent=2) + "\n")
        what = fixture.get("config_error") or f"{len(fixture['statements'])} statements"
        print(f"{sc['name']:55} {what}")
    return 1 if failed else 0


def compare_options(engine, recorder: Recorder) -> int:
    """Check that loader options give the same fixture as lazy= on the mapping."""
    differ = 0
    for sc in all_scenarios():
        if sc["via"] != "mapping" or {"dynamic", "write_only"} & set(sc["strategies"].values()):
            continue
        a = run(engine, recorder, sc)
        b = run(engine, recorder, {**sc, "via": "options"})
        diff = [k for k in ("statements", "graph", "errors") if a[k] != b[k]]
        if diff:
            differ += 1
            print(f"{sc['name']:45} options differ in {', '.join(diff)}: "
                  f"{len(a['statements'])} vs {len(b['statements'])} statements")
        else:
            print(f"{sc['name']:45} same")
    return differ


def main(argv: list[str]) -> int:
    if sqlalchemy.__version__ != REFERENCE_VERSION:
        print(
            f"warning: SQLAlchemy {sqlalchemy.__version__} installed, "
            f"the reference is {REFERENCE_VERSION}",
            file=sys.stderr,
        )
    warnings.filterwarnings("ignore", message=".*noload.*")

    dbapi_conn = sqlite3.connect(":memory:", check_same_thread=False)
    dbapi_conn.executescript(SQL_FILE.read_text())
    engine = create_engine("sqlite://", creator=lambda: dbapi_conn, poolclass=StaticPool)
    recorder = Recorder()
    event.listen(engine, "before_cursor_execute", recorder)

    if "--compare-options" in argv:
        compare_options(engine, recorder)
        return 0

    wanted = set(argv)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    failed = 0
    for sc in all_scenarios():
        if wanted and sc["name"] not in wanted:
            continue
        try:
            fixture = run(engine, recorder, sc)
        except Exception as exc:  # report and go on: one scenario must not stop the rest
            # The generated matrix keeps only what SQLAlchemy runs; a
            # hand-written scenario that fails is an error.
            failed += not sc["name"].startswith("matrix_")
            print(f"SKIPPED {sc['name']}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        path = OUT_DIR / f"{sc['name']}.json"
        path.write_text(json.dumps(fixture, indent=2) + "\n")
        print(
            f"{sc['name']:45} {len(fixture['statements']):3} statements"
            f"  {len(fixture['errors'])} errors"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
