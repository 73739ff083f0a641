"""Draw a timeline (see timeline.py) as SVG: no script, every text escaped, themed by classes.

Colours come from the page's CSS through the ``tl-*`` classes (``CSS`` below is the default,
embedded only in a standalone download, since the page's CSP allows no inline style; a page
should also set ``fill-opacity: 1`` on ``.tl-phase`` and ``.tl-swatch``). Without any CSS it
still reads: lines use ``currentColor`` and bands a translucent ``currentColor``.
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
    ".tl-phase,.tl-swatch{fill-opacity:1}.tl-stall{fill:#c0392b;fill-opacity:.18}.tl-chars{stroke:#2f74b5;stroke-width:1.5}"
    ".tl-chunks{stroke:#57606a;stroke-dasharray:3 2}.tl-tokens{stroke:#2f8a4c}"
    ".tl-mark{stroke:#1f2328;stroke-dasharray:2 2}.tl-axis{stroke:#57606a}"
    "@media (prefers-color-scheme:dark){.timeline text{fill:#e6edf3}"
    ".tl-mark{stroke:#e6edf3}.tl-axis,.tl-chunks{stroke:#9198a1}.tl-stall{fill-opacity:.4}}"
)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _tick_label(ms: float, step: float) -> str:
    """A tick's label with as many decimals as the step needs: 0.2 ms apart reads "0.4 ms"."""
    if ms >= 1000:
        return f"{ms / 1000:g} s"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{ms:.{decimals}f} ms"


def _ticks(end: float) -> tuple[float, list[float]]:
    """About five round steps from 0 to ``end``: the step (at most end / 2) and the ticks."""
    raw = end / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return step, [i * step for i in range(int(end / step + 1e-9) + 1)]  # 1.0 / 0.2 is 4.999…


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
        step, ticks = _ticks(end)
        for i, ms in enumerate(ticks):
            anchor = "start" if i == 0 else "end" if x(ms) > WIDTH - 30 else "middle"
            body.append(f'<line x1="{_num(x(ms))}" y1="{axis_y}" x2="{_num(x(ms))}" '
                        f'y2="{axis_y + 3}" class="tl-axis" stroke="currentColor"/>'
                        f'<text x="{_num(x(ms))}" y="{axis_y + 14}" text-anchor="{anchor}" '
                        f'class="tl-label">{escape(_tick_label(ms, step))}</text>')
        height = _legend(legend, axis_y + 14 + FONT + 6, body)  # a row clear of the ticks
    title = "Timeline of the stream" if t.stream else "Timeline of the request"
    extra = (f' xmlns="http://www.w3.org/2000/svg" width="{WIDTH * 2}" height="{height * 2}"'
             if standalone else "")
    style = f"<style>{CSS}</style>" if standalone else ""
    svg = (f'<svg{extra} viewBox="0 0 {WIDTH} {height}" class="timeline" role="img" '
           f'aria-labelledby="{prefix}-title" aria-describedby="{prefix}-desc" '
           f'font-size="{FONT}">{style}<title id="{prefix}-title">{escape(title)}</title>'
           f'<desc id="{prefix}-desc">{escape(text)}</desc>{"".join(body)}</svg>')
    return Markup(svg)  # noqa: S704 - every text in it went through escape()


def _columns(phases, x) -> list[tuple[float, float, str, str]]:
    """Too many phases to draw: each of MAX_DRAWN columns shows the one it holds most of."""
    step = PLOT / MAX_DRAWN
    share: list[dict] = [{} for _ in range(MAX_DRAWN)]
    labels = {}
    for phase in phases:
        left, right = x(phase.start_ms), x(phase.end_ms)
        labels[phase.kind] = phase.label
        first = min(int((left - PAD) / step), MAX_DRAWN - 1)
        last = min(int((right - PAD) / step), MAX_DRAWN - 1)
        for column in range(first, last + 1):
            low = max(left, PAD + column * step)
            high = min(right, PAD + (column + 1) * step)
            share[column][phase.kind] = share[column].get(phase.kind, 0.0) + max(high - low, 0.0)
    bands: list[list] = []
    for column, kinds in enumerate(share):
        if not kinds:
            continue
        kind = max(kinds, key=kinds.get)
        left = PAD + column * step
        if bands and bands[-1][2] == kind and abs(bands[-1][1] - left) < 1e-6:
            bands[-1][1] = left + step
        else:
            bands.append([left, left + step, kind, labels[kind]])
    return [tuple(band) for band in bands]


def _bands(phases, x, body: list[str], legend: list) -> None:
    if len(phases) > MAX_DRAWN:  # a hostile stream switching phase at every chunk
        drawn = _columns(phases, x)
    else:
        drawn = [(x(p.start_ms), x(p.end_ms), p.kind, p.label) for p in phases]
    for left, right, kind, label in drawn:
        css = "tl-" + kind.replace("_", "-")
        body.append(f'<rect x="{_num(left)}" y="{BAND_Y}" width="{_num(max(right - left, 1.0))}" '
                    f'height="{BAND_H}" class="tl-phase {css}" fill="currentColor" '
                    f'fill-opacity="0.35"><title>{escape(label)}</title></rect>')
        if ("rect", css, label) not in legend:
            legend.append(("rect", css, label))


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
                        f'class="tl-swatch {css}" fill="currentColor" fill-opacity="0.35"/>')
        else:
            body.append(f'<line x1="{_num(left)}" y1="{_num(y - 4)}" x2="{_num(left + 12)}" '
                        f'y2="{_num(y - 4)}" class="{css}" stroke="currentColor"/>')
        body.append(f'<text x="{_num(left + 16)}" y="{_num(y)}" class="tl-label">'
                    f'{escape(label)}</text>')
        left += width
    return int(y + 8)
