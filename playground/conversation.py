"""A conversation as the form edits it (turns) and as the API takes it (``messages``).

A turn is a plain dict of text fields, the way the form posts it::

    {"role": "user", "content": "…", "tool_call_id": "", "tool_calls": "",
     "images": [{"ref": "<sha256 of an uploaded image>", "url": ""}, {"ref": "", "url": "https://…"}]}

``tool_calls`` is JSON text, edited as such. Everything here is pure: uploaded images are
handed in and out through their references, and the caller turns references into ``data:``
URLs. Continue builds the next conversation from a finished one.
"""

from __future__ import annotations

import json

ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_TURNS = 200
IMPORT_LIMIT = 2_000_000  # characters of pasted JSON


class ImportRefused(ValueError):
    """Pasted messages that cannot become a conversation; the message says where and why."""


def empty_turn(role: str = "user") -> dict:
    return {"role": role, "content": "", "tool_call_id": "", "tool_calls": "", "images": []}


def _text_and_images(content) -> tuple[str, list[dict]]:
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        return ("" if content is None else json.dumps(content, ensure_ascii=False)), []
    texts, images = [], []
    for part in content:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if part.get("type") == "image_url" and isinstance(url, str):
            images.append({"ref": "", "url": url})
    return "\n".join(texts), images


def turn_from_message(message: dict) -> dict:
    """One API message as a form turn (text parts joined, image parts as images)."""
    content, images = _text_and_images(message.get("content"))
    calls = message.get("tool_calls")
    return {"role": message.get("role") if message.get("role") in ROLES else "user",
            "content": content,
            "tool_call_id": str(message.get("tool_call_id") or ""),
            "tool_calls": json.dumps(calls, indent=2, ensure_ascii=False) if calls else "",
            "images": images}


def turns_from_messages(messages) -> list[dict]:
    return [turn_from_message(m) for m in messages or [] if isinstance(m, dict)]


def message_from_turn(turn: dict, image_urls: list[str] | None = None) -> dict:
    """One form turn as the API message it sends.

    ``image_urls`` are the turn's images as URLs the provider can read (uploads already turned
    into ``data:`` URLs by the caller); ``tool_calls`` must already be valid JSON text.
    """
    role, content = turn["role"], turn.get("content") or ""
    if role == "tool":
        return {"role": "tool", "tool_call_id": turn.get("tool_call_id") or "",
                "content": content}
    if role == "assistant":
        message: dict = {"role": "assistant", "content": content}
        if (turn.get("tool_calls") or "").strip():
            message["tool_calls"] = json.loads(turn["tool_calls"])
            if not content:
                message["content"] = None  # what the API itself sends beside tool calls
        return message
    if role == "user" and image_urls:
        parts: list[dict] = [{"type": "text", "text": content}] if content else []
        parts += [{"type": "image_url", "image_url": {"url": url}} for url in image_urls]
        return {"role": "user", "content": parts}
    return {"role": role, "content": content}


def reply_turn(message: dict) -> dict:
    """A reply carried forward: its ``content`` and ``tool_calls`` only.

    Reasoning (``reasoning_content``, ``reasoning``) is shown but never sent back: providers
    such as DeepSeek reject it in input.
    """
    message = message if isinstance(message, dict) else {}
    content = message.get("content")
    kept = {"role": "assistant",
            "content": content if isinstance(content, str) else _text_and_images(content)[0]}
    if isinstance(message.get("tool_calls"), list) and message["tool_calls"]:
        kept["tool_calls"] = message["tool_calls"]
    return turn_from_message(kept)


def tool_calls_of(turn: dict) -> list[dict]:
    """The calls an assistant turn carries, tolerant of hand-edited JSON."""
    try:
        calls = json.loads(turn.get("tool_calls") or "[]")
    except ValueError:
        return []
    return [call for call in calls if isinstance(call, dict)] if isinstance(calls, list) else []


def continuation(turns: list[dict], reply: dict) -> list[dict]:
    """The next conversation: the turns so far, the reply, then what the user fills in next.

    A reply that called tools is followed by one tool-result turn per call (the user types a
    mock result); any other reply by one empty user turn.
    """
    answer = reply_turn(reply)
    following = [{**empty_turn("tool"), "tool_call_id": str(call.get("id") or "")}
                 for call in tool_calls_of(answer)]
    return [*turns, answer, *(following or [empty_turn("user")])]


def tool_labels(turns: list[dict]) -> dict[str, dict]:
    """For each tool call id: the function name and pretty arguments, to label its result."""
    labels = {}
    for turn in turns:
        if turn.get("role") != "assistant":
            continue
        for call in tool_calls_of(turn):
            function = call.get("function") if isinstance(call.get("function"), dict) else {}
            arguments = function.get("arguments")
            try:
                shown = json.dumps(json.loads(arguments), indent=2, ensure_ascii=False) \
                    if isinstance(arguments, str) else json.dumps(arguments, indent=2)
            except ValueError:
                shown = str(arguments)
            if call.get("id"):
                labels[str(call["id"])] = {"name": str(function.get("name") or "(unnamed)"),
                                           "arguments": shown}
    return labels


def parse_import(text: str) -> list[dict]:
    """A pasted OpenAI ``messages`` array (or a body holding one), checked message by message."""
    if len(text) > IMPORT_LIMIT:
        raise ImportRefused(f"The pasted JSON is over {IMPORT_LIMIT:,} characters.")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ImportRefused("The pasted JSON is nested too deeply.") from None
    except ValueError as exc:
        raise ImportRefused(f"Not valid JSON: {exc}.") from None
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        data = data["messages"]
    if not isinstance(data, list) or not data:
        raise ImportRefused('Paste a JSON array of messages, like [{"role": "user", '
                            '"content": "Hi"}].')
    if len(data) > MAX_TURNS:
        raise ImportRefused(f"A conversation may have at most {MAX_TURNS} turns; this has "
                            f"{len(data)}.")
    for number, message in enumerate(data, 1):
        if not isinstance(message, dict):
            raise ImportRefused(f"Message {number} is not an object.")
        if message.get("role") not in ROLES:
            raise ImportRefused(f"Message {number} has role {message.get('role')!r}; use one of "
                                f"{', '.join(ROLES)}.")
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed in JSON")
