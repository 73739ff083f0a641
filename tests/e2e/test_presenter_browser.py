"""In Chromium: presenter mode on a 1280×720 projector and a 390 px phone: large type, the
conversation and reply, three big figures, the rest under the hood, nothing private; its keys.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS
from tests.helpers import SENTINEL_KEY

SHOTS = ARTIFACTS / "screenshots"


@pytest.mark.parametrize("size", [(1280, 720), (390, 844)], ids=["projector", "phone"])
def test_presenter_mode_looks_right(serve_live, upstream, browser, size):
    width, height = size
    base = serve_live(PLAYGROUND_ALLOW_USER_KEYS=True)
    upstream.markdown_delay = 0.1  # a recording that lasts (1.7 s): Esc lands mid-replay
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(base + "/?present=1")
        expect(page.locator("html")).to_have_class("present")
        expect(page.locator("#user_key")).to_be_hidden()  # the key field: never on screen
        for panel in page.locator(".params, .import-export").all():  # parameters, tools
            expect(panel).to_be_hidden()
        assert upstream.base_url not in page.locator("body").inner_text()  # no base URL pill
        page.fill("#model", "fake/markdown")
        page.fill("#turns-1-content", "Present this")
        page.locator(".brand").focus()  # Ctrl+Enter runs from anywhere on the page
        page.keyboard.press("Control+Enter")
        expect(page.locator(".big-figures")).to_be_visible(timeout=20_000)
        assert page.locator(".big-figures dt").all_text_contents() == ["Time", "Tokens", "Cost"]
        assert "present=1" in page.url  # the run's own address, still presenting

        page.reload()  # a reload keeps the mode
        expect(page.locator("html")).to_have_class("present")
        reply = page.locator(".reply")
        expect(reply.locator("h1")).to_have_text("Title")
        size_px = float(reply.locator("p").first.evaluate(
            "p => parseFloat(getComputedStyle(p).fontSize)"))
        assert size_px >= 22  # large type (the normal page's is 16 px)
        figure = float(page.locator(".big-figures dd").first.evaluate(
            "d => parseFloat(getComputedStyle(d).fontSize)"))
        assert figure >= 24  # big: the normal page has no such figure, its stats are 17 px
        hood = page.locator("details.under-hood")
        expect(hood.locator("> summary")).to_have_text("Under the hood")
        expect(page.locator("#response-json")).to_be_hidden()  # folded until asked for
        text = page.locator("body").inner_text()
        assert "Bearer" not in text and SENTINEL_KEY not in text
        assert upstream.base_url not in text
        expect(page.locator(".usage")).to_be_hidden()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        if width == 1280:  # on a projector the reply starts in the first screen
            assert reply.bounding_box()["y"] < height
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SHOTS / f"presenter-{width}x{height}.png")

        page.keyboard.press("Alt+Shift+KeyR")  # a modified key replays
        expect(page.locator(".replay-stage")).to_be_attached()
        page.keyboard.press("Escape")  # Esc pauses it
        expect(page.locator("[data-replay-status]")).to_contain_text("Paused at")
        hood.locator("> summary").click()
        expect(page.locator(".timeline-panel")).to_be_visible()
    finally:
        context.close()
