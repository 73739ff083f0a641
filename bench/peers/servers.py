"""Start the peers (LiteLLM proxy, Portkey gateway) against the fake upstream, offline.

Each peer comes from its own environment under bench/peers/ (``.venv`` for LiteLLM, and
``node_modules`` from the committed lockfile for Portkey), never from the app's requirements.
Every setting that would make a peer reach the internet is turned off here, and the bench runs
in a network namespace with nothing but loopback when it can (``bench/peers/__main__.py``).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench import procs

HERE = Path(__file__).resolve().parent
VENV_BIN = HERE / ".venv" / "bin"
NODE_MODULES = HERE / "node_modules"
GATEWAY = NODE_MODULES / "@portkey-ai" / "gateway"
LABELS = {"app": "this app", "litellm": "LiteLLM", "portkey": "Portkey", "direct": "direct"}

# LiteLLM fetches its cost map, blog feed, policy templates, router presets and Anthropic beta
# headers from GitHub unless told to use the copies it ships; telemetry is a no-op since 1.7x.
LITELLM_OFFLINE = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
    "DISABLE_SCHEMA_UPDATE": "True",
}
# What a peer prints when it tried to reach a host and could not: none may appear in its log.
REACHED_OUT = re.compile(r"Failed to fetch|ConnectError|ENOTFOUND|EAI_AGAIN|ENETUNREACH|"
                         r"getaddrinfo|Name or service not known|Network is unreachable|"
                         r"Temporary failure in name resolution", re.IGNORECASE)


@dataclass
class Server:
    """One thing the clients call: the app, a peer, or the fake upstream itself ("direct")."""

    name: str
    port: int
    path: str = "/v1/chat/completions"
    headers: dict = field(default_factory=dict)  # a peer's key and routing headers
    proc: procs.Proc | None = None  # None for direct: the upstream is not measured as a server

    @property
    def label(self) -> str:
        return LABELS[self.name]

    @property
    def root_pid(self) -> int | None:
        return self.proc.pid if self.proc else None


def missing() -> list[str]:
    """What `make bench-peers` has not installed yet."""
    wanted = {"LiteLLM (bench/peers/.venv)": VENV_BIN / "litellm",
              "py-spy (bench/peers/.venv)": VENV_BIN / "py-spy",
              "Portkey gateway (bench/peers/node_modules)": GATEWAY / "build" / "start-server.js"}
    return [name for name, path in wanted.items() if not path.exists()]


def versions() -> dict:
    """The version of every part under test, read from the installed packages."""
    def package(path: Path) -> str | None:
        try:
            return json.loads(path.read_text())["version"]
        except (OSError, ValueError, KeyError):
            return None

    def run(*args: str) -> str | None:
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=30,
                                  check=True).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return None

    found = run(str(VENV_BIN / "python"), "-c",
                "import importlib.metadata as m; print(' '.join(m.version(p) for p in "
                "('litellm', 'uvicorn', 'fastapi')))")
    litellm, uvicorn, fastapi = (found.split() if found else [None] * 3)
    return {"litellm": litellm, "litellm_uvicorn": uvicorn, "litellm_fastapi": fastapi,
            "portkey_gateway": package(GATEWAY / "package.json"),
            "hono_node_server": package(NODE_MODULES / "@hono" / "node-server" / "package.json"),
            "hono": package(NODE_MODULES / "hono" / "package.json"),
            "node": run("node", "--version"),
            "py_spy": (run(str(VENV_BIN / "py-spy"), "--version") or "").split()[-1] or None}


def _wait(proc: procs.Proc, url: str, timeout: float, headers: dict | None = None) -> bool:
    """Poll url until it answers 2xx, the process dies, or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.alive():
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=2.0) as response:
                if 200 <= response.status < 300:
                    return True
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    return False


