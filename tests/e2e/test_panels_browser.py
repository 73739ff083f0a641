"""In Chromium: a streamed result's raw events, Get code and timeline load when they are first
opened, from the keyboard too; a failed load says so and the next opening tries again."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.axe import report, violations
from tests.e2e.conftest import fill_and_run


def finished(page) -> None:
    fill_and_run(page, "fake/markdown", "Hello")
    expect(page.locator("#result .result-head .pill").first).to_have_text("Done",
                                                                         timeout=20_000)


def panel_requests(watched) -> list[str]:
    return [url for url in watched.requests if "/panels/" in url]


def test_panels_load_when_opened_from_the_keyboard_and_only_once(live_url, open_page):
    watched = open_page(live_url + "/")
    page = watched.page
    finished(page)
    code = page.locator("#get-code")
    expect(code).to_have_attribute("data-panel-url", re.compile(r"/panels/code$"))
    expect(page.locator("#code-curl")).to_have_count(0)  # not sent with the result
    assert panel_requests(watched) == []

    page.focus("#get-code > summary")
    page.keyboard.press("Enter")
    expect(page.locator("#code-python-openai")).to_contain_text("chat.completions.create")
    expect(page.locator("#get-code > summary")).to_be_focused()  # focus stays where it was
    expect(code.get_by_role("button", name="Copy the curl code")).to_be_visible()
    expect(code).not_to_have_attribute("aria-busy", "true")

    page.click(".timeline-panel > summary")
    expect(page.locator(".timeline-panel svg.timeline")).to_be_visible()
    page.get_by_text("Raw stream events").click()
    expect(page.locator("#stream-events")).to_contain_text("chat.completion.chunk")

    page.click("#get-code > summary")  # closed, and opened again: nothing fetched twice
    page.click("#get-code > summary")
    expect(page.locator("#code-curl")).to_have_count(1)
    assert len(panel_requests(watched)) == 3
    found = violations(page)
    assert found == [], report(found)
    assert watched.errors == []


def test_a_panel_that_fails_to_load_says_so_and_loads_on_the_next_opening(live_url,
                                                                          open_page):
    watched = open_page(live_url + "/")
    page = watched.page
    finished(page)
    page.route("**/panels/timeline", lambda route: route.fulfill(status=503, body="busy"))
    page.click(".timeline-panel > summary")
    expect(page.locator(".timeline-panel [data-panel-body]")).to_contain_text(
        "could not be loaded (the server answered 503)")
    page.unroute("**/panels/timeline")
    page.click(".timeline-panel > summary")  # closed
    page.click(".timeline-panel > summary")  # and opened again
    expect(page.locator(".timeline-panel svg.timeline")).to_be_visible()
    expect(page.locator(".timeline-panel [data-panel-body]")).to_have_count(0)
    assert [e for e in watched.errors if "503" not in e] == []  # the browser logs the 503
