"""The estimate that keeps costly reply shapes from being parsed as markdown."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.content import markdown_reply
from playground import markdown_cost
from playground.markdown import MARKDOWN_LIMIT, markdown_html
from playground.markdown_cost import Estimate, estimate


def plain(text: str) -> bool:
    return "shown as plain text" in str(markdown_html(text))


# The worst shapes bench/render_cost.py times, each at the size it reaches within the caps:
# each is either formatted (then the bench shows it within the budget) or shown as plain text.
PATHOLOGICAL = {
    "one-line list items": "- item\n" * 25_000,
    "'+' list items": "+ a\n" * 50_000,
    "nested lists": "- a\n  - b\n    - c\n" * 10_000,
    "short lines": "a\n" * 100_000,
    "paragraphs": "a\n\n" * 60_000,
    "blockquoted lists": "> - a\n" * 30_000,
    "'![' openers": "![" * 1_000,
    "'[a' openers": "[a" * 1_999,
    "autolinks": "<http://x.y/a> " * 10_000,
    "links": "[a](http://x.y) " * 10_000,
    "'*a'": "*a" * 20_000,
    "'~~s~~'": "~~s~~ " * 30_000,
    "table rows": "| a | b |\n|---|---|\n" + "| x | y |\n" * 19_000,
    "'<' x 200,000": "<" * 199_000,
    "'`a' x 100,000": "`a" * 99_000,
}


@pytest.mark.parametrize("text", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_shapes_within_the_length_cap_are_shown_as_plain_text(text):
    assert len(text) <= MARKDOWN_LIMIT
    assert plain(text)


REALISTIC = {
    "a 20 KB answer with code, lists and tables": markdown_reply(20_000),
    "prose, 150 KB": "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 2_600,
    "a 40 KB Python listing": "```python\n" + "def f(x):\n    return x * 2\n" * 1_500 + "```\n",
    "a list of 500 items": "".join(f"- item {i}: a short note\n" for i in range(500)),
    "a 200-row table": "| n | square |\n|---|---|\n" + "".join(
        f"| {i} | {i * i} |\n" for i in range(200)),
}


@pytest.mark.parametrize("text", REALISTIC.values(), ids=REALISTIC.keys())
def test_real_replies_are_still_formatted(text):
    assert not plain(text)


def test_code_is_coloured_up_to_the_budget_then_shown_plain():
    block = "```python\n" + "print('hello')\n" * 400 + "```\n\n"  # 6,000 characters
    html = str(markdown_html(block + block))
    first, second = html.split("</pre>")[:2]
    assert 'class="hl-' in first and "print" in second and 'class="hl-' not in second


def test_fenced_code_is_charged_as_code_up_to_the_colouring_budget():
    code = "x = [1] * 2\n" * 2_000  # brackets in code are not parsed as links
    fenced = estimate("```py\n" + code + "```\n")
    assert fenced < estimate(code) / 4
    assert fenced == pytest.approx(
        markdown_cost.CODE_US * markdown_cost.HIGHLIGHT_LIMIT
        + markdown_cost.CHAR_US * (len(code) + 13) + 2 * markdown_cost.WEIGHTS["\n"]
        + 3 * 2 * markdown_cost.WEIGHTS["`"], rel=0.01)


def test_only_a_matching_fence_closes_one():
    inside = estimate("````\n```\n[[[[\n````\n")
    assert inside < estimate("```\n```\n[[[[\n")


@given(st.text(alphabet="ab[]!()*_`~<>&|-\\\n #", max_size=300), st.data())
def test_fed_in_any_pieces_the_estimate_is_that_of_the_whole_text(text, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=12)))
    running = Estimate()
    for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
        running.feed(text[start:end])
    assert running.us == pytest.approx(estimate(text))
    assert running.code == Estimate().feed(text).code
