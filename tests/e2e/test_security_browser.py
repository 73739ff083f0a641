"""In Chromium: the over-limit card after a streamed run, and a visitor key kept in the tab."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import fill_and_run

VISITOR_KEY = "fake-visitor-key-in-the-browser-123"


@pytest.fixture
def page(browser):
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_over_the_limit_the_streamed_run_shows_the_card(serve_live, page, upstream):
    url = serve_live(PLAYGROUND_RATE_LIMIT="1/minute")
    page.goto(url + "/")
    fill_and_run(page, "fake/ok", "first")
    page.wait_for_selector("#result article.result[data-state=complete]")
    fill_and_run(page, "fake/ok", "second, over the limit")
    card = page.wait_for_selector(".limit-card", timeout=15_000)
    assert "Please wait a little" in card.inner_text()
    assert page.input_value("#turns-1-content") == "second, over the limit"
    assert len([r for r in upstream.received if r["method"] == "POST"]) == 1


def test_a_visitor_key_stays_in_the_tab_and_out_of_pages(serve_live, page, upstream):
    url = serve_live(PLAYGROUND_ALLOW_USER_KEYS=True)
    bodies = []
    page.on("response", lambda response: bodies.append(response.text())
            if response.request.resource_type == "document" else None)
    page.goto(url + "/")
    page.fill("#user_key", VISITOR_KEY)
    fill_and_run(page, "fake/ok", "streamed with my key")
    page.wait_for_selector("#result article.result[data-state=complete]")
    assert upstream.received[-1]["headers"]["Authorization"] == f"Bearer {VISITOR_KEY}"
    page.reload()
    assert page.input_value("#user_key") == VISITOR_KEY  # remembered by this tab only
    assert page.evaluate("sessionStorage.getItem('playground.userKey')") == VISITOR_KEY
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("document.cookie") == ""
    assert bodies and all(VISITOR_KEY not in body for body in bodies)
    assert VISITOR_KEY not in (page.get_attribute("#user_key", "value") or "")
