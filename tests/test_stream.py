"""Integration: streaming through POST /stream against the fake upstream over real sockets."""

from __future__ import annotations

import json
import threading
import time

from tests.fake_upstream import AZURE_FINGERPRINT, AZURE_ID, AZURE_MODEL, REPLY, chunk
from tests.helpers import SENTINEL_KEY, Page, csrf_token, opened, stream, submit


def collect(client, **fields):
    response, events = stream(client, **fields)
    got = list(events)
    text = "".join(d for e, d in got if e == "content")
    result = next(d for e, d in got if e == "result")
    return response, got, text, result, Page_from(result["html"])


class Page_from(Page):  # noqa: N801 - reads like the Page it is
    def __init__(self, html: str) -> None:
        from bs4 import BeautifulSoup
        self.html, self.soup = html, BeautifulSoup(html, "html.parser")


def test_deltas_arrive_then_the_server_rendered_result(client, upstream):
    response, events, text, result, page = collect(client, model="fake/markdown")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["X-Accel-Buffering"] == "no"
    assert events[0][0] == "start"
    assert sum(1 for e, _ in events if e == "content") > 5
    assert text.startswith("# Title") and result["state"] == "complete"
    assert page.text(".reply h1") == "Title" and page.soup.select_one(".reply table")
    assert "Total tokens 17" in page.text(".usage")


def test_streamed_result_matches_the_no_js_result(client, upstream):
    *_, streamed = collect(client, model="fake/markdown")
    plain = submit(client, model="fake/markdown")
    assert streamed.text(".reply") == plain.text(".reply")
    assert streamed.text(".finish") == plain.text(".finish")
    tokens = ".usage dl div:nth-of-type(-n+3)"  # prompt, completion and total tokens
    assert streamed.all_text(tokens) == plain.all_text(tokens) == [
        "Prompt tokens 5", "Completion tokens 12", "Total tokens 17"]


def test_stream_asks_for_usage_and_shows_both_raw_views(client, upstream):
    *_, page = collect(client, model="fake/ok")
    body = upstream.received[-1]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert '"object": "chat.completion"' in page.text("#response-json")
    assert "chat.completion.chunk" in opened(client, page, "events").text("#stream-events")
    assert "First token" in page.text(".usage")


def test_azure_stream_keeps_the_id_and_model_that_its_filter_chunk_leaves_empty(client,
                                                                                upstream):
    _, _, text, result, page = collect(client, model="fake/azure")
    assert text == REPLY and result["state"] == "complete"
    response = client.get(result["url"] + ".json").get_json()["response"]
    assert (response["id"], response["model"], response["created"],
            response["system_fingerprint"]) == (AZURE_ID, AZURE_MODEL, 1744545600,
                                                AZURE_FINGERPRINT)
    assert response["prompt_filter_results"][0]["prompt_index"] == 0
    assert AZURE_ID in page.text("#response-json")


def test_provider_rejecting_stream_options_is_retried_once_without(client, upstream):
    _, _, text, _, page = collect(client, model="fake/reject-stream-options")
    assert text == REPLY
    assert upstream.counts["fake/reject-stream-options"] == 2
    assert "stream_options" not in upstream.received[-1]["body"]
    assert "n/a — not reported while streaming" in page.text(".usage")


def test_mid_stream_error_keeps_partial_text_and_is_not_resent(client, upstream):
    _, _, text, result, page = collect(client, model="fake/stream-error")
    assert text == "Partial answer before "
    assert result["state"] == "incomplete"
    assert "middle of the reply" in page.text(".error-card h3")
    assert "The model crashed mid-reply" in page.text(".error-card")
    assert page.text(".reply") == "Partial answer before"
    assert upstream.counts["fake/stream-error"] == 1


def test_dropped_stream_is_incomplete_and_not_resent(client, upstream):
    _, _, text, result, page = collect(client, model="fake/stream-drop")
    assert text == "Half a reply" and result["state"] == "incomplete"
    assert page.text(".pill") == "Incomplete"
    assert upstream.counts["fake/stream-drop"] == 1


def test_stream_without_done_is_incomplete(client, upstream):
    *_, result, page = collect(client, model="fake/stream-no-done")
    assert result["state"] == "incomplete"
    assert "[DONE]" in page.text(".error-card")


