"""Unit: the catalogue as a person uses it — which models exist, what they can do, what they
cost, what they accept — from both /models shapes and from broken entries."""

from __future__ import annotations

import pytest

from playground.catalogue import (
    Catalogue,
    Model,
    Rate,
    accepted_parameters,
    kind_of,
    parse_catalogue,
    parse_model,
    parse_pricing,
    unlisted_parameters,
)
from tests.fake_upstream import FIXTURES, fixture, fixture_text


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return parse_catalogue(fixture("catalogue.json"))


# -- the AI/ML API shape ---------------------------------------------------------------------
def test_every_fixture_model_is_read_with_its_facts(catalogue):
    assert len(catalogue) == 13 and catalogue.detailed and catalogue.skipped == 0
    gpt = catalogue.find("openai/gpt-4o")
    assert gpt == Model(
        id="openai/gpt-4o", aliases=("gpt-4o",), name="GPT-4o", developer="Open AI",
        description="Multimodal model: text and images in, text out.",
        type="openai/chat-completions", kind="chat", tags=("playground:chat", "tier:tier_2"),
        context_length=128000, output_max=16384,
        capabilities=("file_input", "parallel_tool_calls", "streaming", "structured_output",
                      "tools", "vision"),
        input_modalities=("image", "text"), output_modalities=("text",),
        pricing=gpt.pricing,
        docs_url="https://docs.aimlapi.com/api-references/text-models-llm/openai/gpt-4o",
        docs_json="http://upstream.test/docs-json?model=openai%2Fgpt-4o"
                  "&endpoint=openai%2Fchat-completions",
        url="https://aimlapi.com/models/gpt-4o", released="2024-05-13", cutoff="2023-10-01")
    assert gpt.pricing.per_million("input") == (2.5, 2.5)
    assert gpt.pricing.per_million("output") == (10.0, 10.0)


@pytest.mark.parametrize(("name", "expected"), [
    ("openai/gpt-4o", "openai/gpt-4o"),
    ("gpt-4o", "openai/gpt-4o"),  # an alias finds the canonical model
    ("GPT-4O", "openai/gpt-4o"),  # case-insensitive, as the catalogue's own filters are
    ("  gpt-4o-mini-2024-07-18 ", "openai/gpt-4o-mini"),
    ("claude-sonnet-4-20250514", "anthropic/claude-sonnet-4"),
    ("gpt-5", None),
    ("", None),
])
def test_a_model_is_found_by_id_or_alias(catalogue, name, expected):
    found = catalogue.find(name)
    assert (found.id if found else None) == expected


def test_unknown_capability_names_are_kept(catalogue):
    assert catalogue.find("anthropic/claude-sonnet-4").has("computer_use") is True
    assert "video_input" in catalogue.capability_names()
    assert catalogue.find("deepseek-chat").has("vision") is False
    assert catalogue.find("deepseek-chat").has("Structured Output") is True  # spelled as words
    assert catalogue.find("grok-3").has("vision") is None  # the entry lists no capabilities


def test_the_older_field_names_still_give_the_facts(catalogue):
    sonar = catalogue.find("perplexity/sonar")
    assert sonar.output_max == 8000  # info.maxTokens
    assert sonar.docs_url.endswith("/perplexity/sonar")  # info.docs_url
    assert sonar.kind == "chat" and sonar.aliases == ()


@pytest.mark.parametrize(("type_", "tags", "kind"), [
    ("openai/chat-completions", (), "chat"),
    ("chat-completion", (), "chat"),
    ("openai/image-generations", (), "image"),
    ("internal/video-generations/submit", (), "video"),
    ("openai/embeddings", (), "embedding"),
    ("openai/tts", (), "audio"),
    (None, ("playground:chat",), "chat"),
    ("something-new", (), "other"),
    (None, (), None),  # a bare id says nothing: not "chat", not "other"
])
def test_the_kind_of_a_model(type_, tags, kind):
    assert kind_of(type_, tags) == kind


