"""The bench's bulk load writes what the store writes, on SQLite and PostgreSQL.

`make bench-history` fills a million runs through bench/history_bulk.py: rows made once by
``Store.rows_for``, written by ``Store.write_many`` with the secondary indexes dropped and made
again, the spending rollup summed per batch. A history measured that way is only worth
measuring if it is the history the app would have written one run at a time.
"""

from __future__ import annotations

import sqlalchemy as sa

from bench import history_bulk
from bench.history_data import PROBES, History
from playground import spend
from playground.store import Store, engine_for, runs
from tests.test_exports import PRICE
from tests.test_store import make_run

SIZE = 240


def written(store: Store) -> dict:
    """Everything a history page, a search or the spending panel reads, ids aside."""
    with store.engine.connect() as conn:
        rows = [{k: v for k, v in row._mapping.items() if k not in ("pk", "id")}
                for row in conn.execute(sa.select(runs).order_by(runs.c.created_at))]
        totals = [tuple(row) for row in conn.execute(
            sa.select(spend.table).order_by(*spend.table.primary_key.columns))]
        indexes = sorted(history_bulk._secondary_indexes(conn))
    owners = sorted({row["owner"] for row in rows})
    found = {(owner, word): [row.created_at for row in store.history(owner, query=word).rows]
             for owner in owners[:5] for word in PROBES}
    return {"rows": rows, "spend": totals, "indexes": indexes, "found": found}


def test_the_bulk_load_writes_the_rows_the_store_writes_one_at_a_time(db_url):
    store = Store(engine_for(db_url))
    for batch in History(SIZE).batches():
        for run, owner in batch:
            store.save(run, owner)
    one_by_one = written(store)
    assert len(one_by_one["rows"]) == SIZE and one_by_one["indexes"]
    with store.engine.begin() as conn:
        conn.execute(runs.delete())
        conn.execute(spend.table.delete())
    described = history_bulk.build([db_url], SIZE, say=lambda *_: None)
    assert described["size"] == SIZE and described["heavy_runs"] > 0
    assert written(store) == one_by_one
    assert any(one_by_one["found"].values())  # the searches compared found something
    store.engine.dispose()


def test_save_many_adds_up_spending_as_saving_one_run_at_a_time(db_url):
    """The rollup of a batch is summed per (owner, day, model) before its one upsert."""
    store = Store(engine_for(db_url))

    def runs_of(owner: str) -> list:
        made = []
        for i in range(12):
            run = make_run(model=f"m{i % 2}", price=PRICE, started_at=1_700_000_000 + i * 7_200)
            if i % 3 == 0:  # billed by the provider, the rest estimated, one unpriced
                run.response["meta"] = {"usage": {"usd_spent": 0.25 * (i + 1)}}
            if i == 5:
                run.price = None
            made.append((run, owner))
        return made

    for run, owner in runs_of("one"):
        store.save(run, owner)
    store.save_many(runs_of("many"))
    with store.engine.connect() as conn:
        rows = {owner: [tuple(row)[1:] for row in conn.execute(
            sa.select(spend.table).where(spend.table.c.owner == owner)
            .order_by(*spend.table.primary_key.columns))] for owner in ("one", "many")}
    assert rows["one"] == rows["many"] and len(rows["one"]) > 2
    # (day, model, runs, billed_usd, billed_runs, estimated_usd, estimated_runs)
    assert sum(row[4] for row in rows["one"]) == 4 and sum(row[6] for row in rows["one"]) == 7
    store.engine.dispose()
