"""Integration: Compare against the real fake upstream — lanes at once, budgets, the diff."""

from __future__ import annotations

import json
import time

import pytest

from playground import lanes
from playground.codegen import Snippet
from tests.fake_upstream import words
from tests.helpers import PROMPT, SENTINEL_KEY, SYSTEM, Page, csrf_token, sse_events, submit
from tests.snippets import printed_text, run


def compare_form(client, models, **fields) -> dict:
    data = {"csrf_token": csrf_token(client), "prompt": "Compare this", "action": "run"}
    for number, model in enumerate(models):
        data[f"lanes-{number}-model"] = model
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def compare(client, models, follow=True, **fields) -> Page:
    """Post the compare form as a browser without JavaScript does."""
    return Page(client.post("/compare", data=compare_form(client, models, **fields),
                            follow_redirects=follow))


def reserve(client, models, **fields):
    """Post the compare form as the page's script does: the lanes' tokens, nothing sent."""
    return client.post("/compare", data=compare_form(client, models, **fields),
                       headers={"X-Compare": "stream"})


def stream_lane(client, token):
    response = client.post("/stream", data={"csrf_token": csrf_token(client), "lane": token},
                           buffered=False)
    return response, sse_events(response)


def says(text: str):
    """A scenario that streams exactly ``text``."""
    def scenario(h, model):
        h.stream_text(model, text)
    return scenario


def lane_states(page: Page) -> list[str]:
    return [node["data-state"] for node in page.soup.select("section.lane")]


def test_lanes_are_called_at_the_same_time(client, upstream):
    upstream.trickle_delay = 0.03  # 40 words: over a second per lane
    page = compare(client, ["fake/trickle", "fake/trickle", "fake/trickle"])
    assert page.status == 200 and lane_states(page) == ["complete"] * 3
    calls = [r for r in upstream.received if r["method"] == "POST"]
    assert len(calls) == 3
    # Every call arrived before any other finished: the lanes overlapped, none waited its turn.
    assert max(c["arrived"] for c in calls) < min(c["finished"] for c in calls)
    assert page.all_text(".lane-title") == [f"Lane {n} fake/trickle" for n in (1, 2, 3)]


def test_a_failing_lane_shows_its_error_card_and_the_other_its_reply(client, upstream):
    page = compare(client, ["fake/401", "fake/ok"])
    assert lane_states(page) == ["error", "complete"]
    assert "The API key was rejected" in page.text("#lane-0 .error-card")
    assert page.text("#lane-1 .reply")
    assert not page.soup.select("#lane-1 .error-card")
    assert SENTINEL_KEY not in page.html


def test_each_lane_sends_its_own_overrides_and_the_shared_seed(client, upstream):
    compare(client, ["fake/ok", "fake/cost"], **{
        "lanes-0-temperature": "0.2", "lanes-1-max_tokens": "50",
        "lanes-1-reasoning_effort": "high", "lanes-1-extra": '{"top_k": 5}',
        "lanes-1-seed": "1", "same_seed": "y", "seed": "42", "system": "Be brief"})
    bodies = {r["body"]["model"]: r["body"] for r in upstream.received if r["body"]}
    assert bodies["fake/ok"]["temperature"] == 0.2 and bodies["fake/ok"]["seed"] == 42
    assert bodies["fake/cost"]["max_tokens"] == 50 and bodies["fake/cost"]["top_k"] == 5
    assert bodies["fake/cost"]["reasoning_effort"] == "high"
    assert bodies["fake/cost"]["seed"] == 42  # the shared seed wins over the lane's own
    for body in bodies.values():
        assert body["messages"] == [{"role": "system", "content": "Be brief"},
                                    {"role": "user", "content": "Compare this"}]


def test_an_invalid_form_is_refused_and_sends_nothing(client, upstream):
    page = compare(client, ["fake/ok", ""], **{"lanes-0-temperature": "9"})
    assert page.status == 400
    assert page.field_errors("lanes-1-model") == "Enter a model name."
    assert "between 0" in page.field_errors("lanes-0-temperature")
    assert upstream.received == []


def test_lanes_are_added_and_removed_without_javascript(client, upstream):
    page = compare(client, ["fake/ok", "fake/cost"], action="add-lane")
    assert page.status == 200 and len(page.soup.select(".lane-field")) == 3
    assert page.value("lanes-1-model") == "fake/cost"
    data = compare_form(client, ["a", "b", "c"], action="remove-lane-1")
    page = Page(client.post("/compare", data=data))
    assert [page.value(f"lanes-{n}-model") for n in range(2)] == ["a", "c"]
    assert upstream.received == []


