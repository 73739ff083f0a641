"""Markdown to safe HTML: a reply rendered whole (``markdown_html``) or while it streams.

Model output is untrusted. Markdown goes through markdown-it-py with raw HTML off, code through
Pygments with an allow-listed lexer, and the result through nh3 with a tight allow-list; the
only ``Markup`` this module returns is that sanitizer's output or text it escaped itself.
"""

from __future__ import annotations

import re
import time
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markupsafe import Markup, escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from playground import markdown_cost

MARKDOWN_LIMIT = 200_000  # characters rendered as markdown; beyond, escaped plain text
LIVE_LIMIT = 100_000  # characters of a streaming reply rendered live; beyond, raw text to the end
LIVE_EVERY_MS = 50  # at most one live snapshot per this much arrival time
# Snapshots are spaced so that they take at most LIVE_CPU_SHARE of a stream's arrival time:
# by what the last one measured, and at least by its size at ~1 µs a character (200 KB of
# mixed markdown in 212 ms, bench/README.md; a flood of backticks costs more, and a loaded
# machine too, which the measured time catches).
LIVE_MS_PER_CHAR = 0.001
LIVE_CPU_SHARE = 0.25
# Leaf blocks whose end is written in their own lines: what follows cannot reach back into them.
CLOSED_BLOCKS = {"heading_open", "hr", "fence"}
LEXERS = {
    "bash", "c", "cpp", "csharp", "css", "diff", "go", "html", "java", "javascript", "js",
    "json", "kotlin", "markdown", "php", "python", "py", "ruby", "rust", "scala", "sh", "shell",
    "sql", "swift", "toml", "ts", "typescript", "xml", "yaml", "yml", "jsx", "tsx", "console",
    "dockerfile", "ini", "lua", "r", "text",
}
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "span": {"class"}, "code": {"class"},
                      "ol": {"start"}}
# C0/C1 controls other than tab and line ends, and the bidi embeddings, overrides and isolates.
CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
BIDI_NAMES = {chr(c): f"[U+{c:04X}]" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
FORMATTER = HtmlFormatter(nowrap=True, classprefix="hl-")  # also Get code's (render.py)


@lru_cache(maxsize=len(LEXERS))
def _lexer(name: str):
    """A Pygments lexer, made once per language: finding one costs ~0.2 ms."""
    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return None


def _highlight(code: str, lang: str, _attrs: str) -> str:
    name = (lang or "").strip().lower()
    lexer = _lexer(name) if name in LEXERS else None
    if lexer is None:
        return ""  # markdown-it escapes it as plain text
    return highlight(code, lexer, FORMATTER)


class _Uncoloured:
    """The renderer's options with no highlighter: for code past the colouring budget."""

    highlight = None

    def __init__(self, options) -> None:
        self._options = options

    def __getattr__(self, name):
        return getattr(self._options, name)


def _fence(self, tokens, idx, options, env) -> str:
    """A fenced code block, coloured while the reply's HIGHLIGHT_LIMIT lasts (Pygments is
    the costliest part of a reply full of code), then plain."""
    spent = env.get("highlighted", 0) + len(tokens[idx].content)
    env["highlighted"] = min(spent, markdown_cost.HIGHLIGHT_LIMIT + 1)
    if spent > markdown_cost.HIGHLIGHT_LIMIT:
        options = _Uncoloured(options)
    return RendererHTML.fence(self, tokens, idx, options, env)


def _image_as_link(self, tokens, idx, options, env) -> str:
    """Show an image as a link: fetching it would leak the page's visit to its host."""
    token = tokens[idx]
    src = escape(token.attrGet("src") or "")
    alt = escape(self.renderInlineAsText(token.children or [], options, env) or "image")
    return f'<a href="{src}">[image: {alt}]</a>'


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("js-default", {"highlight": _highlight}).enable(["table", "strikethrough"])
    md.add_render_rule("image", _image_as_link)
    md.add_render_rule("fence", _fence)
    return md


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    # Built once: nh3.clean converts the allow-lists on every call, a third of its time on the
    # small HTML of a live snapshot (a stream sanitizes once per snapshot).
    return nh3.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                       url_schemes={"http", "https", "mailto"},
                       link_rel="noopener noreferrer nofollow")


def sanitize(html: str) -> Markup:
    """Keep only the allow-listed tags, attributes and URL schemes."""
    return Markup(_cleaner().clean(html))  # noqa: S704 - this is the sanitizer's output


