"""Unit: live markdown snapshots are the final renderer's output, made incrementally."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.content import markdown_reply
from playground.markdown import (
    LIVE_CPU_SHARE,
    LIVE_MS_PER_CHAR,
    LiveMarkdown,
    markdown_html,
)
from tests.hostile import assert_safe_reply

# Block syntax above all: the cut between finished and growing blocks is what can go wrong.
BLOCK_PIECES = [
    "\n", "\n\n", "\r", "\r\n", " ", "  ", "   ", "    ", "\t", "- ", "* ", "+ ", "1. ", "2) ",
    "10. ", "> ", ">", "```", "```python\n", "~~~", "````", "# ", "## ", "#", "---", "***",
    "===", "| a | b |", "|---|---|", "| 1 |", "|", ":-:", "[x]: /u", "[x]", "[X]", "[y]: /v ",
    '"t"', "'t'", "(t)", "[x][]", "![x]", "*", "**", "_", "`", "<", ">", "&amp;", "\\",
    "<script>", "</script>", "alert(1)", "word", "two words", "def f():", "\u202e", "\x00",
    "  \n", "\\\n", "> > ", "- [ ] ", "<!--", "-->", "<http://a.b>", "\u00a0", "~~", "&#",
    "[x]:", "/u", ")", "<", "[x]: <", ">",
]
block_text = st.lists(st.sampled_from(BLOCK_PIECES) | st.text(max_size=6),
                      max_size=50).map("".join)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def feed_in_pieces(text: str, cuts: list[int]):
    """Feed text split at the cut points; yield (prefix so far, snapshot) after each piece."""
    live, start = LiveMarkdown(), 0
    for end in [*sorted(set(cuts)), len(text)]:
        live.feed(text[start:end])
        start = max(start, end)
        yield text[:start], live.snapshot()


@SETTINGS
@given(st.data())
def test_every_snapshot_is_the_full_render_of_the_text_so_far(data):
    text = data.draw(block_text)
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=12))
    for prefix, snapshot in feed_in_pieces(text, cuts):
        assert str(snapshot) == str(markdown_html(prefix))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_long_documents_snapshotted_often_match_the_full_render(data):
    # Short texts hold few blocks; a definition changing below several finished blocks took
    # documents of 50 pieces and more to show up.
    text = data.draw(st.lists(st.sampled_from(BLOCK_PIECES), min_size=50, max_size=200)
                     .map("".join))
    cuts = data.draw(st.lists(st.integers(0, len(text)), min_size=10, max_size=40))
    for prefix, snapshot in feed_in_pieces(text, cuts):
        assert str(snapshot) == str(markdown_html(prefix))


REGRESSIONS = {
    # A definition below a finished block turns its '[x]' into a link.
    "late reference": ("[x]\n\npara\n\n[x]: /u\n", [4, 11]),
    # An ordered list whose next item is still being typed after a blank line.
    "list grows loose": ("1. a\n\n2. b\n", [6, 7]),
    # A table header waiting for its delimiter row, then rows.
    "table arrives": ("para\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nafter\n", [12, 20, 27]),
    # A reference title on the line after its destination, arriving in pieces.
    "reference title": ('# h\n[x]: /u\n"ti\ntle"\n\n[x]\n', [9, 13, 16, 20]),
    # Setext underline under a paragraph that follows a heading.
    "setext after heading": ("# h\nFoo\n---\nbar\n", [8, 10, 12]),
    "fence then text": ("```\ncode\n```\nafter\n\n```py\nx = 1\n", [4, 12, 18, 26]),
    "CR and LF apart": ("a\r\n\r\n- b\r\n\r\nc", [1, 2, 3, 4, 9, 10]),
    "indented code across blank lines": ("    a\n\n    b\n\nc\n", [7, 12]),
    "nested list": ("- a\n  - b\n\n  c\n\nd\n", [4, 10, 14]),
    # A definition in the growing tail that stops being one: '2)' is no destination.
    "definition that vanishes": ("[x]\n\nt\n\n[x]:2)", [12, 13]),
    "definition that vanishes under a quote": ("[x]\n\n>\n[x]:v h", [10, 11, 12, 13]),
}


@pytest.mark.parametrize(("text", "cuts"), REGRESSIONS.values(), ids=REGRESSIONS.keys())
def test_tricky_boundaries_match_the_full_render(text, cuts):
    for prefix, snapshot in feed_in_pieces(text, cuts):
        assert str(snapshot) == str(markdown_html(prefix))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 400), min_size=1, max_size=60))
def test_a_realistic_reply_in_any_deltas_ends_as_the_full_render(sizes):
    text = markdown_reply(6_000)
    live, start = LiveMarkdown(), 0
    for size in sizes:
        live.feed(text[start:start + size])
        start += size
    live.feed(text[start:])
    assert str(live.snapshot()) == str(markdown_html(text))


def test_finished_blocks_are_rendered_once():
    text = markdown_reply(20_000)
    live = LiveMarkdown()
    for start in range(0, len(text), 200):
        live.feed(text[start:start + 200])
        live.snapshot()
    # Re-parsing the whole text at each of ~100 snapshots would parse ~1 MB; the growing
    # tail is all that is parsed again.
    assert live.snapshots == -(-len(text) // 200)
    assert live.rendered_chars < 3 * len(text)
    assert str(live.snapshot()) == str(markdown_html(text))


def soup_of(deltas: list[str]) -> BeautifulSoup:
    live = LiveMarkdown()
    for delta in deltas:
        live.feed(delta)
        html = str(live.snapshot())
        assert_safe_reply(html)
    return BeautifulSoup(html, "html.parser")


MID_STREAM = {
    "open fence shows as code so far": (
        ["Here:\n\n```python\n", "def f():\n    return '<b>'"],
        lambda s: s.find("pre").find("code") is not None and "return" in s.find("pre").text
        and s.find("b") is None),
    "table header only stays text": (
        ["| name | age |"], lambda s: s.find("table") is None and "name" in s.text),
    "table header and delimiter is a table": (
        ["| name | age |\n", "|---|---|"],
        lambda s: [th.text for th in s.find_all("th")] == ["name", "age"]),
    "half-written row fills its cells": (
        ["| name | age |\n|---|---|\n", "| Ada"],
        lambda s: [td.text for td in s.find_all("td")] == ["Ada", ""]),
    "list growing": (
        ["- one\n", "- two\n", "- th"],
        lambda s: [li.text for li in s.find_all("li")] == ["one", "two", "th"]),
    "heading being typed": (["#", " Tit"], lambda s: s.find("h1").text == "Tit"),
    "script tag across two deltas": (
        ["Look: <scr", "ipt>window.__pwned=1</script> done"],
        lambda s: s.find("script") is None and "<script>" in s.text),
    "javascript link across deltas": (
        ["[click](java", "script:alert(1))"],
        lambda s: all(not a.get("href", "").lower().startswith("javascript")
                      for a in s.find_all("a"))),
    "image across deltas stays a link": (
        ["![cat](https://example.com/c", "at.png)"],
        lambda s: s.find("img") is None and s.find("a")["href"] == "https://example.com/cat.png"),
    "bidi override is made visible": (
        ["abc\u202e", "def"], lambda s: "\u202e" not in s.text and "[U+202E]" in s.text),
}


@pytest.mark.parametrize(("deltas", "check"), MID_STREAM.values(), ids=MID_STREAM.keys())
def test_mid_stream_snapshots_are_sanitized_and_sensible(deltas, check):
    assert check(soup_of(deltas))


def test_past_the_live_limit_snapshots_stop_and_say_why():
    live = LiveMarkdown(limit=1_000)
    live.feed("# Title\n\n" + "word " * 150)
    assert live.snapshot() is not None and live.notice() is None
    live.feed("word " * 100)
    assert live.snapshot() is None and not live.due(10_000)
    assert "over 1,000 characters" in live.stopped
    assert "Live formatting stopped" in str(live.notice())


@pytest.mark.parametrize("piece", ["[", "*a", "![", "- a\n"])
def test_costly_shapes_stop_snapshots_where_the_final_render_goes_plain(piece):
    live, text = LiveMarkdown(), ""
    while live.stopped is None:
        assert live.snapshot() == markdown_html(text)
        live.feed(piece * 200)
        text += piece * 200
    assert live.snapshot() is None and "too long to format" in live.stopped
    assert "shown as plain text" in str(markdown_html(text))
    before = text[:len(text) - len(piece) * 200]  # before the last delta: still formatted
    assert "shown as plain text" not in str(markdown_html(before))


def test_snapshots_are_throttled_by_arrival_time_and_by_what_they_cost():
    live = LiveMarkdown(every_ms=50)
    live.feed("a short paragraph")
    assert live.due(0)
    live.snapshot(now_ms=0)
    assert not live.due(49) and live.due(50)
    # A 40,000-character block still growing: re-rendering it costs ~40 ms, so the next
    # snapshot waits until that is at most a quarter of the time that passed.
    live.feed("x" * 40_000)
    live.snapshot(now_ms=100)
    live.last_cost_ms = 0.0  # as if it had been instant: the size alone decides here
    wait = 40_017 * LIVE_MS_PER_CHAR / LIVE_CPU_SHARE
    assert not live.due(100 + wait - 1) and live.due(100 + wait + 0.01)


def test_a_snapshot_slower_than_its_size_suggests_spaces_the_next_one_further():
    # A flood of backticks costs more per character than the size model assumes; what the
    # last snapshot measured is what decides then (here, as if it had taken a second).
    live = LiveMarkdown(every_ms=50)
    live.feed("`a" * 100)
    live.snapshot(now_ms=0)
    live.last_cost_ms = 1_000.0
    assert not live.due(3_999) and live.due(4_000)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_snapshot_parts_applied_in_order_rebuild_the_full_render(data):
    # What the page does with each `snapshot` event: keep the first `keep` finished pieces,
    # append the new ones, replace the tail. It must show exactly the final renderer's HTML.
    text = data.draw(st.lists(st.sampled_from(BLOCK_PIECES), min_size=5, max_size=120)
                     .map("".join))
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(text)), max_size=30))))
    live, shown, start = LiveMarkdown(), [], 0
    for end in [*cuts, len(text)]:
        live.feed(text[start:end])
        start = max(start, end)
        keep, added, tail = live.parts()
        assert keep <= len(shown)
        shown = shown[:keep] + added
        assert "".join(shown) + tail == str(markdown_html(text[:start]))


def test_snapshot_parts_send_each_finished_block_once():
    live = LiveMarkdown()
    sent = []
    for line in ["# One\n\n", "para one\n\n", "## Two\n\n", "para two\n\n", "more\n"]:
        live.feed(line)
        keep, added, _tail = live.parts()
        assert keep == len(sent)  # nothing resent: only new blocks travel
        sent += added
    assert "".join(sent).count("<h1>") == 1 and "<h2>Two</h2>" in "".join(sent)


def test_snapshot_parts_stop_with_the_live_limit():
    live = LiveMarkdown(limit=10)
    live.feed("short")
    assert live.parts() is not None
    live.feed(" and now far too long")
    assert live.parts() is None and "over 10 characters" in live.notice()
