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

import functools
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Engine

from playground import exports, images, listing, migrations, search, spend, uploads
from playground.database import column_text, engine_for, findable
from playground.errors import scrub
from playground.listing import COUNT_LIMIT, Cursor, Listing
from playground.records import (
    partial_response,
    prompt_of,
    reply_of,
    turns_of,
)
from playground.run import FINISHED, Run
from playground.tables import metadata, runs  # noqa: F401 - metadata: migrations/env.py

log = logging.getLogger(__name__)
PAGE_SIZE = 25
# An export reads rows in batches of at most this many, and about this much stored text.
EXPORT_ROWS, EXPORT_BYTES, EXPORT_FIRST = 2_000, 8 << 20, 100
STATES = ("running", *FINISHED, "interrupted")  # the states the history can filter by

# The history lists a comparison once, as its first lane's row (compare.py draws it whole).
LISTED = sa.or_(runs.c.comparison_id.is_(None), runs.c.lane == 0)


class Saved(NamedTuple):
    """What a saved run's page needs of its row, known without reading it back."""

    id: str
    created_at: float
    share_token: str | None = None  # a run just saved has never been shared


# The statements every stream runs, built once with their parameters apart: building one per
# call (with its values inline) cost more than executing it (bench/README.md, CPU per stream).
_RUN_ID = sa.bindparam("run_id")
_PROGRESS = runs.update().where(runs.c.id == _RUN_ID, runs.c.state == "running")
_FINISH = runs.update().where(runs.c.id == _RUN_ID)
_OWNER = sa.select(runs.c.owner).where(runs.c.id == _RUN_ID)


def insert_runs(conn, rows: list[dict]) -> None:
    """Rows of ``runs``, as ``Store.write_many`` writes them unless told otherwise."""
    conn.execute(runs.insert(), rows)


