"""Unit: the pre-flight (capability gates, don't-send, the cost cap failing closed), the cost
after from a stored price, where model documents may come from, and the demo's schema replies."""

from __future__ import annotations

import pytest

from playground import demo_catalogue, schema
from playground.catalogue import parse_model
from playground.cost import Estimate, preflight_compare
from playground.models import Models
from playground.preflight import cap_refusal, check, compare_refusal, gates, omit, uses
from playground.run import Usage, priced
from playground.upstream import ChatClient

TEXT_ONLY = parse_model({"id": "t/text", "capabilities": ["streaming"], "info": {
    "contextLength": 100, "outputMax": 50}, "pricing": {"kind": "fixed", "units": [
        {"name": "token", "measure": "input", "price": 1, "per": 1_000_000},
        {"name": "token", "measure": "output", "price": 2, "per": 1_000_000}]}})
SILENT = parse_model({"id": "bare"})  # an id-only list says nothing of capabilities
IMAGE = {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": "https://x/a.png"}}]}


@pytest.mark.parametrize(("body", "used"), [
    ({"messages": [{"role": "user", "content": "hi"}]}, set()),
    ({"messages": [IMAGE]}, {"vision"}),
    ({"messages": [], "tools": [{"type": "function"}]}, {"tools"}),
    ({"messages": [], "response_format": {"type": "json_schema"}}, {"structured_output"}),
    ({"messages": [], "response_format": {"type": "text"}}, set()),
    ({"messages": "hostile", "tools": "x"}, {"tools"}),
])
def test_what_a_request_uses(body, used):
    assert {name for name, on in uses(body).items() if on} == used


def test_a_missing_capability_is_gated_and_only_refused_when_used_without_override():
    body = {"messages": [IMAGE]}
    found = {g.capability: g for g in gates(TEXT_ONLY, body)}
    assert set(found) == {"vision", "tools", "structured_output"}
    assert found["vision"].refused and not found["tools"].refused
    assert "does not list “vision”" in found["vision"].reason
    overridden = {g.capability: g for g in gates(TEXT_ONLY, body, {"vision"})}
    assert not overridden["vision"].refused and overridden["vision"].overridden
    assert gates(SILENT, body) == [] and gates(None, body) == []  # unknown: never gated


def test_dont_send_never_drops_the_model_or_the_messages():
    body = {"model": "m", "messages": [], "logprobs": True, "top_k": 3}
    assert omit(body, ["logprobs", "model", "messages"]) == {"model": "m", "messages": [],
                                                             "top_k": 3}


@pytest.mark.parametrize(("usd", "cap", "allow", "refused"), [
    (0.5, None, False, None),
    (0.5, 1.0, False, None),
    (1.5, 1.0, False, "more than this server's cap of $1.00"),
    (None, 1.0, False, "cost can't be quoted"),
    (None, 1.0, True, None),
    (None, None, False, None),
])
def test_the_cost_cap_fails_closed(usd, cap, allow, refused):
    found = cap_refusal(Estimate(usd=usd, reason="No price."), cap, allow)
    assert found is None if refused is None else refused in found


@pytest.mark.parametrize(("lanes", "cap", "allow", "refused"), [
    ((0.4, 0.4), 1.0, False, None),
    ((0.6, 0.6), 1.0, False, "is estimated up to $1.20 (the sum of its lanes), more than"),
    ((0.6, None), 1.0, False, "refuses comparisons whose cost can't be quoted"),
    ((0.6, None), 1.0, True, None),  # unpriced lanes allowed; the priced one fits
    ((0.6, None, 0.6), 1.0, True, "(the sum of the lanes that can be quoted)"),
    ((None, None), 1.0, True, None),
    ((5.0, 5.0), None, False, None),  # no cap
])
def test_a_comparison_is_capped_on_the_sum_of_its_lanes(lanes, cap, allow, refused):
    total = preflight_compare([Estimate(usd=usd, reason="No price.") for usd in lanes])
    found = compare_refusal(total, cap, allow)
    assert found is None if refused is None else refused in found


def test_the_check_flags_unlisted_parameters_and_the_context():
    body = {"model": "t/text", "messages": [{"role": "user", "content": "word " * 200}],
            "max_tokens": 10, "logprobs": True}
    result = check(TEXT_ONLY, body, accepted=frozenset({"model", "messages", "max_tokens"}),
                   omitted=["logprobs", "nonsense"])
    assert result.unlisted == ("logprobs",) and result.omitted == ("logprobs",)
    assert result.over_context and result.output_max == 50
    assert result.estimate.quotable and result.docs_note is None
    unknown = check(TEXT_ONLY, body, docs_note="No description.")
    assert unknown.unlisted == () and unknown.docs_note == "No description."


@pytest.mark.parametrize(("usage", "price", "cost", "source"), [
    (Usage(prompt=10, completion=20), {"input": {"price": 1, "per": 1_000_000},
                                        "output": {"price": 2, "per": 1000}}, 10e-6 + 0.04,
     "estimated"),
    (Usage(prompt=10, completion=20, cost_usd=0.5, cost_source="billed"),
     {"input": {"price": 1, "per": 1}, "output": {"price": 1, "per": 1}}, 0.5, "billed"),
    (Usage(prompt=None, completion=20), {"input": {"price": 1, "per": 1},
                                          "output": {"price": 1, "per": 1}}, None, None),
    (Usage(prompt=1, completion=1), {"input": {"price": "x", "per": 1}}, None, None),
    (Usage(prompt=1, completion=1), None, None, None),
])
def test_the_cost_after_comes_from_the_stored_price(usage, price, cost, source):
    found = priced(usage, price)
    assert found.cost_source == source
    assert found.cost_usd == (pytest.approx(cost) if cost is not None else None)


@pytest.mark.parametrize(("url", "allowed"), [
    ("http://127.0.0.1:8000/docs-json?model=x", True),  # the provider's own host
    ("https://docs.provider.example/x.json", False),  # another site
    ("https://api.aimlapi.com/docs/x.json", None),
])
def test_where_model_documents_may_come_from(url, allowed):
    local = Models(ChatClient("http://127.0.0.1:8000/v1"))
    assert (local.allowed_docs_url(url) is None) is bool(allowed)
    aimlapi = Models(ChatClient("https://api.aimlapi.com/v1"))
    assert aimlapi.allowed_docs_url("https://docs.aimlapi.com/x.json") is None
    assert "not on https" in aimlapi.allowed_docs_url("http://docs.aimlapi.com/x.json")
    assert "another site" in aimlapi.allowed_docs_url("https://evil.example/x.json")
    assert "another site" in aimlapi.allowed_docs_url("https://aimlapi.com.evil.example/x")


def test_a_foreign_document_host_passes_the_ssrf_policy_first():
    models = Models(ChatClient("https://api.aimlapi.com/v1"),
                    resolver=lambda host, port: ["169.254.169.254"])
    model = parse_model({"id": "m", "info": {"docsJson": "https://docs.aimlapi.com/m.json"}})
    found = models.parameters(model)
    assert found.accepted is None and "metadata" in found.note


SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string"}, "age": {"type": "integer", "minimum": 3},
    "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}},
    "kind": {"enum": ["a", "b"]}, "maybe": {"type": ["null", "boolean"]}},
    "required": ["name", "age"], "$defs": {"tag": {"type": "string"}}}


