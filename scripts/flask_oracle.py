"""SQLAlchemy oracle for a Flask-SQLAlchemy application's models.

Dev-only. tests/fixtures/flask/models.py is written as Flask tutorials
write models (no __tablename__, db.Column, db.relationship, db.backref,
db.Table, the followers pattern with expression joins). This script
executes it with Flask-SQLAlchemy 3.1 to build tests/fixtures/flask/app.sql,
then records what SQLAlchemy 2.1.9 sends for navigations over it into
tests/fixtures/sqlalchemy_flask/<scenario>.json (the format of the other
fixtures): every relationship under its mapping's `lazy=`, and the ones
that load objects under every loading strategy by loader options.

    scripts/.venv/bin/pip install 'sqlalchemy==2.1.9' 'flask-sqlalchemy==3.1.*'
    scripts/.venv/bin/python scripts/flask_oracle.py
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime
import warnings
from pathlib import Path

from flask import Flask
from sqlalchemy import event

ROOT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT_DIR / "tests" / "fixtures" / "flask"))
from app_oracle import LOADING, dump, record  # noqa: E402
from sqlalchemy_oracle import Recorder  # noqa: E402

import models  # noqa: E402

FLASK_DIR = ROOT_DIR / "tests" / "fixtures" / "flask"
OUT_DIR = ROOT_DIR / "tests" / "fixtures" / "sqlalchemy_flask"
LABELS = {"User": "username", "Post": "body", "OrderLine": None, "HTTPRequest": "path",
          "Notification": "message", "MentionNotification": "message"}

# (root, relationship, its mapping's lazy)
PATHS = [
    ("User", "posts", "dynamic"),
    ("User", "followed", "dynamic"),
    ("User", "followers", "dynamic"),
    ("User", "requests", "selectin"),
    ("Post", "order_lines", "select"),
    ("Post", "author", "select"),
    ("OrderLine", "post", "select"),
    ("HTTPRequest", "user", "select"),
    # (Not User.notifications under options: User.requests is a selectin
    # of the mapping, and SQLAlchemy orders two post-loads of one parent
    # by iterating the mapper's properties as a frozenset, in an order
    # loadscope cannot know.)
    ("Post", "mentions", "select"),
    ("Notification", "user", "select"),
    ("MentionNotification", "post", "select"),
    ("MentionNotification", "user", "select"),
]


def populate(db) -> None:
    users = [models.User(id=i, username=f"u{i}", email=f"u{i}@example.org") for i in (1, 2, 3, 4)]
    db.session.add_all(users)
    db.session.flush()
    # The link rows in a fixed order (the unit of work orders appended
    # ones by set): rows without an order_by come back in this order.
    db.session.execute(
        models.followers.insert(),
        [{"follower_id": a, "followed_id": b} for a, b in [(1, 2), (1, 3), (3, 1), (4, 1)]],
    )
    for pid, uid in [(1, 1), (2, 1), (3, 2), (4, 4)]:
        db.session.add(
            models.Post(id=pid, body=f"post {pid}", user_id=uid, timestamp=datetime(2026, 11, pid))
        )
    for lid, pid in [(1, 1), (2, 1), (3, 3)]:
        db.session.add(models.OrderLine(id=lid, quantity=lid, post_id=pid))
    for rid, uid in [(1, 1), (2, 1), (3, 3)]:
        db.session.add(models.HTTPRequest(id=rid, path=f"/page/{rid}", user_id=uid))
    for nid, uid, pid in [(1, 1, None), (2, 1, 3), (3, 2, 1), (4, 3, None), (5, 1, 4)]:
        if pid is None:
            db.session.add(models.Notification(id=nid, message=f"note {nid}", user_id=uid))
        else:
            db.session.add(models.MentionNotification(id=nid, message=f"mention {nid}",
                                                      user_id=uid, post_id=pid))
    db.session.commit()


def main() -> int:
    warnings.filterwarnings("ignore", message=".*noload.*")
    scenarios = []
    for root, rel, lazy in PATHS:
        scenarios.append((root, rel, lazy, "mapping"))
        # On a dynamic relationship lazy-style options leave the attribute
        # as it is; eager ones are refused, and noload() runs the query per
        # parent row, which loadscope refuses (see the CLI tests).
        options = LOADING if lazy != "dynamic" else ["select", "raise", "raise_on_sql"]
        scenarios += [(root, rel, s, "options") for s in options]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "app.db"
        app = Flask(__name__)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
        models.db.init_app(app)
        with app.app_context():
            db = models.db
            db.create_all()
            populate(db)
            dump(path, FLASK_DIR / "app.sql", "scripts/flask_oracle.py")
            recorder = Recorder()
            event.listen(db.engine, "before_cursor_execute", recorder)
            record(db.session, recorder, models, LABELS, scenarios, OUT_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
