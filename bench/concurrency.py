"""(c) Many simultaneous streaming runs against an upstream that takes 2 s per reply."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from bench import procs
from bench.client import Playground, chat_body
from bench.stats import median, percentile, spread


def run_loadgen(opts: dict) -> dict:
    """Run bench.loadgen in its own process (its own GIL and event loop) and parse its result."""
    done = subprocess.run([sys.executable, "-m", "bench.loadgen"], input=json.dumps(opts),
                          capture_output=True, text=True, cwd=procs.REPO,
                          timeout=opts["timeout"] + 30)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def summarise(out: dict, n: int, ideal_ms: float) -> dict:
    """Completed, errors, throughput as a fraction of ideal, and added time per stream."""
    ok = [r for r in out["results"] if not r.get("error")]
    errors: dict[str, int] = {}
    for r in out["results"]:
        if r.get("error"):
            errors[r["error"]] = errors.get(r["error"], 0) + 1
    added = [r["total"] - ideal_ms for r in ok]
    # Ideal: all n replies done in ideal_ms. Actual: completed replies over the wall time.
    throughput = len(ok) / out["wall_ms"] / (n / ideal_ms) if out["wall_ms"] else 0.0
    return {"n": n, "completed": len(ok), "errors": sum(errors.values()),
            "error_kinds": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:5]),
            "wall_ms": out["wall_ms"], "throughput_of_ideal": throughput,
            "added_median_ms": median(added), "added_p99_ms": percentile(added, 99),
            "added_max_ms": max(added, default=None),
            "headers_p99_ms": percentile([r["headers_ms"] for r in ok], 99),
            "last_start_ms": max((r["began"] for r in ok), default=None)}


def _combine(rounds: list[dict]) -> dict:
    """Median of each round's figures; errors add up and the RSS peak is the highest seen."""
    keys = ("throughput_of_ideal", "added_median_ms", "added_p99_ms", "wall_ms",
            "app_cpu_ms_per_stream", "upstream_connections", "headers_p99_ms", "vs_direct",
            "direct_throughput_of_ideal")
    combined = {k: median([r[k] for r in rounds if r.get(k) is not None]) for k in keys}
    combined |= {"n": rounds[0]["n"], "rounds": rounds,
                 "completed": min(r["completed"] for r in rounds),
                 "errors": sum(r["errors"] for r in rounds),
                 "direct_errors": sum(r.get("direct_errors", 0) for r in rounds),
                 "peak_rss_mib": max(r.get("peak_rss_mib", 0) for r in rounds),
                 "vs_direct_spread": spread([r["vs_direct"] for r in rounds]),
                 "cpu_spread_ms": spread([r["app_cpu_ms_per_stream"] for r in rounds])}
    return combined


def _direct_options(upstream, model: str, tokens: int, timeout: float) -> dict:
    """The same streamed call straight to the upstream: what client and upstream cost."""
    return {"port": upstream.port, "path": "/v1/chat/completions", "target": "direct",
            "tokens": tokens, "timeout": timeout,
            "body": json.dumps(chat_body(model, "Tell me a long story.", stream=True)),
            "headers": {"Content-Type": "application/json", "Accept": "text/event-stream"}}


def concurrency(cfg) -> dict:
    """Stream cfg.ns simultaneous runs through gunicorn and, in the same rounds (alternating
    which goes first), straight to the upstream: the app's share of ideal is judged against
    the direct control's on the same machine at the same moment."""
    model = f"bench/stream/{cfg.c_interval_ms}/{cfg.c_tokens}"
    ideal_ms = cfg.c_interval_ms * cfg.c_tokens
    results: dict = {"model": model, "ideal_ms": ideal_ms, "workers": cfg.workers}
    with procs.stack("concurrency", cfg.workers, cfg.extra_env) as (app, upstream):
        playground = Playground(app.port)
        body, headers = playground.form(model, "Tell me a long story.")
        opts = {"port": app.port, "path": "/stream", "target": "app", "tokens": cfg.c_tokens,
                "body": body.decode(), "timeout": ideal_ms / 1000 + 60,
                "headers": headers | {"X-CSRFToken": playground.csrf,
                                      "Accept": "text/event-stream"}}
        direct = _direct_options(upstream, model, cfg.c_tokens, opts["timeout"])
        # Warm-up wave (short replies): templates compiled, lexers loaded in both workers.
        warm_body, _ = playground.form(f"bench/stream/5/{cfg.c_tokens}", "Warm up.")
        run_loadgen(opts | {"n": min(50, max(cfg.ns)), "body": warm_body.decode()})
        results["idle_rss_mib"] = _tree_rss_mib(app.proc.pid)
        for n in cfg.ns:
            rounds = []
            for round_no in range(cfg.c_rounds):
                got = {}
                for side in ("app", "direct") if round_no % 2 == 0 else ("direct", "app"):
                    if side == "app":
                        got["app"] = _wave(app, upstream, opts | {"n": n}, ideal_ms)
                    else:
                        got["direct"] = summarise(run_loadgen(direct | {"n": n}), n, ideal_ms)
                    time.sleep(cfg.c_settle_s)  # let sockets close before the next wave
                share = got["direct"]["throughput_of_ideal"]
                rounds.append(got["app"] | {
                    "direct_throughput_of_ideal": share,
                    "direct_errors": got["direct"]["errors"],
                    "vs_direct": got["app"]["throughput_of_ideal"] / share if share else 0.0})
            results[f"app_n{n}"] = _combine(rounds)
        # Not in the brief's targets: the same N arriving over ramp_s instead of at one instant
        # tells holding N streams apart from absorbing N requests in the same millisecond.
        n = max(cfg.ns)
        results[f"ramp_n{n}"] = _wave(app, upstream, opts | {"n": n, "ramp_s": cfg.c_ramp_s},
                                      ideal_ms) | {"ramp_s": cfg.c_ramp_s}
    return results


def _wave(app, upstream, opts: dict, ideal_ms: float) -> dict:
    """One wave of opts["n"] streams through the app, with its CPU, RSS and connection counts."""
    before = upstream.stats()
    cpu_before = procs.tree_cpu(app.proc.pid) | procs.tree_cpu(upstream.proc.pid)
    sampler = procs.RssSampler(app.proc.pid)
    sampler.start()
    try:
        out = run_loadgen(opts)
    finally:
        peak = sampler.stop()
    cpu = _cpu_used(cpu_before, app.proc.pid, upstream.proc.pid)
    after = upstream.stats()
    app_cpu = sum(v for k, v in cpu.items() if k.startswith("worker_"))
    return summarise(out, opts["n"], ideal_ms) | {
        "cpu_s": cpu | {"loadgen": round(out["cpu_s"], 2)},
        "app_cpu_ms_per_stream": app_cpu * 1000 / opts["n"],
        "peak_rss_mib": peak / 1024,
        "upstream_requests": after["requests"] - before["requests"],
        # New TCP connections the app opened (less the stats call's own): did its pool keep any?
        "upstream_connections": after["connections"] - before["connections"] - 1}


def _cpu_used(before: dict, app_pid: int, upstream_pid: int) -> dict:
    """CPU seconds each server process spent during the wave (per gunicorn worker)."""
    after = procs.tree_cpu(app_pid)
    used = {f"worker_{pid}": round(after[pid] - before.get(pid, 0.0), 2)
            for pid in after if pid != app_pid}
    used["upstream"] = round(procs.cpu_seconds(upstream_pid) - before.get(upstream_pid, 0), 2)
    return used


def _tree_rss_mib(pid: int) -> float:
    return sum(procs.rss_kib(p) for p in procs.tree_pids(pid)) / 1024
