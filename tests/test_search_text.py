"""The pure side of search: a visitor's words as query syntax, highlights, snippets, turns.

Tables, no app: whatever a visitor types becomes quoted terms (never operators), and whatever
a run holds is escaped before any <mark> is put around it.
"""

from __future__ import annotations

import pytest

from playground import records, search
from playground.listing import Cursor
from playground.search import Term


@pytest.mark.parametrize(("query", "expected"), [
    ("Paris", (Term("paris"),)),
    ("  tell me ABOUT paris  ", (Term("tell"), Term("me"), Term("about"), Term("paris"))),
    ("pari*", (Term("pari", prefix=True),)),
    ("a* pa*", (Term("a"), Term("pa"))),  # a prefix needs MIN_PREFIX letters: else a word
    ("par* par*", (Term("par", prefix=True),)),  # a term counts once
    ("snake_case-word", (Term("snake"), Term("case"), Term("word"))),  # as the indexes split
    ("Ünïcödé ✓ 東京", (Term("ünïcödé"), Term("東京"))),
    ("100% of PARIS_fans", (Term("100"), Term("of"), Term("paris"), Term("fans"))),
    ("", ()), ("   ", ()), ("%", ()), ('"><img src=x>', (Term("img"), Term("src"), Term("x"))),
    ("!!! ... ***", ()), ("*", ()), (None, ()),
])
def test_a_query_becomes_terms(query, expected):
    assert search.terms(query) == expected


def test_terms_are_bounded():
    found = search.terms(" ".join(f"w{i}" for i in range(100)) + " " + "x" * 10_000)
    assert len(found) == search.MAX_TERMS and found[0] == Term("w0")
    assert len(search.terms("y" * 10_000)[0].word) == search.MAX_TERM


@pytest.mark.parametrize(("query", "fts5", "tsquery"), [
    ("paris", '"paris"', "'paris'"),
    ("pari* london", '"pari"* AND "london"', "'pari':* & 'london'"),
    # Operators a visitor types are words like any other, quoted: never FTS5/tsquery syntax.
    ("NOT near OR and", '"not" AND "near" AND "or" AND "and"', "'NOT' & 'near' & 'OR' & 'and'"),
    ("a:b (c) ^d -e +f {g}", '"a" AND "b" AND "c" AND "d" AND "e" AND "f" AND "g"',
     "'a' & 'b' & 'c' & 'd' & 'e' & 'f' & 'g'"),
    ("it's \"quoted\" \\ back", '"it" AND "s" AND "quoted" AND "back"',
     "'it' & 's' & 'quoted' & 'back'"),
])
def test_terms_become_quoted_query_syntax(query, fts5, tsquery):
    found = search.terms(query)
    assert search.fts5(found) == fts5
    assert search.tsquery(found) == tsquery


@pytest.mark.parametrize(("text", "query", "html"), [
    ("Tell me about Paris", "paris", "Tell me about <mark>Paris</mark>"),
    ("Paris, parisian, PARIS!", "pari*", "<mark>Paris</mark>, <mark>parisian</mark>, "
                                          "<mark>PARIS</mark>!"),
    ("Paris parisian", "paris", "<mark>Paris</mark> parisian"),  # a word, not a substring
    ("<script>alert('paris')</script>", "paris",
     "&lt;script&gt;alert(&#39;<mark>paris</mark>&#39;)&lt;/script&gt;"),
    ("<script>alert(1)</script>", "script",
     "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;"),
    ('a "><img src=x onerror=alert(1)> b', '"><img',
     'a &#34;&gt;&lt;<mark>img</mark> src=x onerror=alert(1)&gt; b'),
    ("nothing here", "paris", "nothing here"),
    ("<b>bold</b>", "", "&lt;b&gt;bold&lt;/b&gt;"),
])
def test_highlight_escapes_everything_and_marks_only_matching_words(text, query, html):
    assert str(search.highlight(text, search.terms(query))) == html


def test_a_snippet_is_the_context_of_the_first_match_escaped():
    text = "head " * 100 + "<i>the</i> word paris <script>x</script> " + "tail " * 100
    shown = str(search.snippet(text, search.terms("paris")))
    assert "&lt;i&gt;the&lt;/i&gt; word <mark>paris</mark> &lt;script&gt;" in shown
    assert "<i>" not in shown and "<script>" not in shown
    assert shown.startswith("…") and shown.endswith("…") and len(shown) < 600
    assert search.snippet("no match at all", search.terms("paris")) is None
    far = "x " * search.SCAN + "paris"  # past what a snippet looks through: not shown
    assert search.snippet(far, search.terms("paris")) is None


def test_turns_are_the_text_of_every_message():
    """Every turn's text parts, as the workbench sends them; an image is never text."""
    stored = f"image-ref:image/png:{'a' * 64}:68"  # an upload as a stored run refers to it
    request = {"messages": [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": "data:x"}},
                                     {"type": "image_url", "image_url": {"url": stored}}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
        {"role": "tool", "content": "42"},
        {"role": "assistant", "content": [{"type": "text", "text": "Edited reply."}]},
        "not a message", {"role": "user", "content": 7}]}
    assert records.turns_of(request) == "Be terse.\n\nWhat is this?\n\n42\n\nEdited reply."
    assert records.turns_of({"messages": "nope"}) == "" and records.turns_of(None) == ""


@pytest.mark.parametrize("text", [
    None, "", "t", "t1", "t1_", "t_1", "tx_1", "t1_x", "tnan_1", "tinf_1", "t1e999_1",
    "t1_-1", f"t1_{2**63}", "s1_1", "t" + "1" * 100 + "_1", "t1_1\x00",
])
def test_a_cursor_that_does_not_parse_is_none(text):
    assert Cursor.parse(text, "t") is None


def test_a_cursor_round_trips_exactly():
    cursor = Cursor("t", 1795862448.2160926, 42)
    assert str(cursor) == "t1795862448.2160926_42"
    assert Cursor.parse(str(cursor), "t") == cursor
    assert Cursor.parse(str(Cursor("s", -1.5e-06, 7)), "s") == Cursor("s", -1.5e-06, 7)
