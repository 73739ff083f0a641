"""Live snapshots of a stream: rendered off the relay loop, sent as changes, never stale.

Unit tests drive ``LiveSnapshots`` with a hand-cranked pool (a render finishes when the test
says so); the integration tests stream through POST /stream against the fake upstream.
"""

from __future__ import annotations

from playground.markdown import LiveMarkdown, markdown_html
from playground.snapshots import LiveSnapshots
from tests.helpers import stream
from tests.test_stream import Page_from


class Held:
    """A render that has not run yet: it runs (on this thread) when the test releases it."""

    def __init__(self, func, args) -> None:
        self.func, self.args, self.value, self.ran = func, args, None, False

    def release(self) -> None:
        self.value, self.ran = self.func(*self.args), True

    def done(self) -> bool:
        return self.ran

    def result(self):
        return self.value


class Pool:
    def __init__(self) -> None:
        self.jobs: list[Held] = []

    def __call__(self, func, *args) -> Held:
        self.jobs.append(Held(func, args))
        return self.jobs[-1]


def snapshots_with(pool: Pool, every_ms: float = 0.0) -> tuple[LiveSnapshots, list[float]]:
    now = [0.0]
    return LiveSnapshots(run_on=pool, clock=lambda: now[0], inline_ms=0,
                         markdown=LiveMarkdown(every_ms=every_ms)), now


def apply(shown: list[str], event: dict) -> tuple[list[str], str]:
    """What stream.js does with a snapshot event."""
    shown = shown[:event["keep"]] + event["add"]
    return shown, "".join(shown) + event["tail"]


def test_deltas_keep_flowing_while_a_snapshot_renders():
    pool = Pool()
    snaps, now = snapshots_with(pool)
    snaps.add("# Title\n\n")
    assert snaps.poll() is None and len(pool.jobs) == 1  # a render starts at once
    for word in ("one ", "two ", "three "):
        snaps.add(word)
        assert snaps.poll() is None  # the relay loop is never kept waiting for it
    assert len(pool.jobs) == 1  # one render at a time per stream
    pool.jobs[0].release()
    now[0] += 1.0  # a second later: the next render is due
    event = snaps.poll()
    assert event["chars"] == len("# Title\n\n")  # the snapshot covers what it was given
    assert apply([], event)[1] == str(markdown_html("# Title\n\n"))
    assert len(pool.jobs) == 2  # the text that waited goes into the next render
    pool.jobs[1].release()
    now[0] += 1.0
    event = snaps.poll()
    assert event["chars"] == len("# Title\n\none two three ")


def test_snapshots_applied_in_order_show_the_final_render():
    pool = Pool()
    snaps, now = snapshots_with(pool)
    text = "# Plan\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```\n\n- one\n- two\n"
    shown, html = [], ""
    for start in range(0, len(text), 7):
        now[0] += 0.1
        snaps.add(text[start:start + 7])
        event = snaps.poll()
        for job in pool.jobs:
            if not job.ran:
                job.release()
        if event:
            shown, html = apply(shown, event)
    event = snaps.poll() or snaps.poll()
    if event:
        shown, html = apply(shown, event)
    assert html == str(markdown_html(text))
    assert "<table>" in html and 'class="hl-' in html  # a table and highlighted code


def test_a_snapshot_still_rendering_at_the_end_is_never_sent():
    pool = Pool()
    snaps, _ = snapshots_with(pool)
    snaps.add("# Late")
    snaps.poll()
    assert not pool.jobs[0].ran and snaps.sent == 0  # the stream ends here: nothing waits


def test_past_the_live_limit_one_stopped_event_then_nothing():
    pool = Pool()
    now = [0.0]
    snaps = LiveSnapshots(run_on=pool, clock=lambda: now[0], inline_ms=0,
                          markdown=LiveMarkdown(limit=20, every_ms=0))
    snaps.add("a" * 30)
    snaps.poll()
    pool.jobs[0].release()
    event = snaps.poll()
    assert event["chars"] == 30 and "Live formatting stopped" in event["stopped"]
    snaps.add("more")
    assert snaps.poll() is None and len(pool.jobs) == 1


def test_a_failing_render_ends_snapshots_not_the_stream():
    def broken(func, *args):
        job = Held(lambda *a: 1 / 0, args)
        try:
            job.release()
        except ZeroDivisionError:
            job.ran = True
            job.result = lambda: 1 / 0
        return job

    snaps = LiveSnapshots(run_on=broken, inline_ms=0)
    snaps.add("text")
    snaps.poll()
    assert snaps.poll() is None and snaps.finished


