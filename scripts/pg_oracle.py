"""SQLAlchemy oracle on PostgreSQL: what the loaders send through psycopg2 and psycopg 3.

Dev-only, like sqlalchemy_oracle.py. It runs the scenarios of the SQLite
oracles unchanged (their classes, scenarios and "trace" navigation: `run`,
shapes_oracle.py's `run_pinned`) on a PostgreSQL 15 server: only the
database and the driver differ. The reference is SQLAlchemy 2.1.9.

Run from the repository root:

    python3 -m venv scripts/.venv
    scripts/.venv/bin/pip install 'sqlalchemy==2.1.9' psycopg2-binary 'psycopg[binary]'
    scripts/.venv/bin/python scripts/pg_oracle.py

What it does: starts a throwaway PostgreSQL cluster (scripts/pg_cluster.py:
initdb in a temporary directory, Unix socket only, stopped and deleted at
the end; as root the server runs as the `postgres` user), and for each
schema creates a database, loads its SQL file into it with psql (as the
Rust fixture test does) and records:

- sample (database `blog`, sample-db/blog.sql loaded unchanged, then
  ANALYZE): every scenario of sqlalchemy_oracle.py (hand-written, rule and
  matrix) on `postgresql+psycopg2://`, into tests/fixtures/sqlalchemy_postgresql/;
  the hand-written and rule scenarios (not the generated matrix) on
  `postgresql+psycopg://` (psycopg 3), whose dialect renders bind casts
  (`%(param_1)s::INTEGER`), into tests/fixtures/sqlalchemy_postgresql_psycopg/.
- shapes (database `shapes`, tests/fixtures/shapes/shapes.postgresql.sql):
  every scenario of shapes_oracle.py on psycopg2, into
  tests/fixtures/sqlalchemy_postgresql_shapes/; on psycopg 3 the
  one-relationship navigations set by mapping, with LIMIT, in the six
  loading strategies, and the selectin-batch ones set by mapping, into
  tests/fixtures/sqlalchemy_postgresql_shapes_psycopg/.
- inheritance (database `inheritance`,
  tests/fixtures/inheritance/inheritance.postgresql.sql): every scenario of
  inheritance_oracle.py on psycopg2, into
  tests/fixtures/sqlalchemy_postgresql_inheritance/.

The shapes and inheritance SQL files are written by this script, before
it loads them: the DDL is what `create_all` emits for PostgreSQL from the
SQLite oracle's own classes (SERIAL for a single integer key, VARCHAR,
quoted `"order"`, `"group"`, `"createdAt"`; tables in dependency order),
and the rows are those of the SQLite oracle's tests/fixtures/<schema>/
<schema>.sql, table by table in rowid order (the order SQLite holds them
in), then ANALYZE. The SERIAL sequences are left at 1: nothing inserts.

Each fixture has the format of tests/fixtures/sqlalchemy/ (statements,
graph, errors, ...) plus "dialect" and "driver". "sql" is the statement
exactly as the `before_cursor_execute` listener receives it (pyformat
binds); "params" is the parameter dict the driver gets, as a JSON object
with its keys in the order they first appear in the SQL text.

The engine connects once before the first scenario, so the dialect's
first-connect queries (server version, standard_conforming_strings, ...)
are never recorded; they would not be anyway (SQLAlchemy runs them on a
connection without events).

A full run takes a little over two minutes (sample half a minute,
shapes about a minute and a half: its composite subquery loads are rerun
until SQLAlchemy's set order comes up in primaryjoin order, inheritance
twenty seconds). Two runs write byte-identical files.

Optional arguments: scenario names to run only those (default: all);
--schema=sample, --schema=shapes or --schema=inheritance to run only one
schema; --driver=psycopg2 or --driver=psycopg to run only one driver.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, NamedTuple

import sqlalchemy
from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inheritance_oracle  # noqa: E402
import shapes_oracle  # noqa: E402
from pg_cluster import SERVER_USER, find_bindir, throwaway_cluster  # noqa: E402
from sqlalchemy_oracle import (  # noqa: E402
    REFERENCE_VERSION,
    SQL_FILE,
    Models,
    Recorder,
    all_scenarios,
    matrix_scenarios,
    run,
)

ROOT_DIR = Path(__file__).resolve().parent.parent
FIXTURES = ROOT_DIR / "tests" / "fixtures"

SCHEMES = {"psycopg2": "postgresql+psycopg2", "psycopg": "postgresql+psycopg"}

BIND = re.compile(r"%\((\w+)\)s")


class Schema(NamedTuple):
    """A database and the scenarios recorded on it."""

    database: str
    # the SQL file psql loads into the database
    script: Path
    # writes `script` first (None: it is loaded as it is)
    write_script: Callable[[], None] | None
    scenarios: Callable[[], list[dict]]
    # run(engine, recorder, scenario) -> fixture
    run: Callable[..., dict]
    # driver -> (output directory, which scenarios)
    outputs: dict[str, tuple[Path, Callable[[dict], bool]]]


def every(sc: dict) -> bool:
    return True


@functools.cache
def matrix_names() -> frozenset[str]:
    return frozenset(sc["name"] for sc in matrix_scenarios())


def not_matrix(sc: dict) -> bool:
    """The sample's hand-written and rule scenarios."""
    return sc["name"] not in matrix_names()


