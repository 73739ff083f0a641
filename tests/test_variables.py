"""Unit: {{variables}} are found in template turns only, filled in one pass, and escapable."""

from __future__ import annotations

import pytest

from playground.variables import MissingValues, fill, fill_text, names_in, names_in_text


@pytest.mark.parametrize(("text", "names"), [
    ("Hello {{name}}", ["name"]),
    ("{{ a }} and {{b}} and {{a}} again", ["a", "b"]),
    ("{{_x9}} {{9x}} {{}} {{a b}} {{a-b}}", ["_x9"]),
    ("\\{{literal}} but {{real}}", ["real"]),
    ("{{" + "a" * 64 + "}}", ["a" * 64]),
    ("{{" + "a" * 65 + "}}", []),
    ("{single} {{{triple}}}", ["triple"]),
    ("", []),
], ids=["one", "spaces-and-repeats", "invalid-names", "escaped", "64-chars", "65-chars",
        "braces", "empty"])
def test_names(text, names):
    assert names_in_text(text) == names


@pytest.mark.parametrize(("text", "values", "sent"), [
    ("Hi {{name}}!", {"name": "Ada"}, "Hi Ada!"),
    ("{{ name }}", {"name": "Ada"}, "Ada"),
    ("\\{{name}} is how you write {{name}}", {"name": "Ada"}, "{{name}} is how you write Ada"),
    ("{{a}}", {"a": "{{b}}"}, "{{b}}"),  # one pass: a value is sent as typed
    ("{{a}}", {"a": "\\1 $1 \\g<0>"}, "\\1 $1 \\g<0>"),  # no regex replacement escapes
    ("no variables \\{{ at all", {}, "no variables {{ at all"),
], ids=["plain", "inner-spaces", "escape", "one-pass", "backslashes-in-value", "lone-escape"])
def test_fill_text(text, values, sent):
    assert fill_text(text, values) == sent


CONVERSATION = [
    {"role": "system", "content": "You are {{persona}}."},
    {"role": "developer", "content": "Answer in {{language}}."},
    {"role": "user", "content": [{"type": "text", "text": "Describe {{thing}}"},
                                 {"type": "image_url", "image_url": {"url": "https://x/{{thing}}"}}]},
    {"role": "assistant", "content": "Use {{jinja}} like this: {{ value }}"},
    {"role": "tool", "tool_call_id": "call_1", "content": "{{not_a_variable}}"},
]


def test_only_system_developer_and_user_turns_are_templates():
    assert names_in(CONVERSATION) == ["persona", "language", "thing"]


def test_filled_conversation_leaves_assistant_tool_and_image_urls_literal():
    values = {"persona": "a pirate", "language": "French", "thing": "the sea"}
    sent = fill(CONVERSATION, values)
    assert sent[0]["content"] == "You are a pirate."
    assert sent[1]["content"] == "Answer in French."
    assert sent[2]["content"][0]["text"] == "Describe the sea"
    assert sent[2]["content"][1]["image_url"]["url"] == "https://x/{{thing}}"
    assert sent[3] == CONVERSATION[3] and sent[4] == CONVERSATION[4]
    assert CONVERSATION[0]["content"] == "You are {{persona}}."  # the template is kept


@pytest.mark.parametrize("values", [{}, {"persona": "x", "language": "", "thing": "y"}],
                         ids=["none", "one-empty"])
def test_an_empty_variable_is_refused_by_name(values):
    with pytest.raises(MissingValues) as refused:
        fill(CONVERSATION, values)
    assert "language" in refused.value.names
