"""Added latency of the playground over a direct call: whole runs (a) and streaming (b).

Every sample pairs a playground call with the same call made straight to the upstream, in
alternating order (AB, BA, ...) so drift on a busy machine hits both sides alike. A round's
"added" is median(playground) - median(direct); the headline is the median over rounds and the
spread is the lowest and highest round. p99 added is p99(playground) - p99(direct) over all
rounds. Warm-up pairs are never counted.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.client import Direct, Playground, chat_body, sse_events
from bench.stats import diff, median, percentile, spread, summary

PROMPT = "Say hello in one short sentence."
TOKEN_TIME = re.compile(r"t=(\d+)")
RECEIVED_TIME = re.compile(r"r=(\d+)")


def _pairs(count: int, run_app, run_direct, deadline: float) -> tuple[list, list]:
    """Alternate the two calls count times (or until deadline); return both timing lists."""
    app_ms, direct_ms = [], []
    for i in range(count):
        if time.monotonic() > deadline:
            break
        first, second = (run_app, run_direct) if i % 2 == 0 else (run_direct, run_app)
        for call in (first, second):
            (app_ms if call is run_app else direct_ms).append(call())
    return app_ms, direct_ms


def _measure(rounds: int, pairs: int, run_app, run_direct, budget_s: float) -> dict:
    """Interleaved rounds of pairs; the added time per round, its spread and the pooled p99."""
    per_round, app_all, direct_all = [], [], []
    deadline = time.monotonic() + budget_s
    for _ in range(rounds):
        app_ms, direct_ms = _pairs(pairs, run_app, run_direct, deadline)
        if not app_ms:
            break
        per_round.append({"pairs": len(app_ms), "app_ms": median(app_ms),
                          "direct_ms": median(direct_ms),
                          "added_ms": median(app_ms) - median(direct_ms)})
        app_all += app_ms
        direct_all += direct_ms
    added = [r["added_ms"] for r in per_round]
    return {"added_median_ms": median(added), "added_spread_ms": spread(added),
            "added_p99_ms": diff(percentile(app_all, 99), percentile(direct_all, 99)),
            "app": summary(app_all), "direct": summary(direct_all), "rounds": per_round}


def _timed_run(playground: Playground, model: str, marker: bytes):
    def call() -> float:
        start = time.monotonic_ns()
        status, page = playground.run(model, PROMPT)
        elapsed = (time.monotonic_ns() - start) / 1e6
        if status != 200 or b'data-state="complete"' not in page or marker not in page:
            raise RuntimeError(f"playground run of {model} failed ({status})")
        return elapsed
    return call


def _timed_direct(direct: Direct, model: str):
    body = chat_body(model, PROMPT)

    def call() -> float:
        start = time.monotonic_ns()
        status, raw = direct.complete(body)
        elapsed = (time.monotonic_ns() - start) / 1e6
        if status != 200 or not json.loads(raw).get("choices"):
            raise RuntimeError(f"direct call of {model} failed ({status})")
        return elapsed
    return call


def added_latency(app, upstream, cfg) -> dict:
    """(a) Full no-JS run (POST /, whole HTML page) minus the direct upstream call."""
    playground, direct = Playground(app.port), Direct(upstream.port)
    cases = {"short": ("bench/short", b"How can I help you today?", cfg.a_pairs),
             "markdown_20k": ("bench/markdown/20000", b"Closing words.", cfg.a_pairs_markdown)}
    results = {}
    for name, (model, marker, pairs) in cases.items():
        run_app = _timed_run(playground, model, marker)
        run_direct = _timed_direct(direct, model)
        _pairs(cfg.warmup, run_app, run_direct, time.monotonic() + 30)
        results[name] = _measure(cfg.rounds, pairs, run_app, run_direct, cfg.a_budget_s)
    results["breakdown"] = _breakdown(playground, cfg.a_pairs)
    return results


def _breakdown(playground: Playground, count: int) -> dict:
    """Median ms of GET /healthz (server + Flask floor) and GET / (the page, no upstream call)."""
    medians = {}
    for name, path in (("healthz_ms", "/healthz"), ("index_ms", "/")):
        def call(path=path) -> float:
            start = time.monotonic_ns()
            playground.conn.request("GET", path).read()
            return (time.monotonic_ns() - start) / 1e6
        for _ in range(10):
            call()
        medians[name] = median([call() for _ in range(count)])
    return medians


@dataclass
class StreamRead:
    """What one read of a whole stream found."""

    first_ns: int | None = None  # arrival of the first content
    received_ns: int | None = None  # when the upstream got the request (from the first token)
    relay_ms: list = field(default_factory=list)  # arrival - send, per token
    last_name: str = ""
    last_data: str = ""


def read_stream(events, content_of) -> StreamRead:
    """Read a whole stream, noting when content arrived and how late each token was."""
    read = StreamRead()
    for arrival, name, data in events:
        text = content_of(name, data)
        if text:
            read.first_ns = read.first_ns or arrival
            read.relay_ms += [(arrival - int(t)) / 1e6 for t in TOKEN_TIME.findall(text)]
            received = RECEIVED_TIME.search(text)
            if received:
                read.received_ns = int(received.group(1))
        read.last_name, read.last_data = name, data
    return read


def app_content(name: str, data: str) -> str | None:
    return json.loads(data) if name == "content" else None


def direct_content(name: str, data: str) -> str | None:
    if data.strip() == "[DONE]":
        return None
    choices = json.loads(data).get("choices") or [{}]
    return (choices[0].get("delta") or {}).get("content")


def streaming(app, upstream, cfg) -> dict:
    """(b) Time to first token and per-chunk relay delay, playground /stream vs direct SSE."""
    playground, direct = Playground(app.port), Direct(upstream.port)
    model = f"bench/stream/{cfg.trickle_ms}/{cfg.trickle_tokens}"
    body = chat_body(model, PROMPT, stream=True)
    relay: dict[str, list] = {"app": [], "direct": []}
    reach: dict[str, list] = {"app": [], "direct": []}  # request sent -> upstream has it

    def timed(target: str, send, content_of, complete) -> Callable[[], float]:
        def call() -> float:
            start = time.monotonic_ns()
            response = send()
            read = read_stream(sse_events(response), content_of)
            if response.status != 200 or not complete(read) or \
                    len(read.relay_ms) != cfg.trickle_tokens or read.received_ns is None:
                raise RuntimeError(f"{target} stream failed ({response.status}, "
                                   f"{read.last_name}: {read.last_data[:200]})")
            relay[target].extend(read.relay_ms)
            reach[target].append((read.received_ns - start) / 1e6)
            return (read.first_ns - start) / 1e6
        return call

    run_app = timed("app", lambda: playground.stream(model, PROMPT), app_content,
                    lambda read: read.last_name == "result" and
                    json.loads(read.last_data).get("state") == "complete")
    run_direct = timed("direct", lambda: direct.stream(body), direct_content,
                       lambda read: read.last_data == "[DONE]")
    _pairs(cfg.warmup_streams, run_app, run_direct, time.monotonic() + 30)
    for samples in (*relay.values(), *reach.values()):  # the warm-up does not count either
        samples.clear()
    ttft = _measure(cfg.rounds, cfg.b_pairs, run_app, run_direct, cfg.b_budget_s)
    return {"model": model, "ttft": ttft,
            "reach_upstream_ms": {"app": summary(reach["app"]),
                                  "direct": summary(reach["direct"])},
            "relay_ms": {"app": summary(relay["app"]), "direct": summary(relay["direct"])}}