# -- search ------------------------------------------------------------------------------------
def ids(models) -> list[str]:
    return [m.id for m in models]


@pytest.mark.parametrize(("query", "capabilities", "expected"), [
    # Done means: a new user finds a vision model by typing "vision".
    ("vision", (), ["openai/gpt-4o", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4",
                    "google/gemini-2.5-pro", "alibaba/qwen-vl-max"]),
    ("anthropic", (), ["anthropic/claude-sonnet-4"]),  # by developer
    ("open ai", (), ["openai/gpt-4o", "openai/gpt-4o-mini"]),  # the developer as written
    ("Sonnet", (), ["anthropic/claude-sonnet-4"]),  # by name
    ("claude-sonnet-4-20250514", (), ["anthropic/claude-sonnet-4"]),  # by alias
    # the exact id or alias ranks first, before longer ids that start the same
    ("gpt-4o-mini", (), ["openai/gpt-4o-mini"]),
    ("gpt-4o", (), ["openai/gpt-4o", "openai/gpt-4o-mini"]),
    ("", ("vision", "tools"), ["openai/gpt-4o", "openai/gpt-4o-mini",
                               "anthropic/claude-sonnet-4", "google/gemini-2.5-pro"]),
    ("", ("structured_output",), ["openai/gpt-4o", "openai/gpt-4o-mini",
                                  "google/gemini-2.5-pro", "deepseek/deepseek-chat"]),
    ("google", ("vision",), ["google/gemini-2.5-pro"]),  # the video model is not chat
    ("no such model", (), []),
])
def test_search_by_id_alias_name_developer_and_capability(catalogue, query, capabilities,
                                                          expected):
    assert ids(catalogue.search(query, capabilities=capabilities)) == expected


def test_search_is_chat_only_by_default_and_bounded(catalogue):
    assert "google/veo-2.0-generate-001" not in ids(catalogue.search(""))
    assert ids(catalogue.search("veo", kind=None)) == ["google/veo-2.0-generate-001"]
    assert ids(catalogue.search("", kind="image")) == ["flux/schnell"]
    assert len(catalogue.search("", kind=None)) == 13
    assert len(catalogue.search("", kind=None, limit=3)) == 3
    assert catalogue.search("", limit=-1) == []


def test_hostile_queries_are_plain_text(catalogue):
    for query in ("(" * 500, ".*", "gpt.*", "\x00", "🙂" * 10_000):
        assert catalogue.search(query) == []  # no pattern syntax, no crash, no match
    assert len(catalogue.search(" " * 1000)) == 10  # blank is "everything (chat)"
    # junk capability filters are ignored rather than hiding every model
    assert ids(catalogue.search("grok", capabilities=(None, 5, ""))) == ["x-ai/grok-3"]


# -- the bare OpenAI-style list ------------------------------------------------------------------
def test_a_bare_list_gives_a_working_picker_with_facts_unknown():
    bare = parse_catalogue(fixture("models-openai.json"))
    assert not bare.detailed and len(bare) == 5
    model = bare.find("gpt-4o")
    assert model.owned_by == "system"
    assert (model.name, model.developer, model.context_length, model.output_max,
            model.capabilities, model.pricing, model.kind) == (None,) * 7
    assert model.label == "gpt-4o"  # shown by id where there is no name
    assert model.has("vision") is None  # "n/a", not "no"
    # chat-only keeps what a bare list cannot classify: nothing disappears from the picker
    assert ids(bare.search("")) == ["gpt-4o", "gpt-4o-mini", "text-embedding-3-small",
                                    "meta-llama/Llama-3.1-8B-Instruct", "qwen2.5:7b"]
    assert ids(bare.search("llama")) == ["meta-llama/Llama-3.1-8B-Instruct"]
    assert bare.search("", capabilities=("vision",)) == []


@pytest.mark.parametrize("data", [
    None, "text", 42, [], {}, {"data": None}, {"data": "x"}, {"object": "list", "data": {}},
])
def test_answers_that_are_not_catalogues_give_an_empty_one(data):
    assert len(parse_catalogue(data)) == 0


