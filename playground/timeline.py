"""The flight recorder: when each chunk of a run arrived, as phases, gaps, numbers and an SVG.

Input is what a run keeps: its raw events, their arrival times (ms from sending the request,
parallel to the events; runs from before the recorder have none) and its totals. Every event
and time is untrusted: unparseable events are counted, not read; a time that is not a finite,
non-negative number, or that runs backwards, is dropped and said so; nothing is ever invented.
A run without arrival times gets a timeline marked "no timing recorded".

The SVG is drawn on the server, sized by its viewBox, with a <title> and <desc>, and coloured
only through classes (``tl-…``) so that the page's light and dark themes style it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from markupsafe import Markup

from playground.timeline_svg import draw

STALL_MS = 500  # a gap between chunks longer than this is a stall
EVENT_PARSE_LIMIT = 1_000_000  # characters of one event read as JSON; beyond, only counted
MAX_MS = 86_400_000.0  # a day: a later arrival time is corrupt
JSON_LIMIT = 10_000  # entries per list in the downloadable JSON
PHASES = {
    "waiting": "Waiting for the first byte",
    "reasoning": "Reasoning",
    "content": "Content",
    "tool_calls": "Tool-call arguments",
    "usage": "Usage",
    "error": "Error",
    "other": "Chunks without text",
    "headers": "Waiting for the response headers",
    "body": "Receiving the body",
    "response": "Waiting for the whole response",
}


@dataclass(frozen=True)
class Phase:
    """A stretch of the run in one phase, from its first chunk to the next phase's first."""

    kind: str
    start_ms: float
    end_ms: float
    chunks: int = 0
    chars: int = 0

    @property
    def label(self) -> str:
        return PHASES[self.kind]


@dataclass(frozen=True)
class Gap:
    """The silence between two chunks that arrived one after the other."""

    after: int  # index of the event before the gap
    start_ms: float
    ms: float

    @property
    def stall(self) -> bool:
        return self.ms > STALL_MS


@dataclass(frozen=True)
class Point:
    """Totals so far when a chunk arrived; tokens only if this chunk reported them."""

    ms: float
    chars: int
    chunks: int
    tokens: int | None = None  # completion tokens the provider reported in this chunk


@dataclass(frozen=True)
class Timeline:
    """Everything the run page, the summary and the JSON download show about timing."""

    timed: bool
    stream: bool
    status: int | None = None
    state: str | None = None
    total_ms: float | None = None
    ttft_ms: float | None = None
    headers_ms: float | None = None
    first_byte_ms: float | None = None
    first_reasoning_ms: float | None = None
    first_content_ms: float | None = None
    first_tool_ms: float | None = None
    chunks: int = 0
    chars: int = 0
    tokens: int | None = None
    chunks_per_s: float | None = None
    longest_gap: Gap | None = None
    stalls: tuple[Gap, ...] = ()
    phases: tuple[Phase, ...] = ()
    points: tuple[Point, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def end_ms(self) -> float:
        """Where the time axis ends: the total, or the last arrival if that came later."""
        ends = [p.end_ms for p in self.phases] + [p.ms for p in self.points]
        return max([self.total_ms or 0.0, *ends, 1.0])

    def to_dict(self) -> dict:
        """The JSON form offered for download (lists bounded to JSON_LIMIT entries)."""
        scalars = ("timed", "stream", "status", "state", "total_ms", "ttft_ms", "headers_ms",
                   "first_byte_ms", "first_reasoning_ms", "first_content_ms", "first_tool_ms",
                   "chunks", "chars", "tokens", "chunks_per_s")
        data = {name: getattr(self, name) for name in scalars}
        data.update(
            end_ms=self.end_ms, stall_ms=STALL_MS,
            longest_gap=_gap(self.longest_gap) if self.longest_gap else None,
            phases=[{"kind": p.kind, "label": p.label, "start_ms": p.start_ms,
                     "end_ms": p.end_ms, "chunks": p.chunks, "chars": p.chars}
                    for p in self.phases[:JSON_LIMIT]],
            stalls=[_gap(g) for g in self.stalls[:JSON_LIMIT]],
            point_fields=["ms", "chars", "chunks", "tokens"],
            points=[[p.ms, p.chars, p.chunks, p.tokens] for p in self.points[:JSON_LIMIT]],
            notes=list(self.notes),
            truncated=max(len(self.phases), len(self.stalls), len(self.points)) > JSON_LIMIT)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False)


def _gap(gap: Gap) -> dict:
    return {"after": gap.after, "start_ms": gap.start_ms, "ms": gap.ms}


