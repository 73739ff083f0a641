"""The database engine for DATABASE_URL, and what a column of it accepts.

SQLite (the default: one file, WAL mode, a busy timeout so a writer waits for the lock) or
PostgreSQL through psycopg 3 (several instances, one pool each). The store, the comparisons and
the benches all open their databases here.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def engine_for(url: str) -> Engine:
    """An engine for DATABASE_URL: SQLite in WAL mode, or PostgreSQL through psycopg 3."""
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith("sqlite"):
        # A database host that does not answer costs a run 5 s, not the TCP timeout.
        connect = {"connect_timeout": 5} if url.startswith("postgresql") else {}
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                                connect_args=connect)
    if sa.engine.make_url(url).database in (None, "", ":memory:"):
        # One in-memory database shared by every thread (a throwaway run: nothing is kept).
        return sa.create_engine(url, connect_args={"check_same_thread": False},
                                poolclass=sa.pool.StaticPool)
    # timeout is SQLite's busy timeout: a writer waits for the lock instead of failing.
    engine = sa.create_engine(url, connect_args={"timeout": 30}, pool_size=10, max_overflow=20)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def column_text(value) -> str:
    """Text a database column accepts: no NUL (PostgreSQL refuses it), no lone surrogates."""
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def findable(key) -> bool:
    """Whether a run id or share token from a URL could be stored: PostgreSQL refuses NUL."""
    return isinstance(key, str) and "\x00" not in key
