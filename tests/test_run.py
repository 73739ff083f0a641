"""Run and Usage as tables: what a person sees as tokens, cost, speed and state."""

from __future__ import annotations

import pytest

from playground.errors import UpstreamError
from playground.run import STATES, Run, Usage, label, usage_of

FULL = {"usage": {"prompt_tokens": 10, "completion_tokens": 50, "total_tokens": 60,
                  "prompt_tokens_details": {"cached_tokens": 4},
                  "completion_tokens_details": {"reasoning_tokens": 20}}}


@pytest.mark.parametrize(("response", "headers", "expected"), [
    ({"choices": []}, {}, Usage()),
    (None, {}, Usage()),
    ("not an object", {}, Usage()),
    (FULL, {}, Usage(prompt=10, completion=50, total=60, cached=4, reasoning=20)),
    ({"meta": {"usage": {"usd_spent": 0.0021}}}, {},
     Usage(cost_usd=0.0021, cost_source="billed")),
    ({}, {"x-aimlapi-usd-spent": "0.5"}, Usage(cost_usd=0.5, cost_source="billed")),
    ({"usage": {"cost": 0.25}}, {}, Usage(cost_usd=0.25, cost_source="billed")),
    # the body's meta wins over the header, the header over usage.cost
    ({"meta": {"usage": {"usd_spent": 1}}, "usage": {"cost": 3}}, {"x-aimlapi-usd-spent": "2"},
     Usage(cost_usd=1.0, cost_source="billed")),
    # nonsense is n/a, never a number we made up
    ({"usage": {"prompt_tokens": "5", "completion_tokens": -3, "total_tokens": True},
      "meta": {"usage": {"usd_spent": "NaN"}}}, {"x-aimlapi-usd-spent": "-1"}, Usage()),
    ({"usage": {"cost": float("inf")}}, {}, Usage()),
    ({"usage": {"cost": True}}, {}, Usage()),
    ({"usage": ["a list"]}, {}, Usage()),
], ids=["empty", "none", "string", "details", "meta-cost", "header-cost", "usage-cost",
        "cost-order", "nonsense", "infinite-cost", "bool-cost", "list-usage"])
def test_usage_is_what_the_provider_said(response, headers, expected):
    assert usage_of(response, headers) == expected


@pytest.mark.parametrize(("fields", "expected"), [
    ({"total_ms": 500.0}, 100.0),  # 50 tokens in half a second
    ({"total_ms": 600.0, "ttft_ms": 100.0, "stream": True}, 100.0),  # generation time only
    ({"total_ms": 0.0}, None),
    ({"total_ms": None}, None),
], ids=["complete", "stream", "zero-time", "no-time"])
def test_tokens_per_second(fields, expected):
    run = Run(request={"model": "m"}, endpoint="x", response=FULL, **fields)
    assert run.tokens_per_s == (pytest.approx(expected) if expected else None)


def test_no_completion_tokens_means_no_speed():
    assert Run(request={}, endpoint="x", response={}, total_ms=10.0).tokens_per_s is None


def test_every_state_has_a_label():
    assert set(STATES) == {"running", "complete", "error", "stopped", "shutdown",
                           "incomplete", "interrupted", "cut"}
    assert label("complete") == "Done" and label("shutdown") == "Stopped by the server"
    assert label("cut") == "Cut by the time limit"  # a compare lane past the deadline
    assert Run(request={}, endpoint="x", state="interrupted").label == "Interrupted"


def test_a_run_survives_its_dict_form():
    run = Run(request={"model": "m"}, endpoint="x", status=502, state="error",
              error=UpstreamError("server", "boom", status=502, body="{}"), notes=["n"])
    back = Run.from_dict(run.to_dict())
    assert back.error.kind == "server" and back.error.status == 502
    assert back.to_dict() == run.to_dict()


def test_scrub_reaches_every_shown_part():
    key = "fake-scrub-key-123456"
    run = Run(request={"model": "m"}, endpoint="x", headers={"x-echo": key},
              response={"choices": [{"message": {"content": f"your key is {key}"}}], key: 1},
              raw_text=key, events=[f'{{"k": "{key}"}}'],
              error=UpstreamError("auth", f"bad {key}", body=key, request_id=key))
    run.scrub((key,))
    assert key not in repr(run.to_dict())
    assert "[redacted]" in run.response["choices"][0]["message"]["content"]
