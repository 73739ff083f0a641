"""In Chromium: each per-feature script does its one job, and pages load only the ones they use."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import fill_and_run


def own_scripts(page) -> list[str]:
    return page.evaluate("() => [...document.scripts].map((s) => s.getAttribute('src'))")


def test_each_streamed_run_gets_a_fresh_card_from_the_template(live_url, open_page, upstream):
    upstream.trickle_delay = 0.05
    watched = open_page(live_url)
    page = watched.page
    for prompt in ("First", "Second"):
        fill_and_run(page, "fake/trickle", prompt)
        card = page.locator("#result article.result")
        expect(card.locator(".pill-streaming")).to_have_text("Streaming…", timeout=5_000)
        expect(card.locator(".result-model code")).to_have_text("fake/trickle")
        expect(card.locator(".choice")).to_contain_text("word0")
        expect(card.locator(".pill").first).to_have_text("Done", timeout=15_000)
        expect(page.locator("#result article.result")).to_have_count(1)  # replaced, not added
    expect(page.locator("#streaming-card")).to_have_count(1)  # the template is still there
    assert watched.errors == []


@pytest.mark.parametrize("live", [True, False])
def test_streamed_deltas_are_shown_as_text_never_as_markup(serve_live, open_page, upstream,
                                                           live):
    upstream.scenarios["markup"] = lambda h, m: h.stream_text(
        m, "**bold** <b>tag</b> " + " ".join(f"w{i}" for i in range(30)), delay=0.05)
    page = open_page(serve_live(PLAYGROUND_LIVE_MARKDOWN=live)).page
    fill_and_run(page, "markup", "Markup please")
    card = page.locator("#result .choice")
    expect(card).to_contain_text("<b>tag</b>", timeout=5_000)
    expect(page.locator(".pill-streaming")).to_be_visible()  # still streaming
    assert card.locator("b").count() == 0  # a raw tag is text, in a delta or a snapshot
    if live:  # the server's own rendering, while it streams
        expect(card.locator(".live-reply strong")).to_have_text("bold")
    else:
        assert "**bold**" in card.text_content() and card.locator("strong").count() == 0
    expect(page.locator(".reply strong")).to_have_text("bold", timeout=15_000)  # the final HTML


def test_copy_and_download_buttons_work_on_a_streamed_result(live_url, open_page):
    watched = open_page(live_url)
    page = watched.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    fill_and_run(page, "fake/ok", "Copy me")
    panel = page.locator("details.panel", has_text="Request sent")
    copy = panel.locator("[data-copy='#request-json']")
    expect(copy).to_be_attached(timeout=10_000)
    panel.locator("> summary").click()  # the buttons sit in the panel, not in its summary
    expect(copy).to_be_visible()  # shown by enhance.js in the streamed result
    copy.click()
    expect(copy).to_have_text("Copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert json.loads(copied)["messages"][-1]["content"] == "Copy me"
    with page.expect_download() as download:
        panel.locator("[data-download='#request-json']").click()
    assert download.value.suggested_filename == "request.json"
    assert json.loads(download.value.path().read_text()) == json.loads(copied)
    assert watched.errors == []


def test_without_javascript_the_script_only_buttons_stay_hidden(live_url, open_page):
    page = open_page(live_url, javascript=False).page
    fill_and_run(page, "fake/ok", "No scripts")
    expect(page.locator(".reply")).to_have_text("Hello! How can I help you today?")
    assert page.locator("[data-js-only]").count() > 0
    expect(page.locator("[data-copy]").first).to_be_hidden()


def test_model_suggestions_come_from_the_providers_list(live_url, open_page):
    page = open_page(live_url).page
    page.fill("#model", "open")
    page.locator("#model").type("ai")
    options = page.locator("#model-listbox [role=option]")
    expect(options).to_have_count(2)  # the chat models; the embedding model is left out
    assert sorted(options.evaluate_all("(os) => os.map((o) => o.dataset.value)")) == [
        "openai/gpt-4o", "openai/gpt-4o-mini"]  # not openai/text-embedding-3-small


def test_without_the_sse_reader_run_and_compare_post_the_form_as_without_javascript(
        live_url, open_page):
    watched = open_page(live_url)
    page = watched.page
    page.route("**/static/sse.js", lambda route: route.abort())
    page.reload()
    fill_and_run(page, "fake/ok", "No reader")
    expect(page.locator(".reply")).to_have_text("Hello! How can I help you today?")
    assert re.search(r"/runs/[\w-]+$", page.url)  # the plain POST and its redirect
    page.goto(live_url + "/compare")
    page.fill("#turns-1-content", "No reader")
    page.fill("#lanes-0-model", "fake/ok")
    page.fill("#lanes-1-model", "fake/ok")
    page.click("#compare-button")
    expect(page.locator("#lane-1 .reply")).to_have_text("Hello! How can I help you today?")
    assert re.search(r"/compare/[\w-]+$", page.url)


def test_pages_load_only_the_scripts_they_use(serve_live, open_page):
    url = serve_live()
    page = open_page(url).page
    assert own_scripts(page) == ["/static/enhance.js", "/static/copy.js", "/static/picker.js",
                                 "/static/cost.js", "/static/schema.js", "/static/turns.js",
                                 "/static/images.js", "/static/sse.js", "/static/stream.js",
                                 "/static/live.js", "/static/livecode.js"]
    # Replay comes with the first result that can be replayed, and works at once.
    fill_and_run(page, "fake/ok", "Replay me")
    expect(page.locator(".result [data-replay-play]").last).to_be_visible()
    assert own_scripts(page).count("/static/replay.js") == 1
    page.locator(".result [data-replay-play]").last.click()
    expect(page.locator(".result [data-replay-restart]").last).to_be_enabled()
    fill_and_run(page, "fake/ok", "Again")  # a second result: the script is not loaded twice
    expect(page.locator(".result [data-replay-play]").last).to_be_visible()
    assert own_scripts(page).count("/static/replay.js") == 1
    page.goto(url + "/history")
    assert own_scripts(page) == ["/static/enhance.js"]
    page.goto(url + "/compare")  # the one SSE reader comes before both of its users
    assert own_scripts(page) == ["/static/enhance.js", "/static/copy.js", "/static/turns.js",
                                 "/static/images.js", "/static/cost.js", "/static/sse.js",
                                 "/static/compare.js"]
    keyed = open_page(serve_live(PLAYGROUND_ALLOW_USER_KEYS=True)).page
    assert "/static/userkey.js" in own_scripts(keyed)
