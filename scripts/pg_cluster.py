"""A throwaway PostgreSQL cluster for the dev-only oracles.

Dev-only. `throwaway_cluster()` is a context manager: it runs initdb in a
fresh temporary directory (trust authentication, superuser `postgres`),
starts the server listening only on a Unix socket in that directory (no
TCP port), yields the socket directory and port, and stops the server and
deletes the directory on the way out, also when the body raises.

The server binaries are found with `pg_config --bindir` or, failing that,
under /usr/lib/postgresql/<version>/bin (the newest version); set
PG_BINDIR to choose them. PostgreSQL refuses to run as root: when run as
root, the cluster's directory is given to the `postgres` user and every
server command runs through `runuser -u postgres --`.

    with throwaway_cluster() as (host, port):
        url = f"postgresql+psycopg2://postgres@/postgres?host={host}&port={port}"
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"
PORT = 5432  # only names the socket file (.s.PGSQL.5432); no TCP listener


def find_bindir() -> Path:
    """Where initdb, pg_ctl and postgres are."""
    env = os.environ.get("PG_BINDIR")
    if env:
        return Path(env)
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                 check=True).stdout.strip()
            candidates.append(Path(out))
        except (subprocess.CalledProcessError, OSError):
            pass

    def version(path: str) -> tuple:
        return tuple(int(n) for n in re.findall(r"\d+", path))

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                           key=version, reverse=True)]
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) found; set PG_BINDIR")


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *argv]
    return argv


@contextlib.contextmanager
def throwaway_cluster(bindir: Path | None = None):
    bindir = bindir or find_bindir()
    base = Path(tempfile.mkdtemp(prefix="loadscope-pg-"))
    data, sock, log = base / "data", base / "sock", base / "server.log"
    sock.mkdir()
    if os.geteuid() == 0:
        pw = pwd.getpwnam(SERVER_USER)
        for path in (base, sock):
            os.chown(path, pw.pw_uid, pw.pw_gid)
    started = False
    try:
        subprocess.run(
            _as_server_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust",
                             "-U", SERVER_USER, "-E", "UTF8", "--locale=C", "--no-sync"]),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        options = (f"-k {sock} -p {PORT} -c listen_addresses='' -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off "
                   "-c autovacuum=off")  # no statistics changing under a run
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log),
                             "-o", options, "-w", "start"]),
            check=True, stdout=subprocess.DEVNULL,
        )
        started = True
        yield str(sock), PORT
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace") if exc.stderr else ""
        if log.exists():
            detail += log.read_text(errors="replace")
        raise RuntimeError(f"PostgreSQL cluster failed: {exc}\n{detail}") from exc
    finally:
        if started:
            subprocess.run(
                _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast",
                                 "-w", "stop"]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(base, ignore_errors=True)
