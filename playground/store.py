"""The run history: every run kept, on SQLite by default and PostgreSQL for several instances.

SQLAlchemy Core, not the ORM: there is one table and a handful of explicit queries, and a run
already has its own value object (``run.Run`` with ``to_dict``/``from_dict``), so a mapped
class would only duplicate it. The whole run is kept as JSON in ``data``; the other columns are
copies of what the history list shows, filters and searches, so those queries never parse JSON.

A run is written when it starts (``start``: state "running", with a heartbeat), its partial
text is saved while it streams (``progress``: the ``reply`` and ``heartbeat_at`` columns only),
and it is written whole when it ends (``finish``). "Interrupted" is never stored: it is how a
"running" row whose heartbeat is older than ``interrupted_after`` seconds reads back, so no
start-up sweep can mistake another worker's live run for a dead one.

Schema changes are Alembic revisions in ``migrations/`` (see docs/storage.md); ``Store.create``
applies the missing ones once per process, under a lock, at first use.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Engine

from playground import migrations
from playground.errors import scrub
from playground.run import FINISHED, Run

PAGE_SIZE = 25
STATES = ("running", *FINISHED, "interrupted")  # the states the history can filter by

metadata = sa.MetaData()
runs = sa.Table(
    "runs", metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    # Public ids are random, so guessing or counting reveals nothing; pk only orders rows.
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),  # unix seconds, when the run started
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("reply", sa.Text, nullable=False),  # while running: the text received so far
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("error_kind", sa.String(32)),
    sa.Column("stream", sa.Boolean, nullable=False),
    sa.Column("prompt_tokens", sa.Integer),
    sa.Column("completion_tokens", sa.Integer),
    sa.Column("total_tokens", sa.Integer),
    sa.Column("latency_ms", sa.Float),
    sa.Column("cost_usd", sa.Float),
    sa.Column("share_token", sa.String(64), unique=True),
    sa.Column("data", sa.Text, nullable=False),  # Run.to_dict() as JSON
    sa.Column("heartbeat_at", sa.Float),  # unix seconds; refreshed while the run is in flight
    sa.Column("comparison_id", sa.String(32)),  # the comparison this run is a lane of
    sa.Column("lane", sa.Integer),  # its lane there (0 stands for the comparison in lists)
    sa.Index("ix_runs_owner_created", "owner", "created_at"),
    sa.Index("ix_runs_owner_model", "owner", "model"),
    sa.Index("ix_runs_owner_state", "owner", "state"),
    sa.Index("ix_runs_created", "created_at"),
    sa.Index("ix_runs_comparison", "comparison_id"),
)
# A comparison groups 2 to 4 lane runs (runs.comparison_id); its own row keeps what its page
# and the history list show, and the form it was sent with (data), for Re-run.
comparisons = sa.Table(
    "comparisons", metadata,
    sa.Column("pk", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("models", sa.Text, nullable=False),  # the lanes' models, in lane order, JSON
    sa.Column("share_token", sa.String(64), unique=True),
    sa.Column("data", sa.Text, nullable=False),
    sa.Index("ix_comparisons_owner_created", "owner", "created_at"),
)
# A lane token lets one /stream request send one lane whose budget place and in-flight slot
# were taken when its comparison was created. ``token`` is the SHA-256 of the secret the
# page holds; ``held`` says the slot is still taken, and flips once, whoever frees it.
lane_tokens = sa.Table(
    "lane_tokens", metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("comparison_id", sa.String(32), nullable=False),
    sa.Column("lane", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("client", sa.String(100)),  # whose slot: cleared when it is freed
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("claimed_at", sa.Float),
    sa.Column("held", sa.Boolean, nullable=False),
    sa.Index("ix_lane_tokens_comparison", "comparison_id"),
)
# The release before Alembic kept its schema version here; Alembic's alembic_version is read.
schema = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, nullable=False),
)


# The history lists a comparison once, as its first lane's row (compare.py draws it whole).
LISTED = sa.or_(runs.c.comparison_id.is_(None), runs.c.lane == 0)


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


def _text(value) -> str:
    """Text a database column accepts: no NUL (PostgreSQL refuses it), no lone surrogates."""
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _findable(key) -> bool:
    """Whether a run id or share token from a URL could be stored: PostgreSQL refuses NUL."""
    return isinstance(key, str) and "\x00" not in key


def prompt_of(request: dict) -> str:
    messages = request.get("messages") if isinstance(request, dict) else None
    users = [m.get("content") for m in messages or [] if isinstance(m, dict)
             and m.get("role") == "user" and isinstance(m.get("content"), str)]
    return users[-1] if users else ""


def reply_of(response) -> str:
    """The text of every choice (or its refusal), for the list and for search."""
    choices = response.get("choices") if isinstance(response, dict) else None
    parts = []
    for choice in choices if isinstance(choices, list) else []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict):
            text = message.get("content") or message.get("refusal")
            if isinstance(text, str):
                parts.append(text)
    return "\n\n".join(parts)


def export_record(row) -> dict:
    """One run as an evaluation test case: request, response, usage, metrics."""
    run = Run.from_dict(json.loads(row.data))
    usage = run.usage
    return {
        "id": row.id,
        "created_at": datetime.fromtimestamp(row.created_at, UTC).isoformat(),
        "model": row.model,
        "state": row.state,
        "request": run.request,
        "response": run.response,
        "output": row.reply,
        "error": run.error.to_dict() if run.error else None,
        "usage": usage.to_dict(),
        "metrics": {"latency_ms": run.total_ms, "ttft_ms": run.ttft_ms,
                    "tokens_per_s": run.tokens_per_s, "cost_usd": usage.cost_usd,
                    "status": run.status, "attempts": run.attempts, "stream": run.stream},
        "headers": run.headers,
        "events": run.events or None,
    }


class Saved(NamedTuple):
    """What a saved run's page needs of its row, known without reading it back."""

    id: str
    created_at: float
    share_token: str | None = None  # a run just saved has never been shared


