"""Open N streaming runs at once and time each one; run as ``python -m bench.loadgen``.

asyncio over raw sockets, in its own process: one event loop holds thousands of idle sockets
for a few KB each, with no threads (1000 OS threads would thrash two cores and the GIL) and no
monkey-patching; the HTTP it needs (one POST, a chunked SSE body) is a few lines. Reads JSON
options on stdin, writes one JSON result on stdout.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time

from bench.procs import raise_nofile

TOKEN = re.compile(r"\bt=\d+")  # one per token in the upstream's own SSE


async def _read_body(reader: asyncio.StreamReader, headers: dict) -> bytes:
    """Read a chunked or Content-Length body, or until EOF."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        # Take whatever arrived in one read and decode the chunks at the end: per token this is
        # one await instead of three, which keeps the client's CPU share small at N = 1000.
        raw = bytearray()
        while not raw.endswith(b"\r\n0\r\n\r\n"):  # the terminal chunk (our bodies end "\n\n")
            data = await reader.read(65536)
            if not data:
                break
            raw += data
        return _dechunk(bytes(raw))
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    return await reader.read()


def _dechunk(raw: bytes) -> bytes:
    """Decode a complete chunked body; ValueError if it is cut short or malformed."""
    body, at = bytearray(), 0
    while True:
        line_end = raw.index(b"\r\n", at)
        size = int(raw[at:line_end].split(b";")[0], 16)
        if size == 0:
            return bytes(body)
        start = line_end + 2
        if len(raw) < start + size + 2:
            raise ValueError("chunked body cut short")
        body += raw[start:start + size]
        at = start + size + 2


def _check(target: str, body: bytes, tokens: int) -> str | None:
    """Why a complete SSE body is not a successful run, or None when it is."""
    events = [e for e in body.decode("utf-8", "replace").split("\n\n") if e.strip()]
    if target == "app":
        contents = sum(1 for e in events if e.startswith("event: content"))
        last = events[-1] if events else ""
        if not last.startswith("event: result"):
            return "no result event"
        state = json.loads(last.split("data: ", 1)[1]).get("state")
        if state != "complete":
            return f"state {state}"
    else:
        contents = len(TOKEN.findall(body.decode("utf-8", "replace")))
        if not events or events[-1].strip() != "data: [DONE]":
            return "no [DONE]"
    return None if contents == tokens else f"{contents} of {tokens} tokens"


async def one(opts: dict, start_at: float, delay: float = 0.0) -> dict:
    """Make one streaming call after delay s; return its timings in ms, or its error."""
    await asyncio.sleep(delay)
    began = time.monotonic()
    writer = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", opts["port"], limit=1 << 20)
        writer.write(opts["request"].encode())
        await writer.drain()
        status_line = await reader.readline()
        headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        first = time.monotonic()
        body = await _read_body(reader, headers)
        ended = time.monotonic()
        status = int(status_line.split()[1]) if status_line else 0
        error = f"HTTP {status}" if status != 200 else _check(opts["target"], body, opts["tokens"])
        return {"began": (began - start_at) * 1000, "headers_ms": (first - began) * 1000,
                "total": (ended - began) * 1000, "ended": (ended - start_at) * 1000,
                "error": error}
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:200]}
    finally:
        if writer is not None:
            writer.close()


async def run(opts: dict) -> dict:
    """Start every call at once (or spread evenly over ramp_s), within opts["timeout"] s."""
    start_at, n, ramp = time.monotonic(), opts["n"], opts.get("ramp_s", 0.0)
    tasks = [asyncio.create_task(one(opts, start_at, ramp * i / n)) for i in range(n)]
    done, pending = await asyncio.wait(tasks, timeout=opts["timeout"])
    for task in pending:
        task.cancel()
    results = [t.result() for t in done] + [{"error": "timeout"} for _ in pending]
    return {"wall_ms": (time.monotonic() - start_at) * 1000, "results": results,
            "cpu_s": time.process_time()}


def request_bytes(opts: dict) -> str:
    """The raw HTTP/1.1 request every connection sends (Connection: close, one run each)."""
    body = opts["body"]
    headers = {"Host": f"127.0.0.1:{opts['port']}", "Content-Length": str(len(body.encode())),
               "Connection": "close", **opts["headers"]}
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"POST {opts['path']} HTTP/1.1\r\n{head}\r\n{body}"


def main() -> None:
    raise_nofile()
    opts = json.load(sys.stdin)
    opts["request"] = request_bytes(opts)
    print(json.dumps(asyncio.run(run(opts))))


if __name__ == "__main__":
    main()