def test_a_small_render_is_made_at_once_on_the_relay_loop():
    pool = Pool()
    now = [0.0]
    snaps = LiveSnapshots(run_on=pool, clock=lambda: now[0], markdown=LiveMarkdown(every_ms=0))
    snaps.add("# Title\n\nSome **bold** words")
    event = snaps.poll()  # no thread hop: the snapshot comes with this very delta
    assert not pool.jobs and event["chars"] == len("# Title\n\nSome **bold** words")
    assert apply([], event)[1] == str(markdown_html("# Title\n\nSome **bold** words"))


def test_code_and_long_tails_still_go_to_the_pool():
    for text in ("```python\nx = 1\n", "word " * 400):  # a lexer to load; ~2,000 characters
        pool = Pool()
        snaps = LiveSnapshots(run_on=pool, clock=lambda: 0.0, markdown=LiveMarkdown(every_ms=0))
        snaps.add(text)
        assert snaps.poll() is None and len(pool.jobs) == 1, text[:10]
        pool.jobs[0].release()
        assert apply([], snaps.poll())[1] == str(markdown_html(text))


def test_inline_and_pooled_snapshots_interleave_into_the_final_render():
    pool = Pool()
    now = [0.0]
    snaps = LiveSnapshots(run_on=pool, clock=lambda: now[0], markdown=LiveMarkdown(every_ms=0))
    text = ("Intro with *emphasis*.\n\n```python\nprint('hi')\n```\n\nAfter the code, "
            + "more words " * 30 + "\n\n- a\n- b\n")
    shown, html = [], ""
    for start in range(0, len(text), 11):
        now[0] += 0.1
        snaps.add(text[start:start + 11])
        for job in pool.jobs:
            if not job.ran:
                job.release()
        event = snaps.poll()
        if event:
            shown, html = apply(shown, event)
    while (event := snaps.poll()) is not None or any(not j.ran for j in pool.jobs):
        for job in pool.jobs:
            job.ran or job.release()
        if event:
            shown, html = apply(shown, event)
    assert pool.jobs  # the fence went to the pool, the prose around it did not
    assert html == str(markdown_html(text))


def test_a_failing_inline_render_ends_snapshots_not_the_stream(monkeypatch):
    snaps = LiveSnapshots(run_on=Pool(), markdown=LiveMarkdown(every_ms=0))
    monkeypatch.setattr(snaps.markdown, "parts", lambda now_ms: 1 / 0)
    snaps.add("text")
    assert snaps.poll() is None and snaps.finished


def trickled_markdown(upstream, delay: float = 0.02) -> str:
    text = ("# Heading\n\nSome **bold** text.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
            + " ".join(f"word{i}" for i in range(40)))
    upstream.scenarios["md-trickle"] = lambda h, m: h.stream_text(m, text, delay=delay)
    return text


def test_stream_sends_sanitized_snapshots_that_add_up_to_the_reply(client, upstream):
    text = trickled_markdown(upstream)
    _response, events = stream(client, model="md-trickle")
    got = list(events)
    assert got[0] == ("start", {"model": "md-trickle", "live": True})
    snaps = [data for name, data in got if name == "snapshot"]
    assert len(snaps) >= 2  # several while it streamed, not one at the end
    shown, html = [], ""
    for event in snaps:
        shown, html = apply(shown, event)
        covered = text[:event["chars"]]
        assert html == str(markdown_html(covered))  # the final renderer's own output
    assert "<h1>Heading</h1>" in html
    names = [name for name, _ in got]
    assert names.index("snapshot") < max(i for i, n in enumerate(names) if n == "content")
    result = Page_from(got[-1][1]["html"])  # the final partial still replaces it all
    assert result.soup.select_one(".reply table") is not None


def test_snapshot_of_a_hostile_reply_is_sanitized(client, upstream):
    upstream.scenarios["hostile-trickle"] = lambda h, m: h.stream_text(
        m, "<script>alert(1)</script> [x](javascript:alert(1)) " + "pad " * 30, delay=0.02)
    _response, events = stream(client, model="hostile-trickle")
    snaps = [data for name, data in events if name == "snapshot"]
    html = "".join(piece for event in snaps for piece in (*event["add"], event["tail"]))
    assert snaps and "<script" not in html and "href=\"javascript" not in html
    assert "&lt;script&gt;" in html


def test_live_markdown_off_sends_no_snapshot(make_app, upstream):
    from tests.helpers import SENTINEL_KEY

    trickled_markdown(upstream, delay=0.005)
    app = make_app(AIMLAPI_BASE_URL=upstream.base_url, AIMLAPI_API_KEY=SENTINEL_KEY,
                   PLAYGROUND_LIVE_MARKDOWN=False)
    _response, events = stream(app.test_client(), model="md-trickle")
    got = list(events)
    assert got[0] == ("start", {"model": "md-trickle", "live": False})
    assert "snapshot" not in [name for name, _ in got] and got[-1][0] == "result"