def test_one_model_lookup_shape_and_plain_name_lists():
    one = parse_catalogue({"object": "model", "data": {"id": "openai/gpt-4o",
                                                       "info": {"name": "GPT-4o"}}})
    assert one.find("openai/gpt-4o").name == "GPT-4o"
    assert ids(parse_catalogue(["a", "b", "a"]).models) == ["a", "b"]


# -- broken entries ------------------------------------------------------------------------------
def test_broken_entries_are_skipped_or_read_as_not_said():
    broken = parse_catalogue(fixture("catalogue-broken.json"))
    # 6 entries have no usable id (numbers, null, a list, no id, a numeric id, a blank id)
    assert broken.skipped == 6
    assert ids(broken.models) == ["bare-string-model", "broken/everything-wrong",
                                  "broken/bad-numbers", "broken/unknown-kind",
                                  "broken/variants-without-list", "openai/gpt-4o"]
    wrong = broken.find("broken/everything-wrong")
    assert (wrong.type, wrong.aliases, wrong.name, wrong.capabilities, wrong.input_modalities,
            wrong.pricing) == (None, (), None, None, None, None)
    assert wrong.tags == ("ok-tag",)  # the strings of a list survive its junk

    numbers = broken.find("broken/bad-numbers")
    assert (numbers.name, numbers.context_length, numbers.output_max) == (None, None, None)
    assert numbers.docs_url is None and numbers.docs_json is None  # javascript:, file:
    assert numbers.url == "https://example.com/ok"
    assert numbers.capabilities == ("streaming", "tools")
    # only the one rate with a usable price and base survives
    assert numbers.pricing.rates == (Rate(2.5, 1_000_000, "token", "input"),)

    unknown = broken.find("broken/unknown-kind")
    assert unknown.pricing.kind == "unknown" and not unknown.pricing.quotable
    assert unknown.context_length is None and unknown.output_max == 4096
    assert broken.find("broken/variants-without-list").pricing.rates == ()
    assert broken.find("openai/gpt-4o").name == "The first one"  # the first of a duplicate


@pytest.mark.parametrize("item", [
    {"id": "x", "info": {"name": "n" * 100_000, "description": "d" * 100_000}},
    {"id": "x", "aliases": ["a"] * 10_000, "tags": [str(i) for i in range(10_000)]},
    {"id": "x", "info": {"contextLength": 10**30, "outputMax": float("inf")}},
    {"id": "x", "info": {"contextLength": float("nan")}},
    {"id": "x", "pricing": {"kind": "fixed", "units": [{"price": float("nan"), "per": 1}]}},
    {"id": "x", "pricing": {"kind": "fixed", "units": [{"price": 1, "per": True}]}},
    {"id": "x", "pricing": {"kind": ["fixed"], "units": None}},
    {"id": "x", "pricing": {"kind": "variants", "variants": [{"when": "x", "price": 1,
                                                              "per": 1}]}},
])
def test_oversized_or_nonsense_fields_are_bounded_never_raised(item):
    model = parse_model(item)
    assert model.id == "x"
    assert len(model.name or "") <= 300 and len(model.description or "") <= 2000
    assert len(model.aliases) <= 64 and len(model.tags) <= 64
    assert model.context_length is None or model.context_length < 10**12
    if model.pricing is not None:
        assert all(rate.per > 0 and rate.price >= 0 for rate in model.pricing.rates)


# -- prices ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("model_id", "input_", "output"), [
    ("openai/gpt-4o", (2.5, 2.5), (10.0, 10.0)),  # per 1,000,000
    ("openai/gpt-4o-mini", (0.15, 0.15), (0.6, 0.6)),  # per 1,000
    ("google/gemini-2.5-pro", (1.25, 2.5), (10.0, 15.0)),  # variants: a range
    ("mistralai/mistral-large", None, None),  # variable
    ("x-ai/grok-3", None, None),  # no pricing section
    ("flux/schnell", None, None),  # per megapixel, not per token
])
def test_price_per_million_tokens_for_display(catalogue, model_id, input_, output):
    pricing = catalogue.find(model_id).pricing
    got_in = pricing.per_million("input") if pricing else None
    got_out = pricing.per_million("output") if pricing else None
    assert got_in == pytest.approx(input_) if input_ else got_in is None
    assert got_out == pytest.approx(output) if output else got_out is None


