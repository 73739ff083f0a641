"""The run store's schema, as Alembic revisions, applied from code (there is no alembic.ini).

``upgrade(connection)`` is what ``Store.create`` runs at first use and what
``flask runs migrate`` runs on purpose. It takes a lock first (PostgreSQL's advisory lock,
SQLite's write lock), so instances starting together migrate once. A database written before
Alembic (``schema_version`` 1, no ``alembic_version``) is stamped as ``runs_v1`` and then
upgraded in place. Revisions are named for what they do and live in ``versions/``; parallel
branches that each add one are joined by a merge revision (docs/storage.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

HERE = Path(__file__).resolve().parent
LEGACY = "runs_v1"  # the revision that is exactly the schema_version 1 database
LOCK_ID = 0x706C6179  # "play": the PostgreSQL advisory lock held while the schema changes


class MigrationError(sa.exc.SQLAlchemyError):
    """A database this code cannot bring up to date (say so; never guess).

    A database failure like any other to the views: the run goes on, unsaved, and says so.
    """


@dataclass(frozen=True)
class Step:
    """One thing a migration did: a revision applied, or the old schema stamped."""

    revision: str
    doc: str
    stamped: bool = False

    def __str__(self) -> str:
        verb = "Stamped (already in place)" if self.stamped else "Applied"
        return f"{verb} {self.revision}: {self.doc}"


def include_name(name: str | None, type_: str, _parents: dict) -> bool:
    """Whether Alembic's autogenerate compares an object: not the search index's.

    run_search_index makes them and its triggers keep them in step (the FTS5 table and its
    shadow tables on SQLite, runs.search and its GIN index on PostgreSQL); tables.py's tables
    do not declare them, and autogenerate must neither drop them nor write them again.
    """
    if type_ == "table":
        return not (name or "").startswith("runs_search")
    return not (type_ in ("column", "index") and name in ("search", "ix_runs_search"))


def config(connection: Connection | None = None, directory: Path = HERE) -> Config:
    """Alembic's configuration, built in code: where the revisions are, which connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(directory))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("file_template", "%%(rev)s")  # revision ids are already descriptive
    cfg.attributes["connection"] = connection
    cfg.attributes["steps"] = []
    return cfg


def _scripts(directory: Path = HERE) -> ScriptDirectory:
    return ScriptDirectory.from_config(config(directory=directory))


def heads(directory: Path = HERE) -> tuple[str, ...]:
    """The newest revision of each line of history (one, unless branches await a merge)."""
    return tuple(sorted(_scripts(directory).get_heads()))


def current(connection: Connection) -> tuple[str, ...]:
    """The revisions the database is at (empty for a new or a pre-Alembic database)."""
    return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def slug(message: str) -> str:
    """A revision id from its message: ``Add compare lanes`` -> ``add_compare_lanes``."""
    words = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")
    return words[:40].rstrip("_") or "revision"


def lock(connection: Connection) -> None:
    """Hold the schema lock until this transaction ends, so one process migrates at a time."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
    elif connection.dialect.name == "sqlite" and \
            not connection.connection.driver_connection.in_transaction:
        # The sqlite3 driver opens transactions lazily, and not for DDL: take the write lock
        # now, so the whole migration is one transaction that a second process waits for.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def legacy_version(connection: Connection) -> int | None:
    """The pre-Alembic schema_version of this database, or None when it is not one."""
    tables = set(sa.inspect(connection).get_table_names())
    if "alembic_version" in tables or "runs" not in tables:
        return None
    if "schema_version" not in tables:
        return 1  # the release created runs, then died before writing its version row
    version = connection.execute(sa.text("SELECT max(version) FROM schema_version")).scalar()
    return 1 if version is None else int(version)


def upgrade(connection: Connection, directory: Path = HERE,
            progress: Callable[[str], None] | None = None) -> list[Step]:
    """Bring the database to the newest revisions, under the lock; say what was done.

    Call it inside a transaction (``engine.begin()``): every step commits together or not
    at all where the database allows it (PostgreSQL and SQLite both do). A revision that
    works through existing rows reports how far it got to ``progress``, a line at a time.
    """
    lock(connection)
    cfg = config(connection, directory)
    cfg.attributes["progress"] = progress
    legacy = legacy_version(connection)
    if legacy is not None:
        if legacy != 1:
            raise MigrationError(f"schema_version {legacy} is not a version any release wrote; "
                                 "refusing to guess what this database holds")
        command.stamp(cfg, LEGACY)
    command.upgrade(cfg, "heads")  # "heads": unmerged parallel revisions still all apply
    return list(cfg.attributes["steps"])


def pending(connection: Connection, directory: Path = HERE) -> list[str]:
    """The revisions ``upgrade`` would apply, oldest first (read only; no lock)."""
    scripts = _scripts(directory)
    at = current(connection) or ((LEGACY,) if legacy_version(connection) == 1 else ())
    applied = {rev.revision for rev in scripts.iterate_revisions(at, "base")} if at else set()
    return [rev.revision for rev in reversed(list(scripts.walk_revisions()))
            if rev.revision not in applied]
