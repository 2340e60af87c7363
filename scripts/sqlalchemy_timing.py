"""SQLAlchemy 2.1.9 on the navigation `loadscope trace` replays, timed.

Dev-only, so loadscope's cost can be put beside the ORM's (BENCHMARKS.md,
"Whole process against the floor"). For each strategy: fresh mapped classes
(scripts/sqlalchemy_oracle.py's `build_models`, mirroring
assets/models/blog.toml) with `lazy=STRATEGY` on User.posts, a fresh
Session on the database file opened read-only, every user ordered by id,
then each user's posts (a refused access, under raise and raise_on_sql, is
caught per user, as loadscope records one refusal per user). It prints the
user CPU seconds of that navigation (mapper configuration left out; the
first statement compilation of the fresh classes is in), the median of
--runs runs, and with --loadscope BIN the user CPU of the whole process

    BIN trace DB --model assets/models/blog.toml --expand posts --strategy S

to /dev/null, timed with `/usr/bin/time -f %U`, median of as many runs.

Run from the repository root, on a database from `loadscope sample`:

    target/release/loadscope sample --users 10000 --out /tmp/bench10k.db
    scripts/.venv/bin/python scripts/sqlalchemy_timing.py /tmp/bench10k.db \
        --loadscope target/release/loadscope
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import subprocess
import sys
from pathlib import Path

import sqlalchemy
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sqlalchemy_oracle import STRATEGIES, access, build_models  # noqa: E402


def user_cpu() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


def navigate(db: str, strategy: str) -> tuple[float, int, int]:
    """One navigation; returns (user CPU seconds, users, posts)."""
    classes = build_models({"User.posts": strategy})
    User = classes["User"]
    engine = create_engine(f"sqlite:///file:{db}?mode=ro&uri=true")
    gc.collect()
    start = user_cpu()
    users = posts = 0
    with Session(engine) as session:
        result = session.scalars(select(User).order_by(User.id))
        if strategy.startswith("joined"):
            result = result.unique()  # SQLAlchemy requires it for a joined collection
        for user in result.all():
            users += 1
            try:
                posts += len(list(access(session, user, "posts", strategy)))
            except sqlalchemy.exc.InvalidRequestError:
                pass
    elapsed = user_cpu() - start
    engine.dispose()
    return elapsed, users, posts


def loadscope_cpu(binary: str, db: str, strategy: str) -> float:
    command = ["/usr/bin/time", "-f", "%U", binary, "trace", db,
               "--model", "assets/models/blog.toml", "--expand", "posts",
               "--strategy", strategy]
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, check=True)
    return float(done.stderr.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", help="a database made by `loadscope sample`")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--loadscope", metavar="BIN", help="also time BIN trace")
    args = parser.parse_args()

    print(f"SQLAlchemy {sqlalchemy.__version__}, {args.db}, median of {args.runs}")
    header = "| strategy | users | posts | SQLAlchemy |"
    rule = "|---|---:|---:|---:|"
    if args.loadscope:
        header += " loadscope trace | SQLAlchemy / loadscope |"
        rule += "---:|---:|"
    print(header)
    print(rule)
    for strategy in args.strategies.split(","):
        runs = [navigate(args.db, strategy) for _ in range(args.runs)]
        cpu = statistics.median(r[0] for r in runs)
        _, users, posts = runs[0]
        line = f"| `{strategy}` | {users:,} | {posts:,} | {cpu:.2f} s |"
        if args.loadscope:
            ours = statistics.median(
                loadscope_cpu(args.loadscope, args.db, strategy) for _ in range(args.runs))
            # /usr/bin/time counts in hundredths: 0.00 is under 0.01 s
            shown, ratio = (f"{ours:.2f} s", f"{cpu / ours:.0f}×") if ours > 0 else ("< 0.01 s", "-")
            line += f" {shown} | {ratio} |"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