def test_a_comparison_that_does_not_fit_the_slots_is_refused_whole(make_app, upstream):
    client = make_app(PLAYGROUND_MAX_STREAMS_PER_CLIENT=2).test_client()
    page = compare(client, ["fake/ok", "fake/ok", "fake/ok"])
    assert page.status == 429 and "3 lanes needs 3 runs in progress" in page.text(".limit-card")
    assert upstream.received == []
    # Its slots were never taken: two lanes fit, and are free again afterwards.
    assert lane_states(compare(client, ["fake/ok", "fake/ok"])) == ["complete"] * 2
    assert lane_states(compare(client, ["fake/ok", "fake/ok"])) == ["complete"] * 2


def test_a_comparison_over_the_run_budget_spends_none_of_it(make_app, upstream):
    client = make_app(PLAYGROUND_RATE_LIMIT="4/minute").test_client()
    assert lane_states(compare(client, ["fake/ok"] * 3)) == ["complete"] * 3
    page = compare(client, ["fake/ok"] * 2)
    assert page.status == 429 and "counts 2 runs" in page.text(".limit-card")
    assert len(upstream.received) == 3
    assert submit(client).status == 200  # the one run left was not spent by the refusal
    assert submit(client).status == 429


def test_lane_tokens_hold_the_slots_until_the_lanes_end(make_app, upstream):
    client = make_app(PLAYGROUND_MAX_STREAMS_PER_CLIENT=2).test_client()
    answer = reserve(client, ["fake/ok", "fake/cost"]).get_json()
    assert [lane["model"] for lane in answer["lanes"]] == ["fake/ok", "fake/cost"]
    assert upstream.received == []  # reserved, not sent
    assert submit(client).status == 429  # both slots are the comparison's
    for lane in answer["lanes"]:
        response, events = stream_lane(client, lane["token"])
        names = [name for name, _ in events]
        assert names[0] == "start" and names[-1] == "result"
    assert submit(client).status == 200  # each lane gave its slot back
    page = Page(client.get(answer["url"]))
    assert lane_states(page) == ["complete", "complete"]
    assert "$" in page.text(".total-cost")  # fake/cost reports a cost


def test_a_lane_token_is_single_use_and_its_owners_only(app, upstream):
    owner, stranger = app.test_client(), app.test_client()
    answer = reserve(owner, ["fake/ok", "fake/ok"]).get_json()
    first, second = (lane["token"] for lane in answer["lanes"])
    response = stranger.post("/stream", data={"csrf_token": csrf_token(stranger),
                                              "lane": first})
    assert response.status_code == 403 and upstream.received == []
    _, events = stream_lane(owner, first)
    assert [name for name, _ in events][-1] == "result"
    response = owner.post("/stream", data={"csrf_token": csrf_token(owner), "lane": first})
    assert response.status_code == 403 and len(upstream.received) == 1
    response = owner.post("/stream", data={"csrf_token": csrf_token(owner),
                                           "lane": second[:-2] + "xx"})
    assert response.status_code == 403


def test_unused_tokens_expire_free_their_slots_and_end_their_lanes(make_app, upstream):
    app = make_app(PLAYGROUND_MAX_STREAMS_PER_CLIENT=2)
    client = app.test_client()
    answer = reserve(client, ["fake/ok", "fake/ok"]).get_json()
    assert submit(client).status == 429
    store, slots = app.extensions["runs"], app.extensions["budget"].slots
    owner = _owner_of(store, answer)
    lanes._expire(store, slots, answer["id"], owner, 0.0, now=time.time() + 60)
    assert submit(client).status == 200
    page = Page(client.get(answer["url"]))
    assert lane_states(page) == ["stopped", "stopped"]
    assert "was never sent" in page.text("#lane-0")
    response = client.post("/stream", data={"csrf_token": csrf_token(client),
                                            "lane": answer["lanes"][0]["token"]})
    assert response.status_code == 403 and len(upstream.received) == 1  # only the submit


def _owner_of(store, answer):
    import sqlalchemy as sa

    from playground.store import runs
    with store.engine.connect() as conn:
        return conn.execute(sa.select(runs.c.owner).where(
            runs.c.id == answer["lanes"][0]["run"])).scalar_one()