class Store:
    """Runs saved and read per owner; every query is parameterised and scoped to its owner."""

    def __init__(self, engine: Engine, *, secrets_to_scrub: tuple[str, ...] = (),
                 interrupted_after: float = 90.0) -> None:
        self.engine = engine
        self.secrets = tuple(s for s in secrets_to_scrub if s and len(s) >= 4)
        self.interrupted_after = interrupted_after
        self._ready = False
        self._lock = threading.Lock()
        self.images = uploads.Uploads(self)

    # -- schema --------------------------------------------------------------------------
    def create(self) -> None:
        """Bring the schema up to date on first use; after a failure, try again next time."""
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                self.migrate()
                self._ready = True

    def migrate(self, progress=None) -> list[migrations.Step]:
        """Apply the missing Alembic revisions under the schema lock; say what was done.

        ``progress`` hears how far a revision that works through existing runs got (the
        log, unless given: a first use that indexes a large history is not silent).
        """
        with self.engine.begin() as conn:
            return migrations.upgrade(conn, progress=progress or log.info)

    def _begin(self):
        self.create()
        return self.engine.begin()

    @contextmanager
    def _reading(self):
        """A transaction for a history query: on PostgreSQL, planned for its own values.

        psycopg prepares a statement run five times, and PostgreSQL may then keep a generic
        plan made without the values: for a full-text search that can be a walk through every
        run of the owner (100 ms instead of 3) whatever the words are.
        """
        with self._begin() as conn:
            if conn.dialect.name == "postgresql":
                # And a page of the history is read from memory, not from a spinning disk:
                # at the default cost (4) PostgreSQL reads every owner's runs by time and
                # skips those of others, rather than one owner's by its index.
                conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan; "
                                     "SET LOCAL random_page_cost = 1.1")
            yield conn

    # -- writing -------------------------------------------------------------------------
    def _values(self, run: Run, state: str | None = None) -> tuple[dict, list]:
        """The columns of a run (in ``state``, if given), key scrubbed; text any DB accepts;
        and the images its messages carried, which the row refers to instead of holding."""
        fields = run.to_dict()
        fields["state"] = state = state or run.state
        request, found = fields["request"], []
        messages = request.get("messages") if isinstance(request, dict) else None
        if isinstance(messages, list):
            kept, found = images.compact(messages)
            fields["request"] = {**request, "messages": kept}
        if isinstance(run.template, list):
            fields["template"], more = images.compact(run.template)
            found += [image for image in more if image.ref not in {i.ref for i in found}]
        data = json.dumps(fields, default=str)  # ASCII: any text survives any DB
        for secret in self.secrets:
            data = data.replace(secret, "[redacted]")
        usage = run.usage
        return {
            "created_at": run.started_at,
            "model": column_text(str(run.request.get("model", "")))[:200],
            "prompt": column_text(prompt_of(run.request)),
            "turns": column_text(turns_of(run.request)),
            "reply": column_text(scrub(reply_of(run.response), self.secrets)),
            "state": state, "status": run.status,
            "error_kind": run.error.kind if run.error else None, "stream": run.stream,
            "prompt_tokens": usage.prompt, "completion_tokens": usage.completion,
            "total_tokens": usage.total, "latency_ms": run.total_ms,
            "cost_usd": usage.cost_usd, "cost_source": usage.cost_source, "data": data,
            "parent_id": run.parent_id if findable(run.parent_id) else None,
            "turn_count": len(messages) if isinstance(messages, list) else None,
            "comparison_id": run.comparison_id if findable(run.comparison_id) else None,
            "lane": run.lane if isinstance(run.lane, int) else None,
        }, found

    def save(self, run: Run, owner: str) -> str:
        """Keep a finished run in one write (key scrubbed) and return its public id."""
        run_id = secrets.token_urlsafe(16)
        values, found = self._values(run)
        with self._begin() as conn:
            # Parameters apart: the SQL is compiled once.
            conn.execute(runs.insert(), {"id": run_id, "owner": owner, **values})
            uploads.keep(conn, run_id, owner, found)
            spend.add(conn, spend.row_of(owner, run))
        return run_id

    def save_many(self, owned: list[tuple[Run, str]]) -> list[str]:
        """``save`` for many finished runs, (run, owner) pairs, in one transaction."""
        rows, kept, amounts = self.rows_for(owned)
        if rows:
            with self._begin() as conn:
                self.write_many(conn, rows, kept, amounts)
        return [row["id"] for row in rows]

    def rows_for(self, owned: list[tuple[Run, str]]) -> tuple[list, list, list]:
        """What ``save_many`` writes for (run, owner) pairs: the rows, each row's images,
        and the amounts the runs add to the spending rollup (a bulk load writes these)."""
        rows, kept = [], []
        for run, owner in owned:
            values, found = self._values(run)
            rows.append({"id": secrets.token_urlsafe(16), "owner": owner, **values})
            kept.append((rows[-1]["id"], owner, found))
        return rows, kept, [spend.row_of(owner, run) for run, owner in owned]

    @staticmethod
    def write_many(conn, rows: list[dict], kept: list, amounts: list[dict],
                   insert: Callable = insert_runs) -> None:
        """Write what ``rows_for`` made, in the caller's transaction; ``insert(conn, rows)``
        writes the rows of ``runs`` (a bulk load passes its COPY)."""
        if rows:
            insert(conn, rows)
            for run_id, owner, found in kept:
                uploads.keep(conn, run_id, owner, found)
            spend.add_many(conn, amounts)

    def start(self, run: Run, owner: str, *, now: float | None = None) -> str:
        """Write a run that has just begun, as "running" with a heartbeat; return its id."""
        run_id = secrets.token_urlsafe(16)
        values, found = self._values(run, "running")
        values.update(reply="", heartbeat_at=now or time.time())
        with self._begin() as conn:
            conn.execute(runs.insert(), {"id": run_id, "owner": owner, **values})
            uploads.keep(conn, run_id, owner, found)
        return run_id

    def progress(self, run_id: str, text: str, *, secrets: tuple[str, ...] = (),
                 now: float | None = None) -> bool:
        """Save a running run's text so far and refresh its heartbeat (two columns only)."""
        return self.progress_many([(run_id, scrub(text, secrets))], now=now) > 0

    def progress_many(self, texts: list[tuple[str, str]], *, now: float | None = None) -> int:
        """``progress`` for several runs in one transaction: (id, text so far) pairs."""
        if not texts:
            return 0
        beat = now or time.time()
        rows = [{"run_id": run_id, "reply": column_text(scrub(text, self.secrets)),
                 "heartbeat_at": beat} for run_id, text in texts]
        with self._begin() as conn:
            return conn.execute(_PROGRESS, rows).rowcount

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
        text = column_text(scrub(text, self.secrets))
        with self._begin() as conn:
            result = conn.execute(runs.update().where(runs.c.id == run_id,
                                                      runs.c.state == "running")
                                  .values(state=state, reply=text, heartbeat_at=time.time()))
        return result.rowcount > 0

    def finish(self, run_id: str, run: Run) -> bool:
        """Write a started run whole, in its final state; False if its row is gone."""
        values = {**self._values(run)[0], "heartbeat_at": time.time()}
        values.pop("created_at")  # when it started stays what start() wrote; its images too
        with self._begin() as conn:
            result = conn.execute(_FINISH, {"run_id": run_id, **values})
            owner = conn.execute(_OWNER, {"run_id": run_id}).scalar()
            if result.rowcount and owner is not None:  # its cost joins the rollup, once
                spend.add(conn, spend.row_of(owner, run))
        return result.rowcount > 0

    def delete(self, run_id: str, owner: str) -> bool:
        if not findable(run_id):
            return False
        with self._begin() as conn:
            result = conn.execute(runs.delete().where(runs.c.id == run_id,
                                                      runs.c.owner == owner))
        return result.rowcount > 0

    def delete_all(self, owner: str) -> int:
        with self._begin() as conn:
            spend.clear(conn, owner)  # every trace of this owner's runs goes, totals too
            return conn.execute(runs.delete().where(runs.c.owner == owner)).rowcount

    def share(self, run_id: str, owner: str) -> str | None:
        """A new read-only link token (192 bits); an earlier link of this run stops working."""
        token = secrets.token_urlsafe(24)
        if not findable(run_id):
            return None
        with self._begin() as conn:
            result = conn.execute(runs.update().where(runs.c.id == run_id, runs.c.owner == owner)
                                  .values(share_token=token))
        return token if result.rowcount else None

    def revoke(self, run_id: str, owner: str) -> bool:
        if not findable(run_id):
            return False
        with self._begin() as conn:
            result = conn.execute(runs.update().where(runs.c.id == run_id, runs.c.owner == owner)
                                  .values(share_token=None))
        return result.rowcount > 0

    def prune(self, *, days: float | None = None, keep: int | None = None,
              now: float | None = None, batch: int = 5_000) -> int:
        """Delete runs older than ``days`` and, per owner, all but the newest ``keep``.

        ``batch`` runs per transaction: other writers wait for one batch at most, and a
        history of millions is pruned in flat memory.
        """
        deleted = 0
        if days is not None:
            cutoff = (now or time.time()) - days * 86400
            deleted += self._delete_older(runs.c.created_at < cutoff, batch)
        if keep is not None:
            with self._begin() as conn:
                owners = listing.owners(conn)
            for owner in owners:
                with self._begin() as conn:  # the owner's keep-th newest run: older ones go
                    edge = conn.execute(sa.select(runs.c.created_at, runs.c.pk)
                                        .where(runs.c.owner == owner)
                                        .order_by(runs.c.created_at.desc(), runs.c.pk.desc())
                                        .offset(max(keep, 0)).limit(1)).first()
                if edge is not None:
                    older = listing.older_than(runs.c.created_at, runs.c.pk,
                                               Cursor("t", edge.created_at, edge.pk + 1))
                    deleted += self._delete_older(sa.and_(runs.c.owner == owner, older), batch)
        return deleted

    def _delete_older(self, condition, batch: int) -> int:
        """Delete the rows meeting ``condition``, oldest first, ``batch`` per transaction."""
        deleted = 0
        while True:
            with self._begin() as conn:
                pks = list(conn.execute(sa.select(runs.c.pk).where(condition)
                                        .order_by(runs.c.created_at, runs.c.pk)
                                        .limit(batch)).scalars())
                if pks:
                    conn.execute(runs.delete().where(runs.c.pk.in_(pks)))
            deleted += len(pks)
            if len(pks) < batch:
                return deleted

    # -- reading -------------------------------------------------------------------------
    def _quiet(self, now: float | None = None):
        """True for a "running" row whose heartbeat is older than the threshold."""
        cutoff = (now or time.time()) - self.interrupted_after
        beat = sa.func.coalesce(runs.c.heartbeat_at, runs.c.created_at)
        return sa.and_(runs.c.state == "running", beat < cutoff)

    def _columns(self, *, data: bool = True, text: bool = True) -> list:
        """The row as read: ``state`` says "interrupted" for a run that stopped beating.

        Without ``data``: not the run's JSON; without ``text``: not the reply and turns.
        """
        state = sa.case((self._quiet(), "interrupted"), else_=runs.c.state).label("state")
        left_out = {"state"} | (set() if data else {"data"}) | \
            (set() if text else {"reply", "turns"})
        return [*(c for c in runs.c if c.name not in left_out), state]

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
        if not findable(run_id):
            return None
        return self._one(sa.and_(runs.c.id == run_id, runs.c.owner == owner))

    def get_shared(self, token: str) -> tuple[sa.Row, Run] | None:
        if not token or not findable(token):
            return None
        return self._one(runs.c.share_token == token)

    def thread(self, parent_id: str | None, owner: str, limit: int = 50) -> list[sa.Row]:
        """The runs a run continues, oldest first: its parent, the parent's parent, …"""
        found: list[sa.Row] = []
        columns = (runs.c.id, runs.c.parent_id, runs.c.model, runs.c.prompt,
                   runs.c.created_at, runs.c.turn_count, runs.c.state)
        with self._begin() as conn:
            while findable(parent_id) and len(found) < limit and \
                    parent_id not in {row.id for row in found}:
                row = conn.execute(sa.select(*columns).where(
                    runs.c.id == parent_id, runs.c.owner == owner)).first()
                if row is None:
                    break  # deleted, or never this visitor's: the thread starts here
                found.append(row)
                parent_id = row.parent_id
        return found[::-1]

    def _filters(self, owner: str, model: str = "", state: str = "") -> list:
        conditions = [runs.c.owner == owner, LISTED]
        model = column_text(model)  # as the column was written
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
                before: str | None = None, after: str | None = None,
                per_page: int = PAGE_SIZE, limit: int = COUNT_LIMIT) -> Listing:
        """One page of the owner's runs: newest first, or for a search best match first.

        ``before``/``after`` are the cursors of the pages either side (``Listing.older``,
        ``Listing.newer`` as text); one that does not parse gives the first page. A search
        ranks the newest ``limit`` matches; ``Listing.total`` counts up to ``limit``.
        """
        conditions, found = self._filters(owner, model, state), search.terms(column_text(query))
        text = sa.func.substr  # a long reply is read only as far as a snippet looks
        columns = [*self._columns(data=False, text=False),
                   text(runs.c.reply, 1, search.SCAN).label("reply"),
                   text(sa.func.coalesce(runs.c.turns, runs.c.prompt), 1,
                        search.SCAN).label("turns")]
        with self._reading() as conn:
            if not found:  # no word to search for: every run, newest first
                listed = listing.page(conn, sa.select(*columns).where(*conditions), "t",
                                      (runs.c.created_at, runs.c.pk), per_page=per_page,
                                      before=Cursor.parse(before, "t"),
                                      after=Cursor.parse(after, "t"))
                return listed._replace(total=listing.count_upto(conn, runs, conditions, limit))
            hits = listing.window(conn, runs, owner, found, conditions, limit + 1)
            shown, newer, older = listing.ranked(hits[:limit], per_page=per_page,
                                                 before=Cursor.parse(before, "s"),
                                                 after=Cursor.parse(after, "s"))
            rows = {row.pk: row for row in conn.execute(
                sa.select(*columns).where(runs.c.pk.in_([hit.pk for hit in shown])))}
        return Listing([rows[hit.pk] for hit in shown if hit.pk in rows], newer, older,
                       len(hits))

    def matching(self, owner: str, *, query: str = "", model: str = "", state: str = "",
                 limit: int = COUNT_LIMIT) -> int:
        """How many runs match, exactly up to ``limit`` (``limit + 1``: more than that)."""
        conditions, found = self._filters(owner, model, state), search.terms(column_text(query))
        with self._reading() as conn:
            if found:
                return len(listing.window(conn, runs, owner, found, conditions, limit + 1))
            return listing.count_upto(conn, runs, conditions, limit)

    def models(self, owner: str) -> list[str]:
        with self._reading() as conn:
            return listing.models(conn, owner)

    def spending(self, owner: str, days: int = 30) -> spend.Summary:
        """What this owner spent in the last ``days`` days, from the rollup (no run is read)."""
        with self._begin() as conn:
            return spend.summary(conn, owner, days=days)

    def count(self, owner: str | None = None) -> int:
        """How many runs the history lists (a comparison's lanes count once)."""
        statement = sa.select(sa.func.count()).select_from(runs).where(LISTED)
        if owner is not None:
            statement = statement.where(runs.c.owner == owner)
        with self._begin() as conn:
            return conn.execute(statement).scalar_one()

    def export(self, owner: str, batch: int = EXPORT_ROWS) -> Iterator[dict]:
        """Every run of an owner as its export record, oldest first (exports.records)."""
        return exports.records(self._exported(owner, batch), self._inflater(owner))

    def export_lines(self, owner: str, batch: int = EXPORT_ROWS) -> Iterator[bytes]:
        """Every run of an owner as JSON Lines, oldest first (exports.lines)."""
        return exports.lines(self._exported(owner, batch), self._inflater(owner))

    def _inflater(self, owner: str):
        """What makes an owner's stored image references data: URLs again, for an export."""
        return functools.partial(self.images.inflate, owner)

    def _exported(self, owner: str, batch: int) -> Iterator[list]:
        """An owner's rows, as an export reads them, in batches read by keyset (no connection
        is held between them, and each batch starts where the last ended, in the index).

        A batch holds at most ``batch`` rows and about ``EXPORT_BYTES`` of stored text: the
        first is small, and each next one is sized by the last one's rows, so an owner of small
        runs is read in few round trips and one of large runs in bounded memory.
        """
        state = self._columns()[-1]
        columns = (runs.c.pk, runs.c.id, runs.c.created_at, runs.c.model, state, runs.c.reply,
                   runs.c.data)
        after, limit = None, min(batch, EXPORT_FIRST)
        while True:
            with self._begin() as conn:
                statement = sa.select(*columns).where(runs.c.owner == owner)
                if after is not None:
                    statement = statement.where(listing.newer_than(
                        runs.c.created_at, runs.c.pk, after))
                rows = conn.execute(statement.order_by(runs.c.created_at, runs.c.pk)
                                    .limit(limit)).all()
            yield rows
            if len(rows) < limit:
                return
            after = Cursor("t", rows[-1].created_at, rows[-1].pk)
            size = sum(len(row.data) + len(row.reply) for row in rows)
            limit = max(1, min(batch, EXPORT_BYTES * len(rows) // max(size, 1)))


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
