"""The offline demo model: a requests transport adapter that answers ``demo://`` URLs.

It is mounted on the same ``requests.Session`` the real client uses, so a demo run goes through
exactly the code that calls a real provider: headers, status handling, JSON and SSE parsing.
Replies are deterministic (same request, same reply) and say plainly that they are the demo.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
from collections.abc import Iterator

import requests
import urllib3
from requests.adapters import HTTPAdapter

from playground import demo_catalogue, images
from playground.codegen import AIMLAPI_URL, BASE_ENV, KEY_ENV
from playground.literals import literal

BASE_URL = "demo://offline/v1"
MODELS = demo_catalogue.MODELS
# How much longer than DEMO_TOKEN_DELAY each model waits between tokens: lanes of a comparison
# on these models finish in a known order, which is what a comparison shows.
SPEEDS = {"demo-fast": 0.25, "demo-slow": 3.0}
TOKEN = re.compile(r"\S+\s*|\s+")
MAX_DELTAS = 400  # per message: a long reply streams in bigger pieces, never for minutes


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: words and punctuation."""
    return len(re.findall(r"\w+|[^\w\s]", text or ""))


def _text(message) -> str:
    """A message's text: its content, or the text parts of its content list."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        return "\n".join(part["text"] for part in content
                         if isinstance(part, dict) and isinstance(part.get("text"), str))
    return content if isinstance(content, str) else ""


def _last_user_text(messages: list) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text(message)
    return ""


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.strip().splitlines()[:6]) or "> (empty)"


def _image_lines(messages: list) -> list[str]:
    """Each image the request carried: its type, bytes and pixels (a URL is named, not read)."""
    lines = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        for part in content if isinstance(content, list) else []:
            image = part.get("image_url") if isinstance(part, dict) else None
            url = image.get("url") if isinstance(image, dict) else None
            if not isinstance(url, str):
                continue
            number = len(lines) + 1
            if not url.startswith("data:"):
                lines.append(f"{number}. a remote image, `{url[:120]}` (the demo does not fetch "
                             "it; a real model would)")
                continue
            try:
                found = images.from_data_url(url)
            except images.ImageRefused as exc:
                lines.append(f"{number}. a data: URL that is not an image it can read ({exc})")
                continue
            pixels = f", {found.width}×{found.height} pixels" if found.width else ""
            lines.append(f"{number}. {found.mime.removeprefix('image/').upper()}, "
                         f"{found.size:,} bytes{pixels}")
    return lines


def python_code(body: dict) -> str:
    """Runnable Python that sends this request body (without streaming) and prints the reply."""
    sent = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    return "\n".join([
        "import json",
        "import os",
        "import urllib.request",
        "",
        f'base_url = os.environ.get("{BASE_ENV}", "{AIMLAPI_URL}")',
        f"body = {literal(sent, 'python')}",
        "request = urllib.request.Request(",
        '    base_url.rstrip("/") + "/chat/completions",',
        "    data=json.dumps(body).encode(),",
        f'    headers={{"Authorization": "Bearer " + os.environ["{KEY_ENV}"],',
        '             "Content-Type": "application/json"},',
        ")",
        "with urllib.request.urlopen(request) as response:",
        "    reply = json.load(response)",
        'print(reply["choices"][0]["message"]["content"])',
    ])


def _fenced(code: str) -> list[str]:
    """A markdown code block whose fence no backtick run inside the code can close."""
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", code)), default=0) + 1)
    return [f"{fence}python", code, fence]


def _conversation_lines(messages: list) -> list[str]:
    """The number of turns and a quote of the last one (the last user turn, for one turn)."""
    prompt = _last_user_text(messages)
    system = next((_text(m) for m in messages
                   if isinstance(m, dict) and m.get("role") == "system"), None)
    words = (f"Your prompt has **{len(prompt.split())} words**"
             + (f" and a system prompt of {len(system.split())} words." if system else "."))
    turns = [m for m in messages if isinstance(m, dict)]
    if len(turns) <= 2 and all(m.get("role") in ("system", "user") for m in turns):
        return ["You asked:", "", _quote(prompt), "", words]
    roles: dict[str, int] = {}
    for message in turns:
        roles[str(message.get("role"))] = roles.get(str(message.get("role")), 0) + 1
    counted = ", ".join(f"{count} {role}" for role, count in roles.items())
    last = turns[-1] if turns else {}
    return [f"This conversation has **{len(turns)} turns** ({counted}). The last one, from "
            f"the {last.get('role', 'user')}, says:", "", _quote(_text(last)), "", words]


def _reply_text(body: dict, seen: list[str]) -> str:
    """The demo's markdown reply; ``seen`` describes the images the request carried."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    prompt = _last_user_text(messages)
    if (body.get("response_format") or {}).get("type") == "json_schema":
        return demo_catalogue.schema_reply(body["response_format"], prompt)
    if (body.get("response_format") or {}).get("type") == "json_object":
        return json.dumps({"demo": True, "prompt_words": len(prompt.split()),
                           "turns": len(messages),
                           "note": "the offline demo model always answers this object"})
    pictures = [f"It received **{len(seen)} image{'s' if len(seen) != 1 else ''}**:", "", *seen,
                ""] if seen else []
    lines = [
        "## Hello from the offline demo model",
        "",
        "This reply was written by the playground itself, not by an AI, so you can try "
        "everything without an API key. Set `AIMLAPI_API_KEY` in `.env` to talk to real models.",
        "",
        *_conversation_lines(messages),
        "",
        *pictures,
        "| Panel | What it shows |",
        "|---|---|",
        "| Reply | this text, rendered from markdown |",
        "| Raw JSON | the exact response object, foldable |",
        "| Request | the body the server sent, without the key |",
        "| Usage | tokens, latency and cost when the provider reports it |",
        "",
        "The same request from Python (standard library only; set `AIMLAPI_API_KEY` first)"
        + (", its images abbreviated:" if seen else ":"),
        "",
        *_fenced(python_code({**body, "messages": images.abbreviate(messages)}
                             if seen else body)),
    ]
    return "\n".join(lines)


