"""(f) Live markdown while streaming: relay delay and CPU per stream, live rendering on and off.

One fake upstream and two copies of the app under gunicorn (gevent), one with
PLAYGROUND_LIVE_MARKDOWN=1 and one with 0, measured in the same rounds: each round streams the
same 20 KB markdown reply (64-character chunks, one every 5 ms: a fast model) through both, in
alternating order (AB, BA, ...), so a busy machine's drift hits both alike. Every chunk carries
the upstream's send time, so the delay from the upstream's write to this client's read is
known per chunk. CPU is what the app's workers used during a round, per stream. A third side,
the same stream read straight from the upstream by the same client, is the control: the delay
this machine adds with no app in between (its scheduler, the client's own reads).
"""

from __future__ import annotations

import http.client
import json
import time

from bench import procs
from bench.client import Direct, Playground, chat_body, sse_events
from bench.latency import TOKEN_TIME, direct_content
from bench.stats import median, percentile, spread, summary

PROMPT = "Write a long answer with code."


def stream_once(playground: Playground, model: str) -> dict:
    """One stream through the app: per-chunk relay delays, snapshots and bytes received."""
    try:
        response = playground.stream(model, PROMPT)
    except (OSError, http.client.HTTPException):  # a keep-alive the server closed: once more
        response = playground.stream(model, PROMPT)
    delays, snapshots, size, state = [], 0, 0, None
    for arrival, name, data in sse_events(response):
        size += len(data)
        if name == "content":
            delays += [(arrival - int(t)) / 1e6 for t in TOKEN_TIME.findall(json.loads(data))]
        elif name == "snapshot":
            snapshots += 1
        elif name == "result":
            state = json.loads(data).get("state")
    if response.status != 200 or state != "complete" or not delays:
        raise RuntimeError(f"stream through the app failed ({response.status}, {state})")
    return {"delays": delays, "snapshots": snapshots, "bytes": size}


def direct_once(direct: Direct, body: dict) -> list:
    """The same stream straight from the upstream: its per-chunk delays."""
    response = direct.stream(body)
    delays, last = [], ""
    for arrival, name, data in sse_events(response):
        text = direct_content(name, data)
        if text:
            delays += [(arrival - int(t)) / 1e6 for t in TOKEN_TIME.findall(text)]
        last = data
    if response.status != 200 or last.strip() != "[DONE]" or not delays:
        raise RuntimeError(f"the direct stream failed ({response.status})")
    return delays


def workers_cpu(app) -> float:
    return sum(v for pid, v in procs.tree_cpu(app.proc.pid).items() if pid != app.proc.pid)


def live_markdown(cfg) -> dict:
    """Stream cfg.live_streams replies per side per round through live-on and live-off apps."""
    model = f"bench/mdstream/{cfg.live_interval_ms}/{cfg.live_bytes}"
    sides = {"on": {}, "off": {}}
    upstream = procs.start_upstream("live-upstream")
    try:
        for side, flag in (("on", "1"), ("off", "0")):
            sides[side]["app"] = procs.start_app(
                upstream, f"live-{side}-gunicorn", cfg.workers,
                {**cfg.extra_env, "PLAYGROUND_LIVE_MARKDOWN": flag})
        for side in sides.values():
            side["client"] = Playground(side["app"].port)
        direct, body, control = Direct(upstream.port), chat_body(model, PROMPT, True), []
        for side in sides.values():  # warm-up: templates, lexers, pools; not counted
            for _ in range(2):
                stream_once(side["client"], model)
        direct_once(direct, body)
        for side in sides.values():
            side.update(delays=[], round_p99=[], round_cpu=[], snapshots=[], bytes=[])
        for round_no in range(cfg.rounds):
            order = ("on", "off") if round_no % 2 == 0 else ("off", "on")
            used = {name: 0.0 for name in sides}
            for i in range(cfg.live_streams):
                for name in order if i % 2 == 0 else order[::-1]:
                    side = sides[name]
                    before = workers_cpu(side["app"])
                    got = stream_once(side["client"], model)
                    used[name] += workers_cpu(side["app"]) - before
                    side["delays"] += got["delays"]
                    side["snapshots"].append(got["snapshots"])
                    side["bytes"].append(got["bytes"])
                    side.setdefault("this_round", []).extend(got["delays"])
                control += direct_once(direct, body)
            for name, side in sides.items():
                side["round_p99"].append(percentile(side.pop("this_round"), 99))
                side["round_cpu"].append(used[name] * 1000 / cfg.live_streams)
            time.sleep(0.2)
    finally:
        for side in sides.values():
            if "app" in side:
                side["app"].proc.stop()
        upstream.proc.stop()
    out: dict = {"model": model, "streams_per_side": cfg.rounds * cfg.live_streams,
                 "direct": {"relay_ms": summary(control)}}
    for name, side in sides.items():
        out[name] = {"relay_ms": summary(side["delays"]),
                     "relay_p99_rounds_ms": spread(side["round_p99"]),
                     "cpu_ms_per_stream": median(side["round_cpu"]),
                     "cpu_spread_ms": spread(side["round_cpu"]),
                     "snapshots_per_stream": median(side["snapshots"]),
                     "sse_bytes_per_stream": median(side["bytes"])}
    return out
