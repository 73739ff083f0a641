"""Profile the app's stream path under load with py-spy; the top entries by own and total time.

The app runs on its own (a fresh gunicorn and fake upstream, no peers), and waves of concurrent
/stream runs go through it while py-spy samples both workers with --gil: only while a thread
holds the GIL, i.e. runs Python. (Without --gil py-spy counts gevent's thread-pool threads,
parked on a lock, as busy, though /proc shows they use no CPU: every bit of a worker's CPU is
its main thread.) The workers' CPU is read from /proc in the same run, so the samples can be
set against it. The raw profile (collapsed stacks, what flamegraph.pl and inferno read) stays
in bench/results/.
"""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from pathlib import Path

from bench import procs
from bench.concurrency import run_loadgen, summarise
from bench.peers.rounds import wave_options
from bench.peers.servers import VENV_BIN, Server

PROCESS = re.compile(r"^process (\d+):")
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def parse(text: str, master_pid: int) -> tuple[Counter, int, int]:
    """Collapsed stacks ("frame;frame;... count") of the workers; the total, and the master's.

    --subprocesses puts "process <pid>:..." frames first, a parent's before its child's; the
    master only waits for signals and is no part of the CPU per stream.
    """
    stacks: Counter = Counter()
    master = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        owners = [f for f in frames if PROCESS.match(f)]
        frames = [f for f in frames if not PROCESS.match(f)]
        owner = int(PROCESS.match(owners[-1]).group(1)) if owners else master_pid
        if owner == master_pid:
            master += int(count)
        elif frames:
            stacks[tuple(frames)] += int(count)
    return stacks, sum(stacks.values()), master


def own_and_total(stacks: Counter) -> tuple[Counter, Counter]:
    """Samples where each frame was running itself, and samples where it was on the stack."""
    own, total = Counter(), Counter()
    for frames, count in stacks.items():
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    return own, total


def package(frame: str) -> str:
    """The package, module or app module a frame's file belongs to: "sqlalchemy", "socket",
    "playground.store", "templates"."""
    match = FRAME.match(frame)
    path = match.group("file") if match else frame
    path = re.sub(r"^.*/(site-packages|lib/python3\.\d+)/", "", path)
    if path.startswith("<frozen "):
        return path.removeprefix("<frozen ").rstrip(">")
    if path.endswith(".html"):
        return "templates (Jinja)"
    parts = Path(path).parts
    if not parts:
        return "?"
    if parts[0] in ("playground", "bench") or path == "app.py":
        return path.removesuffix(".py").replace("/", ".")
    return parts[0].removesuffix(".py")


def top(counter: Counter, samples: int, cpu_ms: float, limit: int) -> list[dict]:
    return [{"frame": frame, "share": count / samples, "ms_per_stream": count / samples * cpu_ms}
            for frame, count in counter.most_common(limit)]


def summarise_profile(text: str, master_pid: int, cpu_ms_per_stream: float,
                      limit: int = 15) -> dict:
    """Top frames by own and by total samples, and own samples by package.

    A frame's milliseconds per stream are its share of the samples times the workers' CPU per
    stream from /proc: with --gil a sample is a worker running Python, but on a busy machine
    a thread can hold the GIL while it waits for a core, so samples count wall time, not CPU.
    """
    stacks, samples, master = parse(text, master_pid)
    if not samples:
        return {"samples": 0, "master_samples": master}
    own, total = own_and_total(stacks)
    by_package: Counter = Counter()
    for frame, count in own.items():
        by_package[package(frame)] += count
    return {"samples": samples, "master_samples": master,
            "own": top(own, samples, cpu_ms_per_stream, limit),
            "total": top(total, samples, cpu_ms_per_stream, limit + 10),
            "packages": top(by_package, samples, cpu_ms_per_stream, limit)}


