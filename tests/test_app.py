"""Integration: the app against the fake upstream over real sockets, as a user sees it."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.helpers import PROMPT, SENTINEL_KEY, SYSTEM, Page, csrf_token, submit


def test_success_shows_reply_json_usage_and_keeps_the_form(run_form, upstream):
    page = run_form(model="fake/ok", prompt="Hello", system="Be kind", temperature="0.5")
    assert page.status == 200
    assert "Hello! How can I help you today?" in page.text(".reply")
    assert '"gen-1744545600-ExampleId123"' in page.text(".jt")
    stats = page.text(".usage")
    assert "Prompt tokens 5" in stats and "Completion tokens 12" in stats
    assert "Total tokens 17" in stats and "Cost n/a" in stats
    assert page.value(PROMPT) == "Hello" and page.value(SYSTEM) == "Be kind"
    assert page.value("temperature") == "0.5"
    assert "finish_reason: stop" in page.text(".finish")


def test_the_request_sent_upstream_is_exactly_what_the_user_set(run_form, upstream):
    run_form(model="fake/ok", prompt="Hi", max_tokens="64", stop="END", extra='{"top_k": 5}')
    sent = upstream.received[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == f"Bearer {SENTINEL_KEY}"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["body"] == {"model": "fake/ok", "messages": [{"role": "user", "content": "Hi"}],
                            "max_tokens": 64, "stop": ["END"], "top_k": 5}


def test_request_panel_shows_the_body_but_never_the_key(run_form):
    page = run_form(model="fake/ok", prompt="Hi")
    assert '"messages"' in page.text("#request-json")
    assert SENTINEL_KEY not in page.html
    assert all(SENTINEL_KEY not in v for v in page.response.headers.values())


def test_several_choices_are_all_shown(run_form):
    page = run_form(model="fake/choices", n="3")
    assert page.all_text(".choice .reply") == [f"Answer number {i}" for i in range(3)]


def test_tool_calls_are_readable_blocks(run_form):
    page = run_form(model="fake/tools")
    assert page.text(".tool-name") == "get_weather"
    assert '"city": "Paris"' in page.text(".tool-call pre")


def test_refusal_is_shown_distinctly(run_form):
    page = run_form(model="fake/refusal")
    assert "The model refused: I can't help with that request." in page.text(".refusal")


def test_reasoning_is_collapsed_and_separate_from_the_reply(run_form):
    page = run_form(model="fake/reasoning")
    reasoning = page.soup.select_one("details.reasoning")
    assert reasoning is not None and not reasoning.has_attr("open")
    assert "2 plus 2 makes 4" in reasoning.get_text()
    assert page.text(".reply") == "The answer is 4."


def test_missing_usage_shows_na_not_zero(run_form):
    stats = run_form(model="fake/no-usage").text(".usage")
    assert "Prompt tokens n/a" in stats and "Total tokens n/a" in stats
    assert "Tokens / s n/a" in stats


def test_cost_reported_by_aimlapi_meta_is_shown(run_form):
    assert "Cost $0.000123" in run_form(model="fake/cost").text(".usage")


def test_answering_model_is_named_when_it_differs(run_form, upstream):
    upstream.scenarios["alias"] = lambda h, m: h.send_json(
        200, {"model": "provider/real-model-2026", "choices": [
            {"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}]})
    assert "answered by provider/real-model-2026" in run_form(model="alias").text(".answered")


ERRORS = [
    ("fake/400", "The provider rejected the request", "temperature is out of range"),
    ("fake/401", "The API key was rejected", "Invalid API key provided"),
    ("fake/403", "The account cannot pay for this call", "enough credits"),
    ("fake/404", "does not know this model", "does not exist"),
    ("fake/429", "Rate limited", "Rate limit reached"),
    ("fake/502", "The provider is having trouble", "HTML page: 502 Bad Gateway"),
    ("fake/not-json", "not valid chat-completions JSON", "not JSON"),
    ("fake/drop", "could not be reached", "Connection failed"),
]


@pytest.mark.parametrize(("model", "title", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_upstream_failures_become_a_clear_error_card(run_form, model, title, message):
    page = run_form(model=model, prompt="Keep me")
    assert page.status == 200  # the failed run's own page, kept in the history
    assert title in page.text(".error-card h3")
    assert message in page.text(".error-card")
    assert page.text(".error-hint").startswith("What to do:")
    assert page.value(PROMPT) == "Keep me" and page.value("model") == model
    assert "Traceback" not in page.html


def test_error_card_names_status_request_id_and_shows_scrubbed_raw_body(run_form, upstream):
    upstream.scenarios["leaky"] = lambda h, m: h.send_json(
        401, {"message": f"Invalid key {SENTINEL_KEY}", "requestId": "aiml-77"})
    page = run_form(model="leaky")
    assert "HTTP 401" in page.text(".error-card .eyebrow")
    assert "aiml-77" in page.text(".error-card")
    assert "[redacted]" in page.text(".raw-body pre")
    assert SENTINEL_KEY not in page.html


def test_provider_rate_limit_tells_the_wait(run_form):
    page = run_form(model="fake/429")
    assert "wait 30 s" in page.text(".error-hint")


def test_server_error_then_success_is_retried_transparently(run_form, upstream):
    page = run_form(model="fake/flaky")
    assert page.status == 200 and "Hello!" in page.text(".reply")
    assert upstream.counts["fake/flaky"] == 2
    assert "2 attempts" in page.text(".inspect")


def test_timeout_is_reported_without_hanging(upstream, make_app):
    app = make_app(UPSTREAM_MAX_RETRIES=0, UPSTREAM_READ_TIMEOUT=0.3)
    upstream.slow_seconds = 1.0
    page = submit(app.test_client(), model="fake/slow")
    assert "took too long" in page.text(".error-card h3")


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"prompt": ""}, PROMPT, "Write a message to send"),
    ({"temperature": "NaN"}, "temperature", "finite"),
    ({"temperature": "7"}, "temperature", "between 0"),
    ({"max_tokens": "-5"}, "max_tokens", "between 1"),
    ({"max_tokens": str(10**12)}, "max_tokens", "between 1"),
    ({"extra": "{oops"}, "extra", "Not valid JSON"),
    ({"prompt": "x" * 1_000_000}, PROMPT, "longer than"),
    ({"model": "bad\x07model"}, "model", "control"),
])
def test_invalid_input_comes_back_in_the_form_without_an_upstream_call(
        run_form, upstream, fields, field, message):
    page = run_form(**fields)
    assert page.status == 400
    assert message in page.field_errors(field)
    assert upstream.received == []
    if field != PROMPT:
        assert page.value(PROMPT) == "Hello"


def test_missing_csrf_token_keeps_what_was_typed(client, upstream):
    page = Page(client.post("/", data={"model": "fake/ok", "prompt": "my long prompt"}))
    assert page.status == 400
    assert "security token" in page.text(".banner-warn")
    assert page.value(PROMPT) == "my long prompt"
    assert upstream.received == []


@pytest.mark.parametrize("path", ["/runs/abc/delete", "/runs/abc/share", "/history/delete",
                                  "/logout"])
def test_other_forms_without_a_token_get_a_plain_page(client, path):
    page = Page(client.post(path, data={"confirm": "yes"}))
    assert page.status == 400
    assert "reload the page, and send the form again" in page.text("main")
    assert page.soup.select_one("#prompt-form") is None


def test_a_stream_without_a_token_is_refused_before_any_call(client, upstream):
    response = client.post("/stream", data={"model": "fake/ok", "prompt": "typed"})
    assert response.status_code == 400 and response.mimetype != "text/event-stream"
    assert upstream.received == []


def test_oversized_body_gets_a_friendly_413(client):
    page = Page(client.post("/", data={"csrf_token": csrf_token(client),
                                       "prompt": "x" * (9 * 1024 * 1024)}))
    assert page.status == 413
    assert "larger than this server accepts" in page.text(".error-card")


def test_thousands_of_multipart_fields_are_refused(client, upstream):
    fields = {f"f{i}": "x" for i in range(5000)}
    response = client.post("/", data={"csrf_token": csrf_token(client), **fields},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and upstream.received == []


def test_unexpected_errors_show_a_page_not_a_traceback(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.extensions["providers"].default.complete = lambda *a, **k: 1 / 0
    page = submit(app.test_client())
    assert page.status == 500
    assert "Something went wrong" in page.text("h1") and "ZeroDivision" not in page.html


def test_security_headers_are_strict(client):
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_models_endpoint_lists_chat_models(client):
    assert client.get("/models").get_json() == {"models": ["fake/markdown", "fake/ok"]}


def test_demo_mode_says_so_and_answers_offline(demo_app: Flask):
    client = demo_app.test_client()
    home = Page(client.get("/"))
    assert "offline demo model" in home.text(".banner")
    assert home.value("model") == "demo"
    page = submit(client, model="demo", prompt="What is this?")
    assert page.status == 200
    assert "Hello from the offline demo model" in page.text(".reply h2")
    assert "offline demo" in page.text(".result-head")
    assert "Total tokens" in page.text(".usage") and "n/a" not in page.text(".usage dd")[:20]


def test_demo_applies_max_tokens_and_stop(demo_app):
    page = submit(demo_app.test_client(), model="demo", prompt="x", max_tokens="5")
    assert "finish_reason: length" in page.text(".finish")
    assert "Completion tokens 5" not in page.text(".usage")  # counted in words, not pieces


def test_a_local_server_without_key_is_not_demo_mode(upstream, make_app):
    app = make_app(AIMLAPI_API_KEY=None)
    page = submit(app.test_client(), model="fake/ok")
    assert "offline demo" not in page.html
    assert "Authorization" not in upstream.received[-1]["headers"]
    assert "Hello!" in page.text(".reply")
