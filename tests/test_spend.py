"""The spending rollup, on SQLite and on a real PostgreSQL: added to once as each run finishes,
billed and estimated apart, read without touching the runs table."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from playground.store import Store, engine_for
from tests.test_store import make_run

PRICE = {"input": {"price": 2.0, "per": 1_000_000}, "output": {"price": 10.0, "per": 1_000_000}}
DAY = 1_764_331_200.0  # 2025-11-28 12:00 UTC


@pytest.fixture
def store(db_url):
    store = Store(engine_for(db_url))
    yield store
    store.engine.dispose()


def finished(store: Store, owner: str, run) -> str:
    run_id = store.start(run, owner)
    assert store.finish(run_id, run)
    return run_id


def test_each_finished_run_adds_its_cost_once_billed_and_estimated_apart(store):
    estimated = make_run(model="m/a", price=PRICE, started_at=DAY)  # 5 in, 7 out
    billed = make_run(model="m/a", started_at=DAY + 60)
    billed.response["meta"] = {"usage": {"usd_spent": 0.25}}
    unpriced = make_run(model="m/b", started_at=DAY - 86_400)
    for run in (estimated, billed, unpriced):
        finished(store, "me", run)
    finished(store, "someone else", make_run(model="m/a", price=PRICE, started_at=DAY))
    summary = store.spending("me", days=10_000)
    assert [(t.key, t.runs) for t in summary.days] == [("2025-11-28", 2), ("2025-11-27", 1)]
    a = {t.key: t for t in summary.models}["m/a"]
    assert (a.runs, a.billed_runs, a.estimated_runs) == (2, 1, 1)
    assert a.billed_usd == pytest.approx(0.25)
    assert a.estimated_usd == pytest.approx(5 * 2e-6 + 7 * 10e-6)
    assert summary.all.unpriced_runs == 1 and summary.all.runs == 3


def test_a_run_saved_whole_counts_and_a_run_still_running_does_not(store):
    store.save(make_run(price=PRICE, started_at=DAY), "me")
    store.start(make_run(price=PRICE, started_at=DAY), "me")  # never finished
    assert store.spending("me", days=10_000).all.runs == 1


def test_deleting_a_run_keeps_its_cost_and_deleting_all_clears_the_owner(store):
    run_id = finished(store, "me", make_run(price=PRICE, started_at=DAY))
    finished(store, "you", make_run(price=PRICE, started_at=DAY))
    store.delete(run_id, "me")
    assert store.spending("me", days=10_000).all.runs == 1  # it was spent all the same
    store.delete_all("me")
    assert store.spending("me", days=10_000).all is None
    assert store.spending("you", days=10_000).all.runs == 1


def test_the_totals_read_the_rollup_and_never_the_runs(store):
    """The history's totals cost a few rows per day and model, however many runs there are."""
    for minute in range(30):
        finished(store, "me", make_run(price=PRICE, started_at=DAY + 60 * minute))
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cursor, sql, *rest: statements.append(sql))
    summary = store.spending("me", days=10_000)
    assert summary.all.runs == 30 and summary.all.estimated_runs == 30
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2 and all("FROM spend" in s for s in selects)  # by day, by model
    assert not any(re.search(r"\b(FROM|JOIN)\s+runs\b", s) for s in statements)


def test_the_window_is_the_last_days_only(store):
    finished(store, "me", make_run(price=PRICE, started_at=DAY - 40 * 86_400))
    finished(store, "me", make_run(price=PRICE, started_at=DAY))
    with store.engine.connect() as conn:
        from playground import spend

        recent = spend.summary(conn, "me", days=30, now=DAY)
    assert [t.key for t in recent.days] == ["2025-11-28"] and recent.since == "2025-10-30"
