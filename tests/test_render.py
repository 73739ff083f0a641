"""Unit: model output becomes safe HTML; usage shows only what the provider reported."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from playground import render
from playground.markdown import ALLOWED_TAGS, markdown_html
from playground.run import Run

ALLOWED = ALLOWED_TAGS


def rendered(markdown: str) -> BeautifulSoup:
    return BeautifulSoup(str(markdown_html(markdown)), "html.parser")


def assert_inert(soup: BeautifulSoup) -> None:
    """No disallowed tag, no event handler, no script-capable URL anywhere."""
    for tag in soup.find_all(True):
        assert tag.name in ALLOWED | {"p"}, tag
        for name, value in tag.attrs.items():
            assert not name.lower().startswith("on"), tag
            assert name in {"href", "title", "class", "rel", "start"}, tag
            if name == "href":
                assert value.split(":")[0].lower() in {"http", "https", "mailto"} \
                    or ":" not in value.split("/")[0], tag


HOSTILE = {
    "script tag": "<script>window.__pwned = 1</script>",
    "img onerror": '<img src=x onerror="window.__pwned=1">',
    "javascript link": "[click](javascript:alert(1))",
    "javascript entity": "[click](&#106;avascript:alert(1))",
    "javascript mixed case": "[click](JaVaScRiPt:alert(1))",
    "javascript tab": "[click](java\tscript:alert(1))",
    "javascript reference": "[click][x]\n\n[x]: javascript:alert(1)",
    "vbscript link": "[click](vbscript:msgbox(1))",
    "data html link": "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "external image": "![tracker](https://evil.example/pixel.png)",
    "data image": "![x](data:image/png;base64,iVBORw0KGgo=)",
    "form": '<form action="https://evil.example"><input name=q></form>',
    "style": "<style>body{display:none}</style>",
    "svg": '<svg onload="window.__pwned=1"><script>1</script></svg>',
    "math": '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    "iframe": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "autolink js": "<javascript:alert(1)>",
    "html in code": "```html\n<script>alert(1)</script>\n```",
}


@pytest.mark.parametrize("markdown", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markdown_is_inert(markdown):
    soup = rendered(markdown)
    assert_inert(soup)
    assert not soup.find(["script", "img", "iframe", "form", "style", "svg", "math"])


def test_images_become_links_and_are_never_fetched():
    soup = rendered("![a cat](https://example.com/cat.png)")
    link = soup.find("a")
    assert link["href"] == "https://example.com/cat.png"
    assert "a cat" in link.text and soup.find("img") is None
    assert link["rel"] == ["noopener", "noreferrer", "nofollow"]


def test_markdown_features_render():
    soup = rendered("# Title\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~\n\n"
                    "```python\nprint('hi')\n```")
    assert soup.find("h1").text == "Title"
    assert [li.text for li in soup.find_all("li")] == ["one", "two"]
    assert soup.find("table").find("td").text == "1"
    assert soup.find("s").text == "old"
    code = soup.find("pre").find("code")
    assert "print" in code.text and code.find("span", class_="hl-nb")


def test_unknown_code_language_falls_back_to_plain_text():
    soup = rendered("```totally-unknown\n<b>x</b>\n```")
    assert soup.find("code").text.strip() == "<b>x</b>"
    assert soup.find("b") is None


def test_pathological_brackets_are_shown_as_plain_text():
    # Parsed as markdown this takes seconds; bench/render_cost.py measures the bounded path.
    html = str(markdown_html("[" * 100_000))
    assert "shown as plain text" in html


def test_long_reply_is_escaped_plain_text_with_a_notice():
    html = str(markdown_html("<script>x</script> " * 20_000))
    assert "shown as plain text" in html and "<script>" not in html


def test_json_tree_escapes_and_folds():
    tree = str(render.json_tree({"a": "</pre><script>alert(1)</script>", "b": [1, None, True]}))
    soup = BeautifulSoup(tree, "html.parser")
    assert soup.find("script") is None
    assert len(soup.find_all("details")) == 2  # the object and the array fold
    assert "alert(1)" in soup.text


def test_choice_views_tolerate_every_shape():
    response = {"choices": [
        {"index": 0, "message": {"content": None, "tool_calls": [
            {"id": "c1", "function": {"name": "f", "arguments": "{not json"}}]}},
        {"index": 1, "message": {"content": [{"type": "text", "text": "part"}],
                                 "reasoning": "thinking"}},
        {"index": 2, "message": None},
        "garbage",
    ]}
    views = render.choice_views(response)
    assert views[0]["tool_calls"][0]["valid"] is False
    assert views[1]["content"] == "part" and views[1]["reasoning"] == "thinking"
    assert views[2]["content"] is None and views[3]["content"] is None


def make_run(response, **fields) -> Run:
    return Run(request={"model": "m"}, endpoint="x", response=response, **fields)


def test_present_names_the_model_that_answered_when_different():
    view = render.present(make_run({"model": "other-model", "choices": []}))
    assert view["answered_model"] == "other-model"
    assert render.present(make_run({"model": "m"}))["answered_model"] is None


def test_a_flood_of_emphasis_delimiters_is_shown_as_plain_text():
    html = str(markdown_html("*a" * 100_000))
    assert "its shape would take about" in html and "over the 85 ms" in html