def neutralize_controls(text: str) -> str:
    """Make invisible control and bidi-override characters visible instead of obeying them.

    A reply could otherwise reorder what the reader sees (Trojan Source) or hide text.
    """
    return CONTROLS.sub(lambda m: BIDI_NAMES.get(m.group(), "\ufffd"), text)


def markdown_html(text: str | None, limit: int = MARKDOWN_LIMIT) -> Markup:
    """Render untrusted markdown to sanitized HTML; very long text stays plain and escaped."""
    text = neutralize_controls(text or "")
    if len(text) > limit:
        reason = f"it is {len(text):,} characters long, over the {limit:,} rendered as markdown"
    elif (cost := markdown_cost.estimate(text)) > markdown_cost.BUDGET_US:
        reason = _costly(cost)
    else:
        return sanitize(_markdown().render(text))
    return Markup('<p class="notice">This reply is shown as plain text: {}.</p>'
                  '<pre class="plain">{}</pre>').format(reason, text)


def _costly(cost_us: float) -> str:
    return (f"its shape would take about {cost_us / 1000:,.0f} ms to format, over the "
            f"{markdown_cost.BUDGET_US // 1000} ms a reply may take")


def _live_reason(length: int, cost: markdown_cost.Estimate, limit: int) -> str | None:
    """Why live snapshots stop, or None while they can go on; mirrors markdown_html's caps."""
    if length > limit:
        return f"the reply is over {limit:,} characters"
    if cost.over:
        return "the reply's shape would take too long to format"
    return None


