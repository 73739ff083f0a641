"""Run Get code's snippets as a person would: written to a file, executed by its own program.

Each snippet runs in a clean environment (no proxies, a throwaway HOME) with the key and the
base URL of the fake upstream in ``AIMLAPI_API_KEY`` and ``AIMLAPI_BASE_URL``. A missing
program or package fails the test that needs it: ``make test`` installs them.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from playground.codegen import Snippet
from tests.fake_upstream import GATE_FIRST
from tests.helpers import SENTINEL_KEY

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # seconds for one snippet; a 200 KB prompt through an SDK takes about one


@dataclass
class Ran:
    """What a snippet did: its exit code and output, and whether text came before the rest."""

    returncode: int
    stdout: str
    stderr: str
    early: bool | None = None  # the first words were printed while the rest was held back


def program(snippet: Snippet) -> list[str]:
    """The command that runs this snippet's language, or fail saying how to install it."""
    if snippet.lang == "bash":
        for tool in ("bash", "curl"):
            if not shutil.which(tool):
                pytest.fail(f"{tool} is missing: install it to run the curl snippet")
        return ["bash"]
    if snippet.lang == "python":
        module = "openai" if snippet.key == "python-openai" else "requests"
        try:
            __import__(module)
        except ImportError:
            pytest.fail(f"the Python package {module} is missing: pip install -r "
                        "requirements-dev.txt")
        return [sys.executable]
    node = shutil.which("node")
    if not node:
        pytest.fail("node is missing: run tests/provision.sh node")
    if snippet.key == "node-openai" and not (REPO / "node_modules" / "openai").is_dir():
        pytest.fail("the npm package openai is missing: run npm ci")
    return [node]


def environment(home: Path, **variables: str | None) -> dict:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "NO_PROXY": "*", "no_proxy": "*"}
    env.update({k: v for k, v in variables.items() if v is not None})
    return env


def write(snippet: Snippet, folder: Path, filename: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (filename or snippet.filename)
    path.write_text(snippet.code, encoding="utf-8")
    if snippet.key == "node-openai" and not (folder / "node_modules").exists():
        # As after `npm install openai` in that folder: ES modules ignore NODE_PATH.
        (folder / "node_modules").symlink_to(REPO / "node_modules")
    return path


def run(snippet: Snippet, folder: Path, *, upstream=None, filename: str | None = None,
        gate: bool = False, **variables: str | None) -> Ran:
    """Execute ``snippet``; with ``gate``, open the fake upstream's gate only once the first
    words are on stdout (or after 20 s), recording which came first."""
    command = [*program(snippet), str(write(snippet, folder, filename))]
    defaults = {"AIMLAPI_API_KEY": SENTINEL_KEY,
                "AIMLAPI_BASE_URL": upstream.base_url if upstream else None}
    env = environment(folder, **{**defaults, **variables})
    if not gate:
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True,
                              timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        return Ran(done.returncode, done.stdout.decode("utf-8", "replace"),
                   done.stderr.decode("utf-8", "replace"))
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    pieces: queue.Queue[bytes] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(process.stdout, pieces), daemon=True)
    reader.start()
    seen, deadline = b"", time.monotonic() + 20
    while GATE_FIRST.strip().encode() not in seen and time.monotonic() < deadline:
        try:
            seen += pieces.get(timeout=0.05)
        except queue.Empty:
            if process.poll() is not None and not reader.is_alive():
                break
    early = GATE_FIRST.strip().encode() in seen
    upstream.gate.set()
    try:
        process.wait(timeout=TIMEOUT)
    finally:
        process.kill()
    reader.join(timeout=10)
    while not pieces.empty():
        seen += pieces.get()
    return Ran(process.returncode, seen.decode("utf-8", "replace"),
               process.stderr.read().decode("utf-8", "replace"), early)


def _pump(stream, pieces: queue.Queue) -> None:
    while chunk := os.read(stream.fileno(), 65536):
        pieces.put(chunk)


def printed_text(snippet: Snippet, stdout: str) -> str:
    """The reply text as the person reads it; curl prints the raw JSON or event lines."""
    if snippet.key != "curl":
        return stdout
    if stdout.lstrip().startswith("{"):
        lines = []
        for choice in json.loads(stdout)["choices"]:
            message = choice["message"]
            lines.append(message.get("content") or "")
            lines += [f"tool call: {c['function']['name']} {c['function']['arguments']}"
                      for c in message.get("tool_calls") or []]
        return "\n".join(lines) + "\n"
    text = ""
    for line in stdout.splitlines():
        data = line.removeprefix("data:").strip() if line.startswith("data:") else ""
        if data and data != "[DONE]":
            for choice in json.loads(data).get("choices") or []:
                text += (choice.get("delta") or {}).get("content") or ""
    return text + "\n"
