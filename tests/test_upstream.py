"""Unit: error bodies in every shape become one UpstreamError; retries follow the SDK rules."""

from __future__ import annotations

import json

import pytest

from playground.errors import UpstreamError, error_from_body, parse_retry_after, scrub
from playground.upstream import ChatClient

SHAPES = [
    ("openai", 401, {"error": {"message": "Incorrect API key provided", "type": "auth",
                               "code": "invalid_api_key"}}, "auth", "Incorrect API key"),
    ("aimlapi", 403, {"message": "Insufficient credits", "path": "/v1/chat/completions",
                      "requestId": "r-1", "statusCode": 403, "timestamp": "t"},
     "credits", "Insufficient credits"),
    ("detail", 404, {"detail": "Model not found"}, "not_found", "Model not found"),
    ("detail list", 422, {"detail": [{"loc": ["body", "x"], "msg": "field required"}]},
     "bad_request", "field required"),
    ("nestjs list", 400, {"message": ["temperature must be <= 2", "n must be int"]},
     "bad_request", "temperature must be <= 2; n must be int"),
    ("error string", 500, {"error": "upstream exploded"}, "server", "upstream exploded"),
    ("plain text", 503, "Service Unavailable", "server", "Service Unavailable"),
    ("html page", 502, "<html><head><title>502 Bad Gateway</title></head></html>", "server",
     "HTML page: 502 Bad Gateway"),
    ("empty", 500, "", "server", "an empty body"),
    ("quota 429", 429, {"error": {"message": "You exceeded your current quota",
                                  "code": "insufficient_quota"}}, "credits", "exceeded"),
    ("rate 429", 429, {"error": {"message": "Slow down"}}, "rate_limited", "Slow down"),
    ("200 with error code", 200, {"error": {"message": "Provider returned error", "code": 502}},
     "server", "Provider returned error"),
]


@pytest.mark.parametrize(("status", "body", "kind", "message"),
                         [s[1:] for s in SHAPES], ids=[s[0] for s in SHAPES])
def test_every_error_shape_is_normalised(status, body, kind, message):
    text = body if isinstance(body, str) else json.dumps(body)
    error = error_from_body(status, {}, text)
    assert error.kind == kind
    assert message in error.message
    assert error.body == text
    assert error.title and error.hint


def test_request_id_from_header_or_aimlapi_body():
    assert error_from_body(500, {"x-request-id": "h-1"}, "{}").request_id == "h-1"
    assert error_from_body(401, {}, json.dumps({"requestId": "b-2"})).request_id == "b-2"


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"retry-after": "3"}, 3.0), ({"retry-after-ms": "250"}, 0.25),
    ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0), ({"retry-after": "soon"}, None),
    ({}, None)])
def test_retry_after_forms(headers, seconds):
    assert parse_retry_after(headers) == seconds


def test_retryable_statuses_and_overrides():
    assert error_from_body(429, {}, "{}").retryable
    assert error_from_body(503, {}, "{}").retryable
    assert not error_from_body(400, {}, "{}").retryable
    assert not error_from_body(404, {}, "{}").retryable
    assert not error_from_body(503, {"x-should-retry": "false"}, "{}").retryable
    assert error_from_body(400, {"x-should-retry": "true"}, "{}").retryable


def test_rate_limit_hint_names_the_wait():
    error = error_from_body(429, {"retry-after": "30"}, "{}")
    assert "30 s" in error.hint


def test_scrub_removes_the_key_everywhere():
    assert scrub("key sk-abcdef and again sk-abcdef", ("sk-abcdef",)) == \
        "key [redacted] and again [redacted]"
    assert scrub("nothing", ("",)) == "nothing"


def client_for(upstream, **kwargs) -> tuple[ChatClient, list[float]]:
    sleeps: list[float] = []
    client = ChatClient(upstream.base_url, "sk-unit-key-123456", read_timeout=1.0,
                        sleep=sleeps.append, trust_env=False, **kwargs)
    return client, sleeps


