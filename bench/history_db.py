"""The databases `make bench-history` measures: made once per size, kept, started when needed.

SQLite is one file, bench/results/history/sqlite-<runs>.db. PostgreSQL is a cluster of its own,
started like tests/pg.py starts one (initdb, pg_ctl on a free port, a unix socket beside it, as
the ``postgres`` user when run as root) but kept in bench/results/history/pg, with a database
per size. A database is used again while its ``.json`` description (written last, after the
runs) matches the generator's VERSION; otherwise it is made again.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from bench import history_bulk, history_data
from bench.procs import RESULTS
from playground.store import Store, engine_for

HERE = RESULTS / "history"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """bench/results/history/pg: initdb once, started for a bench and stopped after it."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        initdb = found[-1] if found else shutil.which("initdb")
        if not initdb:
            raise SystemExit("PostgreSQL is not installed: run `tests/provision.sh postgresql`")
        self.bindir = Path(initdb).parent
        self.root = HERE / "pg"
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.as_root = os.geteuid() == 0
        self.port = 0

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, cwd=self.root, capture_output=True, text=True,
                                timeout=600)
        if result.returncode:
            log = self.log.read_text()[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}{log}")

    def start(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E",
                      "UTF8", "--locale=C", "--no-sync")
        self.port = _free_port()
        # As tests/pg.py, plus memory for a 1,000,000-run database.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c shared_buffers=512MB -c maintenance_work_mem=512MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "120", "start")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "120", "stop")


@contextmanager
def postgresql():
    """The bench's PostgreSQL server, running until the block ends."""
    cluster = Cluster()
    admin = cluster.start()
    try:
        yield admin
    finally:
        cluster.stop()


def create_database(admin: str, name: str, template: str | None = None) -> str:
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        copy = f' TEMPLATE "{template}"' if template else ""
        conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
    engine.dispose()
    return sa.make_url(admin).set(database=name).render_as_string(hide_password=False)


def drop_database(admin: str, name: str) -> None:
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def schema() -> str:
    """A digest of the schema's revisions: a history made under other revisions is remade."""
    from playground import migrations

    digest = hashlib.sha256()
    for path in sorted((migrations.HERE / "versions").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _described(path: Path) -> dict | None:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if found.get("version") != history_data.VERSION or found.get("schema") != schema():
        return None
    return found


def histories(kinds: list[str], admin: str | None, size: int, say=print) -> dict:
    """kind -> (url, description) of the ``size``-run history of each kind of database.

    A history already made (its description matches) is used again; the missing ones are
    made together, by one bulk load that draws the runs once (bench/history_bulk.py).
    """
    HERE.mkdir(parents=True, exist_ok=True)
    found, missing = {}, {}
    for kind in kinds:
        if kind == "sqlite":
            path = HERE / f"sqlite-{size}.db"
            url, described = f"sqlite:///{path}", _described(HERE / f"sqlite-{size}.json")
        else:
            name = f"history_{size}"
            url = sa.make_url(admin).set(database=name).render_as_string(hide_password=False)
            described = _described(HERE / f"postgresql-{size}.json")
            if described is not None and not _exists(admin, name):
                described = None
        if described is not None:
            found[kind] = (url, described)
        else:
            missing[kind] = url
    if missing:
        for kind in missing:
            if kind == "sqlite":
                for old in HERE.glob(f"sqlite-{size}.db*"):
                    old.unlink()
            else:
                create_database(admin, f"history_{size}")
        say(f"  making the {' and '.join(missing)} histories of {size:,} runs "
            f"(once; kept in {HERE})")
        described = {**history_bulk.build(list(missing.values()), size, say), "schema": schema()}
        say(f"  made in {described['seconds']:,.0f} s "
            f"({size / described['seconds']:,.0f} runs/s into each)")
        for kind, url in missing.items():
            (HERE / f"{kind}-{size}.json").write_text(json.dumps(described))
            found[kind] = (url, described)
    return found


def _exists(admin: str, name: str) -> bool:
    engine = sa.create_engine(admin, poolclass=sa.NullPool)
    with engine.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": name}).first()
    engine.dispose()
    return exists is not None


def copy_sqlite(url: str, name: str) -> str:
    """A copy of a SQLite history (for a bench that deletes), checkpointed first."""
    source = Path(sa.make_url(url).database)
    engine = engine_for(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    target = HERE / name
    for old in HERE.glob(f"{name}*"):
        old.unlink()
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


def migration(kind: str, admin: str | None, size: int, say=print) -> dict:
    """Time `flask runs migrate` indexing ``size`` runs written before search existed.

    A database is brought to run_heartbeat (the revision before search), filled with runs as
    that release wrote them (no ``turns``, no index, none of the workbench's columns), then
    upgraded to every head: the time includes the sibling revision ``conversations``, which
    counts each old run's turns.
    """
    from alembic import command

    from playground import migrations

    if kind == "postgresql":
        url = create_database(admin, "migration_check")
    else:
        for old in HERE.glob("migration-check.db*"):
            old.unlink()
        url = f"sqlite:///{HERE / 'migration-check.db'}"
    engine = engine_for(url)
    with engine.begin() as conn:
        command.upgrade(migrations.config(conn), "run_heartbeat")
        # The columns run_heartbeat has: every later revision's (turns, parent_id, cost_source,
        # lane, …) left out, whichever revisions come after.
        columns = [c["name"] for c in sa.inspect(conn).get_columns("runs")]
    before = sa.table("runs", *(sa.column(name) for name in columns))
    writer = Store(engine)  # only its _values: the columns exactly as the store fills them
    say(f"  writing {size:,} runs as the release before search wrote them")
    for batch in history_data.History(size).batches():
        rows = [{"id": secrets.token_urlsafe(16), "owner": owner,
                 **{k: v for k, v in writer._values(run)[0].items() if k in columns}}
                for run, owner in batch]
        with engine.begin() as conn:
            conn.execute(before.insert(), rows)
    lines: list[str] = []
    started = time.monotonic()
    with engine.begin() as conn:
        steps = migrations.upgrade(conn, progress=lines.append)
    seconds = time.monotonic() - started
    engine.dispose()
    if kind == "postgresql":
        drop_database(admin, "migration_check")
    else:
        for old in HERE.glob("migration-check.db*"):
            old.unlink()
    return {"runs": size, "seconds": seconds, "per_100k_s": seconds * 100_000 / size,
            "progress": lines, "steps": [str(step) for step in steps]}
