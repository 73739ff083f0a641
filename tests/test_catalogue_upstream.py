"""Integration: the catalogue over real HTTP against the fake upstream — sections on request,
ETag and 304, the per-model documents, the bare list, and a failing catalogue."""

from __future__ import annotations

import requests

from playground import schema
from playground.cache import Cached, Fetched, conditional_headers
from playground.catalogue import (
    accepted_parameters,
    parse_catalogue,
    unlisted_parameters,
)


def http_fetch(url: str):
    """The shape of fetch function the app will hand to Cached (requests, bounded)."""
    def fetch(etag: str | None) -> Fetched:
        response = requests.get(url, headers=conditional_headers(etag), timeout=5,
                                allow_redirects=False)
        data = response.json() if response.status_code == 200 else None
        return Fetched(response.status_code, response.headers.get("ETag"), data)
    return fetch


def catalogue_requests(upstream) -> list[dict]:
    return [r for r in upstream.catalogue_received if "/models" in r["path"]]


def test_include_attaches_only_the_sections_asked_for(upstream):
    url = f"{upstream.base_url}/models"
    bare = requests.get(url, params={"include": "pricing"}, timeout=5).json()["data"]
    assert all("pricing" in m or m["id"] == "x-ai/grok-3" for m in bare)
    assert not any("capabilities" in m or "modalities" in m for m in bare)
    full = requests.get(url, params={"details": "true"}, timeout=5).json()
    catalogue = parse_catalogue(full)
    assert catalogue.find("gpt-4o").has("vision") is True
    assert catalogue.find("gpt-4o").input_modalities == ("image", "text")
    # unknown include values are ignored, not rejected
    assert requests.get(url, params={"include": "pricing,bogus"}, timeout=5).status_code == 200


def test_filters_or_within_and_across_parameters(upstream):
    url = f"{upstream.base_url}/models"
    def ids(**params):
        return [m["id"] for m in requests.get(url, params=params, timeout=5).json()["data"]]
    assert ids(id="gpt-4o") == ["openai/gpt-4o"]  # an alias finds its model
    assert ids(capabilities="text_to_video,text_to_image") == [
        "google/veo-2.0-generate-001", "flux/schnell"]
    assert ids(capabilities="VISION", input_modalities="video") == [
        "google/gemini-2.5-pro", "alibaba/qwen-vl-max"]


def test_requests_without_include_keep_the_old_answer(upstream):
    data = requests.get(f"{upstream.base_url}/models", timeout=5).json()
    assert [m["id"] for m in data["data"]] == ["fake/ok", "fake/markdown", "text-embedding-3"]


def test_refreshing_with_the_etag_gets_304_and_keeps_the_copy(upstream):
    fetch = http_fetch(f"{upstream.base_url}/models?include=pricing,capabilities,modalities")
    now = [0.0]
    cached = Cached(fetch, parse_catalogue, clock=lambda: now[0], ttl=10,
                    spawn=lambda job: job(), wait=0)
    first = cached.get()
    assert len(first.value) == 13
    now[0] = 11
    second = cached.get()
    assert second.value is first.value and second.note is None
    sent = catalogue_requests(upstream)
    assert len(sent) == 2
    assert "If-None-Match" not in sent[0]["headers"]
    assert sent[1]["headers"]["If-None-Match"].startswith('W/"')


def test_a_failing_catalogue_keeps_the_last_good_copy(upstream):
    fetch = http_fetch(f"{upstream.base_url}/models?details=true")
    now = [0.0]
    cached = Cached(fetch, parse_catalogue, clock=lambda: now[0], ttl=10,
                    spawn=lambda job: job(), wait=0)
    good = cached.get().value
    upstream.catalogue_status = 503
    now[0] = 11
    snapshot = cached.get()
    assert snapshot.value is good and "HTTP 503" in snapshot.note


def test_an_unreachable_catalogue_is_free_text_with_a_note(fake_server):
    fetch = http_fetch("http://127.0.0.1:9/v1/models?details=true")  # nothing listens there
    snapshot = Cached(fetch, parse_catalogue, spawn=lambda job: job(), wait=0).get()
    assert not snapshot.available and snapshot.note.startswith("The catalogue is unavailable")


def test_a_bare_openai_list_from_a_compatible_server(upstream):
    data = requests.get(f"{upstream.root_url}/openai/v1/models",
                        params={"include": "pricing"}, timeout=5).json()
    catalogue = parse_catalogue(data)
    assert not catalogue.detailed and catalogue.find("qwen2.5:7b").pricing is None


def test_the_docs_json_url_of_the_catalogue_serves_the_model_document(upstream):
    data = requests.get(f"{upstream.base_url}/models", params={"details": "true"}, timeout=5)
    catalogue = parse_catalogue(data.json())
    claude = catalogue.find("anthropic/claude-sonnet-4")
    assert claude.docs_json.startswith(upstream.root_url)
    document = requests.get(claude.docs_json, timeout=5)
    accepted = accepted_parameters(document.content)
    assert unlisted_parameters({"model": claude.id, "messages": [], "logprobs": True},
                               accepted) == ("logprobs",)
    # a model whose document is missing or broken: no flag, the caller shows a note
    for model in ("openai/gpt-4o-mini", "google/gemini-2.5-pro"):
        response = requests.get(catalogue.find(model).docs_json, timeout=5)
        assert accepted_parameters(response.content) is None
    huge = requests.get(f"{upstream.root_url}/docs-json?model=huge%2Fdocument", timeout=10)
    assert accepted_parameters(huge.content) is None


def test_a_schema_never_fetches_its_remote_refs(upstream):
    """A schema pointing at a server that really listens: nothing is requested from it."""
    for ref in (f"{upstream.root_url}/v1/models?details=true",
                "http://169.254.169.254/latest/meta-data/"):
        result = schema.validate('{"a": 1}', {"type": "object", "properties": {
            "a": {"$ref": ref}}})
        assert result.status == "bad_schema"
    sneaky = {"$id": f"{upstream.root_url}/schemas/root.json",
              "properties": {"a": {"$ref": "#/$defs/missing"}}}
    assert schema.validate('{"a": 1}', sneaky).status == "bad_schema"
    assert upstream.received == [] and upstream.catalogue_received == []
