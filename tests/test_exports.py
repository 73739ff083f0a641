"""The JSON Lines export: one record per line, strict JSON a reader of any language takes; audit
and cost.

``Store.export_lines`` reads fewer columns, writes a batch of lines at a time and encodes them
with orjson; whatever the run, each line must read back as the record ``export_record`` makes
of its full row (a NaN, which strict JSON has no word for, as null), and its text as UTF-8,
not escaped. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from playground.audit import OK, WARNING, Line
from playground.errors import UpstreamError
from playground.records import export_record
from playground.store import Store, engine_for, runs
from tests.test_images import png
from tests.test_search import with_image
from tests.test_store import make_run, started

KEY = "fake-store-key-0123456789"
PRICE = {"input": {"price": 2.5, "per": 1_000_000}, "output": {"price": 10, "per": 1_000_000}}
AUDIT = [Line("max_tokens", "50", "7 completion tokens", OK).to_dict(),
         Line("seed", "42", 'no system_fingerprint, "can\'t compare"', WARNING,
              ("a detail", "$.a[0]")).to_dict()]
# Text that looks like the stored JSON's own structure, inside strings.
TRICKY = '", "usage": {"prompt_tokens": 999}, "events": [], "x": "\\\\ \\" } ] { ['
TOOL_CALL = {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


@pytest.fixture
def store(db_url):
    store = Store(engine_for(db_url), secrets_to_scrub=(KEY,))
    yield store
    store.engine.dispose()


def tool_run():
    run = make_run(reply=None)
    run.response = {"id": "gen-t", "choices": [{"index": 0, "finish_reason": "tool_calls",
                                                "message": {"role": "assistant", "content": None,
                                                            "tool_calls": [TOOL_CALL]}}],
                    "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}}
    run.request["tools"] = [{"type": "function", "function": {"name": "get_weather"}}]
    return run


def varied(store, owner: str = "alice") -> list[str]:
    """Every kind of run the history keeps, saved as the app saves them; their ids."""
    error = UpstreamError("rate_limit", "Slow down", status=429, body='{"error": "x"}')
    billed = make_run(reply="Billed reply")
    billed.response["meta"] = {"usage": {"usd_spent": 0.00042}}
    streamed = make_run(reply="Streamed", stream=True, ttft_ms=40.5, total_ms=300.25,
                        events=['{"choices": [{"delta": {"content": "Stre\\"amed"}}]}',
                                "[DONE]"], event_times=[10.5, 20.25], headers_ms=5.0)
    kept = [
        make_run(),
        make_run(reply="Estimated", price=PRICE, audit=AUDIT,
                 estimate={"usd": 0.001, "assumptions": ["a", "b"]}),
        billed,
        make_run(reply=None, error=error, state="error", status=429),
        streamed,
        make_run(reply=TRICKY, prompt=TRICKY, headers={"x-aimlapi-usd-spent": "0.5"}),
        make_run(reply="Ünïcödé ✓ and a\ttab\nnewline \x01 control", prompt="naïve"),
        tool_run(),
        make_run(parent_id="parent-run-id", audit=[]),
        make_run(variables={"city": "Paris"},
                 template=[{"role": "user", "content": "Weather in {{city}}?"}]),
        make_run(reply="", total_ms=None, events=[], notes=["retried once"], attempts=3),
        make_run(reply="big numbers", total_ms=1e16, ttft_ms=0.1 + 0.2, stream=True),
        make_run(reply=f"the key {KEY} scrubbed"),
        with_image("What is in the picture?", png()),
        make_run(reply="lane 0", comparison_id="cmp-1", lane=0, audit=AUDIT, price=PRICE),
        make_run(reply="lane 1", comparison_id="cmp-1", lane=1, audit=None),
        make_run(reply=None, state="stopped", stream=True, events=["x" * 40]),
    ]
    ids = [store.save(run, owner) for run in kept]
    running = started(store, owner)
    store.progress(running, "So far, so good")
    quiet = started(store, owner, ago=600)
    store.progress(quiet, "Cut off", now=time.time() - 600)
    return [*ids, running, quiet]


def refuse(constant: str):
    raise ValueError(f"{constant} is not JSON")


def strict(line: bytes):
    """A line as a strict reader takes it: UTF-8, one JSON value, no NaN or Infinity."""
    assert line.endswith(b"\n") and b"\n" not in line[:-1]
    return json.loads(line.decode("utf-8"), parse_constant=refuse)


def lines_of(store, owner: str = "alice", **kwargs) -> list:
    return [strict(line) for line in b"".join(store.export_lines(owner, **kwargs))
            .splitlines(keepends=True)]


def as_read(value):
    """A record as a strict reader reads its JSON: what has no word in JSON (NaN) is null."""
    return json.loads(json.dumps(value), parse_constant=lambda _constant: None)


def expected_record(store, row, owner: str = "alice"):
    """What the line of a row must say: the record of the full row, as JSON reads it."""
    return as_read(export_record(row, lambda m: store.images.inflate(owner, m)))


def full_rows(store, owner: str = "alice") -> list:
    """The rows as the export read them before: every column."""
    with store.engine.connect() as conn:
        return conn.execute(sa.select(*store._columns()).where(runs.c.owner == owner)
                            .order_by(runs.c.created_at, runs.c.pk)).all()


def test_the_download_is_every_records_json_one_strict_line_each(store):
    store.interrupted_after = 300
    ids = varied(store)
    before = full_rows(store)
    assert sorted(row.id for row in before) == sorted(ids)  # every kind
    expected = [expected_record(store, row) for row in before]
    # Batches of lines, every batch boundary included, from the columns the export reads.
    assert lines_of(store, batch=3) == expected
    assert lines_of(store) == expected
    assert [as_read(record) for record in store.export("alice")] == expected
    text = b"".join(store.export_lines("alice"))
    assert "Ünïcödé ✓".encode() in text and "naïve".encode() in text  # UTF-8, not \\u escapes
    by_id = {record["id"]: record for record in expected}
    assert (by_id[ids[-2]]["state"], by_id[ids[-1]]["state"]) == ("running", "interrupted")
    assert by_id[ids[-1]]["output"] == "Cut off" and by_id[ids[-1]]["response"] is None
    image = by_id[ids[13]]["request"]["messages"][0]["content"][1]["image_url"]["url"]
    assert image.startswith("data:image/png;base64,")  # the image itself, not its reference
    assert by_id[ids[7]]["response"]["choices"][0]["message"]["tool_calls"] == [TOOL_CALL]
    assert KEY.encode() not in text


def test_stored_json_of_other_shapes_exports_as_before(store):
    """Rows other releases wrote: keys missing, odd shapes; the line is still the record's."""
    run_id = store.save(make_run(), "alice")
    shapes = [
        {"request": {"model": "m"}, "endpoint": "e"},  # no messages, no response, no headers
        {"request": {"model": "m", "messages": []}, "endpoint": "e", "response": [1, 2],
         "events": "", "headers": None, "error": None, "stream": True, "ttft_ms": 5},
        {"request": {"model": "m", "messages": []}, "endpoint": "e", "events": 0,
         "response": {"usage": {"completion_tokens": 4}, "choices": "no"}, "total_ms": 8,
         "unknown_key": {"usage": 5}},
        {"request": {"model": "m", "messages": []}, "endpoint": "e", "response": "text",
         "total_ms": float("nan"), "price": PRICE, "audit": None},
    ]
    for shape in shapes:
        with store.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == run_id).values(data=json.dumps(shape)))
        (row,) = full_rows(store)
        assert lines_of(store) == [expected_record(store, row)], shape