def test_a_lane_stopped_mid_stream_is_saved_stopped_while_the_other_finishes(client, upstream):
    upstream.trickle_delay = 0.05
    answer = reserve(client, ["fake/trickle", "fake/ok"]).get_json()
    slow, _ = stream_lane(client, answer["lanes"][0]["token"])
    events = sse_events(slow)
    assert next(events)[0] == "start" and next(events)[0] == "content"
    _, other = stream_lane(client, answer["lanes"][1]["token"])
    assert [name for name, _ in other][-1] == "result"
    slow.close()  # the lane's Stop: the browser aborts that one request
    deadline = time.monotonic() + 3
    while upstream.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert upstream.disconnects == 1
    page = Page(client.get(answer["url"]))
    assert lane_states(page) == ["stopped", "complete"]
    assert "Stopped by you" in page.text("#lane-0")


def test_the_deadline_answers_with_what_arrived_and_saves_the_rest_as_cut(make_app, upstream):
    client = make_app(PLAYGROUND_COMPARE_DEADLINE=0.5).test_client()
    started = time.monotonic()
    try:
        page = compare(client, ["fake/ok", "fake/hold"])
        took = time.monotonic() - started
    finally:
        upstream.release.set()
    assert took < upstream.hold_seconds  # answered at the limit, not when the lane ended
    assert lane_states(page) == ["complete", "cut"]
    assert "Partial answer so far." in page.text("#lane-1 .reply")
    assert "Cut at the comparison's 0.5 s limit" in page.text("#lane-1")
    time.sleep(0.3)  # the cut lane's worker ends once released; the saved cut stays
    again = Page(client.get(page.response.request.path))
    assert lane_states(again) == ["complete", "cut"]
    assert "Cut by the time limit" in again.text("#lane-1 .pill")


def test_the_diff_of_two_known_replies(client, upstream):
    upstream.scenarios["fake/a"] = says("The cat sat on the mat.")
    upstream.scenarios["fake/b"] = says("The dog sat on the mat today.")
    page = compare(client, ["fake/a", "fake/b"])
    path = page.response.request.path
    diff = Page(client.get(f"{path}?a=0&b=1"))
    assert [d.text for d in diff.soup.select("#diff-result .diff del")] == ["cat"]
    assert [i.text for i in diff.soup.select("#diff-result .diff ins")] == ["dog", " today"]
    assert "2 words inserted" in diff.text(".diff-legend")
    partial = client.get(f"{path}/diff?a=1&b=0").get_data(as_text=True)
    assert "<ins class=\"diff-ins\">cat</ins>" in partial
    assert client.get(f"{path}/diff?a=0&b=7").status_code == 404


def test_reloading_a_comparison_calls_nobody(client, upstream):
    page = compare(client, ["fake/ok", "fake/cost"])
    sent = len(upstream.received)
    again = Page(client.get(page.response.request.path))
    assert again.status == 200 and lane_states(again) == ["complete", "complete"]
    assert len(upstream.received) == sent
    assert again.value("lanes-1-model") == "fake/cost"  # the form, for Re-run or edits
    rows = again.soup.select(".metrics-table tbody tr")
    assert [r.th.get_text(" ").split(" ")[0] for r in rows][:2] == ["Time", "Total"]


def test_rerun_sends_the_same_comparison_again_as_a_new_one(client, upstream):
    page = compare(client, ["fake/ok", "fake/cost"], **{"lanes-0-temperature": "0.5"})
    path = page.response.request.path
    again = Page(client.post(f"{path}/rerun", data={"csrf_token": csrf_token(client)},
                             follow_redirects=True))
    assert again.response.request.path != path and lane_states(again) == ["complete"] * 2
    again_sent = [r["body"] for r in upstream.received[2:]]  # lanes arrive in any order
    assert sorted(b["model"] for b in again_sent) == ["fake/cost", "fake/ok"]
    assert next(b for b in again_sent if b["model"] == "fake/ok")["temperature"] == 0.5


def test_history_lists_a_comparison_as_one_row(client, upstream):
    submit(client, prompt="A single run")
    compare(client, ["fake/ok", "fake/cost", "fake/markdown"])
    history = Page(client.get("/history"))
    assert len(history.soup.select("tr.run-row")) == 2
    row = history.soup.select_one("tr.comparison-row")
    assert "Compare · 3 lanes" in row.get_text(" ")
    assert "2 runs kept" in history.text(".history-head")
    link = row.select_one("a.run-link")["href"]
    assert lane_states(Page(client.get(link))) == ["complete"] * 3


