"""A fake OpenAI-compatible API on gevent, built to hold thousands of slow streams at once.

Run as ``python -m bench.upstream``: it binds 127.0.0.1 on a free port and prints
``PORT <n>``. The model name picks the reply, so the playground's own form drives it:

- ``bench/short``                  a one-line reply
- ``bench/markdown/<bytes>``       markdown with code blocks, about that long
- ``bench/stream/<ms>/<count>``    ``count`` tokens, one every ``ms`` milliseconds; each token
  is ``t=<CLOCK_MONOTONIC ns> `` taken just before the write, so a client on this machine can
  tell how long every chunk took to reach it; the first also carries ``r=<ns>``, when the
  request arrived.
- ``bench/mdstream/<ms>/<bytes>``  the markdown reply of ``bench/markdown/<bytes>`` streamed in
  64-character pieces, one every ``ms`` milliseconds, each ending in `` t=<ns>`` as above: a
  reply the playground renders live, whose every chunk can be timed.

The tests' ThreadingHTTPServer spends an OS thread per connection; here a connection costs one
greenlet, and the process is separate so it never competes with the client for a GIL.
"""

from __future__ import annotations

import json
import socket
import sys
import time

import gevent
from gevent.pywsgi import WSGIServer

from bench.content import SHORT_REPLY, completion, markdown_reply
from bench.procs import raise_nofile

USAGE = {"prompt_tokens": 5, "completion_tokens": 12, "total_tokens": 17}
_markdown_cache: dict[int, str] = {}


def parse_model(model: str) -> tuple[str, list[int]]:
    """Split ``bench/<kind>/<n>/<n>`` into the kind and its integer arguments."""
    parts = model.split("/")
    kind = parts[1] if len(parts) > 1 and parts[0] == "bench" else "short"
    try:
        return kind, [int(p) for p in parts[2:]]
    except ValueError:
        return "short", []


def reply_text(kind: str, args: list[int]) -> str:
    """Return the whole reply a non-streaming call to this model gets."""
    if kind == "markdown":
        size = args[0] if args else 20_000
        if size not in _markdown_cache:
            _markdown_cache[size] = markdown_reply(size)
        return _markdown_cache[size]
    return SHORT_REPLY


def chunk(model: str, delta: dict | None, finish: str | None = None, **extra) -> bytes:
    """Return one SSE event carrying a chat.completion.chunk."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    data = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1744545600,
            "model": model, "choices": choices, **extra}
    return f"data: {json.dumps(data)}\n\n".encode()


def pieces(text: str, size: int = 64) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def stream(model: str, kind: str, args: list[int], usage: bool, received_ns: int):
    """Yield the SSE body; pywsgi writes every yielded piece as its own HTTP chunk at once."""
    yield chunk(model, {"role": "assistant", "content": ""})
    if kind == "stream":
        interval_ms = args[0] if args else 20
        count = args[1] if len(args) > 1 else 10
        start = time.monotonic()
        for k in range(1, count + 1):
            # An absolute schedule, so sleep overshoot never accumulates over a long reply.
            gevent.sleep(max(0.0, start + k * interval_ms / 1000 - time.monotonic()))
            # The first token also says when the request arrived ("r="), so a client can split
            # its time to first token into reaching the upstream and the relay back.
            received = f"r={received_ns} " if k == 1 else ""
            yield chunk(model, {"content": f"{received}t={time.monotonic_ns()} "})
    elif kind == "mdstream":
        interval_ms = args[0] if args else 5
        start = time.monotonic()
        for k, piece in enumerate(pieces(reply_text("markdown", args[1:])), start=1):
            gevent.sleep(max(0.0, start + k * interval_ms / 1000 - time.monotonic()))
            received = f" r={received_ns}" if k == 1 else ""
            yield chunk(model, {"content": f"{piece}{received} t={time.monotonic_ns()}"})
    else:
        for piece in pieces(reply_text(kind, args)):
            yield chunk(model, {"content": piece})
    yield chunk(model, {}, finish="stop")
    if usage:
        yield chunk(model, None, usage=USAGE)
    yield b"data: [DONE]\n\n"


class Upstream:
    """The WSGI app; counts requests so a run can show how many the app really made."""

    def __init__(self) -> None:
        self.requests = 0
        self.connections = 0

    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if method == "POST" and path.endswith("/chat/completions"):
            self.requests += 1
            return self.chat(environ, start_response)
        if method == "GET" and path.endswith("/models"):
            return self.json(start_response, {"object": "list", "data": [
                {"id": "bench/short"}, {"id": "bench/markdown/20000"}]})
        if path == "/_stats":
            return self.json(start_response, {"requests": self.requests,
                                               "connections": self.connections})
        return self.json(start_response, {"error": {"message": "no such path"}}, "404 Not Found")

    @staticmethod
    def json(start_response, data, status="200 OK"):
        body = json.dumps(data).encode()
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body)))])
        return [body]

    def chat(self, environ, start_response):
        received_ns = time.monotonic_ns()
        try:
            body = json.loads(environ["wsgi.input"].read() or b"{}")
        except ValueError:
            return self.json(start_response, {"error": {"message": "bad JSON"}},
                             "400 Bad Request")
        model = str(body.get("model", ""))
        kind, args = parse_model(model)
        if not body.get("stream"):
            return self.json(start_response, completion(model, reply_text(kind, args)))
        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        start_response("200 OK", [("Content-Type", "text/event-stream"),
                                  ("Cache-Control", "no-cache"),
                                  ("x-request-id", f"req-{self.requests}")])
        return stream(model, kind, args, usage, received_ns)


class Server(WSGIServer):
    """pywsgi with Nagle off per connection, as real API front ends have it."""

    def handle(self, sock, address):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.application.connections += 1
        return super().handle(sock, address)


def main() -> None:
    raise_nofile()
    server = Server(("127.0.0.1", 0), Upstream(), backlog=4096, log=None)
    server.start()
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
