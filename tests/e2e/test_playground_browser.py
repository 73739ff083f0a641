"""Browser: a newcomer's first runs in real Chromium, with and without JavaScript."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, fill_and_run

HOSTILE = (
    "# Totally normal\n\n<script>window.__pwned = 1</script>\n\n"
    '<img src=x onerror="window.__pwned = 2">\n\n[click me](javascript:window.__pwned=3)\n\n'
    "![pixel](http://198.51.100.7/track.png)\n\n"
    '<svg onload="window.__pwned=4"></svg> <iframe srcdoc="<script>parent.__pwned=5</script>">'
    "</iframe>\n\n</pre></script><script>window.__pwned=6</script>\n\n{{ config }}"
)


def test_newcomer_first_run_on_the_demo_model(demo_url, open_page):
    watched = open_page(demo_url)
    page = watched.page
    expect(page.locator(".banner")).to_contain_text("offline demo model")
    expect(page.locator("#model")).to_have_value("demo")
    page.fill("#turns-1-content", "What can this playground do? Show me a table.")
    page.locator("#turns-1-content").press("Control+Enter")
    expect(page.locator(".result .pill").first).to_have_text("Done", timeout=15_000)
    expect(page.locator(".reply h2")).to_have_text("Hello from the offline demo model")
    expect(page.locator(".reply table")).to_be_visible()
    expect(page.locator(".jt").first).to_contain_text('"chat.completion"')
    expect(page.locator(".usage")).to_contain_text("Total tokens")
    expect(page.locator("#turns-1-content")).to_have_value(
        "What can this playground do? Show me a table.")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playground.png"), full_page=True)
    assert watched.errors == [] and watched.outside_requests() == []


def test_run_against_the_fake_upstream_renders_markdown_json_and_usage(live_url, open_page):
    page = open_page(live_url).page
    fill_and_run(page, "fake/markdown", "Show me markdown")
    expect(page.locator(".reply h1")).to_have_text("Title", timeout=10_000)
    expect(page.locator(".reply pre code .hl-nb")).to_have_text("print")
    expect(page.locator(".usage")).to_contain_text("Total tokens17")
    tree = page.locator(".jt > details").first
    expect(tree).to_have_attribute("open", "")
    tree.locator("> summary").click()
    expect(tree).not_to_have_attribute("open", "")


def test_without_javascript_the_form_posts_and_the_result_follows(live_url, open_page):
    watched = open_page(live_url, javascript=False)
    page = watched.page
    expect(page.locator("#run-button kbd")).to_be_hidden()  # no Ctrl+Enter to promise
    fill_and_run(page, "fake/ok", "Plain HTML please")
    expect(page.locator(".reply")).to_have_text("Hello! How can I help you today?")
    expect(page.locator("#turns-1-content")).to_have_value("Plain HTML please")
    expect(page.locator(".usage")).to_contain_text("Prompt tokens5")


def test_text_appears_progressively_while_streaming(live_url, open_page, upstream):
    upstream.trickle_delay = 0.08
    page = open_page(live_url).page
    fill_and_run(page, "fake/trickle", "Trickle")
    streaming = page.locator("#result .choice")  # live markdown, then the raw tail
    expect(streaming).to_contain_text("word0", timeout=5_000)
    expect(page.locator(".pill-streaming")).to_be_visible()  # upstream not finished yet
    partial = streaming.text_content()
    assert "word39" not in partial
    expect(page.locator(".result .pill").first).to_have_text("Done", timeout=15_000)
    expect(page.locator(".reply")).to_contain_text("word39")


def test_stop_ends_the_stream_and_keeps_the_partial_text(live_url, open_page, upstream):
    upstream.trickle_delay = 0.15
    page = open_page(live_url).page
    fill_and_run(page, "fake/trickle", "Stop me")
    expect(page.locator("#result .choice")).to_contain_text("word1", timeout=5_000)
    page.click("#stop-button")
    expect(page.locator(".result .pill").first).to_have_text("Stopped")
    expect(page.locator(".result")).to_contain_text("Stopped by you")
    text = page.locator("#result .choice").inner_text().strip()
    assert text.startswith("word0 word1") and "word39" not in text
    expect(page.locator("#stop-button")).to_be_hidden()
    deadline = time.monotonic() + 3
    while upstream.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.disconnects == 1  # the provider's connection was closed


def test_streamed_result_matches_the_no_js_result(live_url, open_page):
    results = []
    for javascript in (True, False):
        page = open_page(live_url, javascript=javascript).page
        fill_and_run(page, "fake/markdown", "Same answer?")
        expect(page.locator(".reply h1")).to_have_text("Title", timeout=10_000)
        results.append((page.locator(".reply").inner_html(),
                        page.locator(".usage dd").all_text_contents()[:3]))
    assert results[0] == results[1]


def test_invalid_input_with_javascript_falls_back_to_field_messages(live_url, open_page,
                                                                    upstream):
    page = open_page(live_url).page
    page.fill("#model", "fake/ok")
    page.fill("#turns-1-content", "Keep this text")
    page.click("summary:has-text('Parameters')")
    page.fill("#temperature", "7")
    page.click("#run-button")
    expect(page.locator("#temperature-errors")).to_contain_text("between 0")
    expect(page.locator("#turns-1-content")).to_have_value("Keep this text")
    assert [r for r in upstream.received if r["method"] == "POST"] == []


@pytest.mark.parametrize("path", ["streamed", "full-page"])
def test_scripts_in_a_reply_never_run(live_url, open_page, upstream, path):
    upstream.scenarios["hostile"] = lambda h, m: (
        h.stream_text(m, HOSTILE) if h.body.get("stream") else
        h.send_json(200, {"model": m, "choices": [{"index": 0, "finish_reason": "stop",
                                                   "message": {"content": HOSTILE}}]}))
    watched = open_page(live_url)  # JavaScript on in both: a script that got in would run
    page = watched.page
    page.fill("#model", "hostile")
    page.fill("#turns-1-content", "Attack")
    if path == "streamed":
        page.click("#run-button")
    else:  # the server-rendered page of the no-JS path, loaded with scripts enabled
        with page.expect_navigation():
            page.evaluate("HTMLFormElement.prototype.submit.call("
                          "document.getElementById('prompt-form'))")
    expect(page.locator(".reply h1")).to_have_text("Totally normal", timeout=10_000)
    expect(page.locator(".reply")).to_contain_text("<script>window.__pwned = 1</script>")
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator(".reply img, .reply svg, .reply iframe, .reply script").count() == 0
    assert watched.dialogs == [] and watched.outside_requests() == []
    assert watched.errors == []  # a CSP violation would show up here too
