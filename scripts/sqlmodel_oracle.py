"""SQLAlchemy oracle for a SQLModel application's models.

Dev-only, the twin of flask_oracle.py. tests/fixtures/sqlmodel/models.py
is written as the SQLModel tutorial writes models (non-table bases,
Field(...), Relationship(...), a link model). This script executes it with
SQLModel to build tests/fixtures/sqlmodel/app.sql, then records what
SQLAlchemy 2.1.9 sends for navigations over it into
tests/fixtures/sqlalchemy_sqlmodel/<scenario>.json.

    scripts/.venv/bin/pip install 'sqlalchemy==2.1.9' sqlmodel
    scripts/.venv/bin/python scripts/sqlmodel_oracle.py
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

ROOT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT_DIR / "tests" / "fixtures" / "sqlmodel"))
from app_oracle import LOADING, dump, record  # noqa: E402
from sqlalchemy_oracle import Recorder  # noqa: E402

import models  # noqa: E402

HERE_DIR = ROOT_DIR / "tests" / "fixtures" / "sqlmodel"
OUT_DIR = ROOT_DIR / "tests" / "fixtures" / "sqlalchemy_sqlmodel"
LABELS = {"Team": "name", "Hero": "name", "Mission": "codename", "HeroMissionLink": None}

# (root, relationship, its mapping's lazy)
PATHS = [
    ("Team", "heroes", "select"),
    ("Hero", "team", "select"),
    ("Hero", "missions", "select"),
    ("Mission", "heroes", "selectin"),
]


def populate(session: Session) -> None:
    teams = [models.Team(id=i, name=n, headquarters=h) for i, n, h in
             [(1, "Preventers", "Sharp Tower"), (2, "Z-Force", "Sister Margaret's Bar"), (3, "Empty", "Nowhere")]]
    session.add_all(teams)
    heroes = [models.Hero(id=i, name=n, secret_name=f"secret {i}", age=20 + i, team_id=t)
              for i, n, t in [(1, "Deadpond", 2), (2, "Rusty-Man", 1), (3, "Spider-Boy", None), (4, "Tarantula", 1)]]
    session.add_all(heroes)
    missions = [models.Mission(id=i, codename=c) for i, c in [(1, "Alpha"), (2, "Bravo"), (3, "Charlie")]]
    session.add_all(missions)
    session.flush()
    heroes[0].missions.extend([missions[0], missions[1]])
    heroes[1].missions.append(missions[1])
    heroes[3].missions.append(missions[0])
    session.commit()


def main() -> int:
    warnings.filterwarnings("ignore", message=".*noload.*")
    scenarios = []
    for root, rel, lazy in PATHS:
        scenarios.append((root, rel, lazy, "mapping"))
        scenarios += [(root, rel, s, "options") for s in LOADING]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "app.db"
        engine = create_engine(f"sqlite:///{path}")
        models.SQLModel.metadata.create_all(engine)
        with Session(engine) as session:
            populate(session)
        dump(path, HERE_DIR / "app.sql", "scripts/sqlmodel_oracle.py")
        recorder = Recorder()
        event.listen(engine, "before_cursor_execute", recorder)
        with Session(engine) as session:
            record(session, recorder, models, LABELS, scenarios, OUT_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
