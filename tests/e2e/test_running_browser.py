"""A run still in flight, opened in real Chromium: followed with JavaScript, refreshed without."""

from __future__ import annotations

import re
import threading
import time

import requests
from playwright.sync_api import expect

from tests.fake_upstream import HOLD_TEXT


def start_stream(base: str, prompt: str) -> threading.Thread:
    """Another tab runs a stream through the served app, and keeps reading it."""
    session = requests.Session()
    session.trust_env = False
    token = re.search(r'name="csrf-token" content="([^"]+)"',
                      session.get(f"{base}/").text).group(1)
    response = session.post(f"{base}/stream", stream=True, timeout=60, data={
        "csrf_token": token, "model": "fake/hold", "prompt": prompt})
    thread = threading.Thread(target=lambda: [None for _ in response.iter_content(None)])
    thread.start()
    return thread


def saved_text_of(base: str, prompt: str) -> str:
    """The running run's page, once it holds the text so far (saved about once a second)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        history = requests.get(f"{base}/history", timeout=5).text
        found = re.search(r'href="(/runs/[^"]+)" class="run-link">' + re.escape(prompt), history)
        if found and HOLD_TEXT in requests.get(base + found.group(1), timeout=5).text:
            return found.group(1)
        time.sleep(0.2)
    raise AssertionError("the running run's text was never saved")


def test_a_running_run_is_followed_to_its_end_and_refreshable_without_js(serve_live, upstream,
                                                                         open_page):
    base = serve_live(PLAYGROUND_SINGLE_USER=True, UPSTREAM_READ_TIMEOUT=30.0)
    reader = start_stream(base, "Follow this run")
    try:
        path = saved_text_of(base, "Follow this run")
        plain = open_page(base + path, javascript=False).page
        expect(plain.locator(".result-head .pill").first).to_have_text("Running")
        expect(plain.locator(".reply")).to_have_text(HOLD_TEXT)
        refresh = plain.get_by_role("link", name="Refresh")
        expect(refresh).to_have_attribute("href", path)

        watched = open_page(base + path)
        page = watched.page
        expect(page.locator("[data-follow-note]")).to_contain_text("follows it")
        page.evaluate("window.stillTheSamePage = true")
        upstream.release.set()  # the provider sends the rest
        expect(page.locator(".result-head .pill").first).to_have_text("Done", timeout=15_000)
        expect(page.locator(".reply")).to_have_text(f"{HOLD_TEXT} And the rest.")
        expect(page.locator(".banner-running")).to_have_count(0)
        ended = page.locator("p[role=status]", has_text="The run has ended")
        expect(ended).to_have_text("The run has ended: Done.")
        assert page.locator("#result").get_attribute("aria-live") is None  # not read per token
        assert page.evaluate("window.stillTheSamePage") is True  # followed in place
        expect(page.locator(".inspect [data-js-only]").first).to_be_visible()  # Copy works
        assert watched.errors == [] and watched.outside_requests() == []

        refresh.click()  # without JavaScript, the link shows how it ended
        expect(plain.locator(".result-head .pill").first).to_have_text("Done")
        expect(plain.locator(".reply")).to_have_text(f"{HOLD_TEXT} And the rest.")
    finally:
        upstream.release.set()
        reader.join(timeout=10)
