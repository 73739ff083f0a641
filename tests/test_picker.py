"""Integration: the catalogue in the pages, against the fake upstream's fixture catalogue —
the picker's data, the no-JS search list, the card, the ETag refresh, an id-only provider, a
failing catalogue, and the capability gates with their override."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

from playground.picker import catalogue_for
from tests.helpers import Page, csrf_token, submit, turn_fields


def test_picker_data_comes_from_the_fixture_catalogue(client):
    data = client.get("/models?q=anthropic").get_json()
    assert [m["id"] for m in data["models"]] == ["anthropic/claude-sonnet-4"]
    claude = data["models"][0]
    assert (claude["name"], claude["developer"], claude["context"], claude["output"]) == (
        "Claude Sonnet 4", "Anthropic", 200_000, 64_000)
    assert (claude["price_in"], claude["price_out"]) == ("$3.00", "$15.00")
    assert "vision" in claude["capabilities"] and claude["demo_prices"] is False
    assert data["as_of"] and data["note"] is None and "vision" in data["capabilities"]


def test_the_picker_filters_by_capability_and_keeps_to_chat_models(client):
    vision = client.get("/models?q=vision").get_json()["models"]
    assert [m["id"] for m in vision] == ["openai/gpt-4o", "openai/gpt-4o-mini",
                                         "anthropic/claude-sonnet-4", "google/gemini-2.5-pro",
                                         "alibaba/qwen-vl-max"]
    tools = client.get("/models?capability=tools&q=open").get_json()["models"]
    assert [m["id"] for m in tools] == ["openai/gpt-4o", "openai/gpt-4o-mini"]
    # chat only by default; kind=all also lists the image and video models
    assert client.get("/models?q=flux").get_json()["models"] == []
    assert [m["id"] for m in client.get("/models?q=flux&kind=all").get_json()["models"]] == [
        "flux/schnell"]
    gemini = client.get("/models?q=gemini").get_json()["models"][0]
    assert gemini["price_in"] == "$1.25–$2.50"  # variants: the range the catalogue gives
    mistral = client.get("/models?q=mistral").get_json()["models"][0]
    assert mistral["price_in"] == "varies per request"
    grok = client.get("/models?q=grok").get_json()["models"][0]
    assert grok["capabilities"] is None and grok["price_in"] is None  # shown as n/a


def test_without_javascript_the_search_lists_models_as_links_that_fill_the_form(client):
    page = Page(client.get("/?find=vision&capability=tools"))
    links = page.soup.select(".found-link")
    assert [a.get_text(strip=True) for a in links][:2] == ["openai/gpt-4o", "openai/gpt-4o-mini"]
    assert "alibaba/qwen-vl-max" not in page.text(".found")  # vision, but no tools
    assert "context 128,000" in page.text(".found") and "$2.50" in page.text(".found")
    chosen = Page(client.get(links[0]["href"]))
    assert chosen.value("model") == "openai/gpt-4o"
    card = chosen.text("#model-card")
    assert "GPT-4o" in card and "128,000 tokens" in card and "$10.00 / M tokens" in card
    assert chosen.soup.select_one("#model-card a")["href"].startswith("https://docs.aimlapi.com")
    assert "as of" in chosen.text("#model-hint")
    assert "This model's output limit: 16,384 tokens." in chosen.text(".field:has(#max_tokens)")


def test_a_model_outside_the_catalogue_is_sent_as_typed_with_a_note(client, upstream):
    page = submit(client, model="fake/ok", prompt="Hi")
    assert page.text(".reply") == "Hello! How can I help you today?"
    assert "fake/ok is not in this provider's model list" in page.text("#model-card")
    assert "can't be quoted" in page.text("#preflight")


def test_the_catalogue_is_refreshed_with_its_etag(app, client, upstream):
    client.get("/")
    with app.app_context():
        snapshot = catalogue_for(None).cached.refresh()
    assert snapshot.available and snapshot.note is None
    sent = [r for r in upstream.catalogue_received if "/models" in r["path"]]
    assert len(sent) == 2 and "include=pricing,capabilities,modalities" in sent[0]["path"]
    assert "If-None-Match" not in sent[0]["headers"]
    assert sent[1]["headers"]["If-None-Match"].startswith('W/"')  # answered 304: copy kept


def test_an_id_only_provider_gets_a_working_picker_with_n_a(make_app, upstream):
    client = make_app(AIMLAPI_BASE_URL=upstream.root_url + "/openai/v1").test_client()
    data = client.get("/models?q=qwen").get_json()
    assert [m["id"] for m in data["models"]] == ["qwen2.5:7b"]
    assert data["models"][0]["context"] is None and data["models"][0]["price_in"] is None
    page = Page(client.get("/?model=qwen2.5:7b"))
    assert "Context n/a" in page.text("#model-card") and "Capabilities: n/a" in page.text(
        "#model-card")


def test_a_failing_catalogue_is_free_text_with_a_note(make_app, upstream):
    upstream.catalogue_status = 503
    client = make_app().test_client()
    page = Page(client.get("/"))
    assert "The model list is unavailable (HTTP 503)" in page.text("#model-hint")
    assert page.soup.select_one(".finder") is None
    ran = submit(client, model="fake/ok", prompt="Still works")
    assert ran.text(".reply") == "Hello! How can I help you today?"


def test_a_model_without_structured_output_refuses_json_mode_unless_overridden(client, upstream):
    page = submit(client, model="anthropic/claude-sonnet-4", prompt="JSON please",
                  json_mode="y")
    assert page.status == 400
    assert "does not list “structured_output”" in page.field_errors("model")
    assert page.soup.select_one("input[name=override_structured_output]") is not None
    assert upstream.received == []
    page = submit(client, model="anthropic/claude-sonnet-4", prompt="JSON please",
                  json_mode="y", override_structured_output="y")
    assert page.status == 200 and upstream.received[0]["body"]["response_format"] == {
        "type": "json_object"}


def test_a_gated_control_is_disabled_by_the_server_when_empty(client):
    page = Page(client.get("/?model=anthropic/claude-sonnet-4"))
    editor = page.soup.select_one("fieldset[data-capability=structured_output]")
    assert editor.has_attr("disabled")
    assert "does not list “structured_output” for Claude Sonnet 4" in page.text(
        "fieldset[data-capability=structured_output]")
    assert not Page(client.get("/?model=openai/gpt-4o")).soup.select_one(
        "fieldset[data-capability=structured_output]").has_attr("disabled")


def test_the_preflight_endpoint_renders_the_card_and_the_figure_for_the_form(client):
    def figure(max_tokens: str) -> tuple[float, str]:
        answer = client.post("/preflight", data={
            "csrf_token": csrf_token(client), "model": "openai/gpt-4o", "max_tokens": max_tokens,
            **turn_fields(("system", ""), ("user", "Hello"))}).get_json()
        assert "GPT-4o" in answer["card"] and answer["output_max"] == 16_384
        text = Page.__new__(Page)
        text.soup = BeautifulSoup(answer["preflight"], "html.parser")
        found = re.search(r"estimated up to \$([0-9.]+)", text.text("#preflight-cost"))
        return float(found.group(1)), text.text("#preflight")
    (small, small_text), (large, _) = figure("100"), figure("10000")
    assert "up to 100 tokens (max_tokens)" in small_text
    # 9,900 more reply tokens at $10.00 per million output tokens
    assert abs((large - small) - 9_900 * 10 / 1_000_000) < 0.01


def test_a_comparison_is_quoted_as_the_sum_of_its_lanes(app, upstream):
    from playground.picker import check_lanes

    def body(model: str) -> dict:
        return {"model": model, "messages": [{"role": "user", "content": "Hi"}],
                "max_tokens": 1000}

    with app.test_request_context():
        one = check_lanes([(None, body("openai/gpt-4o"))]).estimate
        both = check_lanes([(None, body("openai/gpt-4o")),
                            (None, body("anthropic/claude-sonnet-4"))]).estimate
        unknown = check_lanes([(None, body("openai/gpt-4o")), (None, body("fake/ok"))]).estimate
    assert both.usd == sum(lane.usd for lane in both.lanes) and both.usd > one.usd
    assert not unknown.quotable and unknown.reason == "Lane 2 can't be quoted."


LLAMA = "meta-llama/Llama-3.3-70B-Instruct-Turbo"  # the fixture lists only "streaming" for it
IMAGE_TURNS = turn_fields(("system", ""), {"role": "user", "content": "What is in it?",
                                          "images": [{"url": "https://example.com/cat.png"}]})


def test_a_model_without_vision_refuses_an_image_unless_overridden(client, upstream):
    page = submit(client, model=LLAMA, **IMAGE_TURNS)
    assert page.status == 400 and upstream.received == []
    assert "sends images, but the catalogue does not list “vision”" in page.field_errors("model")
    assert page.soup.select_one("input[name=override_vision]") is not None
    page = submit(client, model=LLAMA, override_vision="y", **IMAGE_TURNS)
    assert page.status == 200
    sent = upstream.received[0]["body"]["messages"][-1]["content"]
    assert {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}} in sent


def test_the_image_and_tools_controls_are_off_for_a_text_only_model(client, upstream):
    page = Page(client.get(f"/?model={LLAMA}"))
    for capability in ("vision", "tools"):
        control = page.soup.select_one(f"fieldset[data-capability={capability}]")
        assert control.has_attr("disabled"), capability
        assert f"does not list “{capability}”" in control.get_text()
    page = Page(client.get("/?model=openai/gpt-4o"))
    assert not page.soup.select("fieldset[data-capability][disabled]")
    tools = '[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]'
    refused = submit(client, model=LLAMA, prompt="Call it", tools=tools)
    assert refused.status == 400 and "does not list “tools”" in refused.field_errors("model")
    assert not refused.soup.select_one("fieldset[data-capability=tools]").has_attr("disabled")


def test_a_prompt_estimated_past_the_context_is_flagged_before_run(client, upstream):
    answer = client.post("/preflight", data={
        "csrf_token": csrf_token(client), "model": "alibaba/qwen-vl-max",
        **turn_fields(("system", ""), ("user", "漢" * 40_000))}).get_json()
    panel = BeautifulSoup(answer["preflight"], "html.parser").select_one("#preflight-context")
    text = " ".join(panel.get_text(" ").split())
    assert "flag-warn" in panel["class"]
    assert "more than the model's context of 32,768 tokens" in text
    assert "estimated from 40,000 characters" in text and "not a tokenizer" in text
    assert upstream.received == []
