"""Run the benchmarks: ``python -m bench [--quick] [--only NAME ...]``.

Every server runs on 127.0.0.1 and is stopped on exit, error or Ctrl-C. Results go to
bench/results/latest.json; the table printed at the end says what met its target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field, replace

from bench import procs, report
from bench.catalogue import catalogue_bench
from bench.concurrency import concurrency
from bench.latency import added_latency, streaming
from bench.live import live_markdown
from bench.page import page_weight
from bench.render_cost import render_cost


@dataclass(frozen=True)
class Config:
    """How much of each benchmark to run; every loop is bounded by a count and a time."""

    workers: int = 2
    rounds: int = 5
    warmup: int = 30
    a_pairs: int = 200
    a_pairs_markdown: int = 50
    a_budget_s: float = 60.0
    warmup_streams: int = 4
    b_pairs: int = 20
    b_budget_s: float = 60.0
    trickle_ms: int = 20
    trickle_tokens: int = 10
    ns: tuple[int, ...] = (100, 500, 1000)
    c_rounds: int = 3
    c_interval_ms: int = 100  # 20 tokens, one every 100 ms: each reply takes 2 s upstream
    c_tokens: int = 20
    c_settle_s: float = 2.0
    c_ramp_s: float = 1.0
    render_reps: int = 5
    render_budget_s: float = 10.0
    render_timeout_s: float = 30.0
    live_streams: int = 4  # per side per round
    live_interval_ms: int = 5
    live_bytes: int = 20_000
    catalogue_reps: int = 10  # per round; the search and the audit repeat more (they are µs)
    extra_env: dict = field(default_factory=dict)


QUICK = {"rounds": 2, "warmup": 5, "a_pairs": 30, "a_pairs_markdown": 10, "warmup_streams": 1,
         "b_pairs": 3, "ns": (20, 100), "c_rounds": 1, "c_settle_s": 0.5, "render_reps": 1,
         "render_budget_s": 2.0, "live_streams": 1, "catalogue_reps": 3}


def _with_stack(func):
    """Give a benchmark that talks to the servers a freshly started stack of its own."""
    def run(cfg: Config) -> dict:
        with procs.stack(func.__name__, cfg.workers, cfg.extra_env) as (app, upstream):
            return func(app, upstream, cfg)
    return run


BENCHMARKS = {
    "latency": _with_stack(added_latency),
    "streaming": _with_stack(streaming),
    "concurrency": concurrency,
    "render": render_cost,
    "live": live_markdown,
    "page": _with_stack(page_weight),
    "catalogue": catalogue_bench,
}


def _meta(cfg: Config, quick: bool) -> dict:
    """What a reader needs to judge the numbers: commit, machine, load, settings."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=procs.REPO, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": quick, "commit": commit,
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "loadavg_before": os.getloadavg(), "config": asdict(cfg)}


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through every `finally`, which stops the servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a fast smoke run: small N")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    parser.add_argument("--workers", type=int, default=Config.workers,
                        help="gunicorn workers (WEB_CONCURRENCY); 2 for two cores")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for gunicorn, to measure a setting "
                             "(e.g. FLASK_UPSTREAM_TRUST_ENV=false)")
    args = parser.parse_args(argv)
    cfg = replace(Config(), **QUICK) if args.quick else Config()
    cfg = replace(cfg, workers=args.workers,
                  extra_env=dict(item.split("=", 1) for item in args.env))
    signal.signal(signal.SIGTERM, _terminate)
    procs.raise_nofile()
    procs.RESULTS.mkdir(parents=True, exist_ok=True)
    meta, results = _meta(cfg, args.quick), {}
    try:
        for name in args.only or BENCHMARKS:
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            started = time.monotonic()
            try:
                results[name] = BENCHMARKS[name](cfg)
            except Exception as exc:  # one broken benchmark must not hide the others' results
                traceback.print_exc()
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"[bench] {name} done in {time.monotonic() - started:.1f} s", file=sys.stderr,
                  flush=True)
    finally:
        procs.stop_all()
    meta["loadavg_after"] = os.getloadavg()
    rows = report.rows_for(results)
    path = procs.RESULTS / "latest.json"
    path.write_text(json.dumps({"meta": meta, "rows": rows, "results": results}, indent=2,
                               default=str))
    print(report.markdown(rows))
    print(f"\nload average before/after: {meta['loadavg_before'][0]:.2f} / "
          f"{meta['loadavg_after'][0]:.2f} on {meta['cpus']} CPUs; full results in {path}")
    return 1 if any(r["result"] == "ERROR" for r in rows) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\n[bench] interrupted; every server it started has been stopped", file=sys.stderr)
        sys.exit(130)