def test_sharing_shows_the_lanes_and_nothing_else(app, upstream):
    owner, stranger = app.test_client(), app.test_client()
    page = compare(owner, ["fake/ok", "fake/markdown"])
    path = page.response.request.path
    shared = Page(owner.post(f"{path}/share", data={"csrf_token": csrf_token(owner)},
                             follow_redirects=True))
    link = shared.soup.select_one("#share-url")["value"]
    seen = Page(stranger.get(link))
    assert seen.status == 200 and lane_states(seen) == ["complete", "complete"]
    assert not seen.soup.select("form[data-compare]") and not seen.soup.select("#share")
    assert "AIMLAPI_BASE_URL" in seen.text("#lane-0-get-code")  # no server address shown
    assert upstream.base_url not in seen.html
    lane_ids = [a["href"].rsplit("/", 1)[1] for a in page.soup.select(".lane-actions a")
                if "/runs/" in a["href"]]
    assert len(lane_ids) == 2
    for run_id in lane_ids:
        assert stranger.get(f"/runs/{run_id}").status_code == 404
    assert stranger.get(path).status_code == 404
    assert Page(stranger.get(f"{link}?a=0&b=1")).soup.select("#diff-result .diff")
    owner.post(f"{path}/revoke", data={"csrf_token": csrf_token(owner)})
    assert stranger.get(link).status_code == 404


def test_export_is_the_comparison_as_json_and_its_runs_as_json_lines(client, upstream):
    page = compare(client, ["fake/ok", "fake/cost"], **{"lanes-1-temperature": "0.3"})
    path = page.response.request.path
    data = json.loads(client.get(f"{path}.json").get_data(as_text=True))
    assert data["models"] == ["fake/ok", "fake/cost"] and data["prompt"] == "Compare this"
    assert [lane["request"]["model"] for lane in data["lanes"]] == ["fake/ok", "fake/cost"]
    assert data["lanes"][1]["request"]["temperature"] == 0.3
    lines = client.get(f"{path}.jsonl").get_data(as_text=True).splitlines()
    assert [json.loads(line)["state"] for line in lines] == ["complete", "complete"]
    assert SENTINEL_KEY not in "".join(lines)


def test_hostile_lane_replies_are_escaped_in_lanes_and_diff(client, upstream):
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)"> **bold**'
    upstream.scenarios["fake/evil"] = says(hostile)
    page = compare(client, ["fake/evil", "fake/ok"])
    path = page.response.request.path
    diff = Page(client.get(f"{path}?a=0&b=1"))
    for seen in (page, diff):
        assert "<script>alert" not in seen.html and not seen.soup.select("[onerror]")
        assert all(script.get("src") for script in seen.soup.find_all("script"))
    assert diff.soup.select_one("#diff-result del") is not None
    assert "<script>alert(1)</script>" in diff.soup.select_one("#diff-result .diff").get_text()


def test_a_comparison_is_deleted_with_its_lanes(client, upstream):
    page = compare(client, ["fake/ok", "fake/ok"])
    path = page.response.request.path
    lane_ids = [a["href"].rsplit("/", 1)[1] for a in page.soup.select(".lane-actions a")
                if "/runs/" in a["href"]]
    client.post(f"{path}/delete", data={"csrf_token": csrf_token(client)})
    assert client.get(path).status_code == 404
    assert all(client.get(f"/runs/{i}").status_code == 404 for i in lane_ids)


@pytest.mark.parametrize("model_count", [1, 5])
def test_two_to_four_lanes(client, upstream, model_count):
    page = compare(client, ["fake/ok"] * model_count)
    assert page.status == 400 and upstream.received == []


def test_lane_event_stream_carries_deltas_in_order(client, upstream):
    text = "one two three four"
    upstream.scenarios["fake/four"] = says(text)
    answer = reserve(client, ["fake/four", "fake/ok"]).get_json()
    _, events = stream_lane(client, answer["lanes"][0]["token"])
    got = list(events)
    assert [d for n, d in got if n == "content" and d] == words(text)
    result = dict(got)["result"]
    assert result["state"] == "complete" and 'id="lane-0"' in result["html"]


@pytest.mark.parametrize("key, lang, filename", [
    ("python-requests", "python", "chat.py"), ("curl", "bash", "chat.sh")])
