"""In Chromium: a reply formatted while it streams, and a stored stream replayed from its
share link with no request to the provider or to the run endpoints."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import fill_and_run

MARKDOWN = ("# Replay me\n\nSome **bold** words.\n\n| col | val |\n|---|---|\n| a | 1 |\n\n"
            + " ".join(f"word{i}" for i in range(60)))


def test_a_demo_reply_is_formatted_while_it_streams(serve, open_page):
    watched = open_page(serve(DEMO_TOKEN_DELAY=0.03))
    page = watched.page
    fill_and_run(page, "demo", "Show me a table")
    live = page.locator("#result .live-reply")
    expect(live.locator("h2")).to_have_text("Hello from the offline demo model", timeout=5_000)
    expect(live.locator("table")).to_be_attached(timeout=10_000)
    expect(page.locator(".pill-streaming")).to_be_visible()  # the stream has not ended yet
    expect(page.locator("#result .reply h2")).to_be_visible(timeout=20_000)  # the final render
    expect(page.locator("#result .live-reply")).to_have_count(0)
    assert watched.errors == []


def share_a_stream(page) -> str:
    """Run the markdown trickle in the page, share it, return the read-only link."""
    fill_and_run(page, "md-slow", "Replay this")
    expect(page.locator(".result .pill").first).to_have_text("Done", timeout=20_000)
    page.reload()  # the run's own page, with its actions
    page.click("#share-button")
    return page.locator("#share-url").input_value()


def test_a_shared_stream_replays_at_10x_in_a_fresh_browser_without_calling_anyone(
        live_url, open_page, upstream):
    upstream.scenarios["md-slow"] = lambda h, m: h.stream_text(m, MARKDOWN, delay=0.05)
    link = share_a_stream(open_page(live_url).page)
    calls = len(upstream.received)

    watched = open_page(link)  # a new browser context: no cookie, no history
    page = watched.page
    before = len(watched.requests)
    methods: list[str] = []
    page.on("request", lambda r: methods.append(f"{r.method} {r.url}"))
    page.evaluate("""() => {
      window.seen = { heading: false, partial: false };
      new MutationObserver(() => {
        const stage = document.querySelector('.replay-stage');
        if (stage && stage.querySelector('h1')) window.seen.heading = true;
        if (stage && stage.textContent.includes('word3') &&
            !stage.textContent.includes('word59')) window.seen.partial = true;
      }).observe(document.body, { childList: true, subtree: true, characterData: true });
    }""")
    bar = page.locator(".replay-bar")
    bar.get_by_role("button", name="10×").click()
    expect(bar.get_by_role("button", name="10×")).to_have_attribute("aria-pressed", "true")
    bar.get_by_role("button", name="Replay").click()
    expect(page.locator(".replay-stage")).to_be_attached()
    expect(page.locator(".replay-stage")).to_have_count(0, timeout=10_000)  # it ended
    expect(bar.locator("[data-replay-status]")).to_contain_text("Replay finished")
    assert page.evaluate("window.seen") == {"heading": True, "partial": True}
    expect(page.locator(".reply h1")).to_have_text("Replay me")  # the final render is back
    assert bar.locator("progress").evaluate("p => p.value") == 1000

    assert len(upstream.received) == calls  # the provider was never called
    during = watched.requests[before:]
    assert [m for m in methods if not m.startswith("GET ")] == []  # no POST at all
    assert [u for u in during if "/stream" in u or "/runs/" in u] == []
    assert any(u.endswith("/replay.json") for u in during)
    assert watched.errors == [] and watched.outside_requests() == []


def test_replay_pauses_and_resumes_and_honours_reduced_motion(live_url, open_page, upstream,
                                                               browser):
    upstream.scenarios["md-slow"] = lambda h, m: h.stream_text(m, MARKDOWN, delay=0.05)
    link = share_a_stream(open_page(live_url).page)
    context = browser.new_context(reduced_motion="reduce", viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(link)
        page.evaluate("""() => {
          window.changes = [];
          new MutationObserver((records) => {
            const inStage = records.some((r) => r.target.nodeType === 1 &&
                                               r.target.closest('.replay-stage'));
            if (inStage) window.changes.push(performance.now());
          }).observe(document.body, { childList: true, subtree: true });
        }""")
        bar = page.locator(".replay-bar")
        bar.get_by_role("button", name="Replay").click()
        expect(bar.get_by_role("button", name="Pause")).to_be_visible()
        page.wait_for_timeout(1200)
        bar.get_by_role("button", name="Pause").click()
        status = bar.locator("[data-replay-status]")
        expect(status).to_contain_text("Paused at")
        paused = status.text_content()
        page.wait_for_timeout(600)
        assert status.text_content() == paused  # nothing moves while paused
        bar.get_by_role("button", name="Resume").click()
        expect(page.locator(".replay-stage")).to_have_count(0, timeout=10_000)
        times = page.evaluate("window.changes")
        # With reduced motion the reply changes at most about twice a second.
        # (The last change is the end, shown at once whatever the pace.)
        steps = [b - a for a, b in zip(times, times[1:-1], strict=False) if b - a > 50]
        assert len(times) >= 2 and all(step >= 400 for step in steps)
    finally:
        context.close()


def test_every_lane_on_a_page_replays_on_one_clock(serve_live, open_page, upstream):
    # A comparison's lanes are elements with data-replay-url; here a second lane is added to
    # a run's page (compare's own page has not landed), and one Replay plays both together.
    upstream.scenarios["md-slow"] = lambda h, m: h.stream_text(m, MARKDOWN, delay=0.05)
    upstream.scenarios["md-short"] = lambda h, m: h.stream_text(m, "## Short lane\n\nDone.",
                                                                 delay=0.2)
    page = open_page(serve_live()).page
    fill_and_run(page, "md-short", "Lane B")
    expect(page.locator(".result .pill").first).to_have_text("Done", timeout=20_000)
    first = page.url.split("?")[0]
    lane_b = first + "/replay.json"
    fill_and_run(page, "md-slow", "Lane A")
    # The first run's Done is still on the page until the second one starts: wait for the
    # second run's own address before its Done.
    page.wait_for_function("(old) => !location.href.startsWith(old)", arg=first,
                           timeout=20_000)
    expect(page.locator(".result .pill").first).to_have_text("Done", timeout=20_000)
    page.reload()
    page.evaluate("""(url) => {
      const lane = document.createElement('article');
      lane.className = 'result';
      lane.innerHTML = '<div class="reply"><p>Lane B, final</p></div>';
      const marker = document.createElement('div');
      marker.dataset.replayUrl = url;
      lane.prepend(marker);
      document.getElementById('result').appendChild(lane);
      window.together = false;
      new MutationObserver(() => {
        if (document.querySelectorAll('.replay-stage').length === 2) window.together = true;
      }).observe(document.body, { childList: true, subtree: true });
    }""", lane_b)
    bar = page.locator(".replay-bar")
    bar.get_by_role("button", name="10×").click()
    bar.get_by_role("button", name="Replay").click()
    expect(page.locator(".replay-stage").first).to_be_attached()
    expect(page.locator(".replay-stage")).to_have_count(0, timeout=10_000)
    assert page.evaluate("window.together") is True  # both lanes were playing at once
    expect(page.locator(".reply", has_text="Lane B, final")).to_be_visible()  # restored
    expect(page.locator(".reply h1")).to_have_text("Replay me")