def _ms(value) -> float | None:
    """A duration as recorded, or None: never a bool, NaN, infinity or negative."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and 0 <= value <= MAX_MS else None


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None


def _text_len(value) -> int:
    return len(value) if isinstance(value, str) else 0


def read_event(event) -> tuple[str, int, int | None, dict]:
    """An event's (kind, characters of text, completion tokens reported, firsts seen)."""
    if not isinstance(event, str):
        return "other", 0, None, {"bad": True}
    if event.startswith("event: "):  # a named SSE event, kept as "event: name\ndata"
        name, _, event = event[7:].partition("\n")
        if name.strip() == "error":
            return "error", 0, None, {}
    if event.strip() == "[DONE]":
        return "other", 0, None, {"done": True}
    if len(event) > EVENT_PARSE_LIMIT:
        return "other", 0, None, {"huge": True}
    try:
        chunk = json.loads(event)
    except ValueError:
        chunk = None
    if not isinstance(chunk, dict):
        return "other", 0, None, {"bad": True}
    if chunk.get("error") and not chunk.get("choices"):
        return "error", 0, None, {}
    sizes = {"reasoning": 0, "content": 0, "tool_calls": 0}
    choices = chunk.get("choices")
    for choice in choices if isinstance(choices, list) else []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            continue
        sizes["reasoning"] += _text_len(delta.get("reasoning_content")) + \
            _text_len(delta.get("reasoning"))
        sizes["content"] += _text_len(delta.get("content")) + _text_len(delta.get("refusal"))
        calls = delta.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                sizes["tool_calls"] += _text_len(function.get("arguments")) + \
                    _text_len(function.get("name"))
    usage = chunk.get("usage")
    tokens = _count(usage.get("completion_tokens")) if isinstance(usage, dict) else None
    firsts = {kind: True for kind, size in sizes.items() if size}
    kind = next((k for k in ("tool_calls", "content", "reasoning") if sizes[k]), None)
    if kind is None:
        kind = "usage" if isinstance(usage, dict) and usage else "other"
    return kind, sum(sizes.values()), tokens, firsts


def build(events, event_times=None, *, ttft_ms=None, total_ms=None, status=None,
          stream: bool = True, headers_ms=None, state: str | None = None) -> Timeline:
    """The timeline of one run from its events, their arrival times and its totals."""
    events = list(events) if isinstance(events, list | tuple) else []
    base = {"stream": bool(stream), "status": _count(status), "state": state,
            "total_ms": _ms(total_ms), "ttft_ms": _ms(ttft_ms), "headers_ms": _ms(headers_ms)}
    if not events:
        return _single_bar(base, stream)
    read = [read_event(event) for event in events]
    chunks = sum(1 for r in read if not r[3].get("done"))
    chars = sum(r[1] for r in read)
    reported = [r[2] for r in read if r[2] is not None]
    base.update(chunks=chunks, chars=chars, tokens=reported[-1] if reported else None)
    notes = _event_notes(read)
    times = _times(event_times, len(events), notes)
    if times is None:
        notes.insert(0, "No timing recorded: this run was saved before arrival times were kept.")
        return Timeline(timed=False, notes=tuple(notes), **base)
    return _stream(base, read, times, notes)


def of_run(run) -> Timeline:
    """The timeline of a ``Run`` (``event_times`` and ``headers_ms`` are read if it has them)."""
    return build(run.events, getattr(run, "event_times", None), ttft_ms=run.ttft_ms,
                 total_ms=run.total_ms, status=run.status, stream=run.stream,
                 headers_ms=getattr(run, "headers_ms", None), state=run.state)


def _event_notes(read) -> list[str]:
    notes = []
    bad = sum(1 for r in read if r[3].get("bad"))
    huge = sum(1 for r in read if r[3].get("huge"))
    if bad:
        notes.append(f"{bad:,} event{'s were' if bad > 1 else ' was'} not a JSON chunk.")
    if huge:
        notes.append(f"{huge:,} event{'s were' if huge > 1 else ' was'} over "
                     f"{EVENT_PARSE_LIMIT:,} characters and not read.")
    return notes


def _times(event_times, count: int, notes: list[str]) -> list[float | None] | None:
    """One time per event, None where unusable; None overall when none is usable."""
    if not isinstance(event_times, list | tuple) or not event_times:
        return None
    times: list[float | None] = []
    previous, backwards, invalid = -1.0, 0, 0
    for raw in list(event_times[:count]) + [None] * max(0, count - len(event_times)):
        value = _ms(raw)
        if value is None:
            invalid += raw is not None
        elif value < previous:
            backwards, value = backwards + 1, None
        else:
            previous = value
        times.append(value)
    if len(event_times) != count:
        notes.append(f"{len(event_times):,} arrival times for {count:,} events; only the "
                     "matching ones are drawn.")
    if invalid:
        notes.append(f"{invalid:,} arrival time{'s were' if invalid > 1 else ' was'} not a "
                     "usable number and not drawn.")
    if backwards:
        notes.append(f"{backwards:,} arrival time{'s' if backwards > 1 else ''} went "
                     f"backwards and {'were' if backwards > 1 else 'was'} not drawn.")
    return times if any(t is not None for t in times) else None


