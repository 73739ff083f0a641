"""One round of every measurement, taking the app, each peer and direct in turn.

Within a round each sample calls every server once, in an order that rotates from sample to
sample (so no server always goes first or last), and the waves of N streams run one server
after another in a rotating order too. Whatever the machine does meanwhile hits all of them.
"""

from __future__ import annotations

import http.client
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from bench import procs
from bench.client import Direct, Playground, chat_body, sse_events
from bench.concurrency import run_loadgen, summarise
from bench.latency import app_content, direct_content, read_stream
from bench.peers.servers import Server
from bench.stats import median, percentile

PROMPT = "Say hello in one short sentence."
SHORT_MODEL, SHORT_MARKER = "bench/short", "How can I help you today?"
FAILURES = (OSError, http.client.HTTPException, RuntimeError, ValueError, KeyError,
            IndexError, TypeError)


@dataclass
class Lineup:
    """The servers under test, all against one fake upstream."""

    upstream: procs.Upstream
    servers: list[Server]  # "app" first, then the peers that started, then "direct"

    def names(self) -> list[str]:
        return [s.name for s in self.servers]


@dataclass
class Samples:
    """Milliseconds per name, and the errors that took a sample's place."""

    values: dict = field(default_factory=lambda: defaultdict(list))
    errors: dict = field(default_factory=lambda: defaultdict(int))
    first_error: dict = field(default_factory=dict)

    def take(self, name: str, call: Callable[[], float | tuple]) -> None:
        try:
            value = call()
        except FAILURES as exc:  # one failing server must not stop the others' round
            self.errors[name] += 1
            self.first_error.setdefault(name, f"{type(exc).__name__}: {exc}"[:300])
            return
        for key, ms in (value.items() if isinstance(value, dict) else [(name, value)]):
            self.values[key].append(ms)

    def summary(self) -> dict:
        names = set(self.values) | set(self.errors)
        return {name: {"n": len(self.values[name]), "median": median(self.values[name]),
                       "p90": percentile(self.values[name], 90),
                       "errors": self.errors[name], "first_error": self.first_error.get(name)}
                for name in sorted(names)}


def rotated(items: list, i: int) -> list:
    k = i % len(items)
    return items[k:] + items[:k]


def _elapsed_ms(start_ns: int) -> float:
    return (time.monotonic_ns() - start_ns) / 1e6


def short_calls(lineup: Lineup) -> dict[str, Callable[[], float]]:
    """A short, whole reply from each server: the app both ways, the others non-streamed."""
    calls: dict[str, Callable[[], float]] = {}
    body = chat_body(SHORT_MODEL, PROMPT)
    for server in lineup.servers:
        if server.name == "app":
            playground = Playground(server.port)

            def nojs(playground=playground) -> float:
                start = time.monotonic_ns()
                status, page = playground.run(SHORT_MODEL, PROMPT)
                elapsed = _elapsed_ms(start)
                if status != 200 or b'data-state="complete"' not in page \
                        or SHORT_MARKER.encode() not in page:
                    raise RuntimeError(f"no-JS run failed ({status})")
                return elapsed

            def streamed(playground=playground) -> float:
                start = time.monotonic_ns()
                response = playground.stream(SHORT_MODEL, PROMPT)
                last = ("", "")
                for _arrival, name, data in sse_events(response):
                    last = (name, data)
                elapsed = _elapsed_ms(start)
                if response.status != 200 or last[0] != "result" or \
                        json.loads(last[1]).get("state") != "complete":
                    raise RuntimeError(f"/stream run failed ({response.status}, {last[0]})")
                return elapsed

            calls["app_nojs"], calls["app_stream"] = nojs, streamed
        else:
            client = Direct(server.port, server.headers)

            def whole(client=client, name=server.name) -> float:
                start = time.monotonic_ns()
                status, raw = client.complete(body)
                elapsed = _elapsed_ms(start)
                content = json.loads(raw)["choices"][0]["message"]["content"] if status == 200 \
                    else ""
                if SHORT_MARKER not in (content or ""):
                    raise RuntimeError(f"{name} reply failed ({status}): {raw[:200]!r}")
                return elapsed

            calls[server.name] = whole
    return calls


def _app_done(read) -> bool:
    return read.last_name == "result" and json.loads(read.last_data).get("state") == "complete"


def _openai_done(read) -> bool:
    return read.last_data == "[DONE]"


def stream_calls(lineup: Lineup, model: str, tokens: int) -> dict[str, Callable[[], dict]]:
    """A streamed reply from each server: time to first token and to reach the upstream."""
    calls: dict[str, Callable[[], dict]] = {}
    body = chat_body(model, PROMPT, stream=True)
    for server in lineup.servers:
        if server.name == "app":
            send = partial(Playground(server.port).stream, model, PROMPT)
            content_of, done = app_content, _app_done
        else:
            send = partial(Direct(server.port, server.headers).stream, body)
            content_of, done = direct_content, _openai_done

        def call(name=server.name, send=send, content_of=content_of, done=done) -> dict:
            start = time.monotonic_ns()
            response = send()
            read = read_stream(sse_events(response), content_of)
            if response.status != 200 or not done(read) or len(read.relay_ms) != tokens \
                    or read.received_ns is None or read.first_ns is None:
                raise RuntimeError(f"{name} stream failed ({response.status}, "
                                   f"{len(read.relay_ms)} tokens, {read.last_data[:200]})")
            return {f"{name}_ttft": (read.first_ns - start) / 1e6,
                    f"{name}_reach": (read.received_ns - start) / 1e6,
                    f"{name}_relay": median(read.relay_ms)}

        calls[server.name] = call
    return calls