def test_a_lanes_code_sends_what_that_lane_sent(client, upstream, tmp_path, key, lang,
                                                filename):
    upstream.scenarios["fake/a"] = says("Lane A says hi.")
    page = compare(client, ["fake/ok", "fake/a"], **{"lanes-1-temperature": "0.7",
                                                     "lanes-1-extra": '{"top_k": 3}'})
    sent = next(r["body"] for r in upstream.received if r["body"]["model"] == "fake/a")
    node = page.soup.select_one(f"#lane-1-code-{key}")
    assert node is not None and page.soup.select_one(f"#lane-0-code-{key}") is not None
    snippet = Snippet(key, key, lang, filename, node.get_text())
    ran = run(snippet, tmp_path, upstream=upstream)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert upstream.received[-1]["body"] == sent  # streamed, temperature, top_k: all of it
    assert "Lane A says hi." in printed_text(snippet, ran.stdout)
    assert SENTINEL_KEY not in page.text("#lane-1-get-code")


def test_lanes_reserved_on_one_instance_stream_and_free_on_another(make_app, upstream,
                                                                    redis_url):
    import redis

    config = {"PLAYGROUND_MAX_STREAMS_PER_CLIENT": 2, "RATELIMIT_STORAGE_URI": redis_url,
              "PLAYGROUND_SINGLE_USER": True}
    one, two = make_app(**config).test_client(), make_app(**config).test_client()
    answer = reserve(one, ["fake/ok", "fake/cost"]).get_json()
    held = redis.Redis.from_url(redis_url)
    assert int(held.get("playground:inflight:127.0.0.1")) == 2
    assert submit(two).status == 429  # the other instance sees the slots taken
    for lane in answer["lanes"]:
        _, events = stream_lane(two, lane["token"])
        assert [name for name, _ in events][-1] == "result"
    assert int(held.get("playground:inflight:127.0.0.1")) == 0
    assert lane_states(Page(one.get(answer["url"]))) == ["complete", "complete"]


def test_comparisons_on_each_database(make_app, upstream, db_url):
    client = make_app(DATABASE_URL=db_url).test_client()
    page = compare(client, ["fake/ok", "fake/cost"])
    assert lane_states(page) == ["complete", "complete"]
    answer = reserve(client, ["fake/ok", "fake/ok"]).get_json()
    _, events = stream_lane(client, answer["lanes"][0]["token"])
    assert [name for name, _ in events][-1] == "result"
    assert stream_lane(client, answer["lanes"][0]["token"])[0].status_code == 403
    assert len(Page(client.get("/history")).soup.select("tr.comparison-row")) == 2


def test_a_visitors_own_key_goes_with_every_lane_and_is_never_kept(make_app, upstream):
    client = make_app(PLAYGROUND_ALLOW_USER_KEYS=True).test_client()
    mine = "visitor-key-0123456789"
    page = compare(client, ["fake/ok", "fake/cost"], user_key=mine)
    assert lane_states(page) == ["complete", "complete"]
    answer = reserve(client, ["fake/ok", "fake/ok"], user_key=mine).get_json()
    response = client.post("/stream", data={"csrf_token": csrf_token(client), "user_key": mine,
                                            "lane": answer["lanes"][0]["token"]})
    assert response.status_code == 200
    keys = {r["headers"]["Authorization"] for r in upstream.received}
    assert keys == {f"Bearer {mine}"}
    exported = client.get(f"{page.response.request.path}.jsonl").get_data(as_text=True)
    assert mine not in exported and mine not in page.html


def test_prune_removes_comparisons_left_without_lanes(make_app, upstream):
    app = make_app()
    client = app.test_client()
    compare(client, ["fake/ok", "fake/ok"])
    submit(client)
    result = app.test_cli_runner().invoke(args=["runs", "prune", "--keep", "1"])
    assert "Deleted 2 runs and 1 comparison left without lanes." in result.output
    history = Page(client.get("/history"))
    assert not history.soup.select("tr.comparison-row")


def test_a_reasoning_lane_shows_its_reasoning_beside_the_others(client, upstream):
    page = compare(client, ["fake/reasoning", "fake/ok"])
    assert page.soup.select_one("#lane-0 details.reasoning") is not None
    assert page.soup.select_one("#lane-1 details.reasoning") is None


def test_compare_from_a_run_page_starts_from_its_conversation_and_model(client, upstream):
    run = submit(client, model="fake/markdown", prompt="Start here", system="Be kind")
    link = run.soup.find("a", string="Compare…")["href"]
    page = Page(client.get(link))
    assert page.value(PROMPT) == "Start here" and page.value(SYSTEM) == "Be kind"
    assert page.value("lanes-0-model") == "fake/markdown"
    assert len(page.soup.select(".lane-field")) >= 2
    top = Page(client.get("/"))
    assert top.soup.select_one("nav a[href='/compare']").get_text() == "Compare"


