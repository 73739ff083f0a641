"""Integration: a comparison's cost before Run — the sum of its lanes on the compare form,
"can't be quoted" when a lane can't, and the operator's cap refusing a comparison whole, with
the 429 card and no upstream call (both the no-JS post and the script's reservation)."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from playground.forms import MAX_TOKENS_LIMIT
from tests.helpers import Page, csrf_token, turn_fields
from tests.test_compare import compare, compare_form, reserve

# The fixture catalogue's prices: gpt-4o $2.50 / $10.00 per million input / output tokens,
# gpt-4o-mini $0.15 / $0.60.
GPT4O, MINI = (2.5, 10.0), (0.15, 0.6)


def figure(page: Page) -> float:
    found = re.search(r"estimated up to \$([\d.,]+)", page.text("#preflight-cost"))
    assert found, page.text("#preflight")
    return float(found.group(1).replace(",", ""))


def live(client, models, **fields) -> Page:
    """The panel as static/cost.js asks for it while the lanes change."""
    response = client.post("/compare/preflight", data=compare_form(client, models, **fields),
                           headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 200 and response.headers["Cache-Control"] == \
        "private, no-store"
    page = Page.__new__(Page)
    page.soup = BeautifulSoup(response.get_json()["preflight"], "html.parser")
    return page


def test_the_compare_form_shows_the_sum_of_its_lanes_without_javascript(client, upstream):
    fields = {"lanes-0-max_tokens": "1000", "lanes-1-max_tokens": "1000", "prompt": None,
              **turn_fields(("system", ""), ("user", "Compare this"))}
    page = compare(client, ["openai/gpt-4o", "openai/gpt-4o-mini"], action="add-lane",
                   **fields)  # a post that calls nobody: the form comes back with its panel
    assert page.status == 200 and upstream.received == []
    panel = page.text("#preflight")
    assert "for all 3 lanes" not in panel  # the lane just added has no model yet
    assert "can't be quoted" in panel and "Lane 3 can't be quoted." in panel
    two = compare(client, ["openai/gpt-4o", "openai/gpt-4o-mini"], action="remove-lane-9",
                  **fields)
    assert "for all 2 lanes" in two.text("#preflight-cost")
    total = figure(two)
    # Each lane: 1,000 reply tokens × its output rate, plus a few prompt tokens (shown to
    # three significant digits).
    assert total == pytest.approx(1000 * (GPT4O[1] + MINI[1]) / 1e6, rel=0.01)
    lanes = two.all_text("#preflight details > ul > li")
    assert lanes[1].startswith("Lane 1 · openai/gpt-4o : estimated up to $0.01")
    assert lanes[2].startswith("Lane 2 · openai/gpt-4o-mini : estimated up to $0.0006")
    assert two.all_text("#preflight details li li") == [
        "Prompt: about 10 tokens (estimated from 12 characters and 2 words, not a tokenizer) "
        "× $2.50 per 1,000,000 input tokens.",
        "Reply: up to 1,000 tokens (max_tokens) × 1 choice × $10.00 per 1,000,000 output "
        "tokens.",
        "Prompt: about 10 tokens (estimated from 12 characters and 2 words, not a tokenizer) "
        "× $0.00015 per 1,000 input tokens.",  # as the catalogue states it
        "Reply: up to 1,000 tokens (max_tokens) × 1 choice × $0.0006 per 1,000 output tokens."]
    assert "Images, reasoning tokens and tool-call rounds are not included." in \
        two.text("#preflight details")


def test_the_live_panel_follows_each_lanes_model_and_max_tokens(client, upstream):
    base = live(client, ["openai/gpt-4o", "openai/gpt-4o-mini"],
                **{"lanes-0-max_tokens": "100", "lanes-1-max_tokens": "100"})
    more = live(client, ["openai/gpt-4o", "openai/gpt-4o-mini"],
                **{"lanes-0-max_tokens": "100", "lanes-1-max_tokens": "10100"})
    # 10,000 more tokens at gpt-4o-mini's $0.60 per million
    assert figure(more) - figure(base) == pytest.approx(10_000 * MINI[1] / 1e6, abs=1e-4)
    swapped = live(client, ["openai/gpt-4o", "openai/gpt-4o"],
                   **{"lanes-0-max_tokens": "100", "lanes-1-max_tokens": "10100"})
    assert figure(swapped) == pytest.approx(10_200 * GPT4O[1] / 1e6, abs=0.005)  # "$0.10"
    assert upstream.received == []  # pricing a comparison calls no model
    forged = client.post("/compare/preflight", data={"lanes-0-model": "openai/gpt-4o"})
    assert forged.status_code == 400  # a form from another site gets no answer


@pytest.mark.parametrize(("models", "reason"), [
    (["openai/gpt-4o", "mistralai/mistral-large"], "Lane 2 can't be quoted."),  # variable
    (["fake/ok", "openai/gpt-4o"], "Lane 1 can't be quoted."),  # not in the catalogue
])
def test_one_lane_that_cant_be_quoted_makes_the_comparison_unquotable(client, upstream, models,
                                                                      reason):
    page = live(client, models, **{"lanes-0-max_tokens": "10", "lanes-1-max_tokens": "10"})
    assert page.text("#preflight-cost") == f"Cost: can't be quoted. {reason}"
    lanes = page.all_text("#preflight details > ul > li")
    assert any("per request (variable pricing)" in line or "not in the catalogue" in line
               for line in lanes)  # the lane says why


def test_the_demo_prices_a_comparison_and_says_they_are_demo_prices(demo_app):
    page = Page(demo_app.test_client().get("/compare"))
    assert "estimated up to $" in page.text("#preflight-cost")
    assert page.text("#preflight-cost .pill-demo") == "demo prices"
    assert "at the demo's prices" in page.text("#preflight details")


def test_a_comparison_over_the_cap_is_refused_whole_with_no_call(make_app, upstream):
    client = make_app(PLAYGROUND_MAX_COST_PER_RUN=0.01).test_client()
    # Each lane alone is under the cap ($0.005 of reply each); their sum is not.
    fields = {"lanes-0-max_tokens": "500", "lanes-1-max_tokens": "500",
              "lanes-2-max_tokens": "500"}
    page = compare(client, ["openai/gpt-4o"] * 3, **fields)
    assert page.status == 429 and "Retry-After" not in page.response.headers
    card = page.text(".limit-card")
    assert "Over this server's cost limit" in card
    assert "(the sum of its lanes), more than this server's cap of $0.01 per run" in card
    assert "Nothing was sent to any model" in card
    assert page.value("lanes-2-max_tokens") == "500"  # the form is kept
    assert "Refused by this server's cost cap" in page.text("#preflight")
    response = reserve(client, ["openai/gpt-4o"] * 3, **fields)  # as the page's script asks
    assert response.status_code == 429 and "Retry-After" not in response.headers
    assert "cap of $0.01" in response.get_json()["error"]
    assert upstream.received == []
    fine = compare(client, ["openai/gpt-4o"] * 2, **{"lanes-0-max_tokens": "100",
                                                     "lanes-1-max_tokens": "100"})
    assert fine.status == 200 and len([r for r in upstream.received if r["body"]]) == 2


def test_the_cap_fails_closed_on_a_lane_with_no_quotable_price(make_app, upstream):
    capped = make_app(PLAYGROUND_MAX_COST_PER_RUN=1.0).test_client()
    page = compare(capped, ["openai/gpt-4o", "fake/ok"], **{"lanes-0-max_tokens": "10"})
    assert page.status == 429 and "comparisons whose cost can't be quoted" in \
        page.text(".limit-card")
    assert upstream.received == []
    allowed = make_app(PLAYGROUND_MAX_COST_PER_RUN=0.001, PLAYGROUND_ALLOW_UNPRICED=True)
    client = allowed.test_client()
    # Unpriced lanes allowed: the lanes that can be quoted still count against the cap.
    over = compare(client, ["openai/gpt-4o", "fake/ok"], **{"lanes-0-max_tokens": "1000"})
    assert over.status == 429 and upstream.received == []
    assert "(the sum of the lanes that can be quoted)" in over.text(".limit-card")
    ok = compare(client, ["openai/gpt-4o", "fake/ok"], **{"lanes-0-max_tokens": "10"})
    assert ok.status == 200 and len([r for r in upstream.received if r["body"]]) == 2


@pytest.mark.parametrize("fields", [
    {"lanes-0-max_tokens": "1" + "0" * 400},
    {"lanes-0-extra": "[" * 5000},
    {"lanes-0-extra": '{"n": '},
    {"tools": "[" * 5000},
    {"lanes-0-max_tokens": str(MAX_TOKENS_LIMIT + 1), "lanes-1-model": None},
])
def test_a_hostile_lane_never_breaks_the_panel(client, upstream, fields):
    page = live(client, ["openai/gpt-4o", "openai/gpt-4o-mini"], **fields)
    assert page.text("#preflight-cost").startswith("Cost: ")
    posted = compare(client, ["openai/gpt-4o", "openai/gpt-4o-mini"], **fields)
    assert posted.status == 400 and upstream.received == []  # refused on its field
    assert "Cost: " in posted.text("#preflight-cost")


def test_a_huge_number_in_a_lanes_extra_json_is_priced_not_a_crash(make_app, upstream):
    client = make_app(PLAYGROUND_MAX_COST_PER_RUN=1.0).test_client()
    extra = '{"max_completion_tokens": 1' + "0" * 400 + "}"
    page = live(client, ["openai/gpt-4o", "openai/gpt-4o-mini"], **{"lanes-0-extra": extra})
    assert "Refused by this server's cost cap" in page.text("#preflight")
    posted = compare(client, ["openai/gpt-4o", "openai/gpt-4o-mini"], **{"lanes-0-extra": extra})
    assert posted.status == 429 and upstream.received == []
