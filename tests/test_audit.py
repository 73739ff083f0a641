"""Unit: "was my parameter honoured?" — one row per parameter, each with honoured, ignored and
can't-tell cases, as the person reads them next to the reply."""

from __future__ import annotations

import json

import pytest

from playground.audit import OK, UNKNOWN, WARNING, Line, audit
from playground.errors import UpstreamError
from playground.run import Run

WEATHER = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
SCHEMA = {"type": "json_schema", "json_schema": {"name": "person", "strict": True, "schema": {
    "type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"], "additionalProperties": False}}}


def reply(content="Hello!", *, model="gpt-4o-2024-08-06", finish="stop", choices=1,
          completion=12, usage=True, fingerprint=None, tool_calls=None, logprobs=None,
          refusal=None) -> dict:
    message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [{"id": f"call_{i}", "type": "function",
                                  "function": {"name": name, "arguments": "{}"}}
                                 for i, name in enumerate(tool_calls)]
    if refusal:
        message["refusal"] = refusal
    body = {"id": "x", "object": "chat.completion", "model": model, "choices": [
        {"index": i, "message": message, "finish_reason": finish, "logprobs": logprobs}
        for i in range(choices)]}
    if usage:
        body["usage"] = {"prompt_tokens": 5, "completion_tokens": completion,
                         "total_tokens": 5 + completion}
    if fingerprint:
        body["system_fingerprint"] = fingerprint
    return body


def ran(request: dict, response, *, state="complete", stream=False, events=()) -> Run:
    return Run(request=request, endpoint="https://api.example/v1/chat/completions",
               response=response, state=state, stream=stream, events=list(events))


FAILED = Run(request={}, endpoint="x", state="error",
             error=UpstreamError("http_error", "Bad gateway", status=502))


def tokens(*widths: int) -> dict:
    return {"content": [{"token": "a", "logprob": -0.1,
                         "top_logprobs": [{"token": "a", "logprob": -0.1}] * w} for w in widths]}


