"""A blocking HTTP client for the latency runs: keep-alive connections and an SSE reader.

Both sides of every comparison (playground and direct upstream) go through this same code,
so whatever it costs cancels out of the "added" numbers.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.parse
from collections.abc import Iterator

CSRF_META = re.compile(rb'<meta name="csrf-token" content="([^"]+)"')
COOKIE = re.compile(r"(session=[^;]*)")


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:port (reopened when the server closed it)."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port, self.timeout = port, timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> http.client.HTTPResponse:
        """Send a request and return the response with its body unread."""
        if self._conn is None:
            # http.client turns Nagle off and sends headers and a bytes body in one write.
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self._conn.request(method, path, body=body, headers=headers or {})
            return self._conn.getresponse()
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def sse_events(response: http.client.HTTPResponse) -> Iterator[tuple[int, str, str]]:
    """Yield (arrival CLOCK_MONOTONIC ns, event name, data) as soon as each event is read."""
    buffer = b""
    while True:
        data = response.read1(65536)  # returns what has arrived, never waits for a full buffer
        if not data:
            return
        arrival = time.monotonic_ns()
        buffer += data
        while b"\n\n" in buffer:
            raw, buffer = buffer.split(b"\n\n", 1)
            name, lines = "message", []
            for line in raw.decode().split("\n"):
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    lines.append(line[5:].removeprefix(" "))
            if lines:
                yield arrival, name, "\n".join(lines)


class Playground:
    """A browser-like session: the cookie and CSRF token from GET /, then runs through the form."""

    def __init__(self, port: int) -> None:
        self.conn = Connection(port)
        response = self.conn.request("GET", "/")
        page = response.read()
        match = CSRF_META.search(page)
        cookie = COOKIE.search(response.getheader("Set-Cookie") or "")
        if response.status != 200 or not match or not cookie:
            raise RuntimeError(f"GET / gave no CSRF token or session cookie ({response.status})")
        self.csrf, self.cookie = match.group(1).decode(), cookie.group(1)

    def form(self, model: str, prompt: str) -> tuple[bytes, dict]:
        body = urllib.parse.urlencode({"model": model, "prompt": prompt,
                                       "csrf_token": self.csrf}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie}
        return body, headers

    def run(self, model: str, prompt: str) -> tuple[int, bytes]:
        """POST / as the no-JS form does and follow the 303 to the run's page, as a browser
        does; return the status and the whole HTML page."""
        body, headers = self.form(model, prompt)
        response = self.conn.request("POST", "/", body, headers)
        page = response.read()
        if response.status == 303:
            path = urllib.parse.urlsplit(response.getheader("Location")).path
            response = self.conn.request("GET", path, None, {"Cookie": self.cookie})
            page = response.read()
        return response.status, page

    def stream(self, model: str, prompt: str) -> http.client.HTTPResponse:
        """POST /stream as the page's script does; the SSE body is left to read."""
        body, headers = self.form(model, prompt)
        headers |= {"X-CSRFToken": self.csrf, "Accept": "text/event-stream"}
        return self.conn.request("POST", "/stream", body, headers)


class Direct:
    """The same calls straight to the fake upstream, as the app's ChatClient makes them.

    With ``headers`` (a peer's key and routing headers) it calls any OpenAI-compatible server
    on 127.0.0.1:port the same way, so a peer and the direct control share this client too.
    """

    def __init__(self, port: int, headers: dict | None = None) -> None:
        self.conn = Connection(port)
        self.headers = headers or {}

    def complete(self, body: dict) -> tuple[int, bytes]:
        response = self.conn.request("POST", "/v1/chat/completions", json.dumps(body).encode(),
                                     {"Content-Type": "application/json",
                                      "Accept": "application/json", **self.headers})
        return response.status, response.read()

    def stream(self, body: dict) -> http.client.HTTPResponse:
        return self.conn.request("POST", "/v1/chat/completions", json.dumps(body).encode(),
                                 {"Content-Type": "application/json",
                                  "Accept": "text/event-stream", **self.headers})


def chat_body(model: str, prompt: str, stream: bool = False) -> dict:
    """The body the playground's form builds for model and prompt (see forms.to_body)."""
    body: dict = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body
