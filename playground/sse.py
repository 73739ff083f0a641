"""Server-sent events: decode a byte stream into events and assemble chat-completion chunks.

Pure functions and small classes, no I/O, so that the exact same parsing runs against a real
provider, the demo backend and the fake upstream in the tests.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """One dispatched SSE event: its ``event:`` name (default "message") and joined data."""

    data: str
    name: str = "message"


class SSEDecoder:
    """Incrementally decode SSE bytes per the WHATWG rules that matter to chat streams.

    Handles events split across reads, CRLF / CR / LF line ends, comment lines (``: PING``),
    ``event:`` names, multi-line ``data:`` and fields without a space after the colon.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending_cr = False
        self._data: list[str] = []
        self._name = ""

    def feed(self, chunk: bytes | str) -> list[Event]:
        """Take the next piece of the stream and return the events it completes."""
        # Incremental: a character split across two network reads is not mangled.
        text = self._utf8.decode(chunk) if isinstance(chunk, bytes) else chunk
        if not text:
            return []  # an empty read must not forget a CR waiting for its LF
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]  # the LF of a CRLF split across two reads
        self._pending_cr = text.endswith("\r")
        self._buffer += text
        lines = self._buffer.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._buffer = lines.pop()  # an unterminated tail waits for the next read
        events = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[Event]:
        """End of stream: dispatch what a server left without a final blank line."""
        events = self.feed("\n") if self._buffer else []
        if self._data:
            events.append(self._dispatch())
        return events

    def _line(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch() if self._data else self._reset()
        if line.startswith(":"):
            return None  # a comment, used by providers as a keep-alive
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._name = value
        return None

    def _dispatch(self) -> Event:
        event = Event(data="\n".join(self._data), name=self._name or "message")
        self._reset()
        return event

    def _reset(self) -> None:
        self._data, self._name = [], ""


def parse_chunk(data: str) -> dict | None:
    """Decode one event's data as a JSON object, or None for ``[DONE]`` and non-objects."""
    if data.strip() == "[DONE]":
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class ChunkAssembler:
    """Join ``chat.completion.chunk`` objects into one ``chat.completion``, as the SDKs do."""

    def __init__(self) -> None:
        self.meta: dict = {}
        self.choices: dict[int, dict] = {}
        self.usage: dict | None = None

    def add(self, chunk: dict) -> list[tuple[str, str]]:
        """Merge a chunk; return the text deltas it carried as ``(kind, text)`` pairs."""
        for key in ("id", "created", "model", "system_fingerprint", "service_tier"):
            # The first real value: Azure's first chunk (its prompt_filter_results) carries
            # "id": "", "model": "" and "created": 0, and the real ones come after it.
            if key not in self.meta and chunk.get(key) not in (None, "", 0):
                self.meta[key] = chunk[key]
        if isinstance(chunk.get("prompt_filter_results"), list):
            self.meta.setdefault("prompt_filter_results", chunk["prompt_filter_results"])
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("meta"), dict):
            self.meta["meta"] = chunk["meta"]
        deltas = []
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, dict):
                deltas.extend(self._add_choice(choice))
        return deltas

    def _add_choice(self, choice: dict) -> list[tuple[str, str]]:
        index = choice.get("index") if isinstance(choice.get("index"), int) else 0
        into = self.choices.setdefault(index, {"index": index, "message": {"role": "assistant"}})
        if choice.get("finish_reason") is not None:
            into["finish_reason"] = choice["finish_reason"]
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        message = into["message"]
        if isinstance(delta.get("role"), str):
            message["role"] = delta["role"]
        deltas = []
        for key, kind in (("content", "content"), ("reasoning_content", "reasoning"),
                          ("reasoning", "reasoning"), ("refusal", "refusal")):
            text = delta.get(key)
            if isinstance(text, str) and text:
                message[key] = message.get(key, "") + text
                deltas.append((kind, text) if index == 0 else (kind, ""))
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                self._add_tool_call(message, call)
        return [d for d in deltas if d[1]]

    @staticmethod
    def _add_tool_call(message: dict, call: dict) -> None:
        calls = message.setdefault("tool_calls", [])
        index = call.get("index") if isinstance(call.get("index"), int) else len(calls)
        while len(calls) <= index:
            calls.append({"id": None, "type": "function",
                          "function": {"name": "", "arguments": ""}})
        into = calls[index]
        if call.get("id"):
            into["id"] = call["id"]
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        for key in ("name", "arguments"):
            if isinstance(function.get(key), str):
                into["function"][key] += function[key]

    def completion(self) -> dict:
        """The assembled object in the non-streaming response shape."""
        result = {"id": self.meta.get("id"), "object": "chat.completion"}
        result.update({k: v for k, v in self.meta.items() if k not in ("id",)})
        choices = []
        for index in sorted(self.choices):
            choice = self.choices[index]
            message = dict(choice["message"])
            message.setdefault("content", None if message.get("tool_calls") else "")
            choices.append({"index": index, "message": message,
                            "finish_reason": choice.get("finish_reason")})
        result["choices"] = choices
        result["usage"] = self.usage
        return result
