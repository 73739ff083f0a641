"""History in a real Chromium: runs kept, searched, opened, shared with a stranger, revoked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import fill_and_run


@pytest.fixture
def base_url(serve_live, db_url):
    return serve_live(DATABASE_URL=db_url)


def watch(page, problems: list[str]) -> None:
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))


def run(page, model: str, prompt: str) -> None:
    fill_and_run(page, model, prompt)
    expect(page.locator(".result .pill-complete")).to_be_visible()
    # The streamed run is saved: the address bar now holds the run's own page.
    expect(page).to_have_url(re.compile(r"/runs/[A-Za-z0-9_-]{22}$"))


def test_runs_are_kept_searched_shared_and_revoked(base_url, browser):
    problems: list[str] = []
    owner = browser.new_context()
    page = owner.new_page()
    watch(page, problems)
    page.goto(base_url + "/")
    run(page, "fake/ok", "Tell me about Paris")
    page.goto(base_url + "/")
    run(page, "fake/markdown", "Format a table")
    expect(page.locator(".reply table")).to_be_visible()
    page.reload()  # the run's page again, from the history; nothing is re-sent
    expect(page.locator(".reply h1")).to_have_text("Title")
    expect(page.locator("#turns-1-content")).to_have_value("Format a table")

    page.click("text=History")
    expect(page.locator(".run-row")).to_have_count(2)
    expect(page.locator(".run-link").first).to_have_text("Format a table")
    page.fill("input[name=q]", "paris")
    page.click("button:has-text('Filter')")
    expect(page.locator(".run-row")).to_have_count(1)
    page.click("text=Tell me about Paris")
    expect(page.locator("#turns-1-content")).to_have_value("Tell me about Paris")
    expect(page.locator(".reply")).to_contain_text("Hello! How can I help you today?")

    page.click("#share-button")
    link = page.locator("#share-url").input_value()
    assert re.fullmatch(re.escape(base_url) + r"/s/[A-Za-z0-9_-]{32,}", link)

    stranger = browser.new_context()  # no cookies: someone the link was sent to
    shared = stranger.new_page()
    watch(shared, problems)
    shared.goto(link)
    expect(shared.locator("#shared-prompt")).to_have_text("Tell me about Paris")
    expect(shared.locator(".reply")).to_contain_text("Hello! How can I help you today?")
    expect(shared.locator(".usage")).to_contain_text("Total tokens")
    expect(shared.locator(".jt")).to_contain_text("gen-stream-1")  # the raw JSON
    expect(shared.locator("#prompt-form")).to_have_count(0)
    shared.goto(base_url + "/history")  # the stranger's own history: empty
    expect(shared.locator(".empty-list")).to_contain_text("No runs yet")

    page.click("#revoke-button")
    expect(page.locator(".flash")).to_contain_text("revoked")
    expect(page.locator("#share-url")).to_have_count(0)
    response = shared.goto(link)
    assert response.status == 404
    expect(shared.locator("body")).to_contain_text("There is no page at this address")
    problems = [p for p in problems if "404" not in p]  # the revoked link's own status
    assert problems == []
    owner.close()
    stranger.close()