def test_the_demo_answers_an_instance_of_the_schema_or_breaks_it_on_request():
    good = demo_catalogue.schema_reply({"json_schema": {"schema": SCHEMA}}, "Hello")
    assert schema.validate(good, SCHEMA).status == "valid"
    bad = demo_catalogue.schema_reply({"json_schema": {"schema": SCHEMA}},
                                      "Please BREAK THE SCHEMA")
    result = schema.validate(bad, SCHEMA)
    assert result.status == "invalid"
    assert {v.path for v in result.violations} == {"$.name", "$"}
    hostile = demo_catalogue.schema_reply({"json_schema": "hostile"}, "x")
    assert schema.validate(hostile, {}).status == "valid"


def test_the_demo_documents_list_what_each_demo_model_accepts():
    from playground.catalogue import accepted_parameters

    accepted = accepted_parameters(demo_catalogue.document("demo"))
    assert {"model", "messages", "max_tokens", "response_format"} <= accepted
    assert "logprobs" not in accepted and "tools" not in accepted
    assert "tools" in accepted_parameters(demo_catalogue.document("demo-tools"))
    assert demo_catalogue.document("nope") is None


def test_a_schema_check_runs_in_a_native_thread_under_gevent(monkeypatch):
    """Under gevent the audit's CPU work goes to the hub's thread pool, not the event loop."""
    import threading

    from gevent import monkey

    from playground.offload import call as offload

    here = threading.get_ident()
    assert offload(threading.get_ident) == here  # no gevent patching: called in place
    monkeypatch.setattr(monkey, "is_module_patched", lambda name: name == "threading")
    assert offload(threading.get_ident) != here
