"""Unit: the cost figures a person sees before and after a run, as arithmetic tables."""

from __future__ import annotations

import pytest

from playground.catalogue import Model, parse_catalogue, parse_model
from playground.cost import (
    Estimate,
    PromptEstimate,
    estimate_prompt,
    format_rate,
    format_usd,
    preflight,
    preflight_compare,
    with_estimated_cost,
)
from playground.run import Usage
from tests.fake_upstream import fixture

CATALOGUE = parse_catalogue(fixture("catalogue.json"))
PROMPT = PromptEstimate(tokens=1000, characters=4000, words=700)


def priced(units=None, *, kind="fixed", variants=None, dimensions=None, output_max=None) -> Model:
    pricing = {"kind": kind}
    if units is not None:
        pricing["units"] = units
    if variants is not None:
        pricing.update(variants=variants, dimensions=dimensions or [])
    return parse_model({"id": "m", "info": {"outputMax": output_max}, "pricing": pricing})


def tokens(measure: str, price: float, per: float) -> dict:
    return {"name": "token", "measure": measure, "price": price, "per": per}


@pytest.mark.parametrize(("model", "body", "usd"), [
    # per 1,000,000: 1,000 × $2.50/M + 500 × $10/M = 0.0025 + 0.005
    (priced([tokens("input", 2.5, 1_000_000), tokens("output", 10, 1_000_000)]),
     {"max_tokens": 500}, 0.0075),
    # per 1,000: 1,000 × $0.00015/k + 500 × $0.0006/k = 0.00015 + 0.0003
    (priced([tokens("input", 0.00015, 1000), tokens("output", 0.0006, 1000)]),
     {"max_tokens": 500}, 0.00045),
    # per 1: 1,000 × $0.000002 + 500 × $0.000008
    (priced([tokens("input", 0.000002, 1), tokens("output", 0.000008, 1)]),
     {"max_tokens": 500}, 0.006),
    # n multiplies only the reply: 0.0025 + 500 × 3 × $10/M
    (priced([tokens("input", 2.5, 1_000_000), tokens("output", 10, 1_000_000)]),
     {"max_tokens": 500, "n": 3}, 0.0175),
    # max_completion_tokens counts like max_tokens
    (priced([tokens("input", 2.5, 1_000_000), tokens("output", 10, 1_000_000)]),
     {"max_completion_tokens": 100}, 0.0035),
    # no max_tokens: the model's outputMax (16,384) is the most it can write
    (priced([tokens("input", 2.5, 1_000_000), tokens("output", 10, 1_000_000)],
            output_max=16384), {}, 0.0025 + 0.16384),
    # variants that match the request's own parameter
    (priced(kind="variants", dimensions=["service_tier"], variants=[
        {"when": {"measure": "input", "service_tier": "flex"}, "price": 1, "unit": "token",
         "per": 1_000_000},
        {"when": {"measure": "input", "service_tier": "priority"}, "price": 4, "unit": "token",
         "per": 1_000_000},
        {"when": {"measure": "output", "service_tier": "flex"}, "price": 2, "unit": "token",
         "per": 1_000_000},
        {"when": {"measure": "output", "service_tier": "priority"}, "price": 8,
         "unit": "token", "per": 1_000_000}]),
     {"max_tokens": 1000, "service_tier": "flex"}, 0.001 + 0.002),
    # variants on a condition unknown before the run: the highest rate, "up to"
    (CATALOGUE.find("gemini-2.5-pro"), {"max_tokens": 1000}, 0.0025 + 0.015),
])
def test_preflight_arithmetic(model, body, usd):
    estimate = preflight(model, body, PROMPT)
    assert estimate.usd == pytest.approx(usd)
    assert estimate.label == f"estimated up to {format_usd(estimate.usd)}"


def test_the_assumptions_are_listed_with_the_figure():
    estimate = preflight(CATALOGUE.find("gpt-4o"), {"max_tokens": 500, "n": 2}, PROMPT)
    assert estimate.assumptions == (
        "Prompt: about 1,000 tokens (estimated from 4,000 characters and 700 words, not a "
        "tokenizer) × $2.50 per 1,000,000 input tokens.",
        "Reply: up to 500 tokens (max_tokens) × 2 choices × $10.00 per 1,000,000 output "
        "tokens.",
        "Images, reasoning tokens and tool-call rounds are not included.")
    assert estimate.rates["input"] == {"price": 2.5, "per": 1_000_000, "unit": "token",
                                       "measure": "input", "when": {}}
    assert (estimate.rates["max_tokens"], estimate.rates["n"]) == (500, 2)