def start_litellm(upstream: procs.Upstream, timeout: float = 120.0) -> Server:
    """The LiteLLM proxy (uvicorn, its default single worker), every bench/* model to upstream."""
    key = f"sk-{secrets.token_hex(32)}"  # it refuses to start without a strong master key
    config = procs.RESULTS / "litellm.yaml"
    # A wildcard route: the model name picks the fake upstream's scenario, as for the app.
    config.write_text(
        "model_list:\n"
        '  - model_name: "bench/*"\n'
        "    litellm_params:\n"
        '      model: "openai/bench/*"\n'
        f'      api_base: "{upstream.base_url}"\n'
        f'      api_key: "{procs.API_KEY}"\n')
    env = procs.base_env() | LITELLM_OFFLINE | {"LITELLM_MASTER_KEY": key}
    env.pop("DATABASE_URL", None)  # no database: the proxy keeps no keys, spend or logs
    port = procs.free_port()
    proc = procs.Proc("peers-litellm", [str(VENV_BIN / "litellm"), "--config", str(config),
                                        "--host", "127.0.0.1", "--port", str(port)], env=env,
                      stop_signal=signal.SIGINT)  # uvicorn's quick shutdown
    if not _wait(proc, f"http://127.0.0.1:{port}/health/liveliness", timeout):
        proc.stop()
        raise RuntimeError(f"LiteLLM did not start; see {proc.log_path}")
    return Server("litellm", port, headers={"Authorization": f"Bearer {key}"}, proc=proc)


def start_portkey(upstream: procs.Upstream, timeout: float = 60.0) -> Server:
    """The Portkey gateway on Node, on 127.0.0.1 only, routed to upstream by its headers."""
    port = procs.free_port()
    env = procs.base_env()
    # listen-local.mjs pins the listening address: start-server.js has no host option.
    proc = procs.Proc("peers-portkey",
                      ["node", "--import", str(HERE / "listen-local.mjs"),
                       str(GATEWAY / "build" / "start-server.js"), f"--port={port}",
                       "--headless"], env=env)
    if not _wait(proc, f"http://127.0.0.1:{port}/", timeout):
        proc.stop()
        raise RuntimeError(f"Portkey did not start; see {proc.log_path}")
    headers = {"Authorization": f"Bearer {procs.API_KEY}", "x-portkey-provider": "openai",
               "x-portkey-custom-host": upstream.base_url}
    return Server("portkey", port, headers=headers, proc=proc)


STARTERS = {"litellm": start_litellm, "portkey": start_portkey}


def listening(pids: list[int]) -> list[str]:
    """Every address:port the given processes listen on (TCP, IPv4 and IPv6)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        try:
            lines = Path(f"/proc/{pids[0]}/net/{table}").read_text().splitlines()[1:]
        except (OSError, IndexError):
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address, port = fields[1].split(":")
                found.append(f"{_address(address, width)}:{int(port, 16)}")
    return sorted(set(found))


def _address(hex_address: str, width: int) -> str:
    """/proc/net/tcp's little-endian hex address as text."""
    if width == 8:
        return ".".join(str(int(hex_address[i:i + 2], 16)) for i in (6, 4, 2, 0))
    words = [hex_address[i:i + 8] for i in range(0, 32, 8)]
    raw = b"".join(bytes.fromhex(w)[::-1] for w in words)
    return f"[{ipaddress.IPv6Address(raw)}]"


def loopback_only(addresses: list[str]) -> bool:
    return bool(addresses) and all(a.startswith(("127.", "[::1]", "[::ffff:127."))
                                   for a in addresses)


def reached_out(server: Server) -> list[str]:
    """Lines of a peer's log saying it tried to reach the internet (none expected)."""
    if server.proc is None:
        return []
    try:
        text = server.proc.log_path.read_text(errors="replace")
    except OSError:
        return []
    return [line.strip()[:200] for line in text.splitlines() if REACHED_OUT.search(line)]


def routes_out() -> int:
    """How many routes this network namespace has besides loopback (0 in the bench's own)."""
    count = 0
    for table in ("/proc/net/route", "/proc/net/ipv6_route"):
        try:
            lines = Path(table).read_text().splitlines()
        except OSError:
            continue
        rows = lines[1:] if table.endswith("/route") else lines
        count += sum(1 for row in rows if row.split() and row.split()[-1] != "lo")
    return count