# (parameter, request parameters, the run or its response, status, what the line says)
ROWS = [
    # -- model: the one that answered against the one asked for
    ("model", {"model": "gpt-4o"}, reply(model="gpt-4o-2024-08-06"), OK, "gpt-4o-2024-08-06"),
    ("model", {"model": "openai/gpt-4o"}, reply(model="gpt-4o"), OK, "gpt-4o"),
    ("model", {"model": "gpt-4o"}, reply(model="gpt-4o-mini-2024-07-18"), WARNING,
     "gpt-4o-mini-2024-07-18: a different model answered"),
    ("model", {"model": "claude-sonnet-4"}, reply(model="llama-3-8b"), WARNING,
     "llama-3-8b: a different model answered"),
    ("model", {"model": "gpt-4o"}, reply(model=None), UNKNOWN,
     "the response does not name its model"),
    # -- max_tokens against completion tokens and finish_reason: length
    ("max_tokens", {"max_tokens": 100}, reply(completion=12), OK, "12 of 100 tokens used"),
    ("max_tokens", {"max_tokens": 5}, reply(completion=5, finish="length"), OK,
     "5 tokens, cut at the limit (finish_reason: length): the reply stops early because of "
     "this setting"),
    ("max_tokens", {"max_tokens": 5}, reply(completion=40), WARNING,
     "40 completion tokens: more than asked"),
    ("max_tokens", {"max_tokens": 100}, reply(usage=False), UNKNOWN,
     "no usage reported, and the reply was not cut"),
    ("max_tokens", {"max_tokens": 100}, FAILED, UNKNOWN, "no reply came back"),
    ("max_completion_tokens", {"max_completion_tokens": 10}, reply(completion=30), WARNING,
     "30 completion tokens: more than asked"),
    ("max_tokens", {}, reply(finish="length"), WARNING,
     "cut by the model's own output limit (finish_reason: length)"),
    # -- n against the number of choices (usage sums them: 3 × 10 fits max_tokens 10)
    ("n", {"n": 3}, reply(choices=3), OK, "3 choices"),
    ("n", {"n": 3}, reply(choices=1), WARNING, "1 choice"),
    ("n", {"n": 3}, ran({"n": 3}, reply(choices=1), state="stopped", stream=True), UNKNOWN,
     "1 choice before the run ended"),
    # -- each stop sequence: does it appear in the output?
    ("stop", {"stop": ["END"]}, reply("one two"), OK, "not in the reply"),
    ("stop", {"stop": "END"}, reply("one END two"), WARNING,
     "appears in the reply: not honoured"),
    ("stop", {"stop": ["END"]}, ran({}, reply("one two"), state="stopped"), UNKNOWN,
     "not in the part that arrived (the run was cut short)"),
    ("stop", {"stop": ["END"]}, reply(None, tool_calls=["get_weather"]), UNKNOWN,
     "no text came back"),
    # -- JSON mode
    ("response_format", {"response_format": {"type": "json_object"}}, reply('{"a": 1}'), OK,
     "valid JSON"),
    ("response_format", {"response_format": {"type": "json_object"}},
     reply("Sure! Here you go."), WARNING, "not valid JSON"),
    ("response_format", {"response_format": {"type": "json_object"}},
     reply('```json\n{"a": 1}\n```'), WARNING, "not valid JSON (wrapped in a code fence)"),
    ("response_format", {"response_format": {"type": "json_object"}},
     reply(None, refusal="I can't help with that."), UNKNOWN, "the model refused"),
    # -- JSON schema
    ("response_format", {"response_format": SCHEMA}, reply('{"name": "Ada", "age": 36}'), OK,
     "valid against the schema"),
    ("response_format", {"response_format": SCHEMA}, reply('{"name": "Ada", "age": "old"}'),
     WARNING, "valid JSON, but 1 violation of the schema"),
    ("response_format", {"response_format": SCHEMA},
     ran({}, reply('{"name": "Ada", "ag'), state="stopped", stream=True), UNKNOWN,
     "the reply was cut short"),
    ("response_format", {"response_format": {"type": "json_schema", "json_schema": {
        "name": "x", "schema": {"$ref": "http://169.254.169.254/"}}}}, reply('{"a": 1}'),
     UNKNOWN, "the schema has problems, so the reply was not checked against it"),
    # -- seed with system_fingerprint (one response cannot show a seed ignored)
    ("seed", {"seed": 42}, reply(fingerprint="fp_abc123"), OK,
     'system_fingerprint "fp_abc123": reruns with the same seed and fingerprint should match'),
    ("seed", {"seed": 42}, reply(), UNKNOWN,
     "no system_fingerprint came back, so whether reruns will match can't be told"),
    # -- logprobs / top_logprobs
    ("logprobs", {"logprobs": True}, reply(logprobs=tokens(0, 0)), OK, "logprobs for 2 tokens"),
    ("logprobs", {"logprobs": True, "top_logprobs": 2}, reply(logprobs=tokens(2, 2, 2)), OK,
     "logprobs for 3 tokens, up to 2 alternatives each"),
    ("logprobs", {"logprobs": True}, reply(), WARNING, "no logprobs came back"),
    ("logprobs", {"logprobs": True, "top_logprobs": 3}, reply(logprobs=tokens(0)), WARNING,
     "0 alternatives per token"),
    ("logprobs", {"logprobs": True}, ran({}, reply(), state="stopped", stream=True), UNKNOWN,
     "no logprobs came back"),
    ("logprobs", {"logprobs": True}, FAILED, UNKNOWN, "no reply came back"),
    # -- tools and tool_choice: was a tool called?
    ("tools", {"tools": WEATHER, "tool_choice": "required"},
     reply(None, tool_calls=["get_weather"], finish="tool_calls"), OK, 'called "get_weather"'),
    ("tools", {"tools": WEATHER, "tool_choice": "required"}, reply("It is sunny."), WARNING,
     "no tool called"),
    ("tools", {"tools": WEATHER, "tool_choice": {"type": "function",
                                                 "function": {"name": "get_weather"}}},
     reply(None, tool_calls=["get_time"]), WARNING, 'called "get_time", not "get_weather"'),
    ("tools", {"tools": WEATHER, "tool_choice": "none"}, reply(None, tool_calls=["get_weather"]),
     WARNING, 'called "get_weather"'),
    ("tools", {"tools": WEATHER}, reply("It is sunny."), OK,
     "no tool called (the model may choose not to)"),
    ("tools", {"tools": WEATHER, "tool_choice": "required"},
     ran({}, reply(""), state="stopped", stream=True), UNKNOWN, "no tool called"),
    # -- stream_options.include_usage: did usage arrive?
    ("stream_options", {"stream_options": {"include_usage": True}},
     ran({}, reply(), stream=True), OK, "usage arrived"),
    ("stream_options", {"stream_options": {"include_usage": True}},
     ran({}, reply(usage=False), stream=True), WARNING, "no usage arrived"),
    ("stream_options", {"stream_options": {"include_usage": True}},
     ran({}, reply(usage=False), stream=True, state="stopped"), UNKNOWN,
     "no usage before the stream ended early"),
]


@pytest.mark.parametrize(("parameter", "params", "outcome", "status", "got"), ROWS,
                         ids=[f"{r[0]}-{r[3]}-{i}" for i, r in enumerate(ROWS)])
def test_the_audit_table(parameter, params, outcome, status, got):
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], **params}
    run = outcome if isinstance(outcome, Run) else ran(request, outcome)
    lines = [line for line in audit(request, run) if line.parameter == parameter]
    assert len(lines) == 1, lines
    assert (lines[0].status, lines[0].got) == (status, got)


