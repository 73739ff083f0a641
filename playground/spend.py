"""What was spent, per owner, per day (UTC) and per model: a rollup kept as runs finish.

The history's totals come from this small table, never from a scan of every run: finishing a
run adds its cost to one row (owner, day, model) in the same transaction that writes the run,
with an upsert (``ON CONFLICT … DO UPDATE``, on SQLite and PostgreSQL alike). Billed and
estimated amounts are kept apart, and runs with no cost at all are counted, not priced.
Deleting a run does not take its cost back (it was spent); deleting all of one's runs clears
the owner's rows too, so nothing of theirs is left.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from playground.run import Run

metadata = sa.MetaData()
table = sa.Table(
    "spend", metadata,
    sa.Column("owner", sa.String(100), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),  # YYYY-MM-DD, UTC
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("runs", sa.Integer, nullable=False),
    sa.Column("billed_usd", sa.Float, nullable=False),
    sa.Column("billed_runs", sa.Integer, nullable=False),
    sa.Column("estimated_usd", sa.Float, nullable=False),
    sa.Column("estimated_runs", sa.Integer, nullable=False),
)
COUNTERS = ("runs", "billed_usd", "billed_runs", "estimated_usd", "estimated_runs")


def day_of(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def row_of(owner: str, run: Run) -> dict:
    """The amounts one finished run adds to its (owner, day, model) row."""
    usage = run.usage
    billed = usage.cost_usd if usage.cost_source == "billed" else None
    estimated = usage.cost_usd if usage.cost_source == "estimated" else None
    return {"owner": owner[:100], "day": day_of(run.started_at), "model": run.model[:200],
            "runs": 1, "billed_usd": billed or 0.0, "billed_runs": int(billed is not None),
            "estimated_usd": estimated or 0.0, "estimated_runs": int(estimated is not None)}


@functools.cache
def _upsert(dialect: str, target: sa.Table):
    """The upsert, built once per dialect: building it per run cost ~0.5 ms of each stream."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(target)
    return statement.on_conflict_do_update(
        index_elements=[target.c.owner, target.c.day, target.c.model],
        set_={name: target.c[name] + statement.excluded[name] for name in COUNTERS})


def add(conn: Connection, values: dict, target: sa.Table = table) -> None:
    """Add one run's amounts to its row, creating the row the first time (one statement)."""
    conn.execute(_upsert(conn.dialect.name, target), values)


def add_many(conn: Connection, rows: list[dict], target: sa.Table = table) -> None:
    """``add`` for many runs: their amounts summed per row, then one upsert per row (one
    statement executed with every row's parameters)."""
    merged: dict[tuple, dict] = {}
    for values in rows:
        key = (values["owner"], values["day"], values["model"])
        found = merged.get(key)
        if found is None:
            merged[key] = dict(values)
        else:
            for name in COUNTERS:
                found[name] += values[name]
    if merged:
        conn.execute(_upsert(conn.dialect.name, target), list(merged.values()))


def clear(conn: Connection, owner: str, target: sa.Table = table) -> None:
    conn.execute(target.delete().where(target.c.owner == owner))


@dataclass(frozen=True)
class Total:
    """Spent on one day or one model: billed and estimated kept apart."""

    key: str
    runs: int
    billed_usd: float
    billed_runs: int
    estimated_usd: float
    estimated_runs: int

    @property
    def unpriced_runs(self) -> int:
        return self.runs - self.billed_runs - self.estimated_runs


@dataclass(frozen=True)
class Summary:
    days: tuple[Total, ...]
    models: tuple[Total, ...]
    since: str
    all: Total | None = None


def summary(conn: Connection, owner: str, *, days: int = 30, now: float | None = None,
            target: sa.Table = table) -> Summary:
    """The last ``days`` days of an owner's spending, by day and by model (the rollup only)."""
    since = day_of((now or time.time()) - (days - 1) * 86400)
    sums = [sa.func.sum(target.c[name]).label(name) for name in COUNTERS]
    where = (target.c.owner == owner, target.c.day >= since)

    def totals(key) -> tuple[Total, ...]:
        rows = conn.execute(sa.select(key.label("key"), *sums).where(*where).group_by(key)
                            .order_by(key.desc() if key is target.c.day else key)).all()
        return tuple(Total(str(r.key), int(r.runs), float(r.billed_usd), int(r.billed_runs),
                           float(r.estimated_usd), int(r.estimated_runs)) for r in rows)

    by_day = totals(target.c.day)
    everything = None
    if by_day:
        everything = Total("all", *(sum(getattr(t, name) for t in by_day) for name in (
            "runs", "billed_usd", "billed_runs", "estimated_usd", "estimated_runs")))
    return Summary(days=by_day, models=totals(target.c.model), since=since, all=everything)
