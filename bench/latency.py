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


def _added(rounds: list[dict], app_all: list, direct_all: list) -> dict:
    added = [r["added_ms"] for r in rounds]
    return {"added_median_ms": median(added), "added_spread_ms": spread(added),
            "added_p99_ms": diff(percentile(app_all, 99), percentile(direct_all, 99)),
            "app": summary(app_all), "direct": summary(direct_all), "rounds": rounds}


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
        rounds, app_all, direct_all = [], [], []
        deadline = time.monotonic() + cfg.a_budget_s
        for _ in range(cfg.rounds):
            app_ms, direct_ms = _pairs(pairs, run_app, run_direct, deadline)
            if not app_ms:
                break
            rounds.append({"pairs": len(app_ms), "app_ms": median(app_ms),
                           "direct_ms": median(direct_ms),
                           "added_ms": median(app_ms) - median(direct_ms)})
            app_all += app_ms
            direct_all += direct_ms
        results[name] = _added(rounds, app_all, direct_all)
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


def _read_stream(events, content_of) -> tuple[int | None, list[float], dict]:
    """Read a whole stream: first-content arrival, each token's relay delay, the last event."""
    first, relay, last = None, [], {}
    for arrival, name, data in events:
        text = content_of(name, data)
        if text:
            first = first or arrival
            relay += [(arrival - int(t)) / 1e6 for t in TOKEN_TIME.findall(text)]
            received = RECEIVED_TIME.search(text)
            if received:
                last["received_ns"] = int(received.group(1))
        last = {"name": name, "data": data, "received_ns": last.get("received_ns")}
    return first, relay, last


def _app_content(name: str, data: str) -> str | None:
    return json.loads(data) if name == "content" else None


def _direct_content(name: str, data: str) -> str | None:
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

    def run_app() -> float:
        start = time.monotonic_ns()
        response = playground.stream(model, PROMPT)
        first, delays, last = _read_stream(sse_events(response), _app_content)
        if response.status != 200 or last.get("name") != "result" or \
                json.loads(last["data"]).get("state") != "complete" or \
                len(delays) != cfg.trickle_tokens:
            raise RuntimeError(f"playground stream failed ({response.status}, {last})")
        relay["app"].extend(delays)
        reach["app"].append((last["received_ns"] - start) / 1e6)
        return (first - start) / 1e6

    def run_direct() -> float:
        start = time.monotonic_ns()
        response = direct.stream(body)
        first, delays, last = _read_stream(sse_events(response), _direct_content)
        if response.status != 200 or last.get("data") != "[DONE]" or \
                len(delays) != cfg.trickle_tokens:
            raise RuntimeError(f"direct stream failed ({response.status}, {last})")
        relay["direct"].extend(delays)
        reach["direct"].append((last["received_ns"] - start) / 1e6)
        return (first - start) / 1e6

    _pairs(cfg.warmup_streams, run_app, run_direct, time.monotonic() + 30)
    for samples in (*relay.values(), *reach.values()):  # the warm-up does not count either
        samples.clear()
    rounds, app_all, direct_all = [], [], []
    deadline = time.monotonic() + cfg.b_budget_s
    for _ in range(cfg.rounds):
        app_ms, direct_ms = _pairs(cfg.b_pairs, run_app, run_direct, deadline)
        if not app_ms:
            break
        rounds.append({"pairs": len(app_ms), "app_ms": median(app_ms),
                       "direct_ms": median(direct_ms),
                       "added_ms": median(app_ms) - median(direct_ms)})
        app_all += app_ms
        direct_all += direct_ms
    return {"model": model, "ttft": _added(rounds, app_all, direct_all),
            "reach_upstream_ms": {"app": summary(reach["app"]),
                                  "direct": summary(reach["direct"])},
            "relay_ms": {"app": summary(relay["app"]), "direct": summary(relay["direct"])}}
