"""Start, watch and always stop the processes a benchmark needs: fake upstream and gunicorn."""

from __future__ import annotations

import atexit
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
LOGS = RESULTS / "logs"
API_KEY = "sk-bench-dummy-key"
_live: list[Proc] = []


class Proc:
    """A child in its own process group, so stopping it also stops whatever it forked."""

    def __init__(self, name: str, args: list[str], env: dict | None = None,
                 stdout=subprocess.DEVNULL, stop_signal: int = signal.SIGTERM) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.name, self.stop_signal = name, stop_signal
        self.log_path = LOGS / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(args, cwd=REPO, env=env, stdout=stdout, stderr=self._log,
                                      start_new_session=True)
        _live.append(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        """Signal the group, then SIGKILL whatever is left after grace seconds."""
        for sig, wait in ((self.stop_signal, grace), (signal.SIGKILL, 2.0)):
            if not self.alive():
                break
            try:
                os.killpg(self.pid, sig)  # the group id is the pid: start_new_session=True
            except ProcessLookupError:
                break
            try:
                self.popen.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        self._log.close()
        if self in _live:
            _live.remove(self)


def stop_all() -> None:
    """Stop every child still running, newest first (the app before its upstream)."""
    for proc in reversed(list(_live)):
        proc.stop(grace=3.0)


atexit.register(stop_all)


def raise_nofile() -> None:
    """Lift the soft open-files limit to the hard one: 1000 streams need 2000+ sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env() -> dict:
    """This environment without proxies or playground settings that could leak into a run."""
    drop = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in drop and not k.startswith(("AIMLAPI_", "PLAYGROUND_", "FLASK_"))}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def get_json(url: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


@dataclass
class Upstream:
    proc: Proc
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict:
        return get_json(f"http://127.0.0.1:{self.port}/_stats")


def start_upstream(name: str = "upstream", timeout: float = 15.0) -> Upstream:
    """Start bench.upstream in its own process and read the port it bound."""
    proc = Proc(name, [sys.executable, "-m", "bench.upstream"], env=base_env(),
                stdout=subprocess.PIPE)
    ready, _, _ = select.select([proc.popen.stdout], [], [], timeout)
    line = proc.popen.stdout.readline().decode() if ready else ""
    if not line.startswith("PORT "):
        proc.stop()
        raise RuntimeError(f"fake upstream did not start; see {proc.log_path}")
    return Upstream(proc, int(line.split()[1]))


@dataclass
class App:
    proc: Proc
    port: int
    workers: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_app(upstream: Upstream, name: str = "gunicorn", workers: int = 2,
              extra_env: dict | None = None, timeout: float = 30.0) -> App:
    """Run the app as `make serve` does (gunicorn.conf.py, gevent), against the fake upstream."""
    database = LOGS.parent / f"{name}-runs.db"
    for leftover in LOGS.parent.glob(f"{name}-runs.db*"):
        leftover.unlink()  # every bench starts with an empty history
    env = base_env() | {"AIMLAPI_BASE_URL": upstream.base_url, "AIMLAPI_API_KEY": API_KEY,
                        "FLASK_SECRET_KEY": "bench-secret-not-for-production",
                        "WEB_CONCURRENCY": str(workers),
                        "DATABASE_URL": f"sqlite:///{database}",
                        # One client sends every run: the public budgets would refuse most of
                        # them; the bench measures the app's overhead, not its limits.
                        "PLAYGROUND_RATE_LIMIT": "10000000/minute",
                        "PLAYGROUND_DAILY_LIMIT": "100000000/day",
                        "PLAYGROUND_MAX_STREAMS_PER_CLIENT": "1000000",
                        **(extra_env or {})}
    for _attempt in range(3):  # another program may take the free port before gunicorn binds
        port = free_port()
        # --no-control-socket: gunicorn 27 otherwise shares ~/.gunicorn/gunicorn.ctl with any
        # other gunicorn on this machine (tests running beside the bench).
        proc = Proc(name, [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py",
                           "--bind", f"127.0.0.1:{port}", "--no-control-socket",
                           "app:create_app()"], env=env,
                    stop_signal=signal.SIGINT)  # gunicorn's quick shutdown: no 30 s grace
        if _wait_ready(proc, f"http://127.0.0.1:{port}/healthz", workers, timeout):
            return App(proc, port, workers)
        proc.stop()
    raise RuntimeError(f"gunicorn did not start; see {LOGS / name}.log")


def _wait_ready(proc: Proc, url: str, workers: int, timeout: float) -> bool:
    """Wait until the health check answers and every worker has booted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.alive():
        try:
            if get_json(url, timeout=1.0).get("ok") and len(tree_pids(proc.pid)) > workers:
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


@contextmanager
def stack(name: str, workers: int = 2, extra_env: dict | None = None):
    """Yield (app, upstream) freshly started, and stop both whatever happens."""
    upstream = start_upstream(f"{name}-upstream")
    try:
        app = start_app(upstream, f"{name}-gunicorn", workers, extra_env)
        try:
            yield app, upstream
        finally:
            app.proc.stop()
    finally:
        upstream.proc.stop()


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def tree_pids(root: int) -> list[int]:
    """The root and all its descendants (gunicorn master and workers)."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children(pid))
    return pids


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of every live process in the tree, by pid."""
    return {pid: cpu_seconds(pid) for pid in tree_pids(root)}


class RssSampler(threading.Thread):
    """Sample the summed VmRSS of a process tree until stopped; keep the peak."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_kib = self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            total = sum(rss_kib(pid) for pid in tree_pids(self.root))
            self.peak_kib = max(self.peak_kib, total)
            self.samples += 1
            self._stop_event.wait(self.interval)

    def stop(self) -> int:
        """Stop sampling and return the peak in KiB."""
        self._stop_event.set()
        self.join(2.0)
        return self.peak_kib
