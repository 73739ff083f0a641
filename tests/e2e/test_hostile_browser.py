"""Every hostile reply, rendered by real Chromium: no dialog, no injected global, no request
that leaves localhost, no navigation — without JavaScript, with it on a plain submit, and
while streaming."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app import create_app
from tests.e2e.conftest import Served
from tests.helpers import SENTINEL_KEY, app_config
from tests.hostile import HOSTILE, OWN_SCRIPTS

MODES = ("no-js", "js-plain-submit", "js-stream")


@pytest.fixture(scope="module")
def live_url(fake_server, tmp_path_factory):
    app = create_app(app_config(tmp_path_factory.mktemp("e2e"),
                                AIMLAPI_BASE_URL=fake_server.base_url,
                                AIMLAPI_API_KEY=SENTINEL_KEY,
                                PLAYGROUND_RATE_LIMIT="100000/minute",
                                PLAYGROUND_DAILY_LIMIT="100000/day",
                                UPSTREAM_READ_TIMEOUT=10.0, UPSTREAM_DEADLINE=60.0))
    served = Served(app)
    yield served.url
    served.stop()


@pytest.fixture(scope="module")
def contexts(browser):
    made = {"no-js": browser.new_context(java_script_enabled=False),
            "js-plain-submit": browser.new_context(),
            "js-stream": browser.new_context()}
    # An "old browser" without streams: the script leaves the form to a plain submit, so
    # the no-JS result page is then shown with JavaScript running.
    made["js-plain-submit"].add_init_script("delete window.ReadableStream;")
    yield made
    for context in made.values():
        context.close()


def visit(context, live_url: str, mode: str, case: str) -> dict:
    """Run one hostile case through the page and report what the browser saw."""
    page = context.new_page()
    dialogs, requests = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(live_url + "/")
        page.fill("#model", "fake/hostile")
        page.fill("#turns-1-content", case)
        if mode == "js-stream":
            page.click("#run-button")
            page.wait_for_selector("#result article.result[data-state]", timeout=60_000)
        else:
            with page.expect_navigation(timeout=60_000):
                page.click("#run-button")
            page.wait_for_selector(".reply", timeout=30_000)
        page.wait_for_timeout(100)  # give a meta refresh or a lazy load its chance
        js = mode != "no-js"
        return {
            "dialogs": dialogs,
            "pwned": js and page.evaluate("typeof window.__pwned") != "undefined",
            "scripts": page.evaluate(  # script elements other than the page's own files
                "(own) => [...document.scripts].filter((s) => !own.includes(s.getAttribute('src')))"
                ".length", sorted(OWN_SCRIPTS)) if js else 0,
            "same_origin": urlsplit(page.url).netloc == urlsplit(live_url).netloc,
            "frames": len(page.frames),
            "active": page.locator(".reply img, .reply svg, .reply iframe, .reply form").count(),
            "outside": [url for url in requests if urlsplit(url).hostname != "127.0.0.1"],
        }
    finally:
        page.close()


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("mode", MODES)
def test_hostile_reply_is_inert_in_chromium(contexts, live_url, mode, case):
    seen = visit(contexts[mode], live_url, mode, case)
    assert seen["dialogs"] == [], f"a dialog opened: {seen['dialogs']}"
    assert not seen["pwned"], "script from the reply ran"
    assert seen["scripts"] == 0, "a script element was injected"
    assert seen["same_origin"], "the page navigated away"
    assert seen["frames"] == 1, "an iframe was created"
    assert seen["active"] == 0
    assert seen["outside"] == [], f"requests left localhost: {seen['outside']}"


def test_the_harness_would_notice_a_breach(contexts, live_url, monkeypatch):
    """With the sanitizer and the CSP both switched off, the same checks fail: not vacuous."""
    from markupsafe import Markup

    import app as app_module
    from playground import render

    monkeypatch.setattr(render, "markdown_html", lambda text, limit=0: Markup(text))
    monkeypatch.setattr(app_module, "CONTENT_SECURITY_POLICY", "default-src * 'unsafe-inline'")
    seen = visit(contexts["js-plain-submit"], live_url, "js-plain-submit", "img-onerror")
    assert seen["dialogs"] and seen["pwned"]
    seen = visit(contexts["no-js"], live_url, "no-js", "raw-img-tag")
    assert any("evil.example" in url for url in seen["outside"])