def test_every_parameter_has_honoured_ignored_and_cant_tell_rows():
    """The table itself: the seed is the one parameter a single response cannot show ignored."""
    cases = {(row[0], row[3]) for row in ROWS}
    for parameter in ("model", "max_tokens", "n", "stop", "response_format", "logprobs",
                      "tools", "stream_options"):
        assert {(parameter, OK), (parameter, WARNING), (parameter, UNKNOWN)} <= cases, parameter
    assert {("seed", OK), ("seed", UNKNOWN)} <= cases


def test_schema_violations_are_listed_with_their_paths():
    request = {"model": "gpt-4o", "messages": [], "response_format": SCHEMA}
    (line,) = [x for x in audit(request, ran(request, reply('{"age": "old", "x": 1}')))
               if x.parameter == "response_format"]
    assert line.asked == 'JSON schema "person"'
    assert line.details == ('$.age: should be an integer, not a string ("old")',
                            '$: the required property "name" is missing',
                            '$: unexpected property: "x"')


def test_each_stop_sequence_gets_its_own_line():
    request = {"model": "gpt-4o", "messages": [], "stop": ["END", "###", 7]}
    lines = audit(request, ran(request, reply("text ### more")))
    assert [(x.asked, x.status) for x in lines if x.parameter == "stop"] == [
        ('"END"', OK), ('"###"', WARNING)]


def test_logprobs_are_read_from_the_stream_chunks():
    request = {"model": "gpt-4o", "messages": [], "stream": True, "logprobs": True}
    chunk = {"choices": [{"index": 0, "delta": {"content": "Hi"}, "logprobs": tokens(0)}]}
    run = ran(request, reply("Hi", logprobs=None), stream=True,
              events=[json.dumps(chunk), "[DONE]", {"data": json.dumps(chunk), "t": 12.5}])
    (line,) = [x for x in audit(request, run) if x.parameter == "logprobs"]
    assert (line.status, line.got) == (OK, "logprobs for 2 tokens")


def test_the_catalogue_names_of_the_model_count_as_the_same_model():
    request = {"model": "gpt-4o", "messages": []}
    run = ran(request, reply(model="openai/gpt-4o-2024-08-06"))
    assert audit(request, run, names=("openai/gpt-4o", "gpt-4o"))[0].status == OK
    run = ran(request, reply(model="chatgpt-4o-latest"))
    assert audit(request, run, names=("openai/gpt-4o", "gpt-4o"))[0].status == WARNING


def test_parameters_the_model_does_not_list():
    request = {"model": "claude", "messages": [], "max_tokens": 50, "seed": 1, "n": 2}
    accepted = frozenset({"model", "messages", "max_tokens", "stream"})
    lines = audit(request, ran(request, reply(choices=2)), accepted=accepted)
    flagged = [(x.parameter, x.status, x.got) for x in lines if x.got.startswith("not listed")]
    assert flagged == [
        ("n", WARNING, "not listed in the model's description: it may be ignored or rejected"),
        ("seed", WARNING, "not listed in the model's description: it may be ignored or "
                          "rejected")]
    everything = frozenset(request)
    assert audit(request, ran(request, reply(choices=2)), accepted=everything)[-1] == Line(
        "parameters", "5 sent", "all listed in the model's description", OK)
    # no document: no line at all (the page shows a note instead)
    assert not any(x.parameter == "parameters" or x.got.startswith("not listed")
                   for x in audit(request, ran(request, reply(choices=2))))


def test_a_failed_run_can_tell_nothing():
    request = {"model": "gpt-4o", "messages": [], "max_tokens": 10, "n": 2, "stop": "x",
               "seed": 3, "logprobs": True, "tools": WEATHER, "tool_choice": "required",
               "response_format": {"type": "json_object"}}
    lines = audit(request, FAILED)
    assert len(lines) == 8 and {line.status for line in lines} == {UNKNOWN}


def test_a_plain_request_has_only_the_model_line():
    request = {"model": "gpt-4o", "messages": [], "temperature": 0.2}
    assert [x.parameter for x in audit(request, ran(request, reply()))] == ["model"]


@pytest.mark.parametrize("response", [None, "text", [], {"choices": "x"},
                                      {"choices": [None, 5, {"message": "x"}]}])
def test_broken_responses_never_raise(response):
    request = {"model": "gpt-4o", "messages": [], "max_tokens": 5, "n": 2, "stop": ["x"],
               "logprobs": True, "tools": WEATHER, "response_format": {"type": "json_object"}}
    lines = audit(request, ran(request, response))
    assert lines and all(line.status in (OK, WARNING, UNKNOWN) for line in lines)


def test_lines_survive_storage():
    request = {"model": "gpt-4o", "messages": [], "response_format": SCHEMA}
    lines = audit(request, ran(request, reply('{"name": 1, "age": 2}')))
    stored = json.loads(json.dumps([line.to_dict() for line in lines]))
    assert [Line.from_dict(data) for data in stored] == lines
    assert Line.from_dict({"status": "bogus"}).label == "Can't tell"
