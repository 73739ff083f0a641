"""Two app processes (gunicorn, as `make serve` runs it) sharing one database.

A visitor's run made through one instance is listed, opened and shared through the other,
as behind a load balancer; simultaneous runs spread over both are all kept.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.helpers import SENTINEL_KEY
from tests.pg import free_port

ROOT = Path(__file__).resolve().parent.parent


def start(port: int, env: dict, log: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py",
               "--bind", f"127.0.0.1:{port}", "--workers", "1", "app:create_app()"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)


def wait_ready(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited:\n{log.read_text()}")
        try:
            if requests.get(f"{base}/healthz", timeout=5).ok:
                return
        except requests.RequestException:  # not listening yet, or a worker still booting
            time.sleep(0.1)
    pytest.fail(f"the app did not start:\n{log.read_text()}")


@pytest.fixture
def instances(db_url, upstream, tmp_path):
    env = {**os.environ, "DATABASE_URL": db_url, "FLASK_SECRET_KEY": "shared-by-both",
           "AIMLAPI_BASE_URL": upstream.base_url, "AIMLAPI_API_KEY": SENTINEL_KEY,
           "FLASK_UPSTREAM_TRUST_ENV": "false", "NO_PROXY": "127.0.0.1,localhost",
           "GUNICORN_LOGLEVEL": "warning",
           # one visitor sends 60 runs, 20 at a time: lift the per-visitor budgets
           "PLAYGROUND_RATE_LIMIT": "1000/minute", "PLAYGROUND_MAX_STREAMS_PER_CLIENT": "50"}
    bases, processes = [], []
    try:
        for name in ("a", "b"):
            port, log = free_port(), tmp_path / f"{name}.log"
            processes.append((start(port, env, log), log))
            bases.append(f"http://127.0.0.1:{port}")
        for base, (process, log) in zip(bases, processes, strict=True):
            wait_ready(base, process, log)
        yield bases
    finally:
        for process, _log in processes:
            process.terminate()
        for process, _log in processes:
            process.wait(timeout=30)


def browser() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=20))
    return session


def token(session: requests.Session, base: str) -> str:
    html = session.get(f"{base}/").text
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def test_a_run_made_on_one_instance_is_listed_and_shared_on_the_other(instances):
    a, b = instances
    me = browser()
    response = me.post(f"{a}/", data={"csrf_token": token(me, a), "model": "fake/ok",
                                      "prompt": "made on instance A"}, allow_redirects=False)
    assert response.status_code == 303
    path = response.headers["Location"]
    assert "made on instance A" in me.get(f"{b}/history").text
    assert "Hello! How can I help you today?" in me.get(f"{b}{path}").text

    shared = me.post(f"{b}{path}/share", data={"csrf_token": token(me, b)})
    link = re.search(r'id="share-url" value="([^"]+)"', shared.text).group(1)
    share_path = "/s/" + link.rsplit("/s/", 1)[1]
    stranger = browser()
    page = stranger.get(f"{a}{share_path}")
    assert page.status_code == 200 and "made on instance A" in page.text
    assert stranger.get(f"{b}{path}").status_code == 404  # the run itself stays private
    me.post(f"{a}{path}/revoke", data={"csrf_token": token(me, a)})
    assert stranger.get(f"{b}{share_path}").status_code == 404


def test_simultaneous_runs_on_both_instances_are_all_kept(instances):
    me = browser()
    csrf = token(me, instances[0])

    def run(i: int) -> int:
        base = instances[i % 2]
        return me.post(f"{base}/", data={"csrf_token": csrf, "model": "fake/ok",
                                         "prompt": f"parallel {i}"},
                       allow_redirects=False).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(run, range(60)))
    assert statuses == [303] * 60
    history = me.get(f"{instances[1]}/history?q=parallel").text
    assert "60 runs kept" in history
