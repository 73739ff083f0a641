"""Unit: the word diff of two replies marks what changed, escaped, within a bounded cost."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from playground.diff import word_diff


def marked(diff) -> dict[str, list[str]]:
    soup = BeautifulSoup(str(diff.html), "html.parser")
    return {"del": [t.text for t in soup.find_all("del")],
            "ins": [t.text for t in soup.find_all("ins")],
            "same": [t.text for t in soup.find_all("span", class_="diff-same")],
            "text": soup.text}


CASES = {
    "one word changed": (
        "The cat sat on the mat.", "The dog sat on the mat.",
        {"del": ["cat"], "ins": ["dog"], "same": ["The ", " sat on the mat."]}),
    "words inserted": (
        "Paris is the capital.", "Paris is the capital of France.",
        {"del": [], "ins": [" of France"], "same": ["Paris is the capital", "."]}),
    "punctuation only": ("Yes.", "Yes!", {"del": ["."], "ins": ["!"], "same": ["Yes"]}),
    "a line added in the middle": (
        "first line\nthird line\n", "first line\nsecond line\nthird line\n",
        {"del": [], "ins": ["second line\n"], "same": ["first line\n", "third line\n"]}),
    "newlines kept readable": (
        "a\n\nb", "a\nb", {"del": ["\n"], "ins": [], "text": "a\n\nb"}),
    "one side empty": ("", "All new text", {"del": [], "ins": ["All new text"], "same": []}),
    "other side empty": ("Old text", "", {"del": ["Old text"], "ins": []}),
}


@pytest.mark.parametrize(("first", "second", "want"), CASES.values(), ids=CASES.keys())
def test_changes_are_marked_word_by_word(first, second, want):
    diff = word_diff(first, second)
    got = marked(diff)
    assert diff.mode == "words"
    for key, value in want.items():
        assert got[key] == value, key


def test_the_diff_reads_as_both_texts_and_counts_words():
    diff = word_diff("The quick brown fox.", "The slow brown dog jumps.")
    soup = BeautifulSoup(str(diff.html), "html.parser")
    for tag in soup.find_all("ins"):
        tag.decompose()
    assert soup.text == "The quick brown fox."  # unchanged + deleted = the first text
    assert (diff.inserted, diff.deleted) == (3, 2)  # slow, dog, jumps / quick, fox


def test_identical_texts_are_all_dimmed_and_said_to_be_identical():
    diff = word_diff("Same **reply**\n\nhere.", "Same **reply**\n\nhere.")
    assert diff.identical and diff.note == "The replies are identical."
    assert marked(diff)["same"] == ["Same **reply**\n\nhere."]
    assert not word_diff("a", "b").identical


def test_whitespace_only_changes_get_a_class_css_can_show():
    soup = BeautifulSoup(str(word_diff("a b", "a\n\nb").html), "html.parser")
    assert soup.find(["ins", "del"], class_="diff-space") is not None


HOSTILE = {
    "script": ("<script>alert(1)</script>", "<script>alert(2)</script>"),
    "markup breaking out": ('</span></del><img src=x onerror=alert(1)>', "plain"),
    "attribute quotes": ('" onmouseover="alert(1)', "' onfocus='alert(1)"),
    "entities": ("&lt;b&gt; &amp;", "<b> &"),
    "bidi override": ("safe \u202etxt.exe", "safe txt.exe"),
}


@pytest.mark.parametrize(("first", "second"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_is_escaped(first, second):
    html = str(word_diff(first, second).html)
    soup = BeautifulSoup(html, "html.parser")
    assert {t.name for t in soup.find_all(True)} <= {"div", "span", "ins", "del"}
    assert all(set(t.attrs) <= {"class"} for t in soup.find_all(True))
    assert "\u202e" not in html
    shown = soup.text
    for tag in soup.find_all("ins"):
        tag.decompose()
    if "\u202e" not in first:
        assert soup.text == first  # the reader sees the text itself, not what it would do
    assert shown


def test_past_the_word_budget_changed_passages_are_marked_line_by_line():
    first = "\n".join(f"line {i} says alpha beta gamma" for i in range(60))
    second = "\n".join(f"line {i} says delta epsilon zeta" for i in range(60))
    words = word_diff(first, second)
    lines = word_diff(first, second, word_pairs=1_000)
    assert words.mode == "words" and "alpha" in marked(words)["del"][0]
    assert lines.mode == "lines" and "line by line" in lines.note
    got = marked(lines)
    assert got["del"] == [first] and got["ins"] == [second]


def test_small_changes_in_a_long_text_still_get_words_after_the_line_pass():
    body = [f"Paragraph {i}: some words that stay the same in both replies." for i in range(400)]
    edited = list(body)
    edited[200] = edited[200].replace("stay", "remain")
    diff = word_diff("\n".join(body), "\n".join(edited), word_pairs=1_000)
    assert diff.mode == "words"
    assert marked(diff)["del"] == ["stay"] and marked(diff)["ins"] == ["remain"]


def test_past_the_line_budget_only_a_note():
    first = "\n".join(f"a{i}" for i in range(100))
    second = "\n".join(f"b{i}" for i in range(100))
    diff = word_diff(first, second, line_pairs=5_000)
    assert diff.mode == "none" and "too long to compare" in diff.note
    assert "a1" not in str(diff.html)


def test_past_the_size_cap_only_a_note():
    diff = word_diff("x" * 11, "y", text_limit=10)
    assert diff.mode == "none" and "over 10 characters" in str(diff.html)


def test_none_is_an_empty_reply():
    assert marked(word_diff(None, "text"))["ins"] == ["text"]
