"""Named providers from the operator's configuration, offered by name on the page."""

from __future__ import annotations

import json
import logging

import pytest

from tests.helpers import Page, submit


@pytest.fixture
def providers_app(upstream, make_app, monkeypatch):
    monkeypatch.setenv("LOCAL_LLM_KEY", "local-secret-key")
    local = upstream.base_url.replace("/v1", "/local/v1")
    config = {"local": {"base_url": local, "label": "llama.cpp on the box",
                        "api_key_env": "LOCAL_LLM_KEY"},
              "keyless": {"base_url": upstream.base_url.replace("/v1", "/keyless/v1")}}
    return make_app(PLAYGROUND_PROVIDERS=json.dumps(config))


def test_the_page_offers_providers_by_name(providers_app):
    page = Page(providers_app.test_client().get("/"))
    options = [(o["value"], o.get_text()) for o in page.soup.select("select[name=provider] option")]
    assert [value for value, _ in options] == ["default", "local", "keyless"]
    assert ("local", "llama.cpp on the box") in options
    assert "127.0.0.1" not in " ".join(label for _, label in options[1:])


def test_a_named_provider_gets_the_run_with_its_own_key(providers_app, upstream, caplog):
    caplog.set_level(logging.INFO, logger="playground.runs")
    page = submit(providers_app.test_client(), provider="local")
    assert page.status == 200
    request = upstream.received[-1]
    assert request["path"] == "/local/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer local-secret-key"
    assert json.loads(caplog.records[-1].getMessage())["provider"] == "local"
    selected = page.soup.select_one("select[name=provider] option[selected]")
    assert selected["value"] == "local"


def test_a_keyless_provider_never_gets_the_server_key(providers_app, upstream):
    submit(providers_app.test_client(), provider="keyless")
    assert "Authorization" not in upstream.received[-1]["headers"]


def test_an_unknown_provider_is_refused(providers_app, upstream):
    page = submit(providers_app.test_client(), provider="other")
    assert page.status == 400 and "Choose one of the providers" in page.field_errors("provider")
    assert upstream.received == []


def test_providers_can_come_from_a_file(upstream, make_app, tmp_path):
    path = tmp_path / "providers.json"
    path.write_text(json.dumps({"vllm": {"base_url": upstream.base_url}}))
    app = make_app(PLAYGROUND_PROVIDERS=str(path))
    assert [v for v, _ in app.extensions["providers"].choices()] == ["default", "vllm"]


@pytest.mark.parametrize("bad", ['[1]', '{"default": {"base_url": "x"}}', '{"x": {}}',
                                 '{"Bad Name": {"base_url": "x"}}'])
def test_a_malformed_configuration_stops_startup(make_app, bad):
    with pytest.raises(ValueError):
        make_app(PLAYGROUND_PROVIDERS=bad)
