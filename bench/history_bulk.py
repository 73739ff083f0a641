"""The bulk load of a bench history: the store's own rows, written fast into every database.

One process draws the runs (bench/history_data.py) and turns them into rows once, with
``Store.rows_for``: the very rows ``Store.save_many`` writes (the same ``Store._values``, the
same spending amounts). Each database has a writer process that writes them with
``Store.write_many``, 20,000 runs per transaction (on PostgreSQL, the rows of ``runs`` by
``COPY`` instead of an ``INSERT``), so the search index is filled by the schema's own
triggers (FTS5 on SQLite, the ``tsvector`` trigger on PostgreSQL, which ``COPY`` fires too).

What makes it fast, and changes no row: the runs are drawn and encoded once for both
databases; the spending rollup is one upsert per (owner, day, model) of a batch, not per run;
and the secondary indexes of ``runs`` are dropped before the load and created again after it
from their own definitions (``sqlite_master.sql``, ``pg_indexes.indexdef``): one sort per
index instead of a random insert per row. Unique indexes stay (they are the constraints).
tests/test_history_bulk.py checks that the rows, the rollup, the indexes and search come out
as the store writes them one run at a time.
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import sys
import time

from bench import history_data
from playground.store import Store, engine_for, insert_runs

BATCH = 20_000  # runs per transaction
AHEAD = 3  # batches a writer may lag behind: memory stays flat


def _secondary_indexes(conn) -> list[tuple[str, str]]:
    """The non-unique indexes of ``runs``: (name, the statement that creates it)."""
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = 'runs' AND left(indexdef, 13) <> 'CREATE UNIQUE'").all()
    else:  # an index behind a UNIQUE constraint has no sql of its own
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs' "
            "AND sql IS NOT NULL AND substr(sql, 1, 13) <> 'CREATE UNIQUE'").all()
    return [(name, sql) for name, sql in rows]


def _copy(conn, rows: list[dict]) -> None:
    """PostgreSQL: the rows of ``runs`` by COPY, the fast way in (the triggers still run)."""
    names = list(rows[0])
    with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(
            f"COPY runs ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])


def _write(url: str, inbox) -> None:
    """A writer process: the batches from ``inbox`` into ``url``, then its indexes again."""
    store, started = Store(engine_for(url)), time.monotonic()
    store.create()
    with store.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        insert = insert_runs if sqlite else _copy  # PostgreSQL: COPY, its fastest load
        if sqlite:  # 1 GiB of page cache for this connection: the FTS index stays in memory
            conn.exec_driver_sql("PRAGMA cache_size = -1048576")
            conn.commit()  # the pragma began a transaction
        with conn.begin():
            indexes = _secondary_indexes(conn)
            for name, _sql in indexes:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
        while (payload := inbox.get()) is not None:
            with conn.begin():
                store.write_many(conn, *pickle.loads(payload), insert=insert)
        written = time.monotonic()
        with conn.begin():
            for _name, sql in indexes:
                conn.exec_driver_sql(sql)
    if sqlite:
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:  # as autovacuum would leave it: visibility map set, statistics taken
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE) runs")
            conn.exec_driver_sql("ANALYZE")
    store.engine.dispose()
    print(f"    {store.engine.dialect.name}: written in {written - started:,.0f} s, indexed and "
          f"analysed in {time.monotonic() - written:,.0f} s", flush=True)


def build(urls: list[str], size: int, say=print) -> dict:
    """Write the history of ``size`` runs into every database of ``urls``; describe it."""
    context = multiprocessing.get_context("spawn")  # no forked pools or locks
    inboxes = [context.Queue(AHEAD) for _ in urls]
    writers = [context.Process(target=_write, args=(url, inbox), daemon=True)
               for url, inbox in zip(urls, inboxes, strict=True)]
    for writer in writers:
        writer.start()
    encoder = Store(None)  # only rows_for: no database is touched
    history, started, done = history_data.History(size), time.monotonic(), 0
    try:
        for batch in history.batches(BATCH):
            payload = pickle.dumps(encoder.rows_for(batch), pickle.HIGHEST_PROTOCOL)
            for inbox, writer in zip(inboxes, writers, strict=True):
                while True:  # a writer that died must not leave this waiting forever
                    try:
                        inbox.put(payload, timeout=5)
                        break
                    except queue.Full:
                        if not writer.is_alive():
                            raise RuntimeError(
                                f"a history writer failed ({writer.exitcode})") from None
            done += len(batch)
            if done % max(size // 10, BATCH) < len(batch):
                rate = done / (time.monotonic() - started)
                say(f"    {done:,} of {size:,} runs drawn ({rate:,.0f} runs/s)")
                sys.stdout.flush()
        for inbox in inboxes:
            inbox.put(None)
        say("    all drawn; the writers finish and index ...")
        for writer in writers:
            writer.join()
    finally:
        for inbox, writer in zip(inboxes, writers, strict=True):
            if writer.is_alive():
                writer.kill()
            inbox.cancel_join_thread()  # a dead writer's batches are not waited for
    failed = [writer.exitcode for writer in writers if writer.exitcode]
    if failed:
        raise RuntimeError(f"a history writer failed (exit {failed})")
    return {"version": history_data.VERSION, "size": size, "heavy": history.heavy,
            "light": history.light, "heavy_runs": history.counts.get(history.heavy, 0),
            "light_runs": history.counts.get(history.light, 0),
            "owners": len(history.counts), "planted_one": history.planted_one,
            "vocabulary": history.words[:200], "seconds": time.monotonic() - started,
            "databases": len(urls)}

