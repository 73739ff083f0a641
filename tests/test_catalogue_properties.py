"""Property-based: no catalogue entry, model document, reply or schema — however strange —
makes the catalogue, the cost figures, the schema check or the audit raise or invent."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground import schema
from playground.audit import LABELS, audit
from playground.catalogue import accepted_parameters, parse_catalogue
from playground.cost import preflight
from playground.run import Run
from tests.fake_upstream import fixture

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
KEYS = ["id", "type", "aliases", "tags", "info", "name", "developer", "contextLength",
        "outputMax", "maxTokens", "docsUrl", "docsJson", "pricing", "kind", "units", "variants",
        "when", "price", "per", "unit", "measure", "capabilities", "modalities", "input",
        "output", "fixed", "variable", "variants", "token", "choices", "message", "content",
        "finish_reason", "usage", "completion_tokens", "logprobs", "top_logprobs", "tool_calls",
        "function", "model", "paths", "post", "requestBody", "properties", "$ref", "allOf",
        "type", "pattern", "required", "items", "enum"]
scalars = (st.none() | st.booleans() | st.integers(-10**15, 10**15)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
           | st.sampled_from(KEYS))
json_like = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=6),
    max_leaves=40)


@SETTINGS
@given(json_like)
def test_any_catalogue_answer_parses_without_raising(data):
    catalogue = parse_catalogue({"data": data} if not isinstance(data, dict) else data)
    for model in catalogue.models:
        assert isinstance(model.id, str) and model.id
        assert model.context_length is None or model.context_length > 0
        estimate = preflight(model, {"max_tokens": 100})
        assert estimate.usd is None or estimate.usd >= 0
        assert estimate.label.startswith(("estimated up to $", "can't be quoted"))
    catalogue.search("a", capabilities=("vision",))


@SETTINGS
@given(st.lists(json_like, max_size=8))
def test_any_list_of_entries_parses_without_raising(items):
    parse_catalogue({"object": "list", "data": items})


@SETTINGS
@given(json_like)
def test_any_model_document_gives_a_set_of_names_or_none(document):
    accepted = accepted_parameters({"paths": {"/v1/chat/completions": {"post": {
        "requestBody": {"content": {"application/json": {"schema": document}}}}}}})
    assert accepted is None or all(isinstance(name, str) for name in accepted)


@SETTINGS
@given(json_like, json_like)
def test_any_schema_and_reply_give_a_verdict(candidate, reply):
    text = json.dumps(reply, allow_nan=True)
    result = schema.validate(text, candidate if isinstance(candidate, dict) else {"x": candidate})
    assert result.status in ("valid", "invalid", "not_json", "bad_schema", "unchecked")
    assert len(result.violations) <= schema.MAX_VIOLATIONS


@SETTINGS
@given(json_like, json_like)
def test_any_response_gives_an_audit_of_known_verdicts(response, extra):
    request = {"model": "gpt-4o", "messages": [], "max_tokens": 10, "n": 2, "stop": ["x"],
               "seed": 1, "logprobs": True, "top_logprobs": 2, "tools": [{"type": "function"}],
               "tool_choice": "required", "stream_options": {"include_usage": True},
               "response_format": {"type": "json_schema", "json_schema": {"schema": extra}}}
    run = Run(request=request, endpoint="x", response=response, stream=True,
              events=[json.dumps(extra, allow_nan=True)])
    lines = audit(request, run, accepted=frozenset({"model", "messages"}))
    assert lines and all(line.status in LABELS for line in lines)


def test_the_fixture_catalogue_prices_are_all_positive():
    for model in parse_catalogue(fixture("catalogue.json")).models:
        for rate in model.pricing.rates if model.pricing else ():
            assert rate.price > 0 and rate.per in (1, 1000, 1_000_000)