def test_variants_say_which_rate_was_assumed():
    estimate = preflight(CATALOGUE.find("gemini-2.5-pro"), {"max_tokens": 10}, PROMPT)
    assert "The highest input rate was used: it varies with prompt_size not known before the " \
           "run." in estimate.assumptions


@pytest.mark.parametrize(("model", "body", "reason"), [
    (None, {"max_tokens": 10}, "The model is not in the catalogue."),
    (CATALOGUE.find("mistralai/mistral-large"), {"max_tokens": 10},
     "The provider prices this model per request (variable pricing)."),
    (CATALOGUE.find("grok-3"), {"max_tokens": 10}, "The catalogue gives no price for this model."),
    (parse_model({"id": "m", "pricing": {"kind": "subscription"}}), {"max_tokens": 10},
     "The catalogue gives no price for this model."),
    (CATALOGUE.find("flux/schnell"), {"max_tokens": 10},
     "The catalogue has no per-token input and output price for it."),
    (CATALOGUE.find("text-embedding-3-small"), {"max_tokens": 10},
     "The catalogue has no per-token input and output price for it."),
    (parse_catalogue(fixture("models-openai.json")).find("gpt-4o"), {"max_tokens": 10},
     "The catalogue gives no price for this model."),
    (priced([tokens("input", 1, 1_000_000), tokens("output", 1, 1_000_000)]), {},
     "No max_tokens is set and the catalogue gives no output limit."),
])
def test_what_cannot_be_quoted_says_so_and_is_never_zero(model, body, reason):
    estimate = preflight(model, body, PROMPT)
    assert estimate.usd is None and not estimate.quotable
    assert estimate.label == "can't be quoted" and estimate.reason == reason


@pytest.mark.parametrize("body", [
    {"max_tokens": -5}, {"max_tokens": True}, {"max_tokens": "500"}, {"n": 0}, {"n": "3"},
    {"n": 10**9}, None, "text",
])
def test_nonsense_parameters_fall_back_to_what_is_known(body):
    estimate = preflight(CATALOGUE.find("gpt-4o"), body, PROMPT)
    assert estimate.quotable and estimate.usd <= 0.0025 + 16384 * 128 * 10 / 1e6


@pytest.mark.parametrize(("body", "usd"), [
    ({"max_tokens": 10**400}, 0.0025 + 2**63 * 10 / 1e6),  # priced as 2**63 tokens: refused
    ({"max_completion_tokens": 10**5000}, 0.0025 + 2**63 * 10 / 1e6),
    ({"max_tokens": 5, "n": 10**400}, 0.0025 + 5 * 128 * 10 / 1e6),  # n is capped at 128
])
def test_a_number_too_large_for_a_float_gives_a_figure_not_an_error(body, usd):
    estimate = preflight(CATALOGUE.find("gpt-4o"), body, PROMPT)
    assert estimate.usd == pytest.approx(usd)


def test_a_comparison_is_the_sum_of_its_lanes():
    lanes = [preflight(CATALOGUE.find(m), {"max_tokens": 500}, PROMPT)
             for m in ("gpt-4o", "gpt-4o-mini", "deepseek-chat")]
    total = preflight_compare(lanes)
    assert total.usd == pytest.approx(0.0075 + 0.00045 + (1000 * 0.28 + 500 * 0.42) / 1e6)
    assert total.lanes == tuple(lanes)


def test_one_unquotable_lane_makes_the_comparison_unquotable():
    lanes = [preflight(CATALOGUE.find("gpt-4o"), {"max_tokens": 10}, PROMPT),
             preflight(CATALOGUE.find("mistralai/mistral-large"),
                       {"max_tokens": 10}, PROMPT)]
    total = preflight_compare(lanes)
    assert total.label == "can't be quoted" and total.reason == "Lane 2 can't be quoted."
    assert preflight_compare([]).usd is None