def test_what_the_fast_encoder_refuses_still_exports_as_valid_json(store):
    """A 30-digit integer or a lone surrogate (a hostile provider can send both) and a NaN or
    Infinity an older release kept: the line is still one strict JSON value, the rest intact."""
    run_id = store.save(make_run(reply="Fine"), "alice")
    with store.engine.begin() as conn:
        data = json.loads(conn.execute(sa.select(runs.c.data)).scalar_one())
        data["response"]["created"] = 10**30
        data["response"]["choices"][0]["message"]["content"] = "half a pair \ud83d here"
        data["total_ms"], data["ttft_ms"] = float("nan"), float("inf")
        conn.execute(runs.update().where(runs.c.id == run_id).values(data=json.dumps(data)))
    (line,) = lines_of(store)
    assert line["response"]["created"] == pytest.approx(1e30)  # past 64 bits: read as a float
    assert line["response"]["choices"][0]["message"]["content"] == "half a pair \ud83d here"
    assert line["metrics"]["latency_ms"] is None and line["metrics"]["ttft_ms"] is None
    assert line["output"] == "Fine" and line["usage"]["completion"] == 7


def test_the_export_carries_the_audit_and_whether_the_cost_was_billed(store):
    estimated = store.save(make_run(price=PRICE, audit=AUDIT), "alice")
    billed = make_run(audit=[])
    billed.response["meta"] = {"usage": {"usd_spent": 0.00042}}
    billed = store.save(billed, "alice")
    unpriced = store.save(make_run(), "alice")
    lines = {line["id"]: line for line in lines_of(store)}
    assert lines[estimated]["audit"] == AUDIT
    assert lines[estimated]["metrics"]["cost_source"] == "estimated"
    assert lines[estimated]["metrics"]["cost_usd"] == pytest.approx(5 * 2.5e-6 + 7 * 1e-5)
    assert lines[billed]["metrics"]["cost_source"] == "billed" and lines[billed]["audit"] == []
    assert lines[billed]["metrics"]["cost_usd"] == 0.00042
    assert lines[unpriced]["metrics"]["cost_source"] is None
    assert lines[unpriced]["audit"] is None  # the run ended with no audit worked out