def _attached(proc: procs.Proc, said: Path, timeout: float = 20.0) -> bool:
    """Wait for py-spy to say (on stdout) that it is sampling: it has attached to the workers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.alive():
        try:
            if b"Sampling process" in said.read_bytes():
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _waves(app: procs.App, opts: dict, cfg, ideal_ms: float) -> tuple[float, float, list]:
    """cfg.profile_waves waves through the app: workers' and master's CPU ms per stream."""
    before = procs.tree_cpu(app.proc.pid)
    waves = []
    for _ in range(cfg.profile_waves):
        waves.append(summarise(run_loadgen(opts | {"n": cfg.profile_n}), cfg.profile_n,
                               ideal_ms))
        time.sleep(cfg.settle_s)
    after = procs.tree_cpu(app.proc.pid)
    streams = cfg.profile_n * cfg.profile_waves
    workers = sum(after[pid] - before.get(pid, 0.0) for pid in after if pid != app.proc.pid)
    master = after.get(app.proc.pid, 0.0) - before.get(app.proc.pid, 0.0)
    return workers * 1000 / streams, master * 1000 / streams, waves


def profile(cfg, stamp: str) -> dict:
    """Waves of cfg.profile_n streams through a fresh app, without py-spy, then with it."""
    raw = procs.RESULTS / f"profile-{stamp}.txt"
    model = f"bench/stream/{cfg.c_interval_ms}/{cfg.c_tokens}"
    ideal_ms = cfg.c_interval_ms * cfg.c_tokens
    with procs.stack("peers-profile", cfg.workers, cfg.extra_env) as (app, upstream):
        server = Server("app", app.port, path="/stream", proc=app.proc)
        opts = wave_options(server, model, cfg.c_tokens, ideal_ms / 1000 + cfg.c_timeout_s)
        run_loadgen(wave_options(server, f"bench/stream/5/{cfg.c_tokens}", cfg.c_tokens, 60)
                    | {"n": cfg.profile_n})  # warm-up, not counted
        # The same waves without the profiler first: what sampling itself costs the workers.
        plain_ms, _, _ = _waves(app, opts, cfg, ideal_ms)
        said = procs.LOGS / "peers-py-spy.out"
        with open(said, "wb") as stdout:  # Popen keeps its own copy of the descriptor
            spy = procs.Proc("peers-py-spy", [
                str(VENV_BIN / "py-spy"), "record", "--pid", str(app.proc.pid),
                "--subprocesses", "--function", "--gil", "--rate", str(cfg.profile_rate),
                "--format", "raw", "--output", str(raw)], env=procs.base_env(),
                stdout=stdout, stop_signal=signal.SIGINT)
        try:
            if not _attached(spy, said):
                raise RuntimeError(f"py-spy did not attach; see {spy.log_path}")
            cpu_ms, master_ms, waves = _waves(app, opts, cfg, ideal_ms)
        finally:
            spy.stop(grace=30.0)  # SIGINT: py-spy writes the profile, then exits
    text = raw.read_text() if raw.exists() else ""
    return {"raw": str(raw.relative_to(procs.REPO)), "model": model,
            "streams": cfg.profile_n * cfg.profile_waves, "profile_n": cfg.profile_n,
            "rate_hz": cfg.profile_rate, "workers_cpu_ms_per_stream": cpu_ms,
            "workers_cpu_ms_per_stream_unprofiled": plain_ms,
            "master_cpu_ms_per_stream": master_ms,
            "errors": sum(w["errors"] for w in waves),
            "share_of_ideal": [round(w["throughput_of_ideal"], 3) for w in waves],
            **summarise_profile(text, app.proc.pid, cpu_ms)}


def markdown(result: dict) -> str:
    """The profile's three tables: own time, total time, own time by package."""
    if not result.get("samples"):
        return f"(no profile: {result.get('error', 'py-spy recorded no samples')})"
    lines = [f"py-spy --gil, {result['rate_hz']} Hz: {result['samples']:,} samples of the "
             f"workers running Python while they served {result['streams']} streams "
             f"({result['model']}, {result['profile_n']} at a time, {result['errors']} errors). "
             f"The workers' CPU per stream (/proc, same run): "
             f"{result['workers_cpu_ms_per_stream']:.2f} ms while sampled, "
             f"{result['workers_cpu_ms_per_stream_unprofiled']:.2f} ms in the same waves just "
             f"before without py-spy (master {result['master_cpu_ms_per_stream']:.2f} ms). "
             "\"ms per stream\" below is a frame's share of the samples times the sampled "
             "CPU per stream; time spent with the GIL released (system calls: socket send and "
             "receive, the event loop's poll) is spread over the Python frames."]
    for key, title in (("own", "own time (the frame itself was running)"),
                       ("total", "total time (the frame was on the stack)"),
                       ("packages", "own time by package or app module")):
        lines += ["", f"Top by {title}:", "", "| share | ms per stream | frame |",
                  "|---:|---:|---|"]
        lines += [f"| {e['share']:.1%} | {e['ms_per_stream']:.2f} | `{e['frame']}` |"
                  if e["ms_per_stream"] is not None else
                  f"| {e['share']:.1%} | n/a | `{e['frame']}` |" for e in result[key]]
    return "\n".join(lines)
