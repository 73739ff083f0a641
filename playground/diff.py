"""Compare two replies word by word, as escaped HTML, within a bounded cost.

``difflib.SequenceMatcher`` is cubic on hostile input: tokens cycling through a vocabulary
just too large for its "popular" cut-off make it split the texts one token at a time. Two
500-token texts took ~30 ms, 700 ~200 ms and 1,000 ~700 ms (bench/render_cost.py keeps the
case at the cap). So the texts are first compared line by line, and only the changed
passages word by word while a budget of token pairs (tokens of one side x tokens of the
other) lasts. A passage over the budget stays line by line, with a note; texts whose line
comparison alone would be over its budget get a note only.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from playground.markdown import neutralize_controls

# Token pairs compared word by word, all passages together (500 x 500 tokens), and line
# pairs compared line by line; beyond the first, line by line, beyond the second a note only.
WORD_PAIRS = 250_000
LINE_PAIRS = 250_000
TEXT_LIMIT = 200_000  # characters per side; beyond, a note only
# A word with the spaces after it is one token: spaces as tokens of their own would match
# everywhere, which made difflib 20 to 50 times slower and its matches worse.
TOKENS = re.compile(r"\w+\s*|[^\w\s]\s*|\s+")
WORDS = re.compile(r"\w+")  # what the inserted and deleted counts count


@dataclass(frozen=True)
class Diff:
    """The marked-up comparison, how it was made, and what changed."""

    html: Markup
    mode: str  # "words", "lines" (some passages line by line) or "none" (too long: a note)
    note: str | None
    inserted: int  # words (runs of letters and digits) only in the second text
    deleted: int  # ... only in the first
    identical: bool = False


def word_diff(first: str | None, second: str | None, word_pairs: int = WORD_PAIRS,
              line_pairs: int = LINE_PAIRS, text_limit: int = TEXT_LIMIT) -> Diff:
    """Mark what the second text inserts and deletes relative to the first, escaped."""
    first, second = neutralize_controls(first or ""), neutralize_controls(second or "")
    if max(len(first), len(second)) > text_limit:
        return _too_long(f"a reply is over {text_limit:,} characters")
    lines_a, lines_b = first.splitlines(keepends=True), second.splitlines(keepends=True)
    head = _common_prefix(lines_a, lines_b)
    tail = _common_prefix(lines_a[head:][::-1], lines_b[head:][::-1])
    middle_a, middle_b = lines_a[head:len(lines_a) - tail], lines_b[head:len(lines_b) - tail]
    if len(middle_a) * len(middle_b) > line_pairs:
        return _too_long(f"they differ on over {line_pairs:,} pairs of lines")
    out = _Out()
    out.same("".join(lines_a[:head]))
    budget, by_line = word_pairs, 0
    matcher = difflib.SequenceMatcher(None, middle_a, middle_b)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        old, new = middle_a[a1:a2], middle_b[b1:b2]
        if op == "equal":
            out.same("".join(old))
            continue
        words_a, words_b = TOKENS.findall("".join(old)), TOKENS.findall("".join(new))
        if len(words_a) * len(words_b) <= budget:
            budget -= len(words_a) * len(words_b)
            _words(words_a, words_b, out)
        else:
            by_line += 1
            out.change("".join(old), "".join(new))
    out.same("".join(lines_a[len(lines_a) - tail:]))
    note = None
    if by_line:
        note = (f"{by_line} changed passage{'s were' if by_line > 1 else ' was'} too long to "
                "compare word by word, so they are marked line by line.")
    elif not out.marks:
        note = "The replies are identical."
    return Diff(html=Markup('<div class="diff">{}</div>').format(out.markup()),
                mode="lines" if by_line else "words", note=note,
                inserted=out.inserted, deleted=out.deleted, identical=not out.marks)


def _too_long(why: str) -> Diff:
    note = f"These replies are too long to compare here: {why}."
    return Diff(html=Markup('<p class="notice">{}</p>').format(note), mode="none", note=note,
                inserted=0, deleted=0)


def _common_prefix(a: list[str], b: list[str]) -> int:
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


def _words(words_a: list[str], words_b: list[str], out: _Out) -> None:
    # Matched on the words alone ("capital" is "capital "); the spaces are compared after.
    matcher = difflib.SequenceMatcher(None, [w.rstrip() for w in words_a],
                                      [w.rstrip() for w in words_b])
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op != "equal":
            out.change("".join(words_a[a1:a2]), "".join(words_b[b1:b2]))
            continue
        for old, new in zip(words_a[a1:a2], words_b[b1:b2], strict=True):
            if old == new:
                out.same(old)
            else:
                word = old.rstrip()
                out.same(word)
                out.change(old[len(word):], new[len(word):])


class _Out:
    """The diff as (kind, text) pieces, neighbours of a kind joined, with what changed."""

    def __init__(self) -> None:
        self.pieces: list[list[str]] = []
        self.inserted = self.deleted = self.marks = 0

    def _add(self, kind: str, text: str) -> None:
        if not text:
            return
        if self.pieces and self.pieces[-1][0] == kind:
            self.pieces[-1][1] += text
        else:
            self.pieces.append([kind, text])

    def same(self, text: str) -> None:
        self._add("same", text)

    def change(self, old: str, new: str) -> None:
        # The spaces both sides end with are unchanged: keep them out of the marks.
        old_core, new_core = old.rstrip(), new.rstrip()
        after = ""
        if old_core and new_core and old[len(old_core):] == new[len(new_core):]:
            old, new, after = old_core, new_core, old[len(old_core):]
        self._add("del", old)
        self._add("ins", new)
        self.marks += bool(old) + bool(new)
        self.deleted += len(WORDS.findall(old))
        self.inserted += len(WORDS.findall(new))
        self.same(after)

    def markup(self) -> Markup:
        parts = []
        for kind, text in self.pieces:
            if kind == "same":
                parts.append(f'<span class="diff-same">{escape(text)}</span>')
            else:  # a change of whitespace alone gets a class CSS can make visible
                space = " diff-space" if text.isspace() else ""
                parts.append(f'<{kind} class="diff-{kind}{space}">{escape(text)}</{kind}>')
        return Markup("".join(parts))  # noqa: S704 - every text in it was escaped
