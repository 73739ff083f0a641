"""Compare two checkouts' CPU per stream, interleaved: ``python -m bench.ab OTHER [--rounds N]``.

On a shared machine the CPU a stream costs moves with the load, so a before/after taken in two
runs minutes apart compares the load as much as the code. This starts the app of this checkout
and of OTHER (a path, e.g. a git worktree of the commit before) on one fake provider, and
measures both in the same run, alternating which goes first in each round:

- ``short``: a wave of 100 concurrent 2-s streams (20 tokens, 100 ms apart), as in (c);
- ``live-on`` / ``live-off``: three 20 KB markdown streams one after another, as in (f), with
  live markdown on or off (and their per-chunk relay delay p99).

It prints the workers' CPU per stream, median and spread over the rounds, per side.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench import procs
from bench.client import Playground
from bench.concurrency import run_loadgen, summarise
from bench.live import stream_once, workers_cpu
from bench.peers.rounds import wave_options
from bench.peers.servers import Server
from bench.stats import median, percentile, spread

SHORT = "bench/stream/100/20"
LIVE = "bench/mdstream/5/20000"


def _short(app) -> tuple[float, float]:
    server = Server("app", app.port, path="/stream", proc=app.proc)
    before = workers_cpu(app)
    out = run_loadgen(wave_options(server, SHORT, 20, 32) | {"n": 100})
    return (workers_cpu(app) - before) * 1000 / 100, summarise(out, 100, 2000)[
        "throughput_of_ideal"]


def _live(app, client: Playground) -> tuple[float, float]:
    before, delays = workers_cpu(app), []
    for _ in range(3):
        delays += stream_once(client, LIVE)["delays"]
    return (workers_cpu(app) - before) * 1000 / 3, percentile(delays, 99)


def compare(other: Path, case: str, rounds: int) -> dict:
    checkouts = {"this": procs.REPO, "other": other.resolve()}
    env = {"PLAYGROUND_LIVE_MARKDOWN": "0" if case == "live-off" else "1"}
    upstream = procs.start_upstream("ab-upstream")
    apps: dict = {}
    try:
        for name, repo in checkouts.items():
            procs.REPO = repo  # gunicorn imports the app from its working directory
            apps[name] = procs.start_app(upstream, f"ab-{name}-gunicorn", 2, env)
        procs.REPO = checkouts["this"]
        clients = {name: Playground(app.port) for name, app in apps.items()}
        for name, app in apps.items():  # warm-up: templates, pools, lexers; not counted
            if case == "short":
                server = Server("app", app.port, path="/stream", proc=app.proc)
                run_loadgen(wave_options(server, "bench/stream/5/20", 20, 60) | {"n": 50})
            else:
                _live(app, clients[name])
        got: dict = {name: [] for name in apps}
        for round_no in range(rounds):
            for name in list(apps) if round_no % 2 == 0 else list(apps)[::-1]:
                got[name].append(_short(apps[name]) if case == "short"
                                 else _live(apps[name], clients[name]))
                time.sleep(1.0)
    finally:
        for app in apps.values():
            app.proc.stop()
        upstream.proc.stop()
    return {name: {"cpu_ms_per_stream": median([r[0] for r in rows]),
                   "cpu_spread_ms": spread([r[0] for r in rows]),
                   "second": [round(r[1], 3) for r in rows]} for name, rows in got.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="the other checkout (e.g. a git worktree)")
    parser.add_argument("--case", choices=("short", "live-on", "live-off"), default="short")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    second = "share of ideal" if args.case == "short" else "relay p99 ms"
    for name, r in compare(args.other, args.case, args.rounds).items():
        low, high = r["cpu_spread_ms"]
        print(f"{name:5} {args.case}: CPU per stream {r['cpu_ms_per_stream']:.1f} ms "
              f"(rounds {low:.1f}–{high:.1f}); {second} per round {r['second']}")


if __name__ == "__main__":
    main()