def _cut(text: str, body: dict) -> tuple[str, str]:
    """Apply ``stop`` and ``max_tokens`` the way a model would, returning the finish reason."""
    stops = body.get("stop")
    for stop in [stops] if isinstance(stops, str) else stops or []:
        if isinstance(stop, str) and stop and stop in text:
            return text[: text.index(stop)], "stop"
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    if isinstance(limit, int) and 0 < limit < count_tokens(text):
        # Cut where the reported completion tokens reach the limit, never past it.
        kept, used = [], 0
        for piece in TOKEN.findall(text):
            used += count_tokens(piece)
            if used > limit:
                break
            kept.append(piece)
        return "".join(kept), "length"
    return text, "stop"


WEATHER = {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"},
                                     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["city"]}}


def _functions(body: dict) -> list[dict]:
    """The functions the request declares (the one tool_choice names first), else get_weather."""
    found = [tool["function"] for tool in body.get("tools") or []
             if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
             and isinstance(tool["function"].get("name"), str)]
    choice = body.get("tool_choice")
    named = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    found.sort(key=lambda function: function["name"] != named)
    return found or [WEATHER]


def _arguments(function: dict, prompt: str) -> dict:
    """Arguments that fit the function's schema: the prompt for text, the first enum value…"""
    schema = function.get("parameters") if isinstance(function.get("parameters"), dict) else {}
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    arguments: dict = {}
    for name, spec in list(properties.items())[:8]:
        spec = spec if isinstance(spec, dict) else {}
        if isinstance(spec.get("enum"), list) and spec["enum"]:
            arguments[name] = spec["enum"][0]
        elif spec.get("type") in ("number", "integer"):
            arguments[name] = 1
        elif spec.get("type") == "boolean":
            arguments[name] = True
        elif spec.get("type") in ("string", None):
            arguments[name] = prompt.strip()[:40] or "Paris"
    return arguments


def _tool_call(body: dict, messages: list) -> dict:
    """One call of the first declared function; ids never repeat within a conversation."""
    rounds = sum(1 for m in messages if isinstance(m, dict) and m.get("tool_calls"))
    function = _functions(body)[0]
    return {"id": f"call_demo_{rounds + 1}", "type": "function",
            "function": {"name": function["name"],
                         "arguments": json.dumps(_arguments(function, _last_user_text(messages)),
                                                 ensure_ascii=False)}}


