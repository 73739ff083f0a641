"""Adversarial corpus, key leaks: the server key and a visitor's key are shown and kept nowhere."""

from __future__ import annotations

import pytest

from tests.helpers import SENTINEL_KEY, Page, csrf_token
from tests.leaks import assert_nowhere, capture_everything, stored_pages

VISITOR_KEY = "fake-visitor-key-9876543210"
FLOWS = [("/", "fake/ok"), ("/stream", "fake/ok"), ("/", "fake/echo-key"),
         ("/stream", "fake/echo-key"), ("/", "fake/echo-key-error"),
         ("/stream", "fake/echo-key-error"), ("/", "fake/401"), ("/", "fake/429"),
         ("/stream", "fake/stream-error"), ("/", "fake/not-json"), ("/", "fake/hostile")]


@pytest.fixture
def byo_app(upstream, make_app):
    return make_app(PLAYGROUND_ALLOW_USER_KEYS=True, PLAYGROUND_LOG_CONTENT=True)


@pytest.mark.parametrize(("path", "model"), FLOWS)
def test_server_key_leaks_nowhere(app, upstream, caplog, path, model):
    capture_everything(caplog)
    client = app.test_client()
    responses = [client.get("/"), client.get("/models"), client.get("/healthz")]
    responses.append(client.post(path, data={"csrf_token": csrf_token(client), "model": model,
                                              "prompt": "template-jinja"}))
    responses[-1].get_data()  # run the stream to its end
    assert upstream.received[-1]["body"]["model"] == model
    assert upstream.received[-1]["headers"]["Authorization"] == f"Bearer {SENTINEL_KEY}"
    saved = stored_pages(client, responses[-1])
    assert len(saved) == 6 and all(r.status_code == 200 for r in saved)
    assert_nowhere(SENTINEL_KEY, responses + saved, caplog, app)


@pytest.mark.parametrize(("path", "model"), FLOWS)
def test_visitor_key_leaks_nowhere(byo_app, upstream, caplog, path, model):
    capture_everything(caplog)
    client = byo_app.test_client()
    responses = [client.post(path, data={"csrf_token": csrf_token(client), "model": model,
                                         "prompt": "hello", "user_key": VISITOR_KEY})]
    responses[0].get_data()
    assert upstream.received[-1]["headers"]["Authorization"] == f"Bearer {VISITOR_KEY}"
    responses += stored_pages(client, responses[0])
    assert_nowhere(VISITOR_KEY, responses, caplog, byo_app)
    assert_nowhere(SENTINEL_KEY, responses, caplog, byo_app)


def test_visitor_key_from_the_header_is_used_for_that_call_only(byo_app, upstream):
    client = byo_app.test_client()
    token = csrf_token(client)
    client.post("/stream", data={"csrf_token": token, "model": "fake/ok", "prompt": "x"},
                headers={"X-Playground-Key": VISITOR_KEY}).get_data()
    client.post("/", data={"csrf_token": token, "model": "fake/ok", "prompt": "x"})
    auth = [r["headers"]["Authorization"] for r in upstream.received if r["method"] == "POST"]
    assert auth == [f"Bearer {VISITOR_KEY}", f"Bearer {SENTINEL_KEY}"]


def test_key_field_never_echoes_the_key(byo_app, upstream):
    client = byo_app.test_client()
    page = Page(client.post("/", data={"csrf_token": csrf_token(client), "model": "fake/400",
                                       "prompt": "x", "user_key": VISITOR_KEY},
                            follow_redirects=True))
    field = page.soup.select_one("input[name=user_key]")
    assert field["type"] == "password" and not field.get("value")
    assert "data-session-key" in field.attrs and VISITOR_KEY not in page.html


def test_visitor_keys_are_ignored_when_the_feature_is_off(client, upstream):
    client.post("/", data={"csrf_token": csrf_token(client), "model": "fake/ok", "prompt": "x",
                           "user_key": VISITOR_KEY})
    assert upstream.received[-1]["headers"]["Authorization"] == f"Bearer {SENTINEL_KEY}"
    assert "user_key" not in client.get("/").get_data(as_text=True)


def test_a_key_with_header_breaking_characters_is_refused(byo_app, upstream):
    client = byo_app.test_client()
    page = Page(client.post("/", data={"csrf_token": csrf_token(client), "model": "fake/ok",
                                       "prompt": "x", "user_key": "sk-abc\r\nX-Evil: 1"}))
    assert page.status == 400 and "characters keys never contain" in page.html
    assert upstream.received == []