def test_a_run_kept_before_the_audit_exports_as_it_always_did(store):
    run_id = store.save(make_run(), "alice")
    with store.engine.begin() as conn:  # the JSON a run kept before issue 12 has
        data = json.loads(conn.execute(sa.select(runs.c.data)).scalar_one())
        for later in ("price", "estimate", "audit", "comparison_id", "lane"):
            del data[later]
        conn.execute(runs.update().where(runs.c.id == run_id).values(data=json.dumps(data)))
    (record,) = lines_of(store)
    assert "audit" not in record and "cost_source" not in record["metrics"]
    assert list(record) == ["id", "created_at", "model", "state", "request", "response",
                            "output", "error", "usage", "metrics", "headers", "events"]


def test_batches_follow_the_size_of_the_runs_and_miss_none(store, monkeypatch):
    """An export reads rows a batch at a time; how many per batch follows their size, so an
    owner of large runs is read in bounded memory and one of small runs in few round trips."""
    monkeypatch.setattr("playground.store.EXPORT_FIRST", 4)
    monkeypatch.setattr("playground.store.EXPORT_BYTES", 60_000)
    small = [store.save(make_run(reply=f"small {n}"), "alice") for n in range(30)]
    large = [store.save(make_run(reply=f"large {n} " + "y" * 20_000), "alice") for n in range(9)]
    batches = list(store._exported("alice", batch=25))
    assert [len(rows) for rows in batches][:1] == [4]  # the first is small: sizes unknown
    assert max(len(rows) for rows in batches) == 25  # small runs: the most a batch may hold
    texts = [len(row.data) + len(row.reply) for rows in batches for row in rows]
    for rows in batches:  # a batch of large runs stays near the budget
        if all(row.reply.startswith("large") for row in rows):
            assert sum(len(row.data) + len(row.reply) for row in rows) <= 60_000 + max(texts)
            assert len(rows) < 25
    assert [row.id for rows in batches for row in rows] == small + large  # in order, all once
    assert [record["id"] for record in lines_of(store)] == small + large
