"""Unit: SSE bytes become events, and chunks become one chat.completion, as the SDKs do."""

from __future__ import annotations

import json

import pytest

from playground.sse import ChunkAssembler, Event, SSEDecoder, parse_chunk


def decode(*pieces) -> list[Event]:
    decoder = SSEDecoder()
    events = [e for piece in pieces for e in decoder.feed(piece)]
    return events + decoder.close()


def test_comments_names_crlf_and_multiline_data():
    events = decode(b": PROCESSING\r\n\r\nevent: delta\r\ndata: a\r\ndata: b\r\n\r\ndata:c\n\n")
    assert events == [Event("a\nb", "delta"), Event("c")]


def test_events_split_across_reads_even_inside_crlf():
    events = decode(b"data: {\"x\"", b": 1}\r", b"\n\r\n", b"data: [DONE]\n\n")
    assert [e.data for e in events] == ['{"x": 1}', "[DONE]"]


def test_multibyte_character_split_across_reads_is_kept():
    raw = "data: café\n\n".encode()
    cut = raw.index(b"\xa9")  # the second byte of é
    events = decode(raw[:cut], raw[cut:])
    assert events[0].data == "café"


def test_last_event_without_blank_line_is_dispatched_at_close():
    assert decode(b"data: tail") == [Event("tail")]


def test_parse_chunk_ignores_done_and_non_objects():
    assert parse_chunk("[DONE]") is None
    assert parse_chunk("not json") is None
    assert parse_chunk("[1, 2]") is None
    assert parse_chunk('{"a": 1}') == {"a": 1}


def chunk(delta, index=0, finish=None, **extra):
    return {"id": "c1", "model": "m", "created": 1,
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}], **extra}


def test_assembler_joins_content_reasoning_and_tool_arguments():
    assembler = ChunkAssembler()
    deltas = []
    for piece in [chunk({"role": "assistant", "content": ""}),
                  chunk({"reasoning_content": "think "}), chunk({"reasoning": "more"}),
                  chunk({"content": "Hel"}), chunk({"content": "lo"}),
                  chunk({"tool_calls": [{"index": 0, "id": "t1",
                                         "function": {"name": "get", "arguments": '{"a"'}}]}),
                  chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}),
                  chunk({}, finish="tool_calls"),
                  {"id": "c1", "choices": [], "usage": {"total_tokens": 9}}]:
        deltas.extend(assembler.add(piece))
    result = assembler.completion()
    message = result["choices"][0]["message"]
    assert message["content"] == "Hello"
    assert message["reasoning_content"] == "think " and message["reasoning"] == "more"
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"a": 1}
    assert result["choices"][0]["finish_reason"] == "tool_calls"
    assert result["usage"] == {"total_tokens": 9} and result["object"] == "chat.completion"
    assert ("content", "Hel") in deltas and ("reasoning", "think ") in deltas


def test_assembler_keeps_several_choices_apart():
    assembler = ChunkAssembler()
    assembler.add(chunk({"content": "zero"}, index=0))
    assembler.add(chunk({"content": "one"}, index=1))
    choices = assembler.completion()["choices"]
    assert [c["message"]["content"] for c in choices] == ["zero", "one"]


def test_assembler_survives_garbage():
    assembler = ChunkAssembler()
    for junk in [{"choices": None}, {"choices": ["x", 3]}, {"choices": [{"delta": "str"}]},
                 {"usage": "nope"}, {}]:
        assembler.add(junk)
    assert assembler.completion()["usage"] is None


def test_an_empty_read_between_cr_and_lf_changes_nothing():
    assert decode(b"data: a\r", b"", b"\n\r\n") == [Event("a")]


AZURE_FILTER = {"id": "", "object": "", "model": "", "created": 0, "choices": [],
                "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]}
FIRST_NON_EMPTY = [
    ("azure-filter-chunk-first", [AZURE_FILTER, chunk({"content": "Hi"})],
     {"id": "c1", "model": "m", "created": 1}),
    ("empty-fingerprint-then-real", [{**chunk({}), "system_fingerprint": ""},
                                     {**chunk({}), "system_fingerprint": "fp_2"}],
     {"system_fingerprint": "fp_2"}),
    ("null-then-real", [{"id": None, "model": None, "choices": []},
                        {"id": "c2", "model": "m2", "created": 7, "choices": []}],
     {"id": "c2", "model": "m2", "created": 7}),
    ("first-real-value-wins", [chunk({}), {"id": "c9", "model": "m9", "created": 9,
                                           "choices": []}],
     {"id": "c1", "model": "m", "created": 1}),
    ("never-set", [{"id": "", "model": "", "created": 0, "choices": []}],
     {"id": None, "model": None, "created": None}),
]


@pytest.mark.parametrize(("chunks", "expected"), [(c, e) for _, c, e in FIRST_NON_EMPTY],
                         ids=[name for name, _, _ in FIRST_NON_EMPTY])
def test_assembler_takes_the_first_non_empty_id_model_created_fingerprint(chunks, expected):
    assembler = ChunkAssembler()
    for piece in chunks:
        assembler.add(piece)
    result = assembler.completion()
    assert {key: result.get(key) for key in expected} == expected


def test_assembler_keeps_azure_prompt_filter_results_as_the_plain_response_has_them():
    assembler = ChunkAssembler()
    assembler.add(AZURE_FILTER)
    assembler.add(chunk({"content": "Hi"}))
    result = assembler.completion()
    assert result["prompt_filter_results"] == AZURE_FILTER["prompt_filter_results"]
    assert result["object"] == "chat.completion"