def body(model: str, **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def test_server_error_is_retried_with_backoff_then_succeeds(upstream):
    client, sleeps = client_for(upstream)
    run = client.complete(body("fake/flaky"))
    assert run.error is None and run.attempts == 2
    assert len(sleeps) == 1 and 0.375 <= sleeps[0] <= 0.5
    assert upstream.counts["fake/flaky"] == 2


@pytest.mark.parametrize("model", ["fake/400", "fake/401", "fake/403", "fake/404"])
def test_client_errors_are_never_retried(upstream, model):
    client, sleeps = client_for(upstream)
    run = client.complete(body(model))
    assert run.error is not None and run.attempts == 1 and sleeps == []
    assert upstream.counts[model] == 1


def test_retry_after_beyond_the_limit_is_not_waited_for(upstream):
    client, sleeps = client_for(upstream)
    run = client.complete(body("fake/429"))
    assert run.error.kind == "rate_limited" and run.error.retry_after == 30
    assert sleeps == [] and upstream.counts["fake/429"] == 1


def test_at_most_two_retries(upstream):
    upstream.scenarios["always-500"] = lambda h, m: h.send_json(500, {"error": "down"})
    client, sleeps = client_for(upstream)
    run = client.complete(body("always-500"))
    assert run.error.kind == "server" and upstream.counts["always-500"] == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 1.2


def test_key_echoed_by_the_provider_is_scrubbed(upstream):
    upstream.scenarios["echo"] = lambda h, m: h.send_json(
        401, {"error": {"message": f"bad key {h.headers['Authorization'][7:]}"}})
    client, _ = client_for(upstream)
    run = client.complete(body("echo"))
    assert "sk-unit-key-123456" not in run.error.message + run.error.body
    assert "[redacted]" in run.error.message


def test_response_over_the_byte_cap_is_cut(upstream):
    upstream.scenarios["huge"] = lambda h, m: h.send_body(200, b"x" * 300_000, "text/plain")
    client, _ = client_for(upstream, max_bytes=100_000)
    run = client.complete(body("huge"))
    assert run.error.kind == "too_large"


def test_redirects_are_not_followed(upstream):
    upstream.scenarios["redirect"] = lambda h, m: h.send_body(
        307, b"", "text/plain", {"Location": "http://169.254.169.254/latest/meta-data"})
    client, _ = client_for(upstream)
    run = client.complete(body("redirect"))
    assert run.error.kind == "redirect" and "169.254.169.254" in run.error.message
    assert upstream.counts["redirect"] == 1


def test_get_json_sends_the_etag_back_and_reads_a_304_as_no_change(upstream):
    client, _ = client_for(upstream)
    url = f"{upstream.base_url}/models?include=pricing"
    first = client.get_json(url)
    assert first.status == 200 and len(first.data["data"]) == 13 and first.etag
    again = client.get_json(url, first.etag)
    assert (again.status, again.data) == (304, None)
    assert upstream.catalogue_received[1]["headers"]["If-None-Match"] == first.etag


def test_get_json_is_bounded_in_bytes_and_follows_no_redirect(upstream):
    client, _ = client_for(upstream)
    with pytest.raises(UpstreamError) as caught:
        client.get_json(f"{upstream.root_url}/docs-json?model=huge%2Fdocument",
                        max_bytes=1_000_000, key=False)
    assert caught.value.kind == "too_large"
    answer = client.get_json(f"{upstream.root_url}/nowhere")
    assert answer.status == 404 and answer.data is None


def test_unreachable_provider_is_reported(upstream):
    client = ChatClient("http://127.0.0.1:9/v1", None, max_retries=0)
    run = client.complete(body("x"))
    assert run.error.kind == "unreachable" and run.state == "error"



def test_environment_proxies_are_honoured_for_the_configured_provider(upstream, monkeypatch):
    """A deployment behind an outgoing proxy sets HTTP(S)_PROXY: the provider is reached
    through it (and NO_PROXY still wins), though the environment is read once per client."""
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", upstream.root_url)
    client = ChatClient("http://provider.invalid/v1", "sk-unit-key-123456", max_retries=0)
    for _ in range(2):
        run = client.complete(body("fake/ok"))
        assert run.error is None and run.state == "complete"
    assert [r["path"] for r in upstream.received] == [
        "http://provider.invalid/v1/chat/completions"] * 2  # the proxy got the absolute URL
    monkeypatch.setenv("NO_PROXY", "provider.invalid")
    direct = ChatClient("http://provider.invalid/v1", "sk-unit-key-123456", max_retries=0)
    assert direct.complete(body("fake/ok")).error.kind == "unreachable"
    monkeypatch.delenv("NO_PROXY")
    pinned = ChatClient("http://provider.invalid/v1", "sk-unit-key-123456", max_retries=0,
                        trust_env=False)
    assert pinned.complete(body("fake/ok")).error.kind == "unreachable"
    assert len(upstream.received) == 2