def test_idle_gap_past_the_read_timeout_ends_the_stream(client, upstream):
    # The app's read timeout is 1 s in tests; the stall lasts 6 s, so a stream that ended in
    # well under 6 s was ended by the timeout, not by the provider (room for a busy machine).
    upstream.slow_seconds = 6.0
    started = time.monotonic()
    _, _, text, result, page = collect(client, model="fake/stream-stall")
    assert time.monotonic() - started < 4.5
    assert text == "Before the stall. " and result["state"] == "incomplete"
    assert "took too long" in page.text(".error-card h3")


def test_sse_quirks_are_parsed(client, upstream):
    _, _, text, result, page = collect(client, model="fake/sse-quirks")
    assert text == "Hello world" and result["state"] == "complete"
    assert "Total tokens 6" in page.text(".usage")


def test_error_before_any_token_is_an_error_card(client, upstream):
    *_, result, page = collect(client, model="fake/401")
    assert result["state"] == "error"
    assert "The API key was rejected" in page.text(".error-card h3")


def test_first_delta_reaches_the_client_before_the_upstream_finishes(client, upstream):
    release = threading.Event()

    def gated(h, model):
        h.start_sse()
        h.event(chunk(model, {"content": "first "}))
        release.wait(5)
        h.event(chunk(model, {"content": "second"}))
        h.event(chunk(model, {}, finish="stop"))
        h.end_sse()

    upstream.scenarios["gated"] = gated
    _, events = stream(client, model="gated")
    assert next(events)[0] == "start"
    assert next(events) == ("content", "first ")
    assert not release.is_set()  # the upstream is still holding its second token
    release.set()
    assert "".join(d for e, d in events if e == "content") == "second"


def test_closing_the_stream_closes_the_upstream_connection(client, upstream):
    upstream.trickle_delay = 0.05
    response, events = stream(client, model="fake/trickle")
    assert next(events)[0] == "start"
    assert next(events)[0] == "content"
    response.close()  # what Werkzeug/gunicorn do when the browser goes away or presses Stop
    deadline = time.monotonic() + 3
    while upstream.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert upstream.disconnects == 1


def test_invalid_form_is_refused_before_any_upstream_call(client, upstream):
    data = {"csrf_token": csrf_token(client), "model": "fake/ok", "prompt": ""}
    response = client.post("/stream", data=data)
    assert response.status_code == 400
    assert "turns-1-content" in response.get_json()["errors"]  # the user turn, left empty
    assert upstream.received == []


def test_the_key_never_appears_in_the_stream(client, upstream):
    upstream.scenarios["echo"] = lambda h, m: h.send_json(
        401, {"error": {"message": f"bad key {h.headers['Authorization']}"}})
    response, events = stream(client, model="echo")
    raw = json.dumps(list(events))
    assert SENTINEL_KEY not in raw and "[redacted]" in raw


def test_demo_model_streams_offline(demo_app):
    _, events, text, result, page = collect(demo_app.test_client(), model="demo-reasoning")
    assert text.startswith("## Hello from the offline demo model")
    assert any(e == "reasoning" for e, _ in events)
    assert "Reasoning" in page.text("details.reasoning summary")
    assert result["state"] == "complete" and "offline demo" in page.text(".result-head")


def test_a_server_that_ignores_stream_true_still_gets_a_result(client, upstream):
    _, events, text, result, page = collect(client, model="fake/reasoning")
    assert text == "The answer is 4." and ("reasoning", "2 plus 2 makes 4, checked twice.") \
        in events
    assert result["state"] == "complete"
    assert page.text(".reply") == "The answer is 4."
    assert "one JSON object, not a stream" in page.text(".usage")


def test_cost_from_a_final_chunk_meta_is_shown(client, upstream):
    def with_cost(h, model):
        h.start_sse()
        h.event(chunk(model, {"content": "Cheap answer"}))
        h.event(chunk(model, {}, finish="stop"))
        h.event(chunk(model, None, usage={"prompt_tokens": 2, "completion_tokens": 2,
                                          "total_tokens": 4},
                      meta={"usage": {"tokens_used": 4, "usd_spent": 0.00042}}))
        h.end_sse()

    upstream.scenarios["costly"] = with_cost
    *_, page = collect(client, model="costly")
    assert "Cost $0.00042 billed" in page.text(".usage")
    assert "Total tokens 4" in page.text(".usage")