# -- after the run -------------------------------------------------------------------------------
@pytest.mark.parametrize(("usage", "model", "expected"), [
    # estimated: 1,000 × $2.50/M + 200 × $10/M
    (Usage(prompt=1000, completion=200), "gpt-4o",
     Usage(prompt=1000, completion=200, cost_usd=0.0045, cost_source="estimated")),
    # billed wins: the provider's figure is never replaced
    (Usage(prompt=1000, completion=200, cost_usd=0.01, cost_source="billed"), "gpt-4o",
     Usage(prompt=1000, completion=200, cost_usd=0.01, cost_source="billed")),
    # per 1,000 prices
    (Usage(prompt=2000, completion=1000), "gpt-4o-mini",
     Usage(prompt=2000, completion=1000, cost_usd=0.0009, cost_source="estimated")),
    # no usage reported: no cost, never $0
    (Usage(), "gpt-4o", Usage()),
    (Usage(prompt=1000), "gpt-4o", Usage(prompt=1000)),
    # no price
    (Usage(prompt=1000, completion=200), "mistralai/mistral-large",
     Usage(prompt=1000, completion=200)),
    (Usage(prompt=1000, completion=200), None, Usage(prompt=1000, completion=200)),
])
def test_post_run_cost_is_usage_times_the_catalogue_price(usage, model, expected):
    got = with_estimated_cost(usage, CATALOGUE.find(model) if model else None)
    assert got.cost_source == expected.cost_source
    assert got.cost_usd == pytest.approx(expected.cost_usd) if expected.cost_usd else \
        got.cost_usd is None
    assert (got.prompt, got.completion) == (expected.prompt, expected.completion)


# -- the prompt estimate ---------------------------------------------------------------------
@pytest.mark.parametrize(("messages", "tokens", "characters", "words"), [
    ([], 0, 0, 0),
    ([{"role": "user", "content": "Hello there, how are you?"}], 17, 25, 5),
    # characters ÷ 4 wins on long words: 400 characters, 1 word
    ([{"role": "user", "content": "x" * 400}], 107, 400, 1),
    # words × 4/3 wins on short ones: 200 one-letter words
    ([{"role": "user", "content": "a " * 200}], 274, 400, 200),
    # scripts without spaces count one token per character
    ([{"role": "user", "content": "日本語のテキストです"}], 17, 10, 1),
    # text parts count, images are noted and not counted
    ([{"role": "user", "content": [{"type": "text", "text": "Describe"},
                                   {"type": "image_url", "image_url": {"url": "data:..."}}]}],
     9, 8, 1),
    # junk turns are skipped
    ([None, "text", {"role": "user", "content": 42}], 7, 0, 0),
])
def test_the_prompt_estimate(messages, tokens, characters, words):
    estimate = estimate_prompt(messages)
    assert (estimate.tokens, estimate.characters, estimate.words) == (tokens, characters, words)


def test_the_prompt_estimate_is_labelled_as_one():
    estimate = estimate_prompt([{"role": "user", "content": [
        {"type": "text", "text": "What is here?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}])
    assert estimate.images == 1
    assert estimate.label == ("about 13 tokens (estimated from 13 characters and 3 words, "
                              "not a tokenizer)")


@pytest.mark.parametrize(("amount", "text"), [
    (0, "$0.00"), (12.345, "$12.35"), (1234.5, "$1,234.50"), (0.5, "$0.50"), (0.1, "$0.10"),
    (0.0123, "$0.0123"), (0.0100425, "$0.01"), (0.000045, "$0.000045"),
    (0.099999, "$0.10"), (0.0000123456, "$0.0000123"),
])
def test_dollars_show_fractions_of_a_cent(amount, text):
    assert format_usd(amount) == text


def test_rates_read_as_the_provider_states_them():
    veo = CATALOGUE.find("google/veo-2.0-generate-001").pricing.rates[1]
    assert format_rate(veo) == "$0.65 per 1 second"
    gpt = CATALOGUE.find("gpt-4o-mini").pricing.rates[0]
    assert format_rate(gpt) == "$0.00015 per 1,000 input tokens"
    assert Estimate(usd=None).label == "can't be quoted"
