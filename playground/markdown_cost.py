"""What formatting a reply as markdown will cost, estimated before it is parsed.

markdown-it-py is pure Python, and its time depends on a reply's shape far more than on its
length (bench/README.md, "Rendering worst cases"): 200 KB of prose parses in a few ms, 200 KB
of one-line list items takes over a second, a few hundred unmatched ``![`` a tenth of one. So
the renderer asks this module first and shows a reply whose estimate is over ``BUDGET_US`` as
escaped plain text: every reply within the caps then renders in 100 ms or less.

The estimate charges each character what the costliest markdown it can begin cost per
occurrence on the bench machine (2 cores; the highest figure of each shape, so it errs high),
and each line of fenced code what Pygments costs for it, up to the characters the renderer
colours (``HIGHLIGHT_LIMIT``). Fences are found line by line, approximately: this is an
estimate, and a generous one.

It is additive and reads a line only through counts, so a stream keeps it as deltas arrive
(``Estimate.feed``) and reaches the same figure as the whole text at once, wherever the
deltas were cut (property-tested), at C speed per delta.
"""

from __future__ import annotations

import re

# A reply estimated over this is shown as plain text. The target is 100 ms; the budget keeps
# 15 % under it, because the bench machine's speed drifts by that much through a day (nested
# lists, at the most still formatted, measured 84 ms one afternoon and 107 ms that evening).
BUDGET_US = 85_000
HIGHLIGHT_LIMIT = 10_000  # characters of fenced code coloured by Pygments in one reply
CHAR_US = 0.08  # any character: prose parses at ~0.02-0.1 µs a character
CODE_US = 3.0  # a character of fenced code that Pygments colours
# µs per occurrence, outside fenced code: a line end stands for the costliest line (a nested
# list item, ~50 µs); '<' for an autolink (URL normalisation, ~60 µs); '[' for an unmatched
# bracket (up to ~100 µs); the emphasis delimiters for '*a' repeated (~12 µs); '|' for a table
# cell.
WEIGHTS = {"\n": 50.0, "<": 60.0, "[": 100.0, "*": 12.0, "_": 12.0, "~": 6.5, "&": 8.5,
           "`": 4.8, "\\": 3.5, "|": 5.0, "-": 1.5}
PAIRS = {"![": 200.0, "](": 50.0}  # an image opener (~250 µs each); a link destination
FENCE_US = 60.0  # opening a fence: its lexer and formatter
FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
HEAD = 12  # characters of a line kept to tell a fence marker


class Estimate:
    """The running estimate, in µs, of formatting the text fed so far."""

    def __init__(self) -> None:
        self.us = 0.0
        self.code = 0  # characters of fenced code charged at CODE_US so far
        self._fence: str | None = None  # the marker of the open fence, if inside one
        self._in_code = False  # whether the current line is inside a fence
        self._head = ""  # the current line's first HEAD characters
        self._last = "\n"  # the last character fed

    def feed(self, text: str) -> Estimate:
        """Add the next piece of the text."""
        for number, part in enumerate(text.split("\n")):
            if number:
                self._end_line()
            if part:
                self._add(part)
        return self

    @property
    def over(self) -> bool:
        return self.us > BUDGET_US

    def _add(self, part: str) -> None:
        if len(self._head) < HEAD:
            self._head += part[:HEAD - len(self._head)]
        if self._in_code:
            self._charge_code(len(part))
        else:
            self.us += sum(weight * part.count(char) for char, weight in WEIGHTS.items()
                           if char != "\n")
            for pair, weight in PAIRS.items():
                across = self._last == pair[0] and part[0] == pair[1]
                self.us += weight * (part.count(pair) + across)
        self.us += CHAR_US * len(part)
        self._last = part[-1]

    def _charge_code(self, count: int) -> None:
        coloured = max(0, min(count, HIGHLIGHT_LIMIT - self.code))
        self.code += coloured
        self.us += CODE_US * coloured

    def _end_line(self) -> None:
        if self._in_code:
            self._charge_code(1)
        else:
            self.us += WEIGHTS["\n"]
        self.us += CHAR_US
        marker = FENCE.match(self._head)
        if marker and self._fence is None:
            self._fence = marker.group(1)
            self.us += FENCE_US
        elif marker and self._fence and marker.group(1).startswith(self._fence[0] * len(
                self._fence)):
            self._fence = None
        self._in_code = self._fence is not None
        self._head, self._last = "", "\n"


def estimate(text: str) -> float:
    """µs that formatting ``text`` as markdown is estimated to take."""
    return Estimate().feed(text).us
