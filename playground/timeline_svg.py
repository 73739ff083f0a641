"""Draw a timeline (see timeline.py) as SVG: no script, every text escaped, themed by classes.

Colours come from the page's CSS through the ``tl-*`` classes (``CSS`` below is the default,
embedded only in a standalone download, since the page's CSP allows no inline style). Without
any CSS it still reads: lines use ``currentColor`` and bands a translucent ``currentColor``.
The viewBox is 360 units wide with 11-unit text, so on a 390 px phone text stays ~11 px.
"""

from __future__ import annotations

import math
import re

from markupsafe import Markup, escape

WIDTH, PAD = 360, 6
PLOT = WIDTH - 2 * PAD
BAND_Y, BAND_H = 4, 16
CHART_Y, CHART_H = 28, 72
FONT = 11
MAX_DRAWN = 400  # polyline points and phase bands drawn; more are merged or left out
MAX_STALLS = 50  # the longest stalls are drawn
CSS = (
    ".timeline text{fill:#1f2328;font:11px system-ui,sans-serif}"
    ".tl-waiting,.tl-headers{fill:#c9ced6}.tl-reasoning{fill:#9a6fd0}"
    ".tl-content,.tl-body{fill:#2f74b5}.tl-tool-calls{fill:#c27c0e}.tl-usage{fill:#2f8a4c}"
    ".tl-error{fill:#c0392b}.tl-other,.tl-response{fill:#8a939e}"
    ".tl-stall{fill:#c0392b;fill-opacity:.18}.tl-chars{stroke:#2f74b5;stroke-width:1.5}"
    ".tl-chunks{stroke:#57606a;stroke-dasharray:3 2}.tl-tokens{stroke:#2f8a4c}"
    ".tl-mark{stroke:#1f2328;stroke-dasharray:2 2}.tl-axis{stroke:#57606a}"
)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _tick_label(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:g} s"


