"""Unit: the turn editor's buttons, and the messages <-> form round trip (tool calls, tool
results, image parts, variables), as tables."""

from __future__ import annotations

import pytest

from playground import editor
from playground.conversation import empty_turn
from playground.forms import ConversationForm
from playground.images import ImageInfo, accept
from playground.reopen import form_data
from playground.run import Run
from playground.variables import fill
from tests.test_images import png


def turns(*roles: str) -> list[dict]:
    return [{**empty_turn(role), "content": f"{role} {i}"} for i, role in enumerate(roles)]


def roles(edit) -> list[str]:
    return [turn["role"] for turn in edit.turns]


APPLY = [
    ("add", ("system", "user"), ["system", "user", "assistant"], "turns-2-content",
     "Turn 3 added"),
    ("add-tool", ("user",), ["user", "tool"], "turns-1-content", "tool result"),
    ("delete-0", ("system", "user"), ["user"], "turns-0-content", "Turn 1 deleted"),
    ("delete-1", ("system", "user"), ["system"], "turns-0-content", "Turn 2 deleted"),
    ("delete-0", ("user",), [], "add-user", "the conversation is empty"),
    ("up-1", ("system", "user"), ["user", "system"], "turns-0-content", "moved up"),
    ("up-0", ("system", "user"), ["system", "user"], "turns-0-content", "already the first"),
    ("down-1", ("system", "user"), ["system", "user"], "turns-1-content", "already the last"),
    ("delete-9", ("user",), ["user"], None, ""),  # a stale button does nothing
    ("clear", ("user", "assistant", "user"), ["system", "user"], "turns-1-content",
     "New conversation"),
]


@pytest.mark.parametrize(("action", "before", "after", "focus", "said"), APPLY)
def test_each_button_edits_focuses_and_announces(action, before, after, focus, said):
    edit = editor.apply(action, turns(*before))
    assert roles(edit) == after and edit.focus == focus and said in edit.message


def test_a_move_carries_the_turn_whole():
    edit = editor.apply("down-0", turns("user", "assistant"))
    assert [t["content"] for t in edit.turns] == ["assistant 1", "user 0"]


def test_add_stops_at_two_hundred_turns():
    edit = editor.apply("add-user", turns(*["user"] * 200))
    assert len(edit.turns) == 200 and "at most 200" in edit.message


def test_the_tools_example_never_overwrites_what_was_typed():
    assert "get_weather" in editor.apply("tools-example", [], tools="").fields["tools"]
    refused = editor.apply("tools-example", [], tools="[]")
    assert "tools" not in refused.fields and refused.errors["tools"]


def test_posted_turns_are_read_in_index_order_and_numbered_again():
    pairs = [("turns-7-role", "assistant"), ("turns-7-content", "late"),
             ("turns-2-role", "user"), ("turns-2-content", "early"),
             ("turns-2-images-1-ref", "b" * 64), ("turns-2-images-0-url", "https://x/a.png"),
             ("turns-2-images-0-ref", ""), ("turns-x-content", "ignored")]
    read = editor.read_turns(pairs)
    assert [(t["role"], t["content"], t["posted"]) for t in read] == [
        ("user", "early", 2), ("assistant", "late", 7)]
    assert read[0]["images"] == [{"ref": "", "url": "https://x/a.png"},
                                 {"ref": "b" * 64, "url": ""}]
    written = dict(editor.write_turns(read))
    assert written["turns-0-content"] == "early" and written["turns-1-content"] == "late"
    assert written["turns-0-images-1-ref"] == "b" * 64


class Images:
    """A visitor's image store, in memory."""

    def __init__(self, *images) -> None:
        self.kept = {image.ref: image for image in images}

    def info(self, refs):
        return {ref: ImageInfo(ref, image.mime, image.size, image.width, image.height)
                for ref, image in self.kept.items() if ref in refs}

    def get(self, ref):
        return self.kept.get(ref)


IMAGE = accept(png(4, 4))
ROUND_TRIPS = [
    [{"role": "system", "content": "Be {{tone}}."}, {"role": "user", "content": "Hi {{name}}"},
     {"role": "assistant", "content": "Hello {{name}} stays literal"},
     {"role": "user", "content": "Again"}],
    [{"role": "user", "content": "Weather?"},
     {"role": "assistant", "content": None, "tool_calls": [
         {"id": "c1", "type": "function", "function": {"name": "w", "arguments": '{"a": 1}'}},
         {"id": "c2", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
     {"role": "tool", "tool_call_id": "c1", "content": "sun"},
     {"role": "tool", "tool_call_id": "c2", "content": "rain"}],
    [{"role": "developer", "content": "Look closely."},
     {"role": "user", "content": [{"type": "text", "text": "What is it?"},
                                  {"type": "image_url", "image_url": {"url": IMAGE.data_url()}},
                                  {"type": "image_url",
                                   "image_url": {"url": "https://example.com/cat.png"}}]}],
]


@pytest.mark.parametrize("template", ROUND_TRIPS, ids=["variables", "tools", "images"])
def test_messages_to_form_and_back_are_the_same_request(make_app, template):
    values = {"tone": "brief", "name": "Ann"} if "{{" in str(template) else {}
    images = Images(IMAGE)
    stored = [
        {**m, "content": [p if p.get("type") != "image_url" or "example.com" in
                          p["image_url"]["url"] else
                          {"type": "image_url", "image_url": {"url": IMAGE.data_url()}}
                          for p in m["content"]]} if isinstance(m["content"], list) else m
        for m in template]
    run = Run(request={"model": "m", "messages": fill(stored, values) if values else stored,
                       "temperature": 0.5, "tools": [{"type": "function",
                                                      "function": {"name": "w"}}],
                       "tool_choice": "auto"},
              endpoint="https://x/v1/chat/completions", variables=values,
              template=stored if values else None)
    app = make_app(WTF_CSRF_ENABLED=False)
    fields = form_data(run)
    # an uploaded image travels as its reference; the store gives its bytes back
    for key, value in list(fields.items(multi=True)):
        if value.startswith("data:"):
            fields.setlist(key, [""])
            fields[key.replace("-url", "-ref")] = IMAGE.ref
    with app.test_request_context(method="POST"):
        form = ConversationForm(fields, images=images)
        assert form.validate(), (form.errors, form.turn_errors)
        body = form.to_body()
    assert body["messages"] == run.request["messages"]
    assert body["temperature"] == 0.5 and body["tool_choice"] == "auto"
    assert body["tools"] == run.request["tools"]
    assert form.values == values  # the run keeps the values, and the template when used
    assert form.template == (stored if values else None)