def test_variant_prices_keep_their_conditions(catalogue):
    veo = catalogue.find("google/veo-2.0-generate-001").pricing
    assert veo.kind == "variants" and veo.dimensions == ("resolution",)
    assert [(r.when, r.price, r.per, r.unit) for r in veo.rates] == [
        ((("resolution", "720p"),), 0.39, 1, "second"),
        ((("resolution", "1080p"),), 0.65, 1, "second")]
    assert veo.rates[1].per_million is None  # seconds are not tokens
    assert veo.to_dict()["rates"][1] == {"price": 0.65, "per": 1, "unit": "second",
                                         "measure": None, "when": {"resolution": "1080p"}}


def test_variable_and_missing_pricing_are_distinct():
    assert parse_pricing({"kind": "variable"}).kind == "variable"
    assert parse_pricing(None) is None  # no section: unknown, never free
    assert parse_pricing({"units": []}).kind == "unknown"


# -- what a model accepts: its OpenAPI document --------------------------------------------------
def doc(name: str) -> str:
    return (FIXTURES / "docs" / name).read_text()


def test_the_parameters_a_model_document_lists():
    accepted = accepted_parameters(doc("openai--gpt-4o.json"))  # through $ref and allOf
    assert {"model", "messages", "max_tokens", "stream", "n", "seed", "logprobs",
            "response_format", "tools"} <= accepted
    claude = accepted_parameters(doc("anthropic--claude-sonnet-4.json"))
    assert {"n", "logprobs", "seed", "response_format"}.isdisjoint(claude)
    # the Responses-API body of the same document does not leak into the chat set
    llama = accepted_parameters(doc("meta-llama--Llama-3.3-70B-Instruct-Turbo.json"))
    assert "instructions" not in llama and "repetition_penalty" in llama


def test_parameters_the_model_does_not_list_are_flagged():
    claude = accepted_parameters(doc("anthropic--claude-sonnet-4.json"))
    body = {"model": "anthropic/claude-sonnet-4", "messages": [], "max_tokens": 100,
            "n": 2, "seed": 7, "temperature": 0.2}
    assert unlisted_parameters(body, claude) == ("n", "seed")
    assert unlisted_parameters(body, None) == ()  # no document: no flag (a note instead)


@pytest.mark.parametrize("document", [
    None, "", "not json", doc("google--gemini-2.5-pro.json"),  # cut off mid-way
    "[]", '{"paths": []}', '{"paths": {"/v1/images/generations": {"post": {}}}}',
    '{"paths": {"/v1/chat/completions": {"post": {"requestBody": {}}}}}',
    '{"paths": {"/v1/chat/completions": {"post": {"requestBody": {"content": '
    '{"application/json": {"schema": {"$ref": "#/nowhere"}}}}}}}}',
    "[" * 100_000,  # nesting deep enough to break a naive reader
    '{"paths": {}, "pad": "' + "x" * 4_000_001 + '"}',  # bigger than any real document
])
def test_absent_or_broken_documents_flag_nothing(document):
    assert accepted_parameters(document) is None


def test_a_document_that_refers_to_itself_ends():
    looping = {"paths": {"/chat/completions": {"post": {"requestBody": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}},
        "components": {"schemas": {"A": {"allOf": [{"$ref": "#/components/schemas/A"},
                                                   {"properties": {"model": {}}}]}}}}
    assert accepted_parameters(looping) == frozenset({"model"})


def test_the_fixture_names_its_server_for_docs():
    text = fixture_text("catalogue.json", "http://127.0.0.1:9")
    assert "{upstream}" not in text and "http://127.0.0.1:9/docs-json?model=" in text
