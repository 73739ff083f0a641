"""Browser: comparing demo models side by side in Chromium, with and without JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS


@pytest.fixture
def compare_url(serve) -> str:
    # demo-fast, demo and demo-slow wait 0.25x, 1x and 3x this between tokens.
    return serve(DEMO_TOKEN_DELAY=0.008) + "/compare"


def lane_state(page, number: int) -> str:
    return page.locator(f"#lane-{number}").get_attribute("data-state") or ""


def test_three_lanes_stream_independently_the_fastest_first(compare_url, open_page):
    watched = open_page(compare_url)
    page = watched.page
    expect(page.locator("#lanes-0-model")).to_have_value("demo-fast")
    expect(page.locator("#lanes-2-model")).to_have_value("demo-slow")
    page.fill("#turns-1-content", "Which of you is fastest?")
    page.click("#compare-button")
    # Each lane has its own column and streams into it as its model writes.
    expect(page.locator("#lane-0 [data-part=pill]")).to_have_text("Done", timeout=15_000)
    assert lane_state(page, 0) == "complete"
    assert lane_state(page, 2) == "running"  # the slow lane is still writing
    expect(page.locator("#lane-2 .streaming-text")).not_to_be_empty()
    expect(page.locator("#stop-all")).to_be_visible()
    page.click("#lane-2 [data-part=stop]")  # Stop one lane; the others go on
    expect(page.locator(".metrics-table")).to_be_visible(timeout=15_000)
    assert [lane_state(page, n) for n in range(3)] == ["complete", "complete", "stopped"]
    expect(page.locator("#lane-2")).to_contain_text("Stopped by you")
    expect(page.locator("#lane-0 .reply h2")).to_have_text("Hello from the offline demo model")
    assert re.search(r"/compare/[\w-]+$", page.url)
    # The fastest lane is marked best for total time, in words as well as in colour.
    best = page.locator(".metrics-table tr", has_text="Total time").locator("td.best")
    expect(best).to_have_count(1)
    expect(best).to_contain_text("best")
    # The diff of two lanes, in place.
    page.select_option("#diff-a", "0")
    page.select_option("#diff-b", "1")
    page.click("#diff-button")
    expect(page.locator("#diff-result .diff ins").first).to_be_visible()
    expect(page.locator("#diff-result .diff-legend")).to_contain_text("inserted")
    assert "a=0&b=1" in page.url
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "compare-light.png"), full_page=True)
    # Reload: the same comparison, from the history, nobody called.
    page.reload()
    assert [lane_state(page, n) for n in range(3)] == ["complete", "complete", "stopped"]
    expect(page.locator("#diff-result .diff")).to_be_visible()
    # Share it, and open the link in a fresh context (no cookies: a stranger).
    page.click("#share-button")
    link = page.locator("#share-url").input_value()
    stranger = open_page(link).page
    expect(stranger.locator("#lane-0 .reply h2")).to_have_text("Hello from the offline demo model")
    expect(stranger.locator("form[data-compare]")).to_have_count(0)
    expect(stranger.locator(".lane-actions")).to_have_count(0)
    assert watched.errors == [] and watched.outside_requests() == []


def test_stop_all_stops_every_lane(compare_url, open_page):
    page = open_page(compare_url).page
    page.fill("#turns-1-content", "Stop us all")
    page.fill("#lanes-0-model", "demo-slow")
    page.fill("#lanes-1-model", "demo-slow")
    page.click("#compare-button")
    expect(page.locator("#lane-0 .streaming-text")).not_to_be_empty(timeout=10_000)
    page.click("#stop-all")
    expect(page.locator(".metrics-table")).to_be_visible(timeout=10_000)
    assert [lane_state(page, n) for n in range(3)] == ["stopped"] * 3  # all demo-slow


def test_without_javascript_the_server_sends_the_lanes_and_the_diff_is_a_form(compare_url,
                                                                              open_page):
    watched = open_page(compare_url, javascript=False)
    page = watched.page
    page.fill("#turns-1-content", "No script here")
    page.click("button[value=add-lane]")
    expect(page.locator(".lane-field")).to_have_count(4)
    page.fill("#lanes-3-model", "demo-reasoning")
    page.click("#compare-button")
    expect(page.locator("section.lane")).to_have_count(4)
    assert [lane_state(page, n) for n in range(4)] == ["complete"] * 4
    expect(page.locator("#lane-3 .reply h2")).to_have_text("Hello from the offline demo model")
    page.select_option("#diff-a", "0")
    page.select_option("#diff-b", "3")
    page.click("#diff-button")
    expect(page.locator("#diff-result .diff")).to_be_visible()
    page.click("#diff-hide")
    expect(page.locator("#diff-result .diff")).to_have_count(0)
    expect(page.locator(".metrics-table")).to_be_visible()


@pytest.mark.parametrize("scheme, width, name", [("dark", 1360, "compare-dark.png"),
                                                 ("light", 390, "compare-390.png")])
def test_layout_in_dark_and_on_a_phone(compare_url, browser, scheme, width, name):
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto(compare_url)
        page.fill("#turns-1-content", "Layout please")
        page.click("#compare-button")
        expect(page.locator(".metrics-table")).to_be_visible(timeout=20_000)
        lanes = page.locator("section.lane")
        if width < 700:  # a phone: one lane at a time, chosen with tabs
            tabs = page.get_by_role("tab")
            expect(tabs).to_have_count(3)
            expect(lanes.nth(0)).to_be_visible()
            expect(lanes.nth(1)).to_be_hidden()
            tabs.nth(1).click()
            expect(lanes.nth(1)).to_be_visible()
            expect(lanes.nth(0)).to_be_hidden()
            expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
            tabs.nth(1).press("ArrowRight")
            expect(tabs.nth(2)).to_be_focused()
            expect(lanes.nth(2)).to_be_visible()
        else:  # side by side: the three columns share one row
            boxes = [lanes.nth(n).bounding_box() for n in range(3)]
            assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"]
            assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    finally:
        context.close()


def test_a_phone_without_javascript_switches_lanes_with_anchors(compare_url, browser):
    context = browser.new_context(java_script_enabled=False,
                                  viewport={"width": 390, "height": 800})
    try:
        page = context.new_page()
        page.goto(compare_url)
        page.fill("#turns-1-content", "Anchors")
        page.click("#compare-button")
        switcher = page.locator("[data-lane-switcher] a")
        expect(switcher).to_have_count(3)
        switcher.nth(2).click()
        assert page.url.endswith("#lane-2")
        expect(page.locator("#lane-2")).to_be_in_viewport()
    finally:
        context.close()


@pytest.mark.parametrize("scheme, viewport", [("light", {"width": 1360, "height": 900}),
                                              ("dark", {"width": 1360, "height": 900}),
                                              ("light", {"width": 390, "height": 844})])
def test_axe_finds_nothing_on_compare_its_results_diff_and_share(compare_url, browser, scheme,
                                                                 viewport):
    from tests.e2e.axe import report, violations

    context = browser.new_context(color_scheme=scheme, viewport=viewport)
    try:
        page = context.new_page()
        page.goto(compare_url)
        for where in ("the compare form", "the finished comparison with its diff",
                      "the shared comparison"):
            if where == "the finished comparison with its diff":
                page.fill("#turns-1-content", "Check me")
                page.click("#compare-button")
                expect(page.locator(".metrics-table")).to_be_visible(timeout=20_000)
                page.click("#diff-button")
                expect(page.locator("#diff-result .diff")).to_be_visible()
            elif where == "the shared comparison":
                page.click("#share-button")
                page.goto(page.locator("#share-url").input_value())
            for opened in (False, True):
                found = violations(page, open_details=opened)
                assert found == [], f"axe on {where} ({scheme}, {viewport['width']} px):\n" \
                                    f"{report(found)}"
    finally:
        context.close()


def test_ctrl_enter_runs_every_lane_and_the_button_says_so_only_when_it_works(compare_url,
                                                                            open_page):
    plain = open_page(compare_url, javascript=False).page
    expect(plain.locator("#compare-button kbd")).to_be_hidden()  # no shortcut to promise
    page = open_page(compare_url).page
    expect(page.locator("#compare-button kbd")).to_be_visible()
    expect(page.locator("#compare-button")).to_have_text("Run all lanes Ctrl ↵")
    page.fill("#turns-1-content", "From the keyboard")
    page.keyboard.press("Control+Enter")  # from the field just typed in
    expect(page.locator(".metrics-table")).to_be_visible(timeout=20_000)
    assert [lane_state(page, n) for n in range(3)] == ["complete"] * 3
    expect(page.locator("#turns-1-content")).to_have_value("From the keyboard")


def test_the_cost_figure_follows_each_lanes_max_tokens_and_model(live_url, open_page):
    watched = open_page(live_url + "/compare")
    page = watched.page
    page.fill("#turns-1-content", "Hello")
    page.fill("#lanes-0-model", "openai/gpt-4o")
    page.fill("#lanes-1-model", "openai/gpt-4o-mini")
    for number in (0, 1):
        page.locator(f"#lane-fields-{number} summary", has_text="Overrides").click()
        page.fill(f"#lanes-{number}-max_tokens", "100")
    cost = page.locator("#preflight-cost")
    # $0.00102 for gpt-4o's lane (as on the playground) + $0.0000612 for gpt-4o-mini's
    expect(cost).to_have_text(re.compile(r"estimated up to \$0\.00108 for all 2 lanes"))
    page.fill("#lanes-1-max_tokens", "20000")  # 19,900 more tokens at $0.60 per million
    expect(cost).to_have_text(re.compile(r"estimated up to \$0\.013 for all 2 lanes"))
    page.fill("#lanes-1-model", "openai/gpt-4o")  # the same tokens at $10 per million
    expect(cost).to_have_text(re.compile(r"estimated up to \$0\.20 for all 2 lanes"))
    page.fill("#lanes-1-model", "mistralai/mistral-large")  # priced per request
    expect(cost).to_have_text("Cost: can't be quoted. Lane 2 can't be quoted.")
    expect(page.locator("#preflight details")).to_contain_text("variable pricing")
    assert watched.errors == []
