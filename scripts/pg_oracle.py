"""SQLAlchemy oracle on PostgreSQL: what the loaders send through psycopg2 and psycopg 3.

Dev-only, like sqlalchemy_oracle.py, whose scenarios, classes and "trace"
navigation (`all_scenarios`, `run`) it reuses unchanged: only the database
and the driver differ. The reference is SQLAlchemy 2.1.9 on a PostgreSQL
15 server.

Run from the repository root:

    python3 -m venv scripts/.venv
    scripts/.venv/bin/pip install 'sqlalchemy==2.1.9' psycopg2-binary 'psycopg[binary]'
    scripts/.venv/bin/python scripts/pg_oracle.py

What it does: starts a throwaway PostgreSQL cluster (scripts/pg_cluster.py:
initdb in a temporary directory, Unix socket only, stopped and deleted at
the end), creates a database `blog`, loads sample-db/blog.sql into it
unchanged, and runs

- every scenario of sqlalchemy_oracle.py (hand-written, rule and matrix)
  on `postgresql+psycopg2://`, into tests/fixtures/sqlalchemy_postgresql/;
- the hand-written and rule scenarios (not the generated matrix) on
  `postgresql+psycopg://` (psycopg 3), whose dialect renders bind casts
  (`%(param_1)s::INTEGER`), into tests/fixtures/sqlalchemy_postgresql_psycopg/.

Each fixture has the format of tests/fixtures/sqlalchemy/ (statements,
graph, errors, ...) plus "dialect" and "driver". "sql" is the statement
exactly as the `before_cursor_execute` listener receives it (pyformat
binds); "params" is the parameter dict the driver gets, as a JSON object
with its keys in the order they first appear in the SQL text.

The engine connects once before the first scenario, so the dialect's
first-connect queries (server version, standard_conforming_strings, ...)
are never recorded; they would not be anyway (SQLAlchemy runs them on a
connection without events).

Optional arguments: scenario names to run only those (default: all);
--driver=psycopg2 or --driver=psycopg to run only one driver.
"""

from __future__ import annotations

import json
import re
import sys
import time
import warnings
from pathlib import Path

import sqlalchemy
from sqlalchemy import create_engine, event

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg_cluster import throwaway_cluster  # noqa: E402
from sqlalchemy_oracle import (  # noqa: E402
    REFERENCE_VERSION,
    SQL_FILE,
    Recorder,
    all_scenarios,
    matrix_scenarios,
    run,
)

ROOT_DIR = Path(__file__).resolve().parent.parent
FIXTURES = ROOT_DIR / "tests" / "fixtures"
DATABASE = "blog"

# driver -> (SQLAlchemy URL scheme, output directory, matrix too?)
DRIVERS = {
    "psycopg2": ("postgresql+psycopg2", FIXTURES / "sqlalchemy_postgresql", True),
    "psycopg": ("postgresql+psycopg", FIXTURES / "sqlalchemy_postgresql_psycopg", False),
}

BIND = re.compile(r"%\((\w+)\)s")


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


def load_sample(host: str, port: int) -> None:
    """Create the database and run sample-db/blog.sql in it, as it is."""
    admin = create_engine(url("postgresql+psycopg2", host, port, "postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
    admin.dispose()
    engine = create_engine(url("postgresql+psycopg2", host, port, DATABASE))
    with engine.begin() as conn:
        # no parameters: psycopg2 sends the script as it is (simple query
        # protocol, several statements)
        conn.connection.dbapi_connection.cursor().execute(SQL_FILE.read_text())
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def record(driver: str, host: str, port: int, wanted: set[str]) -> int:
    scheme, out_dir, with_matrix = DRIVERS[driver]
    scenarios = all_scenarios()
    if not with_matrix:
        matrix = {sc["name"] for sc in matrix_scenarios()}
        scenarios = [sc for sc in scenarios if sc["name"] not in matrix]
    engine = create_engine(url(scheme, host, port, DATABASE))
    with engine.connect():
        pass  # first connect: the dialect's own queries, before recording
    recorder = PgRecorder()
    event.listen(engine, "before_cursor_execute", recorder)
    out_dir.mkdir(parents=True, exist_ok=True)
    failed = 0
    written = 0
    for sc in scenarios:
        if wanted and sc["name"] not in wanted:
            continue
        try:
            fixture = run(engine, recorder, sc)
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
    drivers = list(DRIVERS)
    wanted = set()
    for arg in argv:
        if arg.startswith("--driver="):
            drivers = [arg.split("=", 1)[1]]
            if drivers[0] not in DRIVERS:
                print(f"unknown driver {drivers[0]}; one of {', '.join(DRIVERS)}",
                      file=sys.stderr)
                return 2
        else:
            wanted.add(arg)
    start = time.monotonic()
    failed = 0
    with throwaway_cluster() as (host, port):
        load_sample(host, port)
        for driver in drivers:
            failed += record(driver, host, port, wanted)
    print(f"done in {time.monotonic() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