def test_every_lane_sends_the_conversation_editors_turns_variables_and_tools(client, upstream):
    tools = json.dumps([{"type": "function", "function": {
        "name": "get_time", "parameters": {"type": "object", "properties": {}}}}])
    fields = {"turns-0-role": "system", "turns-0-content": "Answer as {{who}}",
              "turns-1-role": "user", "turns-1-content": "Hello",
              "turns-2-role": "assistant", "turns-2-content": "Hi!",
              "turns-3-role": "user", "turns-3-content": "Time please",
              "variables-who": "a pirate", "tools": tools, "tool_choice": "auto"}
    page = compare(client, ["fake/ok", "fake/tools"], prompt=None, **fields)
    assert lane_states(page) == ["complete", "complete"]
    bodies = [r["body"] for r in upstream.received]
    for body in bodies:
        assert [m["content"] for m in body["messages"]] == [
            "Answer as a pirate", "Hello", "Hi!", "Time please"]
        assert body["tools"] == json.loads(tools) and body["tool_choice"] == "auto"
    assert page.value("turns-0-content") == "Answer as {{who}}"  # the template is kept
    edited = Page(client.post("/compare", data=compare_form(
        client, ["fake/ok", "fake/ok"], prompt=None, action="add-user", **fields)))
    assert edited.status == 200 and len(edited.soup.select("[name$=-role]")) >= 5
    assert len(upstream.received) == 2  # editing the conversation sends nothing
def test_a_lanes_run_page_leads_back_to_its_comparison(client, upstream):
    page = compare(client, ["fake/ok", "fake/cost"])
    path = page.response.request.path
    run_link = page.soup.select("#lane-1 .lane-actions a")[1]["href"]
    run_page = Page(client.get(run_link))
    assert run_page.soup.find("a", string="Its comparison")["href"] == f"{path}#lane-1"


def test_an_expired_form_comes_back_as_typed_and_sends_nothing(make_app, upstream):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    data = compare_form(client, ["fake/ok", "fake/cost"], **{"lanes-1-temperature": "0.4"})
    data["csrf_token"] = "expired"
    page = Page(client.post("/compare", data=data))
    assert page.status == 400 and "security token" in page.text(".banner-warn")
    assert page.value("lanes-1-model") == "fake/cost" and page.value("lanes-1-temperature") == "0.4"
    assert upstream.received == []


def _saved_lanes(app, comparison_path: str) -> list[dict]:
    import sqlalchemy as sa

    from playground.store import runs

    comparison_id = comparison_path.rstrip("/").rsplit("/", 1)[-1]
    with app.extensions["runs"].engine.connect() as conn:
        rows = conn.execute(sa.select(runs.c.lane, runs.c.data)
                            .where(runs.c.comparison_id == comparison_id)
                            .order_by(runs.c.lane)).all()
    return [json.loads(data) for _lane, data in rows]


@pytest.mark.parametrize("script", [False, True], ids=["no-js", "streamed"])
def test_each_lane_keeps_its_price_and_its_audit_like_a_single_run(app, client, upstream,
                                                                    script):
    """Issue 12: every run stores the price it was estimated with and its audit; a lane is a
    run, in both paths."""
    models = ["openai/gpt-4o", "fake/ok"]  # priced in the catalogue; not in it
    if script:
        answer = reserve(client, models).get_json()
        for lane in answer["lanes"]:
            assert [name for name, _ in stream_lane(client, lane["token"])[1]][-1] == "result"
        path = answer["url"]
    else:
        path = compare(client, models).response.request.path
    priced, unpriced = _saved_lanes(app, path)
    assert priced["price"]["input"] and priced["estimate"]["usd"] is not None
    assert unpriced["price"] is None and unpriced["estimate"]["usd"] is None
    for lane in (priced, unpriced):
        lines = {line["parameter"]: line for line in lane["audit"]}
        assert lines["model"]["status"] == "ok"  # the model that answered, as asked
    page = Page(client.get(path))
    run_page = Page(client.get(page.soup.select("#lane-0 .lane-actions a")[1]["href"]))
    assert "model" in run_page.text(".audit") and "estimated" in run_page.text(".usage")