def shapes_psycopg(sc: dict) -> bool:
    """A sample of the shapes for psycopg 3's casts: one relationship set
    by mapping, with LIMIT, in each loading strategy; the selectin batches."""
    if sc["via"] != "mapping" or "mapping" in sc:
        return False
    if "_batches" in sc["name"]:
        return True
    return (len(sc["expand"]) == 1 and sc["limit"] is not None
            and sc["strategies"][sc["expand"][0]] in shapes_oracle.LOADING)


# --------------------------------------------------------------------------
# the PostgreSQL scripts
# --------------------------------------------------------------------------


def literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"no PostgreSQL literal for {value!r}")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def postgresql_script(models: Models, sqlite_sql: Path, out: Path) -> None:
    """Writes `out`: the PostgreSQL DDL of `models` (create_all's) and the
    rows of the SQLite database `sqlite_sql` makes, then ANALYZE."""
    dialect = postgresql.dialect()
    quote = dialect.identifier_preparer.quote
    lite = sqlite3.connect(":memory:")
    lite.executescript(sqlite_sql.read_text())
    classes = models.build({})
    registry = next(iter(classes.values())).registry
    try:
        tables = registry.metadata.sorted_tables  # referenced tables first
        in_sqlite = {r[0] for r in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if in_sqlite != {t.name for t in tables}:
            raise SystemExit(f"{sqlite_sql.name}: tables {sorted(in_sqlite)}, "
                             f"models {sorted(t.name for t in tables)}")
        parts = [
            "-- Generated by scripts/pg_oracle.py from the SQLite oracle's SQLAlchemy\n"
            "-- models (the DDL create_all emits for PostgreSQL) and the rows of\n"
            f"-- {sqlite_sql.relative_to(ROOT_DIR)}; do not edit. Load it with psql.\n",
            "BEGIN;\n",
        ]
        for table in tables:
            ddl = str(CreateTable(table).compile(dialect=dialect)).strip()
            parts.append("\n".join(line.rstrip() for line in ddl.splitlines()) + ";\n")
        for table in tables:
            columns = [c.name for c in table.columns]
            name = table.name.replace('"', '""')
            if [r[1] for r in lite.execute(f'PRAGMA table_info("{name}")')] != columns:
                raise SystemExit(f"{sqlite_sql.name}: {table.name} has other columns")
            rows = lite.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall()
            if not rows:
                continue
            head = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
                    f"({', '.join(quote(c) for c in columns)}) VALUES\n")
            values = ",\n".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
            parts.append(head + values + ";\n")
        parts += ["COMMIT;\n", "ANALYZE;\n"]
    finally:
        registry.dispose()
        lite.close()
    out.write_text("\n".join(parts))


def script_writer(models: Models, schema_dir: Path, stem: str) -> Callable[[], None]:
    return lambda: postgresql_script(models, schema_dir / f"{stem}.sql",
                                     schema_dir / f"{stem}.postgresql.sql")


SCHEMAS = {
    "sample": Schema(
        database="blog",
        script=SQL_FILE,
        write_script=None,
        scenarios=all_scenarios,
        run=run,
        outputs={
            "psycopg2": (FIXTURES / "sqlalchemy_postgresql", every),
            "psycopg": (FIXTURES / "sqlalchemy_postgresql_psycopg", not_matrix),
        },
    ),
    "shapes": Schema(
        database="shapes",
        script=shapes_oracle.SHAPES_DIR / "shapes.postgresql.sql",
        write_script=script_writer(shapes_oracle.SHAPES, shapes_oracle.SHAPES_DIR, "shapes"),
        scenarios=shapes_oracle.all_scenarios,
        run=shapes_oracle.run_pinned,
        outputs={
            "psycopg2": (FIXTURES / "sqlalchemy_postgresql_shapes", every),
            "psycopg": (FIXTURES / "sqlalchemy_postgresql_shapes_psycopg", shapes_psycopg),
        },
    ),
    "inheritance": Schema(
        database="inheritance",
        script=inheritance_oracle.FIXTURE_DIR / "inheritance.postgresql.sql",
        write_script=script_writer(inheritance_oracle.INHERITANCE,
                                   inheritance_oracle.FIXTURE_DIR, "inheritance"),
        scenarios=inheritance_oracle.all_scenarios,
        run=lambda engine, recorder, sc: run(engine, recorder, sc,
                                             inheritance_oracle.INHERITANCE),
        outputs={"psycopg2": (FIXTURES / "sqlalchemy_postgresql_inheritance", every)},
    ),
}


