"""Full-text search of the history: a visitor's words made into query syntax, and highlights.

A query is untrusted text, so it is never handed to the database as query syntax. It is split
into words (runs of letters and digits: how SQLite's ``unicode61`` tokenizer and PostgreSQL's
parser split text), each word becomes one quoted term, and every term must match. A word
written with a trailing ``*`` (``pari*``) matches as a prefix. A query with no word in it
(empty, or only punctuation) searches nothing: the history lists every run.

Highlighting is done here, in Python, the same way on both databases: the text is escaped
piece by piece and ``<mark>`` goes only around the escaped words that match a term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup, escape

WORD = re.compile(r"([^\W_]+)(\*?)")
MAX_TERMS = 8  # a query of a whole paragraph would only get slower, never more precise
MAX_TERM = 64  # no real word is longer; a 10,000-letter "word" is not a search
MIN_PREFIX = 3  # "a*" or "ab*" would touch most of the index; shorter prefixes are words
SNIPPET = 160  # characters of context shown around the first match
SCAN = 20_000  # characters of a reply searched for a snippet: a page stays bounded


@dataclass(frozen=True)
class Term:
    """One word of a query, lower-cased; ``prefix``: it matches any word it begins.

    ``typed`` is the word as typed: PostgreSQL folds its case itself, with the database's
    locale, exactly as it folded the text it indexed.
    """

    word: str
    prefix: bool = False
    typed: str = field(default="", compare=False)

    def matches(self, word: str) -> bool:
        word = word.lower()
        return word.startswith(self.word) if self.prefix else word == self.word


def terms(query: str) -> tuple[Term, ...]:
    """The words of a visitor's query as terms: at most MAX_TERMS, each used once."""
    found: dict[Term, None] = {}
    for typed, star in WORD.findall(query if isinstance(query, str) else ""):
        word = typed.lower()[:MAX_TERM]
        found.setdefault(Term(word, bool(star) and len(word) >= MIN_PREFIX, typed[:MAX_TERM]))
        if len(found) == MAX_TERMS:
            break
    return tuple(found)


def _quoted(word: str, quote: str) -> str:
    return quote + word.replace(quote, quote * 2) + quote  # words hold no quote; still escaped


def fts5(found: tuple[Term, ...]) -> str:
    """SQLite FTS5 syntax: every term quoted (a bareword could be an operator), all ANDed."""
    return " AND ".join(_quoted(t.word, '"') + ("*" if t.prefix else "") for t in found)


def tsquery(found: tuple[Term, ...]) -> str:
    """PostgreSQL tsquery syntax for ``to_tsquery``: quoted lexemes, ``:*`` for a prefix."""
    return " & ".join(_quoted((t.typed or t.word).replace("\\", ""), "'")
                      + (":*" if t.prefix else "") for t in found)


def highlight(text: str, found: tuple[Term, ...]) -> Markup:
    """``text`` escaped, with each word that matches a term inside ``<mark>``."""
    if not found:
        return escape(text)
    pieces, at = [], 0
    for match in WORD.finditer(text):
        word = match.group(1)
        if any(term.matches(word) for term in found):
            start, end = match.span(1)
            pieces += [escape(text[at:start]), Markup("<mark>"), escape(word),
                       Markup("</mark>")]
            at = end
    pieces.append(escape(text[at:]))
    return Markup("").join(pieces)


def first_match(text: str, found: tuple[Term, ...]) -> int | None:
    """Where the first word matching a term begins in ``text`` (its first SCAN characters)."""
    for match in WORD.finditer(text[:SCAN]):
        if any(term.matches(match.group(1)) for term in found):
            return match.start(1)
    return None


def snippet(text: str, found: tuple[Term, ...], width: int = SNIPPET) -> Markup | None:
    """About ``width`` characters around the first match, highlighted; None: no match."""
    at = first_match(text, found)
    if at is None:
        return None
    start = max(at - width // 3, 0)
    space = text.find(" ", start, at) if start else -1
    if space != -1:  # begin at a word, not inside one
        start = space + 1
    piece = " ".join(text[start:start + width].split())
    return Markup("").join([Markup("…") if start else Markup(""), highlight(piece, found),
                            Markup("…") if start + width < len(text) else Markup("")])

