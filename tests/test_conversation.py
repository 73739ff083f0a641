"""Unit: turns ↔ messages, Continue, tool labels and Import, as tables."""

from __future__ import annotations

import json

import pytest

from playground import conversation
from playground.conversation import ImportRefused, continuation, empty_turn

CALL = {"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "developer", "content": "Use metric units."},
    {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                 {"type": "image_url", "image_url": {"url": "https://x/cat.png"}}]},
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
    {"role": "assistant", "content": "It is 21 °C."},
    {"role": "user", "content": "Thanks"},
]


def test_messages_survive_the_round_trip_through_turns():
    turns = conversation.turns_from_messages(MESSAGES)
    assert [t["role"] for t in turns] == [m["role"] for m in MESSAGES]
    back = [conversation.message_from_turn(t, [i["url"] for i in t["images"]]) for t in turns]
    assert back == MESSAGES


@pytest.mark.parametrize(("turn", "message"), [
    ({**empty_turn("assistant"), "content": ""}, {"role": "assistant", "content": ""}),
    ({**empty_turn("tool"), "tool_call_id": "c", "content": "42"},
     {"role": "tool", "tool_call_id": "c", "content": "42"}),
    ({**empty_turn("user"), "content": ""}, {"role": "user", "content": ""}),
    ({**empty_turn("developer"), "content": "d"}, {"role": "developer", "content": "d"}),
], ids=["empty-assistant", "tool-result", "empty-user", "developer"])
def test_turns_become_messages(turn, message):
    assert conversation.message_from_turn(turn) == message


def test_images_without_text_send_only_image_parts():
    message = conversation.message_from_turn(empty_turn("user"), ["data:image/png;base64,AA=="])
    assert message["content"] == [{"type": "image_url",
                                   "image_url": {"url": "data:image/png;base64,AA=="}}]


def test_continue_appends_the_reply_without_its_reasoning_and_an_empty_user_turn():
    turns = conversation.turns_from_messages(MESSAGES[:1] + [{"role": "user", "content": "Q"}])
    reply = {"role": "assistant", "content": "A", "reasoning_content": "secret thoughts",
             "reasoning": "more", "refusal": None}
    following = continuation(turns, reply)
    assert [t["role"] for t in following] == ["system", "user", "assistant", "user"]
    assert following[2]["content"] == "A"
    sent = conversation.message_from_turn(following[2])
    assert sent == {"role": "assistant", "content": "A"}  # no reasoning goes back
    assert following[3] == empty_turn("user")


def test_continue_after_parallel_tool_calls_gives_one_result_box_per_call():
    second = {**CALL, "id": "call_2", "function": {"name": "get_time", "arguments": "{}"}}
    reply = {"role": "assistant", "content": None, "tool_calls": [CALL, second]}
    following = continuation([empty_turn("user")], reply)
    assert [(t["role"], t["tool_call_id"]) for t in following[2:]] == [
        ("tool", "call_1"), ("tool", "call_2")]
    labels = conversation.tool_labels(following)
    assert labels["call_1"]["name"] == "get_weather"
    assert json.loads(labels["call_1"]["arguments"]) == {"city": "Paris"}
    assert labels["call_2"]["name"] == "get_time"


def test_tool_labels_tolerate_hand_edited_json():
    broken = {**empty_turn("assistant"), "tool_calls": "[{not json"}
    odd = {**empty_turn("assistant"),
           "tool_calls": json.dumps([{"id": "c", "function": {"arguments": "not json"}}, 7])}
    assert conversation.tool_labels([broken]) == {}
    assert conversation.tool_labels([odd]) == {"c": {"name": "(unnamed)",
                                                      "arguments": "not json"}}


@pytest.mark.parametrize(("text", "problem"), [
    ("", "Not valid JSON"),
    ("{}", "Paste a JSON array"),
    ("[]", "Paste a JSON array"),
    ('[{"role": "function", "content": "x"}]', "Message 1 has role 'function'"),
    ('[{"role": "user"}, 3]', "Message 2 is not an object"),
    ('[{"role": "user", "content": NaN}]', "NaN is not allowed"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (json.dumps([{"role": "user", "content": "x"}] * 201), "at most 200 turns"),
], ids=["empty", "object", "empty-list", "bad-role", "not-object", "nan", "deep", "too-many"])
def test_import_names_the_problem(text, problem):
    with pytest.raises(ImportRefused, match=problem):
        conversation.parse_import(text)


def test_import_takes_a_whole_request_body_too():
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert conversation.parse_import(json.dumps(body)) == body["messages"]


@pytest.mark.parametrize(("response", "choice", "expected"), [
    ({"choices": [{"index": 0, "message": {"content": "a"}},
                  {"index": 1, "message": {"content": "b"}}]}, 1, {"content": "b"}),
    ({"choices": [{"message": {"content": "no index"}}]}, 0, {"content": "no index"}),
    ({"choices": [{"index": 0, "message": {"content": "a"}}]}, 3, None),
    ({"choices": [{"index": 0, "message": "not a dict"}]}, 0, None),
    ({"choices": "nope"}, 0, None), (None, 0, None), ({"error": {}}, 0, None),
])
def test_the_reply_of_one_choice(response, choice, expected):
    assert conversation.reply_message(response, choice) == expected
