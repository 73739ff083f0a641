"""The one place that talks to an OpenAI-compatible chat-completions API.

Everything about one call ends up in a ``Run``; every way a call can fail ends up in an
``UpstreamError``. No Flask here: the views decide what a run means for a page.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator

import requests
import urllib3

from playground.cache import Fetched, conditional_headers
from playground.errors import UpstreamError, error_from_body, scrub
from playground.run import Run
from playground.sse import ChunkAssembler, SSEDecoder, parse_chunk

USER_AGENT = "aimlapi-playground/1.0"
MAX_RETRY_AFTER = 20.0  # beyond this we tell the user to wait instead of holding the request
ERROR_BODY_BYTES = 64 * 1024
INTERESTING_HEADER = re.compile(
    r"^(x-request-id|request-id|x-aimlapi-.*|openai-.*|x-ratelimit-.*|ratelimit-.*|retry-after"
    r"|retry-after-ms|x-should-retry|x-openrouter-.*|cf-ray|content-type|server)$",
    re.IGNORECASE,
)

def _since(started: float) -> float:
    """Milliseconds from ``started`` (a monotonic time), to a tenth: what the recorder keeps."""
    return round((time.monotonic() - started) * 1000, 1)


def _iter_raw(response: requests.Response) -> Iterator[bytes]:
    """Yield body bytes as soon as they arrive (read1 never waits for a full buffer)."""
    while True:
        chunk = response.raw.read1(65536)
        if not chunk:
            return
        yield chunk


class _Bounds:
    """The byte and time limits of one bounded read (smaller than a chat reply's)."""

    def __init__(self, max_bytes: int, deadline: float, started: float) -> None:
        self.max_bytes, self.deadline, self.started = max_bytes, deadline, started


def choice_texts(response: dict) -> list[dict]:
    """The text of each choice of a complete response, for relaying it as deltas."""
    out = []
    for choice in response.get("choices") or []:
        message = choice.get("message") if isinstance(choice, dict) else None
        message = message if isinstance(message, dict) else {}
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        out.append({"content": message.get("content") if isinstance(message.get("content"), str)
                    else None, "reasoning": reasoning if isinstance(reasoning, str) else None})
    return out


class ChatClient:
    """A chat-completions client over one ``requests.Session``."""

    def __init__(self, base_url: str, api_key: str | None = None, *,
                 session: requests.Session | None = None, connect_timeout: float = 5.0,
                 read_timeout: float = 60.0, deadline: float = 300.0, max_retries: int = 2,
                 max_bytes: int = 8 * 1024 * 1024, demo: bool = False, trust_env: bool = True,
                 adapter: requests.adapters.BaseAdapter | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or None
        if session is None:
            session = requests.Session()
            # Keep many connections per host: each new one to a real API is a TLS handshake,
            # and a gevent worker may hold hundreds of streams to the same provider.
            pool = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=512)
            session.mount("https://", pool)
            session.mount("http://", pool)
        self.session = session
        self.trust_env = trust_env and adapter is None  # no proxy for pinned hosts
        # requests reads the proxy variables (and ~/.netrc) on every call when trust_env is on,
        # ~0.5 ms per run; _environ reads them once per endpoint instead. The Authorization
        # header is always ours, never ~/.netrc's.
        self.session.trust_env = False
        if adapter is not None:  # a visitor's URL: nothing but the checking transport
            self.session.adapters.clear()
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)
        self.timeout = (connect_timeout, read_timeout)
        self.deadline, self.max_retries, self.max_bytes = deadline, max_retries, max_bytes
        self.demo, self.sleep = demo, sleep
        self._endpoint_environ = self._environ(self.endpoint)

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _environ(self, url: str) -> dict:
        """The proxies and CA bundle the environment gives ``url``, as requests decides them."""
        if not self.trust_env:
            return {}
        found = requests.Session().merge_environment_settings(url, {}, None, None, None)
        return {"proxies": found["proxies"], "verify": found["verify"], "cert": found["cert"]}

    def _headers(self, stream: bool, api_key: str | None) -> dict:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   "Accept": "text/event-stream" if stream else "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return headers

    def _post(self, run: Run, key: str | None,
              started: float | None = None) -> requests.Response:
        """POST with OpenAI-SDK-style retries; return a 2xx response whose body is unread.

        ``run.headers_ms`` is when the (last) response's headers arrived, in ms from ``started``.
        """
        started = time.monotonic() if started is None else started
        while True:
            run.attempts += 1
            try:
                response = self.session.post(
                    self.endpoint, data=json.dumps(run.request), stream=True,
                    headers=self._headers(run.stream, key), timeout=self.timeout,
                    allow_redirects=False, **self._endpoint_environ)
            except requests.Timeout:
                error = UpstreamError("timeout", "No answer before the connect/read timeout.",
                                      retryable=True)
            except requests.ConnectionError as exc:
                error = UpstreamError("unreachable", f"Connection failed: {type(exc).__name__}.",
                                      retryable=True)
            except requests.RequestException as exc:
                error = UpstreamError("unreachable", f"Request failed: {type(exc).__name__}.")
            else:
                run.headers_ms = _since(started)
                run.status = response.status_code
                run.headers = {k.lower(): v for k, v in response.headers.items()
                               if INTERESTING_HEADER.match(k)}
                if 200 <= response.status_code < 300:
                    return response
                error = self._error_response(response)
                if self._drop_stream_options(run, error):
                    continue
            delay = self._retry_delay(error, run.attempts - 1)
            if delay is None:
                raise error  # scrubbed with the rest of the run by Run.scrub
            run.notes.append(f"attempt {run.attempts} failed ({error.status or error.kind}); "
                             f"retried after {delay:.2f} s")
            self.sleep(delay)

    @staticmethod
    def _error_response(response: requests.Response) -> UpstreamError:
        try:
            raw = response.raw.read(ERROR_BODY_BYTES, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError):
            raw = b""
        finally:
            response.close()
        if 300 <= response.status_code < 400:
            where = response.headers.get("location", "elsewhere")
            return UpstreamError("redirect", f"Redirected to {where[:200]}",
                                 status=response.status_code, body=raw.decode("utf-8", "replace"))
        return error_from_body(response.status_code, response.headers,
                               raw.decode("utf-8", "replace"))

    @staticmethod
    def _drop_stream_options(run: Run, error: UpstreamError) -> bool:
        """Some providers reject stream_options with a 400: retry once without it."""
        if error.status == 400 and "stream_options" in run.request and (
                "stream_options" in error.body or "stream_options" in error.message):
            run.request = {k: v for k, v in run.request.items() if k != "stream_options"}
            run.notes.append("the provider rejected stream_options; usage is not reported "
                             "while streaming")
            return True
        return False

    def _retry_delay(self, error: UpstreamError, retries_done: int) -> float | None:
        if not error.retryable or retries_done >= self.max_retries:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= MAX_RETRY_AFTER else None
        return min(0.5 * 2 ** retries_done, 8.0) * (1 - 0.25 * random.random())

    def _read(self, response: requests.Response, started: float,
              bounds: _Bounds | None = None) -> Iterator[bytes]:
        """Body bytes under the size cap and the overall deadline (``bounds``, when tighter)."""
        size = 0
        max_bytes = bounds.max_bytes if bounds else self.max_bytes
        deadline = bounds.deadline if bounds else self.deadline
        try:
            for chunk in _iter_raw(response):
                size += len(chunk)
                if size > max_bytes:
                    raise UpstreamError("too_large", f"The reply exceeded {max_bytes} bytes.",
                                        status=response.status_code)
                if time.monotonic() - started > deadline:
                    raise UpstreamError("timeout", f"The reply took over {deadline:g} s.",
                                        status=response.status_code)
                yield chunk
        except urllib3.exceptions.ReadTimeoutError:
            raise UpstreamError("timeout", f"No data for {self.timeout[1]:g} s.",
                                status=response.status_code) from None
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            raise UpstreamError("unreachable", f"The connection dropped ({type(exc).__name__}).",
                                status=response.status_code) from None

    def complete(self, body: dict, api_key: str | None = None) -> Run:
        """Make a non-streaming call; the returned run carries the response or the error."""
        key = api_key or self.api_key
        run = Run(request=dict(body), endpoint=self.endpoint, demo=self.demo)
        started = time.monotonic()
        try:
            response = self._post(run, key, started)
            with response:
                text = b"".join(self._read(response, started)).decode("utf-8", "replace")
            run.response = self._parse_completion(text, run)
        except UpstreamError as exc:
            run.error, run.state = exc, "error"
        run.total_ms = (time.monotonic() - started) * 1000
        run.scrub((key or "",))
        return run

    @staticmethod
    def _parse_completion(text: str, run: Run) -> dict:
        try:
            data = json.loads(text)
        except ValueError:
            run.raw_text = text
            raise UpstreamError("invalid_response", "The body is not JSON.", status=run.status,
                                body=text[:ERROR_BODY_BYTES]) from None
        if not isinstance(data, dict):
            raise UpstreamError("invalid_response", "The body is JSON but not an object.",
                                status=run.status, body=text[:ERROR_BODY_BYTES])
        if data.get("error") and not data.get("choices"):
            raise error_from_body(run.status, run.headers, text)
        return data

    def stream(self, body: dict, api_key: str | None = None) -> Stream:
        """Start a streaming call; iterate the result for deltas, then read ``.run``."""
        return Stream(self, dict(body, stream=True), api_key or self.api_key)

    def get_json(self, url: str, etag: str | None = None, *, max_bytes: int = 8 * 1024 * 1024,
                 deadline: float = 15.0, key: bool = True) -> Fetched:
        """GET a JSON document (the catalogue, a model's description), bounded in bytes and time.

        Sends ``If-None-Match`` with ``etag``; a 304 comes back with no data. Never follows a
        redirect. The server's key goes only with ``key`` (the provider's own ``/models``).
        Raises ``UpstreamError`` when the answer is not JSON, too big, too slow or unreachable.
        """
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json",
                   **conditional_headers(etag)}
        if key and self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        started = time.monotonic()
        try:
            response = self.session.get(url, headers=headers, stream=True, allow_redirects=False,
                                        timeout=(min(self.timeout[0], 5.0), min(deadline, 10.0)),
                                        **self._environ(url))
        except requests.Timeout:
            raise UpstreamError("timeout", "No answer before the timeout.") from None
        except requests.RequestException as exc:
            raise UpstreamError("unreachable", f"Request failed: {type(exc).__name__}.") from None
        with response:
            etag = response.headers.get("ETag")
            if response.status_code != 200:
                return Fetched(response.status_code, etag)
            budget = _Bounds(max_bytes, deadline, started)
            parts = list(self._read(response, started, budget))
        try:
            data = json.loads(b"".join(parts))
        except (ValueError, RecursionError):
            raise UpstreamError("invalid_response", "The answer is not JSON.") from None
        return Fetched(200, etag, data)