class LiveMarkdown:
    """Render a reply while it streams: finished blocks once, only the growing tail again.

    Each snapshot is exactly ``markdown_html`` of the text so far (property-tested), made by
    cutting only at a top-level block start that nothing appended can change: after a blank
    line, or a heading, rule or closed fence, its own line complete, and no link definition
    below it still growing. Above the cut, blocks are rendered and sanitized once; below,
    re-parsed per snapshot. Past ``limit`` characters or the costly-character caps, snapshots
    stop and ``stopped`` says why: the caller shows raw text until the final render.
    """

    def __init__(self, limit: int = LIVE_LIMIT, every_ms: float = LIVE_EVERY_MS) -> None:
        self.limit, self.every_ms = limit, every_ms
        self.stopped: str | None = None
        self.length = 0  # characters fed, after neutralising controls
        self.snapshots = 0
        self.rendered_chars = 0  # characters parsed by snapshots so far: what they cost
        self._cost = markdown_cost.Estimate()
        self._pending_cr = False
        self._done: list[str] = []  # the text above the cut
        self._done_html: list[str] = []  # its sanitized HTML, block group by block group
        self._done_refs: dict = {}  # link references defined above the cut
        self._done_links = False  # whether the text above the cut has a '['
        self._done_highlighted = 0  # characters of code above the cut, for HIGHLIGHT_LIMIT
        self._tail: list[str] = []  # the text below the cut, in pieces until joined
        self._last_ms: float | None = None
        self._last_cost = 0  # characters the last snapshot parsed
        self.last_cost_ms = 0.0  # how long the last snapshot took
        self._tail_html = ""  # the growing tail's HTML in the last snapshot
        self._given = 0  # finished pieces handed out by ``parts``
        self._restarted = False  # the finished pieces were thrown away (a late link definition)

    def feed(self, delta: str) -> None:
        """Append the next piece of the reply (as the provider sent it)."""
        if self.stopped or not delta:
            return
        delta = neutralize_controls(delta)
        self.length += len(delta)
        self._cost.feed(delta)
        self.stopped = _live_reason(self.length, self._cost, self.limit)
        if self.stopped:
            self._done = self._tail = self._done_html = []
            return
        # Line ends as markdown-it sees them; a CR and its LF may arrive in two deltas.
        if self._pending_cr and delta.startswith("\n"):
            delta = delta[1:]
        self._pending_cr = delta.endswith("\r")
        self._tail.append(delta.replace("\r\n", "\n").replace("\r", "\n"))

    def due(self, now_ms: float) -> bool:
        """Whether a snapshot at ``now_ms`` (arrival time) is worth its cost."""
        if self.stopped:
            return False
        if self._last_ms is None:
            return True
        cost = max(self._last_cost * LIVE_MS_PER_CHAR, self.last_cost_ms)
        return now_ms - self._last_ms >= max(self.every_ms, cost / LIVE_CPU_SHARE)

    def cost_ms(self, more: str = "") -> float | None:
        """What the next snapshot should take with ``more`` still to feed, or None when it
        cannot be told cheaply: code to colour (Pygments may first load a lexer), or a tail
        that can no longer be cut short (a late link definition re-renders it all)."""
        if self._done_links or "```" in more or "~~~" in more or any(
                "```" in piece or "~~~" in piece for piece in self._tail):
            return None
        chars = sum(map(len, self._tail)) + len(more)
        rate = self.last_cost_ms / self._last_cost if self._last_cost else 0.0
        return chars * max(rate, LIVE_MS_PER_CHAR)

    def snapshot(self, now_ms: float | None = None) -> Markup | None:
        """Sanitized HTML of the reply so far (== ``markdown_html``), or None once stopped."""
        if self.stopped:
            return None
        started = time.perf_counter()
        self._last_ms = now_ms
        md = _markdown()
        tail = "".join(self._tail)
        env = {"references": dict(self._done_refs)}
        tokens = md.parse(tail, env)
        if self._done_links and env["references"].keys() - self._done_refs.keys():
            # '[x]' above the cut may become a link now that '[x]: url' is defined below it.
            tail = "".join(self._done) + tail
            self._done, self._done_html, self._done_refs, self._done_links = [], [], {}, False
            self._restarted = True
            self._done_highlighted = 0
            env = {"references": {}}
            tokens = md.parse(tail, env)
        env["highlighted"] = self._done_highlighted  # code coloured above the cut counts
        self.snapshots += 1
        self._last_cost = len(tail)
        self.rendered_chars += len(tail)
        # A definition still in the tail may yet change (or vanish): blocks that could use it
        # are not finished while it is below them.
        last_ref = max((ref["map"][0] for label, ref in env["references"].items()
                        if label not in self._done_refs), default=-1)
        cut = _cut(tail, tokens, last_ref)
        if cut is not None:
            index, line, offset = cut
            self._done_html.append(str(sanitize(md.renderer.render(tokens[:index], md.options,
                                                                    env))))
            self._done_highlighted = env["highlighted"]
            self._done.append(tail[:offset])
            self._done_links = self._done_links or "[" in tail[:offset]
            for label, ref in env["references"].items():
                if label not in self._done_refs and ref["map"][0] < line:
                    self._done_refs[label] = ref
            tokens, tail = tokens[index:], tail[offset:]
        self._tail = [tail]
        self._tail_html = str(sanitize(md.renderer.render(tokens, md.options, env)))
        html = Markup("".join(self._done_html) + self._tail_html)  # noqa: S704 - sanitized
        self.last_cost_ms = (time.perf_counter() - started) * 1000
        return html

    def parts(self, now_ms: float | None = None) -> tuple[int, list[str], str] | None:
        """The next snapshot as a change to the one before: (finished pieces to keep, new
        finished pieces, the tail's HTML); the pieces kept, the new ones and the tail, joined,
        are ``snapshot()``. None once stopped. Finished pieces never change, so a page appends
        them and replaces only the tail: nothing above it moves.
        """
        if self.snapshot(now_ms) is None:
            return None
        keep = 0 if self._restarted else self._given
        self._restarted, self._given = False, len(self._done_html)
        return keep, self._done_html[keep:], self._tail_html

    def notice(self) -> Markup | None:
        """What to tell the reader once live formatting has stopped."""
        if not self.stopped:
            return None
        return Markup('<p class="notice">Live formatting stopped: {}. The formatted reply '
                      "appears when it is complete.</p>").format(self.stopped)


def _cut(text: str, tokens, last_ref: int) -> tuple[int, int, int] | None:
    """The last safe place to cut: (token index, line, character offset), or None.

    A cut above line ``last_ref`` (a link definition below it) is safe only if nothing
    above it could be a link.
    """
    starts = [(i, t.map[0], t.map[1], t.type) for i, t in enumerate(tokens)
              if t.level == 0 and t.nesting >= 0 and t.block and t.map]
    if len(starts) < 2:
        return None
    lines = text.split("\n")
    for (_, _, end, kind), (index, line, _, _) in zip(reversed(starts[:-1]),
                                                       reversed(starts[1:]), strict=True):
        if line == 0 or line >= len(lines) - 1:
            continue  # the block's first line is still being written
        after_blank = not lines[line - 1].strip(" \t")
        closed = kind in CLOSED_BLOCKS and end == line
        if after_blank or closed:
            offset = sum(len(part) + 1 for part in lines[:line])
            if line > last_ref or "[" not in text[:offset]:
                return index, line, offset
    return None
