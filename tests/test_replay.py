"""Unit: a stored stream as replay frames: the live renderer's snapshots at recorded times."""

from __future__ import annotations

import json

import pytest

from playground import replay
from playground.markdown import LiveMarkdown, markdown_html


def chunk(content=None, reasoning=None, usage=None) -> str:
    delta = {k: v for k, v in (("content", content), ("reasoning_content", reasoning)) if v}
    data = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
    if usage:
        data = {"object": "chat.completion.chunk", "choices": [], "usage": usage}
    return json.dumps(data)


def shown(frames) -> tuple[str, str]:
    """What the page shows after every frame: (snapshot HTML, raw text after it)."""
    pieces, html, raw = [], "", ""
    for frame in frames:
        if "keep" in frame:
            pieces = pieces[:frame["keep"]] + frame["add"]
            html = "".join(pieces) + frame["tail"]
        raw += frame.get("raw", "")
    return html, raw


TEXT = "# Plan\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```\n\nDone."


def stream_of(text: str, step: int = 5, every_ms: float = 20.0):
    events = [chunk(text[i:i + step]) for i in range(0, len(text), step)]
    events += [chunk(usage={"completion_tokens": 9}), "[DONE]"]
    return events, [100.0 + i * every_ms for i in range(len(events))]


def test_frames_rebuild_the_final_render_at_the_recorded_times():
    events, times = stream_of(TEXT)
    data = replay.build(events, times, total_ms=times[-1] + 5)
    assert data["timed"] and data["duration_ms"] == times[-1] + 5
    frames = data["frames"]
    assert [f["t"] for f in frames] == sorted(f["t"] for f in frames)
    assert frames[0]["t"] == 100.0  # the first chunk's arrival, not zero
    assert shown(frames) == (str(markdown_html(TEXT)), "")
    assert frames[-1]["chars"] == len(TEXT) and frames[-1]["chunks"] == len(events) - 1
    # Mid-way, the page already shows formatted blocks: the heading before the end.
    middle = [f for f in frames if "keep" in f and f["t"] < times[-1] / 2]
    assert middle and "<h1>Plan</h1>" in shown(middle)[0]


def test_snapshots_are_throttled_to_the_live_pace():
    events, times = stream_of("word " * 400, step=5, every_ms=1.0)  # 1,000 chunks a second
    frames = replay.build(events, times)["frames"]
    snaps = [f["t"] for f in frames if "keep" in f]
    assert len(snaps) < len(events) / 10
    assert all(b - a >= 50 for a, b in zip(snaps[:-2], snaps[1:-1], strict=True))


def test_reasoning_is_counted_not_rendered():
    events = [chunk(reasoning="think " * 10), chunk(reasoning="more"), chunk("Answer")]
    frames = replay.build(events, [10.0, 80.0, 200.0])["frames"]
    assert [f["reasoning"] for f in frames][-1] == 64
    assert shown(frames)[0] == "<p>Answer</p>\n"


def test_past_the_live_limit_the_rest_is_raw_text(monkeypatch):
    monkeypatch.setattr(replay, "LiveMarkdown", lambda every_ms: LiveMarkdown(limit=30,
                                                                               every_ms=every_ms))
    text = "**bold** " * 10
    events, times = stream_of(text, step=9, every_ms=100.0)
    frames = replay.build(events, times)["frames"]
    html, raw = shown(frames)
    assert "<strong>bold</strong>" in html  # formatted while it could be
    assert [f for f in frames if "stopped" in f][0]["stopped"].startswith(
        '<p class="notice">Live formatting stopped')
    assert html.count("bold") * 9 + len(raw) >= len(text) - 9 and "**bold**" in raw


@pytest.mark.parametrize("times", [[], None, ["x"] * 3, [float("nan")] * 3, [True, True, True]])
def test_runs_without_usable_times_have_no_replay(times):
    events, _ = stream_of("Hello there", step=4)
    assert replay.build(events[:3], times) == {"timed": False, "duration_ms": None,
                                                "frames": []}


def test_hostile_events_and_times_never_raise():
    events = ["not json", "event: error\n{\"error\": 1}", chunk("<script>x</script>"), 7,
              json.dumps([1, 2]), chunk("ok"), "[DONE]"]
    times = [5.0, -1, 10.0, 9.0, 1e12, 30.0]  # backwards, negative, absurd, one missing
    data = replay.build(events, times)
    html, _ = shown(data["frames"])
    assert "<script" not in html and "&lt;script&gt;" in html
    assert all(f["t"] >= 0 for f in data["frames"])
