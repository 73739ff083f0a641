"""Benchmark the app beside its peers: ``python -m bench.peers [--quick] [--peer NAME ...]``.

One fake upstream, one set of clients (bench/client.py for single calls, bench/loadgen.py for
waves), and in every round the app, each peer and direct take turns. Prints the side-by-side
table, the ratios to each peer with their targets, and the profile of the app's stream path;
writes everything to bench/results/peers-<time>.json (and peers-latest.json).

As root with `unshare` at hand the run re-executes itself in a new network namespace holding
only loopback, so no part of it can reach the internet whatever its settings say.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field, replace

from bench import procs
from bench.peers import compare, servers
from bench.peers.profile import markdown as profile_markdown
from bench.peers.profile import profile
from bench.peers.rounds import Lineup, one_round, warm_up
from bench.peers.servers import Server
from bench.report import markdown

NETNS_FLAG = "BENCH_PEERS_NETNS"


@dataclass(frozen=True)
class Config:
    """How much of each measurement to run; every loop is bounded by a count and a time."""

    workers: int = 2
    rounds: int = 5
    warmup: int = 6
    short_samples: int = 100  # short replies per server per round
    stream_samples: int = 15  # streamed replies per server per round
    budget_s: float = 60.0  # per round and kind of sample
    trickle_ms: int = 20  # the streamed reply: 10 tokens, one every 20 ms
    trickle_tokens: int = 10
    ns: tuple[int, ...] = (100, 500, 1000)
    c_interval_ms: int = 100  # the waves' reply: 20 tokens, one every 100 ms = 2 s upstream
    c_tokens: int = 20
    c_timeout_s: float = 60.0  # past the 2 s ideal, before a stream counts as an error
    settle_s: float = 2.0
    profile_n: int = 100
    profile_waves: int = 10
    profile_rate: int = 200
    extra_env: dict = field(default_factory=dict)


QUICK = {"rounds": 2, "warmup": 3, "short_samples": 20, "stream_samples": 4, "ns": (20, 100),
         "settle_s": 0.5, "c_timeout_s": 30.0, "profile_waves": 2}


def isolate(argv: list[str]) -> None:
    """Re-run this command in its own network namespace with only loopback up, if possible."""
    if os.environ.get(NETNS_FLAG) or "--host-network" in argv:
        return
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        print("[bench-peers] not root or no unshare/ip: running on the host's network "
              "(the peers' offline settings still apply)", file=sys.stderr)
        return
    if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode != 0:
        print("[bench-peers] unshare --net refused: running on the host's network",
              file=sys.stderr)
        return
    os.environ[NETNS_FLAG] = "1"
    sys.stdout.flush()
    os.execvp("unshare", ["unshare", "--net", "--", "sh", "-c",
                          'ip link set lo up && exec "$@"', "sh",
                          sys.executable, "-m", "bench.peers", *argv])


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through every `finally`, which stops the servers


def _meta(cfg: Config, quick: bool) -> dict:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=procs.REPO, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": quick, "commit": commit,
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
                       f"{_memory_gib():.0f} GiB",
            "loadavg_before": os.getloadavg(), "config": asdict(cfg),
            "versions": servers.versions(),
            "network": {"own_namespace": bool(os.environ.get(NETNS_FLAG)),
                        "routes_besides_loopback": servers.routes_out()}}


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as meminfo:
            return int(meminfo.readline().split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        return 0.0


def start_lineup(cfg: Config, peers: list[str], errors: dict) -> Lineup:
    """The fake upstream, the app under gunicorn, each peer that starts, and direct."""
    upstream = procs.start_upstream("peers-upstream")
    app = procs.start_app(upstream, "peers-gunicorn", cfg.workers, cfg.extra_env)
    lineup = [Server("app", app.port, path="/stream", proc=app.proc)]
    for name in peers:
        print(f"[bench-peers] starting {servers.LABELS[name]} ...", file=sys.stderr, flush=True)
        try:
            lineup.append(servers.STARTERS[name](upstream))
        except Exception as exc:  # a peer that will not start must not hide the others
            traceback.print_exc()
            errors[name] = f"{type(exc).__name__}: {exc}"
    return Lineup(upstream, lineup + [Server("direct", upstream.port, proc=None)])


def offline_rows(meta: dict, listening: dict, reached: dict) -> list[dict]:
    """Did everything stay on this machine? Listening addresses, logs, routes."""
    net = meta["network"]
    every = [a for addresses in listening.values() for a in addresses]
    rows = [{"metric": "every server listens on 127.0.0.1 only", "target": "loopback only",
             "measured": "; ".join(f"{k} {', '.join(v) or 'none'}"
                                   for k, v in listening.items()),
             "result": "PASS" if servers.loopback_only(every) else "FAIL"},
            {"metric": "peers' logs: attempts to reach the internet", "target": "0",
             "measured": str(sum(len(v) for v in reached.values())) + "".join(
                 f"; {k}: {v[0]}" for k, v in reached.items() if v),
             "result": "PASS" if not any(reached.values()) else "FAIL"}]
    if net["own_namespace"]:
        rows.append({"metric": "network: own namespace, routes besides loopback", "target": "0",
                     "measured": str(net["routes_besides_loopback"]),
                     "result": "PASS" if net["routes_besides_loopback"] == 0 else "FAIL"})
    else:
        rows.append({"metric": "network: own namespace", "target": "report",
                     "measured": "no: ran on the host's network (--host-network, or not root)",
                     "result": "info"})
    return rows


def measure(cfg: Config, peers: list[str], result: dict) -> list[dict]:
    """Start everything, warm it up, and run cfg.rounds rounds; fill result as it goes."""
    lineup = start_lineup(cfg, peers, result["errors"])
    result["names"] = lineup.names()
    result["listening"] = {
        s.name: servers.listening(procs.tree_pids(s.root_pid))
        for s in lineup.servers if s.root_pid} | {
        "upstream": servers.listening([lineup.upstream.proc.pid])}
    print("[bench-peers] warming up ...", file=sys.stderr, flush=True)
    result["idle_rss_mib"] = warm_up(lineup, cfg)
    rounds = []
    for i in range(cfg.rounds):
        rounds.append(one_round(lineup, cfg, i))
        print(f"[bench-peers] round {i + 1}/{cfg.rounds} done in {rounds[-1]['seconds']} s",
              file=sys.stderr, flush=True)
    result["reached_out"] = {s.name: servers.reached_out(s) for s in lineup.servers
                             if s.name in servers.STARTERS}
    return rounds


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.peers",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 short rounds, N = 20 and 100")
    parser.add_argument("--peer", action="append", choices=sorted(servers.STARTERS),
                        help="only this peer (repeatable); default: all")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profile")
    parser.add_argument("--profile-only", action="store_true",
                        help="only the py-spy profile of the app (no peers, no rounds)")
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    parser.add_argument("--workers", type=int, default=Config.workers,
                        help="gunicorn workers for the app (WEB_CONCURRENCY)")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the app's gunicorn, to measure a setting")
    parser.add_argument("--host-network", action="store_true",
                        help="do not move into a network namespace of its own")
    args = parser.parse_args(argv)
    isolate(argv)
    if missing := servers.missing():
        print(f"[bench-peers] not installed: {', '.join(missing)}; run `make bench-peers`",
              file=sys.stderr)
        return 2
    cfg = replace(Config(), **QUICK) if args.quick else Config()
    cfg = replace(cfg, workers=args.workers, rounds=args.rounds or cfg.rounds,
                  extra_env=dict(item.split("=", 1) for item in args.env))
    signal.signal(signal.SIGTERM, _terminate)
    procs.raise_nofile()
    procs.RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    meta, started = _meta(cfg, args.quick), time.monotonic()
    errors: dict = {}
    rounds: list[dict] = []
    result: dict = {"meta": meta, "errors": errors, "listening": {}, "idle_rss_mib": {}}
    names: list[str] = []
    try:
        if not args.profile_only:
            rounds = measure(cfg, args.peer or list(servers.STARTERS), result)
            names = result["names"]
    finally:
        procs.stop_all()  # the profile runs the app alone
    result["rounds"] = rounds
    if not args.no_profile:
        print("[bench-peers] profiling the app's stream path ...", file=sys.stderr, flush=True)
        try:
            result["profile"] = profile(cfg, stamp)
        except Exception as exc:  # the comparison above stands without the profile
            traceback.print_exc()
            result["profile"] = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            procs.stop_all()
    meta["loadavg_after"] = os.getloadavg()
    meta["seconds"] = round(time.monotonic() - started)
    table, rows = compare.report(rounds, names, list(cfg.ns), result["idle_rss_mib"]) \
        if rounds else ("", [])
    if names:
        rows += offline_rows(meta, result["listening"], result.get("reached_out", {}))
    if "error" in result.get("profile", {}):
        rows.append({"metric": "profile of the app's stream path", "target": "runs",
                     "measured": result["profile"]["error"][:150], "result": "ERROR"})
    rows += [{"metric": f"{servers.LABELS[k]} started", "target": "runs", "measured": v[:150],
              "result": "ERROR"} for k, v in errors.items()]
    result["rows"] = rows
    for path in (procs.RESULTS / f"peers-{stamp}.json", procs.RESULTS / "peers-latest.json"):
        path.write_text(json.dumps(result, indent=2, default=str))
    print(table + "\n\n" + markdown(rows))
    if "profile" in result:
        print("\n" + profile_markdown(result["profile"]))
    v = meta["versions"]
    print(f"\nLiteLLM {v['litellm']} (uvicorn {v['litellm_uvicorn']}), Portkey gateway "
          f"{v['portkey_gateway']} (@hono/node-server {v['hono_node_server']}, Node {v['node']})"
          f"; {meta['machine']}; load average before/after {meta['loadavg_before'][0]:.2f} / "
          f"{meta['loadavg_after'][0]:.2f}; {meta['seconds']} s; full results in "
          f"{procs.RESULTS / f'peers-{stamp}.json'}")
    return 1 if any(r["result"] == "ERROR" for r in rows) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\n[bench-peers] interrupted; every server it started has been stopped",
              file=sys.stderr)
        sys.exit(130)
