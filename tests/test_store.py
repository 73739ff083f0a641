"""The run store, on SQLite and on a real PostgreSQL server (every test runs on both)."""

from __future__ import annotations

import json
import threading
import time

import pytest
import sqlalchemy as sa

from playground.errors import UpstreamError
from playground.live import Registry
from playground.store import Store, engine_for, runs
from playground.upstream import Run

KEY = "fake-store-key-0123456789"
VISITOR = "fake-visitor-key-abcdef123456"  # a visitor's own key: not the store's to know


def make_run(prompt="Hello", reply="Hi there", model="fake/ok", **extra) -> Run:
    response = None if reply is None else {
        "id": "gen-1", "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}
    fields = {"request": {"model": model, "messages": [{"role": "user", "content": prompt}]},
              "endpoint": "http://127.0.0.1/v1/chat/completions", "status": 200,
              "response": response, "total_ms": 123.0,
              "headers": {"x-request-id": "req-1"}}
    fields.update(extra)
    return Run(**fields)


@pytest.fixture
def store(db_url):
    store = Store(engine_for(db_url), secrets_to_scrub=(KEY,))
    yield store
    store.engine.dispose()


def test_a_saved_run_comes_back_whole(store):
    run = make_run(ttft_ms=40.0, stream=True, events=['{"choices": []}', "[DONE]"],
                   notes=["retried once"], attempts=2)
    run_id = store.save(run, "alice")
    row, loaded = store.get(run_id, "alice")
    assert loaded.to_dict() == run.to_dict()
    assert (row.model, row.prompt, row.reply, row.state) == ("fake/ok", "Hello", "Hi there",
                                                             "complete")
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (5, 7, 12)
    assert row.latency_ms == 123.0


def test_a_failed_run_keeps_its_normalised_error(store):
    error = UpstreamError("auth", "Invalid API key", status=401, body='{"message": "no"}',
                          request_id="aiml-req-42")
    run_id = store.save(make_run(reply=None, error=error, state="error", status=401), "alice")
    row, loaded = store.get(run_id, "alice")
    assert row.state == "error" and row.error_kind == "auth" and row.status == 401
    assert loaded.error.to_dict() == error.to_dict()
    assert loaded.error.hint.startswith("Check AIMLAPI_API_KEY")


def test_the_api_key_is_never_stored(store):
    error = UpstreamError("auth", f"Invalid API key provided: {KEY}", status=401, body=KEY)
    store.save(make_run(reply=None, error=error, state="error"), "alice")
    with store.engine.connect() as conn:
        stored = [str(v) for row in conn.execute(sa.select(runs)).all() for v in row]
    assert not any(KEY in value for value in stored)
    assert any("[redacted]" in value for value in stored)


def test_text_any_database_refuses_is_still_kept(store):
    """A NUL or a lone surrogate in a reply must not lose the run (PostgreSQL rejects both)."""
    run_id = store.save(make_run(prompt="a\x00b", reply="bad \ud800 text \x00"), "alice")
    row, loaded = store.get(run_id, "alice")
    assert row.prompt == "ab"
    assert loaded.response["choices"][0]["message"]["content"] == "bad \ud800 text \x00"


def test_others_runs_do_not_exist(store):
    run_id = store.save(make_run(), "alice")
    assert store.get(run_id, "mallory") is None
    assert store.delete(run_id, "mallory") is False
    assert store.share(run_id, "mallory") is None
    assert store.history("mallory").total == 0
    assert store.get(run_id, "alice") is not None


def test_ids_and_share_tokens_are_unguessable(store):
    ids = {store.save(make_run(), "alice") for _ in range(20)}
    assert len(ids) == 20 and all(len(i) >= 22 for i in ids)  # 16 random bytes
    token = store.share(next(iter(ids)), "alice")
    assert len(token) >= 32  # 24 random bytes = 192 bits


def test_history_is_newest_first_and_paginated(store):
    for i in range(7):
        store.save(make_run(prompt=f"prompt {i}", started_at=1_000 + i), "alice")
    listed = store.history("alice", per_page=3)
    assert listed.total == 7 and [r.prompt for r in listed.rows] == ["prompt 6", "prompt 5",
                                                                     "prompt 4"]
    listed = store.history("alice", per_page=3, before=str(listed.older))
    listed = store.history("alice", per_page=3, before=str(listed.older))
    assert [r.prompt for r in listed.rows] == ["prompt 0"] and listed.older is None


def test_search_finds_words_in_prompts_and_replies_case_insensitively(store):
    store.save(make_run(prompt="Tell me about Paris", reply="A city"), "alice")
    store.save(make_run(prompt="Numbers", reply="100% of PARIS_fans"), "alice")
    store.save(make_run(prompt="Other", reply="Nothing"), "alice")
    store.save(make_run(prompt="paris", reply="not mine"), "bob")
    assert store.history("alice", query="paris").total == 2
    assert [r.prompt for r in store.history("alice", query="100%").rows] == ["Numbers"]
    # Punctuation separates words and is never query syntax; alone, it searches nothing.
    assert store.history("alice", query="_fans").total == 1
    assert store.history("alice", query="%").total == 3


def test_filters_by_model_and_status(store):
    store.save(make_run(model="a"), "alice")
    store.save(make_run(model="b"), "alice")
    store.save(make_run(model="b", reply=None, state="error",
                        error=UpstreamError("server", "down")), "alice")
    assert store.models("alice") == ["a", "b"]
    assert store.history("alice", model="b").total == 2
    assert store.history("alice", model="b", state="error").total == 1
    assert store.history("alice", state="complete").total == 2


def test_share_revoke_and_reshare(store):
    run_id = store.save(make_run(), "alice")
    token = store.share(run_id, "alice")
    assert store.get_shared(token)[0].id == run_id
    assert store.revoke(run_id, "alice")
    assert store.get_shared(token) is None
    again = store.share(run_id, "alice")
    assert again != token and store.get_shared(token) is None
    assert store.get_shared(again) is not None
    assert store.get_shared("") is None


def test_delete_one_and_all_of_mine(store):
    first = store.save(make_run(), "alice")
    store.save(make_run(), "alice")
    store.save(make_run(), "bob")
    assert store.delete(first, "alice") and store.get(first, "alice") is None
    assert store.delete_all("alice") == 1
    assert store.count("alice") == 0 and store.count("bob") == 1


def test_prune_by_age_and_by_count_per_owner(store):
    now = time.time()
    for age_days in (40, 20, 5, 1):
        store.save(make_run(prompt=f"{age_days}d", started_at=now - age_days * 86400), "alice")
    for i in range(3):
        store.save(make_run(started_at=now - i), "bob")
    assert store.prune(days=30, now=now) == 1
    assert store.prune(keep=2) == 2  # alice 20d, bob's oldest
    assert [r.prompt for r in store.history("alice").rows] == ["1d", "5d"]
    assert store.count("bob") == 2


def test_export_gives_every_run_as_a_test_case(store):
    for i in range(5):
        store.save(make_run(prompt=f"p{i}"), "alice")
    store.save(make_run(), "bob")
    records = list(store.export("alice", batch=2))
    assert [r["request"]["messages"][0]["content"] for r in records] == [f"p{i}" for i in
                                                                          range(5)]
    first = records[0]
    assert first["response"]["choices"][0]["message"]["content"] == "Hi there"
    assert first["usage"]["total"] == 12 and first["metrics"]["latency_ms"] == 123.0
    json.dumps(records)  # every record is plain JSON


def test_schema_is_created_once_and_reused(store, db_url):
    store.save(make_run(), "alice")
    second = Store(engine_for(db_url))
    assert second.count("alice") == 1  # a second process finds the table and its data
    second.engine.dispose()


def test_200_simultaneous_runs_all_land(store):
    """Writers racing on one database: none may be lost (SQLite busy, PostgreSQL pool)."""
    barrier = threading.Barrier(200)
    errors: list[BaseException] = []
    store.create()

    def write(i: int) -> None:
        try:
            barrier.wait()
            store.save(make_run(prompt=f"concurrent {i}"), f"owner-{i % 7}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.count() == 200
    assert store.history("", query="concurrent").total == 0  # scoped to owners, none is ""
    assert sum(store.count(f"owner-{i}") for i in range(7)) == 200


def test_an_in_memory_sqlite_url_works_for_a_throwaway_run(tmp_path):
    store = Store(engine_for("sqlite://"))
    store.create()
    run_id = store.save(Run(request={"model": "m", "messages": []}, endpoint="x"), "me")
    assert store.get(run_id, "me") is not None and store.get(run_id, "you") is None


# -- crash-safe runs: start, progress, finish; "interrupted" worked out when read --------------
def started(store, owner="alice", ago: float = 0.0, **extra) -> str:
    """A streamed run written as it began, ``ago`` seconds back."""
    run = make_run(reply=None, stream=True, **extra)
    return store.start(run, owner, now=time.time() - ago)


def raw(store, run_id) -> sa.Row:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(runs).where(runs.c.id == run_id)).one()


def test_a_started_run_is_kept_as_running_before_any_reply(store):
    run_id = started(store)
    row, run = store.get(run_id, "alice")
    assert (row.state, run.state, run.label) == ("running", "running", "Running")
    assert run.response is None and row.prompt == "Hello"
    assert [r.id for r in store.history("alice").rows] == [run_id]


def test_progress_saves_the_text_so_far_and_nothing_else(store):
    run_id = started(store, ago=5)
    before = raw(store, run_id)
    assert store.progress(run_id, "The answer so")
    after = raw(store, run_id)
    assert after.reply == "The answer so" and after.heartbeat_at > before.heartbeat_at
    assert after.data == before.data  # the run's JSON is never rewritten while it streams
    _, run = store.get(run_id, "alice")
    assert run.response["choices"][0]["message"]["content"] == "The answer so"
    assert store.history("alice", query="answer so").total == 1  # already searchable


def test_finish_writes_the_whole_run_over_its_start(store):
    run_id = started(store)
    store.progress(run_id, "Hi th")
    final = make_run(reply="Hi there", stream=True, events=["a", "[DONE]"], ttft_ms=12.0)
    assert store.finish(run_id, final)
    row, run = store.get(run_id, "alice")
    assert row.state == run.state == "complete" and row.reply == "Hi there"
    assert run.events == ["a", "[DONE]"] and row.total_tokens == 12
    assert row.created_at == pytest.approx(raw(store, run_id).created_at)
    assert not store.progress(run_id, "late text")  # a late save cannot undo the end
    assert store.get(run_id, "alice")[0].reply == "Hi there"
    assert store.finish("no-such-run", final) is False


def test_a_run_whose_heartbeat_stopped_reads_as_interrupted_with_its_text(store):
    store.interrupted_after = 30
    quiet = started(store, ago=31)
    store.progress(quiet, "Half an ans", now=time.time() - 31)
    live = started(store, ago=29)
    row, run = store.get(quiet, "alice")
    assert (row.state, run.state, run.label) == ("interrupted", "interrupted", "Interrupted")
    assert run.response["choices"][0]["message"]["content"] == "Half an ans"
    assert store.get(live, "alice")[1].state == "running"
    assert raw(store, quiet).state == "running"  # nothing was written: it is how it reads
    store.progress(quiet, "Half an answer")  # its worker was only slow: it is back
    assert store.get(quiet, "alice")[1].state == "running"


def test_history_lists_and_filters_running_and_interrupted_runs(store):
    store.interrupted_after = 30
    running, quiet = started(store, ago=1), started(store, ago=60)
    done = store.save(make_run(), "alice")
    states = {r.id: r.state for r in store.history("alice").rows}
    assert states == {running: "running", quiet: "interrupted", done: "complete"}
    assert [r.id for r in store.history("alice", state="running").rows] == [running]
    assert [r.id for r in store.history("alice", state="interrupted").rows] == [quiet]
    assert [r.id for r in store.history("alice", state="complete").rows] == [done]
    assert store.history("bob", state="running").total == 0


def test_an_interrupted_run_exports_its_partial_text(store):
    store.interrupted_after = 30
    run_id = started(store, ago=60)
    store.progress(run_id, "So far", now=time.time() - 60)
    (record,) = list(store.export("alice"))
    assert record["state"] == "interrupted" and record["output"] == "So far"
    assert record["response"] is None  # no response object ever arrived


def test_halt_saves_a_live_run_as_shutdown_but_never_a_finished_one(store):
    live, done = started(store), started(store)
    store.finish(done, make_run())
    assert store.halt(live, "Cut short")
    assert not store.halt(done, "Cut short")
    row, run = store.get(live, "alice")
    assert row.state == run.state == "shutdown" and row.reply == "Cut short"
    assert run.response["choices"][0]["message"]["content"] == "Cut short"
    assert store.get(done, "alice")[0].reply == "Hi there"


def test_a_key_in_the_partial_text_is_never_stored(store):
    run_id = started(store)
    store.progress(run_id, f"the keys are {KEY} and {VISITOR}", secrets=(VISITOR,))
    assert "[redacted] and [redacted]" in raw(store, run_id).reply
    store.halt(run_id, f"the key is {KEY}")
    with store.engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(sa.select(runs)).all() for v in row)
    assert KEY not in stored and VISITOR not in stored


def test_the_pulse_saves_grown_text_in_one_go_and_halts_at_shutdown(store):
    """Two streams in flight: the pulse writes both texts; a shutdown saves what is left."""
    registry = Registry()
    one = registry.begin(store, make_run(reply=None, stream=True), "alice")
    two = registry.begin(store, make_run(reply=None, stream=True), "alice", secrets=(VISITOR,))
    one.add("First ")
    two.add(f"Second {VISITOR[:10]}")
    two.add(VISITOR[10:])  # a visitor's key split across two deltas
    assert registry.save_progress() == 2
    assert registry.save_progress() == 0  # nothing grew: nothing written
    assert raw(store, one.id).reply == "First "
    assert raw(store, two.id).reply == "Second [redacted]"
    one.add("stream, more")
    registry.end(two)  # finished: no longer the registry's to save
    assert registry.halt_all() == 1 and one.halted
    assert store.get(one.id, "alice")[0].state == "shutdown"
    assert raw(store, one.id).reply == "First stream, more"
    assert store.get(two.id, "alice")[0].state == "running"
    registry.end(one)  # its request finished it: the pulse has nothing left and stops
