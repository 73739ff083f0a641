"""A stored stream, ready to be played again: its reply as it grew, at its recorded times.

Pure: a run's raw events and arrival times in, frames out. The reply's snapshots come from
the same ``LiveMarkdown`` as a live stream, so a replay looks as the stream did and the
browser never parses markdown. Each frame is a moment (ms from sending) with the totals so far
and, when the text changed, a snapshot as a change (finished blocks to keep and add, the tail)
or, past the live caps, raw text to append. Bounded: past ``SNAPSHOT_BYTES`` of snapshot HTML,
the rest of the reply is raw text frames; the page ends on the run's own final render.
"""

from __future__ import annotations

import json
import math

from playground.markdown import LIVE_EVERY_MS, LiveMarkdown
from playground.sse import ChunkAssembler, parse_chunk

SNAPSHOT_BYTES = 4_000_000  # characters of snapshot HTML in one replay
MAX_FRAMES = 20_000
MAX_MS = 86_400_000.0  # a day: a later arrival time is corrupt


def _ms(value) -> float | None:
    """A recorded time, or None: never a bool, NaN, infinity, negative or past a day."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0 <= value <= MAX_MS else None


def _data(event) -> str | None:
    """An event's data as stored; None for a named event (an error) or a non-string."""
    if not isinstance(event, str):
        return None
    return None if event.startswith("event: ") else event


def _times(times, count: int) -> list[float | None]:
    """Usable arrival times, one per event; None where unusable or running backwards."""
    out, last = [], 0.0
    for raw in list(times[:count]) + [None] * max(0, count - len(times)):
        value = _ms(raw)
        if value is not None and value >= last:
            last = value
            out.append(value)
        else:
            out.append(None)
    return out


def build(events, event_times, total_ms=None) -> dict:
    """The replay of a stream: ``{"timed", "duration_ms", "frames"}``."""
    events = events if isinstance(events, list) else []
    event_times = event_times if isinstance(event_times, list) else []
    times = _times(event_times, len(events))
    if not events or not any(t is not None for t in times):
        return {"timed": False, "duration_ms": None, "frames": []}
    live = LiveMarkdown(every_ms=LIVE_EVERY_MS)
    assembler = ChunkAssembler()
    frames: list[dict] = []
    pending: list[str] = []
    state = {"chars": 0, "reasoning": 0, "chunks": 0, "bytes": 0, "last": None}
    at = 0.0
    for event, when in zip(events, times, strict=True):
        at = when if when is not None else at
        data = _data(event)
        chunk = parse_chunk(data) if data is not None else None
        if data is not None and data.strip() != "[DONE]":
            state["chunks"] += 1
        for kind, text in assembler.add(chunk) if chunk else ():
            if kind == "content":
                pending.append(text)
                state["chars"] += len(text)
            elif kind == "reasoning":
                state["reasoning"] += len(text)
        _frame(frames, live, pending, state, at, final=False)
        if len(frames) >= MAX_FRAMES:
            break
    end = max(_ms(total_ms) or 0.0, at)
    _frame(frames, live, pending, state, end, final=True)
    return {"timed": True, "duration_ms": end, "frames": frames}


def _frame(frames: list, live: LiveMarkdown, pending: list, state: dict, at: float,
           final: bool) -> None:
    """Add a frame at ``at`` when something is due: a snapshot, raw text, or new totals."""
    frame = {"t": at, "chars": state["chars"], "reasoning": state["reasoning"],
             "chunks": state["chunks"]}
    if pending and (final or live.stopped or live.due(at)):
        text = "".join(pending)
        pending.clear()
        parts = None
        if not live.stopped and state["bytes"] <= SNAPSHOT_BYTES:
            live.feed(text)
            parts = live.parts(at)
            if parts is None:  # it stopped here: say why once, and show the text raw
                frame["stopped"] = str(live.notice() or "")
        if parts is not None:
            keep, added, tail = parts
            frame.update(keep=keep, add=added, tail=tail)
            state["bytes"] += sum(map(len, added)) + len(tail)
        else:
            frame["raw"] = text
            live.stopped = live.stopped or "the replay's snapshots reached their size cap"
    elif not final and state["last"] is not None and (
            at - state["last"]["t"] < LIVE_EVERY_MS or
            (state["reasoning"], state["chunks"]) == (state["last"]["reasoning"],
                                                      state["last"]["chunks"])):
        return  # nothing new worth a frame yet
    frames.append(frame)
    state["last"] = frame


def to_json(replay: dict) -> str:
    return json.dumps(replay, ensure_ascii=False, separators=(",", ":"))