def _single_bar(base: dict, stream: bool) -> Timeline:
    """A run with no chunks: sent, response headers (when timed), body complete."""
    total, headers = base["total_ms"], base["headers_ms"]
    if total is None:
        return Timeline(timed=False, notes=("No timing recorded for this run.",), **base)
    notes = ["The provider sent no stream chunks."] if stream else []
    if headers is not None and headers <= total:
        phases = (Phase("headers", 0.0, headers), Phase("body", headers, total))
    else:
        phases = (Phase("response", 0.0, total),)
        notes.append("The response headers' arrival was not timed.")
    return Timeline(timed=True, phases=phases, notes=tuple(notes), **base)


def _stream(base: dict, read, times, notes: list[str]) -> Timeline:
    timed = [(i, t) for i, t in enumerate(times) if t is not None]
    firsts: dict[str, float] = {}
    points, phases, gaps = [], [], []
    chars = chunks = 0
    current: dict | None = None
    previous: tuple[int, float] | None = None
    for index, (kind, size, reported, seen) in enumerate(read):
        chars += size
        chunks += 0 if seen.get("done") else 1
        at = times[index]
        if at is None:
            continue
        for first in seen:
            firsts.setdefault(first, at)
        points.append(Point(at, chars, chunks, reported))
        if previous is not None:
            gaps.append(Gap(previous[0], previous[1], at - previous[1]))
        previous = (index, at)
        if current is None or (kind != current["kind"] and kind != "other"):
            if current is not None:
                phases.append(Phase(current["kind"], current["start"], at, current["chunks"],
                                    current["chars"]))
            current = {"kind": kind, "start": at, "chunks": 0, "chars": 0}
        current["chunks"] += 1
        current["chars"] += size
        current["end"] = at
    phases.append(Phase(current["kind"], current["start"], current["end"], current["chunks"],
                        current["chars"]))
    first_at, last_at = timed[0][1], timed[-1][1]
    phases.insert(0, Phase("waiting", 0.0, first_at))
    rate = (len(timed) - 1) / ((last_at - first_at) / 1000) if last_at > first_at else None
    longest = max(gaps, key=lambda g: g.ms, default=None)
    return Timeline(timed=True, first_byte_ms=first_at, first_reasoning_ms=firsts.get("reasoning"),
                    first_content_ms=firsts.get("content"), first_tool_ms=firsts.get("tool_calls"),
                    chunks_per_s=rate, longest_gap=longest,
                    stalls=tuple(g for g in gaps if g.stall), phases=tuple(phases),
                    points=tuple(points), notes=tuple(notes), **base)


def duration(ms: float | None) -> str:
    """A duration as people read it: "0.8 ms", "412 ms", "2.31 s", "n/a"."""
    if ms is None:
        return "n/a"
    if ms < 9.95:  # a local run is over in a millisecond or two: "0 ms" would say nothing
        return f"{ms:.1f} ms"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def summary(timeline: Timeline) -> str:
    """The timeline in sentences, for screen readers and for anyone who prefers text."""
    t = timeline
    said: list[str] = []
    if not t.stream:
        said.append("Not streamed.")
    if t.status is not None and t.status >= 400:
        said.append(f"The provider answered HTTP {t.status}.")
    if t.stream and t.chunks:
        said.append(f"{t.chunks:,} chunk{'s' if t.chunks != 1 else ''} carrying "
                    f"{t.chars:,} characters of text"
                    + (f" and {t.tokens:,} completion tokens." if t.tokens is not None else "."))
    if t.total_ms is not None:
        said.append(f"Total time {duration(t.total_ms)}.")
    if t.timed and t.points:
        firsts = [f"first byte after {duration(t.first_byte_ms)}"]
        for name, value in (("first reasoning token", t.first_reasoning_ms),
                            ("first content token", t.first_content_ms),
                            ("first tool-call argument", t.first_tool_ms)):
            if value is not None:
                firsts.append(f"{name} at {duration(value)}")
        said.append("; ".join(firsts).capitalize() + ".")
        if t.chunks_per_s is not None:
            said.append(f"{t.chunks_per_s:.1f} chunks per second.")
        if t.longest_gap is not None:
            stalls = len(t.stalls)
            said.append(f"Longest gap between chunks {duration(t.longest_gap.ms)}; "
                        + (f"{stalls:,} stall{'s' if stalls != 1 else ''} over {STALL_MS} ms."
                           if stalls else f"no stall over {STALL_MS} ms."))
    if t.timed and t.phases:
        said.append("Phases: " + ", ".join(
            f"{p.label.lower()} {duration(p.end_ms - p.start_ms)}" for p in t.phases[:12])
            + (f", and {len(t.phases) - 12:,} more." if len(t.phases) > 12 else "."))
    return " ".join([*said, *t.notes])


def svg(timeline: Timeline, id_prefix: str = "timeline", standalone: bool = False) -> Markup:
    """The timeline as an inline SVG (or, standalone, a file with its own default colours)."""
    return draw(timeline, summary(timeline), id_prefix, standalone)