def _tool_results(messages: list) -> list[tuple[str, str, str]]:
    """The tool results that end the conversation: (function name, call id, result)."""
    names = {call.get("id"): (call.get("function") or {}).get("name")
             for m in messages if isinstance(m, dict) and isinstance(m.get("tool_calls"), list)
             for call in m["tool_calls"] if isinstance(call, dict)}
    results = []
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "tool":
            break
        call_id = str(message.get("tool_call_id") or "")
        results.append((str(names.get(call_id) or "a tool"), call_id, _text(message)))
    return results[::-1]


def _answer_from_tools(results: list[tuple[str, str, str]]) -> str:
    lines = ["## Answer from the tool results", "",
             f"The offline demo model called {len(results)} tool{'s' if len(results) != 1 else ''}"
             " and was given these results:", ""]
    for name, call_id, result in results:
        lines += [f"- `{name}` (call `{call_id}`) returned:", "", _quote(result), ""]
    lines.append("A real model would now answer the question from them. Continue again to ask "
                 "something else: the demo calls the tool once more.")
    return "\n".join(lines)


def completion(body: dict) -> dict:
    """The full ``chat.completion`` object for a request, in the exact OpenAI shape."""
    model = str(body.get("model") or "demo")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    prompt_text = " ".join(_text(m) for m in messages)
    results = _tool_results(messages)
    seen = _image_lines(messages)
    choices, completion_tokens = [], 0
    n = body.get("n") if isinstance(body.get("n"), int) and 0 < body["n"] <= 8 else 1
    for index in range(n):
        message: dict = {"role": "assistant", "content": None, "refusal": None}
        if "tool" in model and not results and body.get("tool_choice") != "none":
            message["tool_calls"] = [_tool_call(body, messages)]
            finish = "tool_calls"
            completion_tokens += 12
        elif "tool" in model:
            message["content"], finish = _cut(_answer_from_tools(results), body)
            completion_tokens += count_tokens(message["content"])
        else:
            text = _reply_text(body, seen) + (f"\n\n*Choice {index + 1} of {n}.*" if n > 1 else "")
            message["content"], finish = _cut(text, body)
            completion_tokens += count_tokens(message["content"])
        if "reason" in model:
            message["reasoning_content"] = ("The user wants to see a reply. I will explain what "
                                            "the demo shows, then give a Python example.")
            completion_tokens += count_tokens(message["reasoning_content"])
        choices.append({"index": index, "finish_reason": finish, "logprobs": None,
                        "message": message})
    prompt_tokens = count_tokens(prompt_text) + 85 * len(seen)  # an image's tokens, roughly
    return {"id": f"chatcmpl-demo-{digest}", "object": "chat.completion",
            "created": int(time.time()), "model": model, "system_fingerprint": "demo",
            "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def _pieces(text: str) -> list[str]:
    """The text in stream deltas: a token each, grouped when there are more than MAX_DELTAS."""
    tokens = TOKEN.findall(text)
    size = -(-len(tokens) // MAX_DELTAS)  # the reply repeats the prompt, which may be long
    return tokens if size <= 1 else ["".join(tokens[i:i + size])
                                     for i in range(0, len(tokens), size)]


def chunks(body: dict) -> Iterator[dict]:
    """The same completion as ``chat.completion.chunk`` objects, token by token."""
    full = completion(body)
    head = {"id": full["id"], "object": "chat.completion.chunk", "created": full["created"],
            "model": full["model"], "system_fingerprint": "demo"}
    for choice in full["choices"]:
        index, message = choice["index"], choice["message"]
        yield {**head, "choices": [{"index": index, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]}
        for key in ("reasoning_content", "content"):
            for token in _pieces(message.get(key) or ""):
                yield {**head, "choices": [{"index": index, "delta": {key: token},
                                            "finish_reason": None}]}
        for number, call in enumerate(message.get("tool_calls") or []):
            yield {**head, "choices": [{"index": index, "finish_reason": None, "delta": {
                "tool_calls": [{"index": number, **call}]}}]}
        yield {**head, "choices": [{"index": index, "delta": {},
                                    "finish_reason": choice["finish_reason"]}]}
    if (body.get("stream_options") or {}).get("include_usage"):
        yield {**head, "choices": [], "usage": full["usage"]}


class _Pieces(io.RawIOBase):
    """A response body that yields pieces one at a time, with a pause between them."""

    def __init__(self, pieces: Iterator[bytes], delay: float) -> None:
        self._pieces, self._delay, self._buffer, self._first = pieces, delay, b"", True

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        if not self._buffer:
            if not self._first and self._delay:
                time.sleep(self._delay)
            self._first = False
            self._buffer = next(self._pieces, b"")
        size = min(len(target), len(self._buffer))
        target[:size], self._buffer = self._buffer[:size], self._buffer[size:]
        return size

    def read1(self, size: int = -1) -> bytes:
        return self.read(size if size and size > 0 else 65536)



def _error(status: int, message: str) -> tuple[int, Iterator[bytes], str]:
    body = json.dumps({"error": {"message": message, "type": "invalid_request_error",
                                 "param": None, "code": None}}).encode()
    return status, iter([body]), "application/json"


def respond(method: str, path: str, payload: bytes | None) -> tuple[int, Iterator[bytes], str]:
    """Route one demo request to ``(status, body pieces, content type)``."""
    if method == "GET" and path.endswith("/models"):
        return 200, iter([json.dumps(demo_catalogue.catalogue()).encode()]), "application/json"
    if method == "GET" and path.endswith("/docs.json"):
        document = demo_catalogue.document(path.rsplit("/", 2)[-2])
        if document is None:
            return _error(404, "The demo has no document for that model.")
        return 200, iter([json.dumps(document).encode()]), "application/json"
    if method != "POST" or not path.endswith("/chat/completions"):
        return _error(404, f"The demo backend has no {method} {path}.")
    try:
        body = json.loads(payload or b"")
    except ValueError:
        return _error(400, "The request body is not JSON.")
    if not isinstance(body, dict) or not body.get("model") or not body.get("messages"):
        return _error(400, "`model` and `messages` are required.")
    if not body.get("stream"):
        return 200, iter([json.dumps(completion(body)).encode()]), "application/json"
    events = (f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks(body))
    return 200, _then(events, b"data: [DONE]\n\n"), "text/event-stream"


def _then(pieces: Iterator[bytes], last: bytes) -> Iterator[bytes]:
    yield from pieces
    yield last


def _speed(payload: bytes | None) -> float:
    """The token delay factor of the model a request names (1 for any other)."""
    try:
        model = json.loads(payload or b"").get("model")
    except (ValueError, AttributeError):
        return 1.0
    return SPEEDS.get(model, 1.0) if isinstance(model, str) else 1.0


class DemoAdapter(HTTPAdapter):
    """Answer ``demo://`` requests in-process, through the normal requests machinery."""

    def __init__(self, token_delay: float = 0.012) -> None:
        super().__init__()
        self.token_delay = token_delay

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        path = urllib3.util.parse_url(request.url).path or "/"
        payload = request.body.encode() if isinstance(request.body, str) else request.body
        status, pieces, content_type = respond(request.method, path, payload)
        digest = hashlib.sha256(payload or b"").hexdigest()[:16]
        delay = self.token_delay * _speed(payload) if content_type == "text/event-stream" else 0
        raw = urllib3.HTTPResponse(
            body=_Pieces(pieces, delay),
            headers={"content-type": content_type, "x-request-id": f"demo-{digest}"},
            status=status, reason="OK" if status == 200 else "Error", preload_content=False,
            decode_content=False)
        response = self.build_response(request, raw)
        if not stream:
            response.content  # noqa: B018 - read now, as requests does for non-streamed calls
        return response


def session(token_delay: float = 0.012) -> requests.Session:
    """A session on which ``demo://`` URLs are answered by the demo model."""
    demo_session = requests.Session()
    demo_session.mount("demo://", DemoAdapter(token_delay))
    return demo_session