def _ticks(end: float) -> list[float]:
    raw = end / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(int(end // step) + 1)]


def _thin(items: list, key) -> list:
    """At most MAX_DRAWN items, keeping the last one per drawn column (totals only grow)."""
    if len(items) <= MAX_DRAWN:
        return items
    kept: dict[int, object] = {}
    for item in items:
        kept[int(key(item) * MAX_DRAWN / WIDTH)] = item
    return list(kept.values())


def draw(t, text: str, id_prefix: str, standalone: bool) -> Markup:
    """The SVG of timeline ``t`` whose description is ``text``."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "", id_prefix)[:40] or "timeline"
    end = t.end_ms

    def x(ms: float) -> float:
        return PAD + PLOT * min(max(ms, 0.0), end) / end

    body: list[str] = []
    legend: list[tuple[str, str, str]] = []  # (kind of swatch, class, label)
    if not t.timed:
        height = 30
        body.append(f'<text x="{PAD}" y="19" class="tl-label">No timing recorded</text>')
    else:
        chart = bool(t.points)
        axis_y = CHART_Y + CHART_H if chart else BAND_Y + BAND_H + 6
        _bands(t.phases, x, body, legend)
        if chart:
            _chart(t, x, body, legend)
        body.append(f'<line x1="{PAD}" y1="{axis_y}" x2="{WIDTH - PAD}" y2="{axis_y}" '
                    'class="tl-axis" stroke="currentColor"/>')
        ticks = _ticks(end)
        for i, ms in enumerate(ticks):
            anchor = "start" if i == 0 else "end" if x(ms) > WIDTH - 30 else "middle"
            body.append(f'<line x1="{_num(x(ms))}" y1="{axis_y}" x2="{_num(x(ms))}" '
                        f'y2="{axis_y + 3}" class="tl-axis" stroke="currentColor"/>'
                        f'<text x="{_num(x(ms))}" y="{axis_y + 14}" text-anchor="{anchor}" '
                        f'class="tl-label">{escape(_tick_label(ms))}</text>')
        height = _legend(legend, axis_y + 22, body)
    title = "Timeline of the stream" if t.stream else "Timeline of the request"
    extra = (f' xmlns="http://www.w3.org/2000/svg" width="{WIDTH * 2}" height="{height * 2}"'
             if standalone else "")
    style = f"<style>{CSS}</style>" if standalone else ""
    svg = (f'<svg{extra} viewBox="0 0 {WIDTH} {height}" class="timeline" role="img" '
           f'aria-labelledby="{prefix}-title" aria-describedby="{prefix}-desc" '
           f'font-size="{FONT}">{style}<title id="{prefix}-title">{escape(title)}</title>'
           f'<desc id="{prefix}-desc">{escape(text)}</desc>{"".join(body)}</svg>')
    return Markup(svg)  # noqa: S704 - every text in it went through escape()


def _bands(phases, x, body: list[str], legend: list) -> None:
    if len(phases) > MAX_DRAWN:  # a hostile stream switching phase at every chunk: the longest
        phases = sorted(sorted(phases, key=lambda p: p.end_ms - p.start_ms)[-MAX_DRAWN:],
                        key=lambda p: p.start_ms)
    for phase in phases:
        left = x(phase.start_ms)
        width = max(x(phase.end_ms) - left, 1.0)
        css = "tl-" + phase.kind.replace("_", "-")
        body.append(f'<rect x="{_num(left)}" y="{BAND_Y}" width="{_num(width)}" '
                    f'height="{BAND_H}" class="tl-phase {css}" fill="currentColor" '
                    f'fill-opacity="0.35"><title>{escape(phase.label)}</title></rect>')
        if ("rect", css, phase.label) not in legend:
            legend.append(("rect", css, phase.label))


def _chart(t, x, body: list[str], legend: list) -> None:
    bottom = CHART_Y + CHART_H
    for gap in sorted(t.stalls, key=lambda g: g.ms)[-MAX_STALLS:]:
        left = x(gap.start_ms)
        body.append(f'<rect x="{_num(left)}" y="{CHART_Y}" '
                    f'width="{_num(max(x(gap.start_ms + gap.ms) - left, 1.0))}" '
                    f'height="{CHART_H}" class="tl-stall" fill="currentColor" '
                    'fill-opacity="0.12"/>')
    if t.stalls:
        legend.append(("rect", "tl-stall", "Stall over 500 ms"))
    series = [("chars", "tl-chars", "Characters"), ("chunks", "tl-chunks", "Chunks"),
              ("tokens", "tl-tokens", "Completion tokens")]
    for attr, css, label in series:
        points = [p for p in t.points if getattr(p, attr) is not None]
        top = max((getattr(p, attr) for p in points), default=0)
        if not top or (attr == "tokens" and len(points) < 2):
            continue  # one report (the usage chunk at the end) is no curve: not drawn
        start = [] if attr == "tokens" else [(PAD, bottom)]  # nothing is known before a report
        coords = start + [(x(p.ms), bottom - CHART_H * getattr(p, attr) / top)
                                    for p in _thin(points, lambda p: x(p.ms))]
        body.append(f'<polyline points="{" ".join(f"{_num(a)},{_num(b)}" for a, b in coords)}" '
                    f'class="{css}" fill="none" stroke="currentColor"/>')
        legend.append(("line", css, f"{label} (up to {top:,})"))
    for name, ms in (("first byte", t.first_byte_ms), ("first content", t.first_content_ms)):
        if ms is not None:
            body.append(f'<line x1="{_num(x(ms))}" y1="{BAND_Y}" x2="{_num(x(ms))}" '
                        f'y2="{bottom}" class="tl-mark" stroke="currentColor">'
                        f'<title>{escape(name.capitalize())}</title></line>')
    if t.first_byte_ms is not None:
        legend.append(("mark", "tl-mark", "First byte, first content"))


def _legend(items: list, top: float, body: list[str]) -> int:
    """Lay the legend out in rows that fit the width; return the SVG's height."""
    left, y = PAD, top
    for kind, css, label in items:
        width = 16 + len(label) * FONT * 0.56 + 10
        if left + width > WIDTH - PAD and left > PAD:
            left, y = PAD, y + FONT + 5
        if kind == "rect":
            body.append(f'<rect x="{_num(left)}" y="{_num(y - 9)}" width="12" height="10" '
                        f'class="{css}" fill="currentColor" fill-opacity="0.35"/>')
        else:
            body.append(f'<line x1="{_num(left)}" y1="{_num(y - 4)}" x2="{_num(left + 12)}" '
                        f'y2="{_num(y - 4)}" class="{css}" stroke="currentColor"/>')
        body.append(f'<text x="{_num(left + 16)}" y="{_num(y)}" class="tl-label">'
                    f'{escape(label)}</text>')
        left += width
    return int(y + 8)