# --------------------------------------------------------------------------
# recording
# --------------------------------------------------------------------------


class PgRecorder(Recorder):
    """The sample's recorder, with a dict's keys put in the order the binds
    first appear in the statement (psycopg2 and psycopg get a dict, whose
    order is SQLAlchemy's, not the text's)."""

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if self.active and isinstance(parameters, dict):
            order = list(dict.fromkeys(BIND.findall(statement)))
            rest = [k for k in parameters if k not in order]
            parameters = {k: parameters[k] for k in order + rest if k in parameters}
        super().__call__(conn, cursor, statement, parameters, context, executemany)


def url(scheme: str, host: str, port: int, database: str) -> str:
    return f"{scheme}://postgres@/{database}?host={host}&port={port}"


def psql(host: str, port: int, database: str, *args: str) -> None:
    subprocess.run(
        [str(find_bindir() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-h", host, "-p", str(port), "-U", SERVER_USER, "-d", database, *args],
        check=True, stdout=subprocess.DEVNULL,
    )


def load(schema: Schema, host: str, port: int) -> None:
    """Create the schema's database and run its SQL file in it with psql
    (the sample's blog.sql as it is, then ANALYZE)."""
    psql(host, port, "postgres", "-c", f"CREATE DATABASE {schema.database} TEMPLATE template0")
    psql(host, port, schema.database, "-f", str(schema.script))
    if schema.write_script is None:
        psql(host, port, schema.database, "-c", "ANALYZE")


def record(schema: Schema, driver: str, host: str, port: int, wanted: set[str]) -> int:
    out_dir, which = schema.outputs[driver]
    engine = create_engine(url(SCHEMES[driver], host, port, schema.database))
    with engine.connect():
        pass  # first connect: the dialect's own queries, before recording
    recorder = PgRecorder()
    event.listen(engine, "before_cursor_execute", recorder)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    written = 0
    for sc in schema.scenarios():
        if not which(sc) or (wanted and sc["name"] not in wanted):
            continue
        try:
            fixture = schema.run(engine, recorder, sc)
        except Exception as exc:  # report and go on, as sqlalchemy_oracle.py does
            failed += not sc["name"].startswith("matrix_")
            print(f"SKIPPED {driver} {sc['name']}: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            continue
        fixture = {**fixture, "dialect": "postgresql", "driver": driver}
        (out_dir / f"{sc['name']}.json").write_text(json.dumps(fixture, indent=2) + "\n")
        written += 1
    engine.dispose()
    print(f"{driver}: {written} fixtures in {out_dir.relative_to(ROOT_DIR)}")
    return failed


def main(argv: list[str]) -> int:
    if sqlalchemy.__version__ != REFERENCE_VERSION:
        print(f"warning: SQLAlchemy {sqlalchemy.__version__} installed, "
              f"the reference is {REFERENCE_VERSION}", file=sys.stderr)
    warnings.filterwarnings("ignore", message=".*noload.*")
    drivers = list(SCHEMES)
    schemas = list(SCHEMAS)
    wanted = set()
    for arg in argv:
        option, _, value = arg.partition("=")
        if option == "--driver":
            if value not in SCHEMES:
                print(f"unknown driver {value}; one of {', '.join(SCHEMES)}", file=sys.stderr)
                return 2
            drivers = [value]
        elif option == "--schema":
            if value not in SCHEMAS:
                print(f"unknown schema {value}; one of {', '.join(SCHEMAS)}", file=sys.stderr)
                return 2
            schemas = [value]
        else:
            wanted.add(arg)
    start = time.monotonic()
    failed = 0
    with throwaway_cluster() as (host, port):
        for name in schemas:
            schema = SCHEMAS[name]
            if schema.write_script:
                schema.write_script()
            load(schema, host, port)
            for driver in drivers:
                if driver in schema.outputs:
                    failed += record(schema, driver, host, port, wanted)
    print(f"done in {time.monotonic() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
