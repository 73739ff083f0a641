"""The run store, on SQLite and on a real PostgreSQL server (every test runs on both)."""

from __future__ import annotations

import json
import threading
import time

import pytest
import sqlalchemy as sa

from playground.errors import UpstreamError
from playground.store import Store, engine_for, runs
from playground.upstream import Run

KEY = "fake-store-key-0123456789"


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
    assert store.history("mallory")[1] == 0
    assert store.get(run_id, "alice") is not None


def test_ids_and_share_tokens_are_unguessable(store):
    ids = {store.save(make_run(), "alice") for _ in range(20)}
    assert len(ids) == 20 and all(len(i) >= 22 for i in ids)  # 16 random bytes
    token = store.share(next(iter(ids)), "alice")
    assert len(token) >= 32  # 24 random bytes = 192 bits


def test_history_is_newest_first_and_paginated(store):
    for i in range(7):
        store.save(make_run(prompt=f"prompt {i}", started_at=1_000 + i), "alice")
    rows, total = store.history("alice", per_page=3)
    assert total == 7 and [r.prompt for r in rows] == ["prompt 6", "prompt 5", "prompt 4"]
    rows, _ = store.history("alice", per_page=3, page=3)
    assert [r.prompt for r in rows] == ["prompt 0"]


def test_search_finds_prompts_and_replies_case_insensitively(store):
    store.save(make_run(prompt="Tell me about Paris", reply="A city"), "alice")
    store.save(make_run(prompt="Numbers", reply="100% of PARIS_fans"), "alice")
    store.save(make_run(prompt="Other", reply="Nothing"), "alice")
    store.save(make_run(prompt="paris", reply="not mine"), "bob")
    assert store.history("alice", query="paris")[1] == 2
    assert [r.prompt for r in store.history("alice", query="100%")[0]] == ["Numbers"]
    # LIKE wildcards in a search are literal characters, not patterns.
    assert store.history("alice", query="_fans")[1] == 1
    assert store.history("alice", query="%")[1] == 1


def test_filters_by_model_and_status(store):
    store.save(make_run(model="a"), "alice")
    store.save(make_run(model="b"), "alice")
    store.save(make_run(model="b", reply=None, state="error",
                        error=UpstreamError("server", "down")), "alice")
    assert store.models("alice") == ["a", "b"]
    assert store.history("alice", model="b")[1] == 2
    assert store.history("alice", model="b", state="error")[1] == 1
    assert store.history("alice", state="complete")[1] == 2


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
    assert [r.prompt for r in store.history("alice")[0]] == ["1d", "5d"]
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
    assert store.history("", query="concurrent")[1] == 0  # scoped to owners, none is ""
    assert sum(store.count(f"owner-{i}") for i in range(7)) == 200


def test_an_in_memory_sqlite_url_works_for_a_throwaway_run(tmp_path):
    store = Store(engine_for("sqlite://"))
    store.create()
    run_id = store.save(Run(request={"model": "m", "messages": []}, endpoint="x"), "me")
    assert store.get(run_id, "me") is not None and store.get(run_id, "you") is None