class Stream:
    """A streaming call in progress: iterate for ``(kind, text)`` deltas; ``run`` at the end.

    Closing it (the browser went away, or pressed Stop) closes the upstream connection and
    records the run as stopped; a closed stream is never re-sent.
    """

    def __init__(self, client: ChatClient, body: dict, key: str | None) -> None:
        self.client, self.key = client, key
        self.run = Run(request=body, endpoint=client.endpoint, demo=client.demo, stream=True)
        self._response: requests.Response | None = None
        self._started = time.monotonic()
        self._deltas = self._generate()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return self._deltas

    def close(self) -> None:
        """Stop reading: close the generator, which closes the upstream connection."""
        self._deltas.close()
        if self.run.total_ms is None:  # closed before the first read
            self.run.state, self.run.total_ms = "stopped", 0.0

    def _generate(self) -> Iterator[tuple[str, str]]:
        run, assembler = self.run, ChunkAssembler()
        done = False
        try:
            self._response = self.client._post(run, self.key, self._started)
            if "json" in self._response.headers.get("content-type", ""):
                yield from self._whole_json()
                return
            decoder = SSEDecoder()
            for raw in self.client._read(self._response, self._started):
                for event in decoder.feed(raw):
                    done = done or event.data.strip() == "[DONE]"
                    yield from self._event(event, assembler)
            for event in decoder.close():
                done = done or event.data.strip() == "[DONE]"
                yield from self._event(event, assembler)
            if not done:
                raise UpstreamError("incomplete", "The stream ended without the [DONE] marker.",
                                    status=run.status)
        except UpstreamError as exc:
            run.error = exc
            run.state = "incomplete" if assembler.choices else "error"
        except GeneratorExit:
            run.state = "stopped"
            raise
        finally:
            if self._response is not None:
                self._response.close()
            if assembler.choices or assembler.usage:
                run.response = assembler.completion()
            run.total_ms = (time.monotonic() - self._started) * 1000
            run.scrub((self.key or "",))

    def _whole_json(self) -> Iterator[tuple[str, str]]:
        """Some servers ignore ``stream: true`` and answer with one JSON object: accept it."""
        text = b"".join(self.client._read(self._response, self._started)).decode("utf-8",
                                                                                 "replace")
        self.run.response = self.client._parse_completion(text, self.run)
        self.run.notes.append("the provider answered with one JSON object, not a stream")
        self.run.ttft_ms = (time.monotonic() - self._started) * 1000
        for choice in choice_texts(self.run.response)[:1]:
            for kind in ("reasoning", "content"):
                if choice.get(kind):
                    yield kind, choice[kind]

    def _event(self, event, assembler: ChunkAssembler) -> Iterator[tuple[str, str]]:
        self.run.events.append(event.data if event.name == "message"
                               else f"event: {event.name}\n{event.data}")
        self.run.event_times.append(_since(self._started))  # the flight recorder
        chunk = parse_chunk(event.data)
        if event.name == "error" or (chunk and chunk.get("error") and not chunk.get("choices")):
            error = error_from_body(self.run.status, self.run.headers, event.data)
            error.kind = "credits" if error.kind == "credits" else "stream_error"
            raise error
        if chunk is None:
            return
        for delta in assembler.add(chunk):
            if self.run.ttft_ms is None:
                self.run.ttft_ms = (time.monotonic() - self._started) * 1000
            yield delta[0], scrub(delta[1], (self.key or "",))
