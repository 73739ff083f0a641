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
import re

from playground.images import parse_ref_url

ROLES = ("system", "developer", "user", "assistant", "tool")
MAX_TURNS = 200
IMPORT_LIMIT = 2_000_000  # characters of pasted JSON
MAX_TOOLS = 128
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
TOOL_CHOICES = ("auto", "none", "required")


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
            stored = parse_ref_url(url)  # an upload, as a stored run refers to it
            images.append({"ref": stored[1], "url": ""} if stored else {"ref": "", "url": url})
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


def reply_message(response, choice: int) -> dict | None:
    """The message of one choice of a response (by its index), or None when there is none."""
    response = response if isinstance(response, dict) else {}
    choices = response.get("choices") if isinstance(response.get("choices"), list) else []
    for position, item in enumerate(choices):
        index = item.get("index", position) if isinstance(item, dict) else None
        if index == choice and isinstance(item.get("message"), dict):
            return item["message"]
    return None


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


# -- tools: the definitions a request declares, and the calls an assistant turn carries -------
class ToolsRefused(ValueError):
    """Tools or tool calls that cannot be sent; the message names the problem."""


def _json(text: str, what: str):
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ToolsRefused(f"The {what} JSON is nested too deeply.") from None
    except ValueError as exc:
        raise ToolsRefused(f"The {what} are not valid JSON: {exc}.") from None


def parse_tools(text: str) -> list[dict]:
    """The ``tools`` array as typed, checked tool by tool (``[]`` for an empty box)."""
    if not (text or "").strip():
        return []
    tools = _json(text, "tools")
    if not isinstance(tools, list):
        raise ToolsRefused('Tools must be a JSON array: [{"type": "function", "function": '
                           '{"name": …}}]. Insert the example to start from one.')
    if len(tools) > MAX_TOOLS:
        raise ToolsRefused(f"At most {MAX_TOOLS} tools; this has {len(tools)}.")
    names: set[str] = set()
    for number, tool in enumerate(tools, 1):
        if not isinstance(tool, dict):
            raise ToolsRefused(f"Tool {number} is not an object.")
        if tool.get("type") != "function":
            raise ToolsRefused(f'Tool {number}: "type" must be "function".')
        function = tool.get("function")
        if not isinstance(function, dict):
            raise ToolsRefused(f'Tool {number}: "function" must be an object with a "name".')
        name = function.get("name")
        if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
            raise ToolsRefused(f'Tool {number}: "function.name" must be 1 to 64 letters, '
                               'digits, _ or -.')
        if name in names:
            raise ToolsRefused(f'Tool {number}: the name "{name}" is used twice.')
        names.add(name)
        if "description" in function and not isinstance(function["description"], str):
            raise ToolsRefused(f'Tool {number} ({name}): "description" must be text.')
        if "parameters" in function and not isinstance(function["parameters"], dict):
            raise ToolsRefused(f'Tool {number} ({name}): "parameters" must be a JSON Schema '
                               'object, like {"type": "object", "properties": {…}}.')
    return tools


def tool_names(text: str) -> list[str]:
    """The function names of the tools box, or none when it does not parse."""
    try:
        return [tool["function"]["name"] for tool in parse_tools(text)]
    except ToolsRefused:
        return []


def tool_choice_body(value: str):
    """``tool_choice`` as sent: "auto" / "none" / "required", or one named function."""
    if value.startswith("function:"):
        return {"type": "function", "function": {"name": value.removeprefix("function:")}}
    return value or None


def tool_choice_field(value) -> str:
    """The form's value for a ``tool_choice`` a request sent (the inverse), "" if unknown."""
    if isinstance(value, str) and value in TOOL_CHOICES:
        return value
    function = value.get("function") if isinstance(value, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    return f"function:{name}" if isinstance(name, str) and TOOL_NAME.fullmatch(name) else ""


def parse_tool_calls(text: str) -> list[dict]:
    """An assistant turn's ``tool_calls`` as typed, checked call by call."""
    calls = _json(text, "tool calls")
    if not isinstance(calls, list) or not calls:
        raise ToolsRefused('Tool calls must be a JSON array of calls, like [{"id": "call_1", '
                           '"type": "function", "function": {"name": "get_weather", '
                           '"arguments": "{}"}}].')
    ids: set[str] = set()
    for number, call in enumerate(calls, 1):
        if not isinstance(call, dict):
            raise ToolsRefused(f"Tool call {number} is not an object.")
        if not isinstance(call.get("id"), str) or not call["id"].strip():
            raise ToolsRefused(f'Tool call {number}: "id" is missing; its tool result turn '
                               'names it.')
        if call["id"] in ids:
            raise ToolsRefused(f'Tool call {number}: the id "{call["id"]}" is used twice.')
        ids.add(call["id"])
        if call.get("type") != "function":
            raise ToolsRefused(f'Tool call {number}: "type" must be "function".')
        function = call.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) \
                or not function["name"]:
            raise ToolsRefused(f'Tool call {number}: "function" must have a "name".')
        if not isinstance(function.get("arguments"), str):
            raise ToolsRefused(f'Tool call {number}: "function.arguments" must be a string of '
                               'JSON, like "{\\"city\\": \\"Paris\\"}".')
    return calls