def partial_response(text: str) -> dict:
    """The reply so far in the shape of a response, as the stream assembler would build it."""
    return {"id": None, "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": None}],
        "usage": None}


class Store:
    """Runs saved and read per owner; every query is parameterised and scoped to its owner."""

    def __init__(self, engine: Engine, *, secrets_to_scrub: tuple[str, ...] = (),
                 interrupted_after: float = 90.0) -> None:
        self.engine = engine
        self.secrets = tuple(s for s in secrets_to_scrub if s and len(s) >= 4)
        self.interrupted_after = interrupted_after
        self._ready = False
        self._lock = threading.Lock()

    # -- schema --------------------------------------------------------------------------
    def create(self) -> None:
        """Bring the schema up to date on first use; after a failure, try again next time."""
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                self.migrate()
                self._ready = True

    def migrate(self) -> list[migrations.Step]:
        """Apply the missing Alembic revisions under the schema lock; say what was done."""
        with self.engine.begin() as conn:
            return migrations.upgrade(conn)

    def _begin(self):
        self.create()
        return self.engine.begin()

    # -- writing -------------------------------------------------------------------------
    def _values(self, run: Run, state: str | None = None) -> dict:
        """The columns of a run (in ``state``, if given), key scrubbed; text any DB accepts."""
        fields = run.to_dict()
        fields["state"] = state = state or run.state
        data = json.dumps(fields, default=str)  # ASCII: any text survives any DB
        for secret in self.secrets:
            data = data.replace(secret, "[redacted]")
        usage = run.usage
        return {
            "created_at": run.started_at,
            "model": _text(str(run.request.get("model", "")))[:200],
            "prompt": _text(prompt_of(run.request)),
            "reply": _text(scrub(reply_of(run.response), self.secrets)),
            "state": state, "status": run.status,
            "error_kind": run.error.kind if run.error else None, "stream": run.stream,
            "prompt_tokens": usage.prompt, "completion_tokens": usage.completion,
            "total_tokens": usage.total, "latency_ms": run.total_ms,
            "cost_usd": usage.cost_usd, "data": data,
            "comparison_id": run.comparison_id if _findable(run.comparison_id) else None,
            "lane": run.lane if isinstance(run.lane, int) else None,
        }

    def save(self, run: Run, owner: str) -> str:
        """Keep a finished run in one write (key scrubbed) and return its public id."""
        run_id = secrets.token_urlsafe(16)
        with self._begin() as conn:
            # Parameters apart: the SQL is compiled once.
            conn.execute(runs.insert(), {"id": run_id, "owner": owner, **self._values(run)})
        return run_id

    def start(self, run: Run, owner: str, *, now: float | None = None) -> str:
        """Write a run that has just begun, as "running" with a heartbeat; return its id."""
        run_id = secrets.token_urlsafe(16)
        values = {**self._values(run, "running"), "reply": "", "heartbeat_at": now or time.time()}
        with self._begin() as conn:
            conn.execute(runs.insert(), {"id": run_id, "owner": owner, **values})
        return run_id

    def progress(self, run_id: str, text: str, *, secrets: tuple[str, ...] = (),
                 now: float | None = None) -> bool:
        """Save a running run's text so far and refresh its heartbeat (two columns only)."""
        return self.progress_many([(run_id, scrub(text, secrets))], now=now) > 0

    def progress_many(self, texts: list[tuple[str, str]], *, now: float | None = None) -> int:
        """``progress`` for several runs in one transaction: (id, text so far) pairs."""
        if not texts:
            return 0
        statement = (runs.update()
                     .where(runs.c.id == sa.bindparam("run_id"), runs.c.state == "running")
                     .values(reply=sa.bindparam("text"), heartbeat_at=now or time.time()))
        rows = [{"run_id": run_id, "text": _text(scrub(text, self.secrets))}
                for run_id, text in texts]
        with self._begin() as conn:
            return conn.execute(statement, rows).rowcount

    def beat(self, run_ids: list[str], *, now: float | None = None) -> int:
        """Refresh the heartbeat of runs still in flight, in one statement."""
        if not run_ids:
            return 0
        with self._begin() as conn:
            return conn.execute(runs.update().where(runs.c.id.in_(run_ids),
                                                    runs.c.state == "running")
                                .values(heartbeat_at=now or time.time())).rowcount

    def halt(self, run_id: str, text: str, state: str = "shutdown") -> bool:
        """End a run that is still running with its text so far (the server is stopping)."""
        text = _text(scrub(text, self.secrets))
        with self._begin() as conn:
            result = conn.execute(runs.update().where(runs.c.id == run_id,
                                                      runs.c.state == "running")
                                  .values(state=state, reply=text, heartbeat_at=time.time()))
        return result.rowcount > 0

    def finish(self, run_id: str, run: Run) -> bool:
        """Write a started run whole, in its final state; False if its row is gone."""
        values = {**self._values(run), "heartbeat_at": time.time()}
        values.pop("created_at")  # when it started stays what start() wrote
        with self._begin() as conn:
            result = conn.execute(runs.update().where(runs.c.id == run_id).values(**values))
        return result.rowcount > 0

    def delete(self, run_id: str, owner: str) -> bool:
        if not _findable(run_id):
            return False
        with self._begin() as conn:
            result = conn.execute(runs.delete().where(runs.c.id == run_id,
                                                      runs.c.owner == owner))
        return result.rowcount > 0

    def delete_all(self, owner: str) -> int:
        with self._begin() as conn:
            return conn.execute(runs.delete().where(runs.c.owner == owner)).rowcount

    def share(self, run_id: str, owner: str) -> str | None:
        """A new read-only link token (192 bits); an earlier link of this run stops working."""
        token = secrets.token_urlsafe(24)
        if not _findable(run_id):
            return None
        with self._begin() as conn:
            result = conn.execute(runs.update().where(runs.c.id == run_id, runs.c.owner == owner)
                                  .values(share_token=token))
        return token if result.rowcount else None

    def revoke(self, run_id: str, owner: str) -> bool:
        if not _findable(run_id):
            return False
        with self._begin() as conn:
            result = conn.execute(runs.update().where(runs.c.id == run_id, runs.c.owner == owner)
                                  .values(share_token=None))
        return result.rowcount > 0

    def prune(self, *, days: float | None = None, keep: int | None = None,
              now: float | None = None) -> int:
        """Delete runs older than ``days`` and, per owner, all but the newest ``keep``."""
        deleted = 0
        with self._begin() as conn:
            if days is not None:
                cutoff = (now or time.time()) - days * 86400
                deleted += conn.execute(runs.delete().where(runs.c.created_at < cutoff)).rowcount
            if keep is not None:
                rank = sa.func.row_number().over(
                    partition_by=runs.c.owner,
                    order_by=(runs.c.created_at.desc(), runs.c.pk.desc())).label("rank")
                ranked = sa.select(runs.c.pk, rank).subquery()
                old = sa.select(ranked.c.pk).where(ranked.c.rank > keep)
                deleted += conn.execute(runs.delete().where(runs.c.pk.in_(old))).rowcount
        return deleted

    # -- reading -------------------------------------------------------------------------
    def _quiet(self, now: float | None = None):
        """True for a "running" row whose heartbeat is older than the threshold."""
        cutoff = (now or time.time()) - self.interrupted_after
        beat = sa.func.coalesce(runs.c.heartbeat_at, runs.c.created_at)
        return sa.and_(runs.c.state == "running", beat < cutoff)

    def _columns(self, *, data: bool = True) -> list:
        """The row as read: ``state`` says "interrupted" for a run that stopped beating."""
        state = sa.case((self._quiet(), "interrupted"), else_=runs.c.state).label("state")
        return [*(c for c in runs.c if c.name != "state" and (data or c.name != "data")), state]

    def _one(self, condition) -> tuple[sa.Row, Run] | None:
        with self._begin() as conn:
            row = conn.execute(sa.select(*self._columns()).where(condition)).first()
        if row is None:
            return None
        run = Run.from_dict(json.loads(row.data))
        run.state = row.state  # the row knows how the run ended (or that it never did)
        if run.response is None and row.reply and row.state in ("running", "interrupted",
                                                                "shutdown"):
            run.response = partial_response(row.reply)
            run.notes.append("The reply so far: the run is still going." if row.state ==
                             "running" else "The reply as far as it got: the provider's full "
                             "response never arrived.")
        return row, run

    def get(self, run_id: str, owner: str) -> tuple[sa.Row, Run] | None:
        """A run of this owner (its row and its Run), or None: others' runs do not exist."""
        if not _findable(run_id):
            return None
        return self._one(sa.and_(runs.c.id == run_id, runs.c.owner == owner))

    def get_shared(self, token: str) -> tuple[sa.Row, Run] | None:
        if not token or not _findable(token):
            return None
        return self._one(runs.c.share_token == token)

    def _filters(self, owner: str, query: str = "", model: str = "", state: str = "") -> list:
        conditions = [runs.c.owner == owner, LISTED]
        query, model = _text(query), _text(model)  # as the columns were written
        if query:
            conditions.append(sa.or_(runs.c.prompt.icontains(query, autoescape=True),
                                     runs.c.reply.icontains(query, autoescape=True)))
        if model:
            conditions.append(runs.c.model == model)
        if state == "interrupted":
            conditions.append(self._quiet())
        elif state == "running":
            conditions.extend([runs.c.state == "running", sa.not_(self._quiet())])
        elif state:
            conditions.append(runs.c.state == state)
        return conditions

    def history(self, owner: str, *, query: str = "", model: str = "", state: str = "",
                page: int = 1, per_page: int = PAGE_SIZE) -> tuple[list[sa.Row], int]:
        """One page of matching runs, newest first, and how many match in all."""
        conditions = self._filters(owner, query, model, state)
        with self._begin() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(runs)
                                 .where(*conditions)).scalar_one()
            rows = conn.execute(sa.select(*self._columns(data=False)).where(*conditions)
                                .order_by(runs.c.created_at.desc(), runs.c.pk.desc())
                                .limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
        return rows, total

    def models(self, owner: str) -> list[str]:
        with self._begin() as conn:
            return list(conn.execute(sa.select(runs.c.model).where(runs.c.owner == owner)
                                     .distinct().order_by(runs.c.model)).scalars())

    def count(self, owner: str | None = None) -> int:
        """How many runs the history lists (a comparison's lanes count once)."""
        statement = sa.select(sa.func.count()).select_from(runs).where(LISTED)
        if owner is not None:
            statement = statement.where(runs.c.owner == owner)
        with self._begin() as conn:
            return conn.execute(statement).scalar_one()

    def export(self, owner: str, batch: int = 200) -> Iterator[dict]:
        """Every run of an owner, oldest first, read in batches (no connection held between)."""
        after = 0
        while True:
            with self._begin() as conn:
                rows = conn.execute(sa.select(*self._columns()).where(runs.c.owner == owner,
                                                                      runs.c.pk > after)
                                    .order_by(runs.c.pk).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield export_record(row)
            after = rows[-1].pk


# -- the application's store ---------------------------------------------------------------
def init_app(app) -> None:
    """Bind a store to the app: DATABASE_URL, or a SQLite file in instance/ by default."""
    url = app.config.get("DATABASE_URL")
    if not url:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(app.instance_path) / 'playground.db'}"
    quiet = app.config.get("PLAYGROUND_INTERRUPTED_AFTER")
    if quiet is None:  # a live stream is never silent longer than the read timeout allows
        quiet = float(app.config.get("UPSTREAM_READ_TIMEOUT") or 60.0) + 30.0
    app.extensions["runs"] = Store(engine_for(url), interrupted_after=float(quiet),
                                   secrets_to_scrub=(app.config.get("AIMLAPI_API_KEY") or "",))
    from playground.maintenance import cli  # the commands use the store: imported last

    app.cli.add_command(cli)


def current_store() -> Store:
    return current_app.extensions["runs"]