def sample(calls: dict[str, Callable], count: int, warmup: int, budget_s: float) -> dict:
    """count samples of every call, rotating their order; warm-up calls are not kept."""
    names = list(calls)
    for i in range(warmup):
        for name in rotated(names, i):
            Samples().take(name, calls[name])
    samples, deadline = Samples(), time.monotonic() + budget_s
    for i in range(count):
        if time.monotonic() > deadline:
            break
        for name in rotated(names, i):
            samples.take(name, calls[name])
    return samples.summary()


def wave_options(server: Server, model: str, tokens: int, timeout: float) -> dict:
    """What bench.loadgen sends to this server for one streamed run."""
    if server.name == "app":
        playground = Playground(server.port)
        body, headers = playground.form(model, "Tell me a long story.")
        return {"port": server.port, "path": "/stream", "target": "app", "tokens": tokens,
                "body": body.decode(), "timeout": timeout,
                "headers": headers | {"X-CSRFToken": playground.csrf,
                                      "Accept": "text/event-stream"}}
    return {"port": server.port, "path": server.path, "target": "direct", "tokens": tokens,
            "timeout": timeout,
            "body": json.dumps(chat_body(model, "Tell me a long story.", stream=True)),
            "headers": {"Content-Type": "application/json", "Accept": "text/event-stream",
                        **server.headers}}


def wave(server: Server, upstream: procs.Upstream, opts: dict, ideal_ms: float) -> dict:
    """One wave of opts["n"] simultaneous streams: share of ideal, errors, CPU and peak RSS."""
    root = server.root_pid
    before = procs.tree_cpu(root) if root else {}
    upstream_before = procs.cpu_seconds(upstream.proc.pid)
    sampler = procs.RssSampler(root) if root else None
    if sampler:
        sampler.start()
    try:
        out = run_loadgen(opts)
    finally:
        peak_kib = sampler.stop() if sampler else 0
    after = procs.tree_cpu(root) if root else {}
    cpu_s = sum(after[pid] - before.get(pid, 0.0) for pid in after)
    n = opts["n"]
    return summarise(out, n, ideal_ms) | {
        "cpu_ms_per_stream": cpu_s * 1000 / n if root else None,
        "upstream_cpu_ms_per_stream":
            (procs.cpu_seconds(upstream.proc.pid) - upstream_before) * 1000 / n,
        "loadgen_cpu_s": round(out["cpu_s"], 2),
        "peak_rss_mib": peak_kib / 1024 if root else None}


def tree_rss_mib(server: Server) -> float | None:
    root = server.root_pid
    return sum(procs.rss_kib(p) for p in procs.tree_pids(root)) / 1024 if root else None


def warm_up(lineup: Lineup, cfg) -> dict:
    """A wave of quick streams through every server (templates, imports, pools), then idle RSS."""
    for server in lineup.servers:
        opts = wave_options(server, f"bench/stream/5/{cfg.c_tokens}", cfg.c_tokens, 60.0)
        run_loadgen(opts | {"n": min(50, max(cfg.ns))})
    time.sleep(cfg.settle_s)
    return {server.name: tree_rss_mib(server) for server in lineup.servers}


def one_round(lineup: Lineup, cfg, index: int) -> dict:
    """Short replies, streamed first tokens, then waves of each N, for every server."""
    started = time.monotonic()
    result = {"index": index,
              "short": sample(short_calls(lineup), cfg.short_samples, cfg.warmup,
                              cfg.budget_s)}
    model = f"bench/stream/{cfg.trickle_ms}/{cfg.trickle_tokens}"
    result["stream"] = sample(stream_calls(lineup, model, cfg.trickle_tokens),
                              cfg.stream_samples, max(1, cfg.warmup // 3), cfg.budget_s)
    c_model = f"bench/stream/{cfg.c_interval_ms}/{cfg.c_tokens}"
    ideal_ms = cfg.c_interval_ms * cfg.c_tokens
    waves: dict = {}
    for n in cfg.ns:
        waves[str(n)] = {}
        for server in rotated(lineup.servers, index + n):
            opts = wave_options(server, c_model, cfg.c_tokens, ideal_ms / 1000 + cfg.c_timeout_s)
            waves[str(n)][server.name] = wave(server, lineup.upstream, opts | {"n": n}, ideal_ms)
            time.sleep(cfg.settle_s)  # let the sockets close before the next server's wave
    result["waves"] = waves
    result["seconds"] = round(time.monotonic() - started, 1)
    return result
