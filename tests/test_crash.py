"""Nothing lost, even on a crash: real gunicorn (gevent workers), real signals, real databases.

A run is written when it starts, its text is saved as it streams, and it is finished when it
ends. A worker killed with SIGKILL leaves a "running" row whose heartbeat stops: it reads back
as interrupted, with the text received so far. SIGTERM lets streams finish, or saves them as
"shutdown" just before the graceful timeout. A database that goes away costs a run nothing
but its place in the history.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from playground.store import engine_for, runs
from tests.fake_upstream import HOLD_TEXT, chunk
from tests.helpers import SENTINEL_KEY, Page, form, sse_events, submit
from tests.pg import free_port

ROOT = Path(__file__).resolve().parent.parent
QUICK = " ".join(f"quick{i}" for i in range(30))  # ~1.5 s at 0.05 s a word
SLOW = " ".join(f"slow{i}" for i in range(200))  # ~50 s at 0.25 s a word


@pytest.fixture
def held(upstream):
    """The fake upstream, with every fake/hold reply let go at the end of the test."""
    yield upstream
    upstream.release.set()


# -- gunicorn, as `make serve` runs it ---------------------------------------------------------
class Gunicorn:
    """One gunicorn master with gevent workers, its log, and its workers' pids."""

    def __init__(self, tmp_path: Path, env: dict, *args: str) -> None:
        self.port, self.log = free_port(), tmp_path / "gunicorn.log"
        self.base = f"http://127.0.0.1:{self.port}"
        command = [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py",
                   "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                   "--no-control-socket", *args, "app:create_app()"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log.open("wb"),
                                        stderr=subprocess.STDOUT)
        self.wait_ready()

    def workers(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited:\n{self.log.read_text()}")
            try:
                if self.workers() and requests.get(f"{self.base}/healthz", timeout=5).ok:
                    return
            except requests.RequestException:  # not listening yet, or a worker booting
                pass
            time.sleep(0.1)
        pytest.fail(f"gunicorn did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


@pytest.fixture
def gunicorn(tmp_path, upstream):
    """Start gunicorn against the fake upstream with ``env`` and command-line ``args``."""
    started: list[Gunicorn] = []

    def start(database: str, *args: str, **env: str) -> Gunicorn:
        environ = {**os.environ, "DATABASE_URL": database, "FLASK_SECRET_KEY": "crash-tests",
                   "AIMLAPI_BASE_URL": upstream.base_url, "AIMLAPI_API_KEY": SENTINEL_KEY,
                   "FLASK_UPSTREAM_TRUST_ENV": "false", "NO_PROXY": "127.0.0.1,localhost",
                   "PLAYGROUND_RATE_LIMIT": "1000/minute",
                   "PLAYGROUND_MAX_STREAMS_PER_CLIENT": "50", **env}
        server = Gunicorn(tmp_path, environ, *args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def visitor(base: str) -> tuple[requests.Session, str]:
    """A browser: its session (cookies) and the form's CSRF token."""
    session = requests.Session()
    session.trust_env = False
    html = session.get(f"{base}/").text
    return session, re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def open_stream(session, base: str, csrf: str, model: str, prompt: str):
    response = session.post(f"{base}/stream", data={"csrf_token": csrf, "model": model,
                                                   "prompt": prompt}, stream=True, timeout=60)
    assert response.status_code == 200
    return response


def sse(response: requests.Response):
    """The SSE events of a requests response, as they arrive (one reader per response)."""
    buffer = ""
    for piece in response.iter_content(chunk_size=None, decode_unicode=True):
        buffer += piece
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            yield block.split("\n", 1)[0].removeprefix("event: "), \
                json.loads(block.split("data: ", 1)[1])


def read_until(events, text: str) -> list:
    """Events up to and including the content delta that contains ``text``."""
    got = []
    for name, data in events:
        got.append((name, data))
        if name == "content" and text in data:
            break
    return got


def wait_for(check, timeout: float = 15.0, every: float = 0.1):
    """Poll ``check`` until it returns something true; fail with the last value."""
    deadline, value = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"gave up waiting; last seen: {str(value)[:500]}")


class Fetched:
    """HTML from elsewhere (a requests response, an event's data), read as ``Page`` reads."""

    def __init__(self, text: str, status_code: int = 200) -> None:
        self.status_code, self.text = status_code, text

    def get_data(self, as_text: bool = True) -> str:
        return self.text


def page_of(response: requests.Response) -> Page:
    return Page(Fetched(response.text, response.status_code))


def run_link(session, base: str, prompt: str) -> str | None:
    history = page_of(session.get(f"{base}/history", timeout=10))
    for link in history.soup.select(".run-link"):
        if link.get_text().strip() == prompt:
            return link["href"]
    return None


# -- SIGKILL: the run reads back as interrupted, with its text ----------------------------------
def test_a_worker_killed_mid_stream_leaves_an_interrupted_run_with_its_text(gunicorn, held,
                                                                             db_url):
    server = gunicorn(db_url, PLAYGROUND_INTERRUPTED_AFTER="2")
    me, csrf = visitor(server.base)
    stream = sse(open_stream(me, server.base, csrf, "fake/hold", "Kill me mid-reply"))
    read_until(stream, "far.")
    path = wait_for(lambda: run_link(me, server.base, "Kill me mid-reply"))
    # While it runs, its page (no JavaScript needed) shows the text so far and "Running".
    page = wait_for(lambda: (p := page_of(me.get(server.base + path))).text(".reply")
                    == HOLD_TEXT and p)
    assert page.text(".result-head .pill") == "Running"
    assert "Still running" in page.text(".banner-running")
    assert page.soup.select_one(".banner-running a")["href"] == path  # Refresh
    (worker,) = server.workers()
    os.kill(worker, signal.SIGKILL)
    with contextlib.suppress(requests.RequestException):
        list(stream)  # the browser's stream is cut
    wait_for(lambda: server.workers() and server.workers() != [worker])
    server.wait_ready()
    page = wait_for(lambda: (p := page_of(me.get(server.base + path, timeout=10)))
                    .text(".result-head .pill") == "Interrupted" and p)
    assert page.text(".reply") == HOLD_TEXT
    assert "Interrupted: the server stopped reporting on this run" in page.text(".banner-warn")
    history = page_of(me.get(f"{server.base}/history?state=interrupted"))
    assert history.all_text(".run-link") == ["Kill me mid-reply"]
    assert history.all_text(".run-row .pill") == ["Interrupted"]


# -- SIGTERM: streams finish within the graceful timeout, or are saved as "shutdown" ------------
def test_sigterm_with_streams_in_flight_loses_none(gunicorn, held, db_url):
    held.scenarios["crash/quick"] = lambda h, model: h.stream_text(model, QUICK, delay=0.05)
    held.scenarios["crash/slow"] = lambda h, model: h.stream_text(model, SLOW, delay=0.25)
    # gunicorn kills a worker 6 s after SIGTERM; the app saves what is left 2 s before that.
    server = gunicorn(db_url, "--graceful-timeout", "6")
    me, csrf = visitor(server.base)
    plan = {f"quick {i}": "crash/quick" for i in range(3)}
    plan |= {f"slow {i}": "crash/slow" for i in range(2)}
    plan["held"] = "fake/hold"
    first = {prompt: threading.Event() for prompt in plan}
    results: dict = {}

    def one(prompt: str, model: str) -> None:
        events: list = []
        try:
            stream = sse(open_stream(me, server.base, csrf, model, prompt))
            events = read_until(stream, model.split("/")[1].replace("hold", "Partial"))
            first[prompt].set()
            events += list(stream)
        except requests.RequestException:
            pass  # the connection was cut by the shutdown
        results[prompt] = dict(events).get("result")

    threads = [threading.Thread(target=one, args=item) for item in plan.items()]
    for thread in threads:
        thread.start()
    for prompt, event in first.items():  # every stream has its first words: all in flight
        assert event.wait(timeout=30), f"{prompt} never started"
    server.process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=30)
    assert server.process.wait(timeout=30) == 0
    engine = engine_for(db_url)
    with engine.connect() as conn:
        rows = {row.prompt: row for row in conn.execute(sa.select(runs))}
    engine.dispose()
    assert sorted(rows) == sorted(plan)  # none lost
    for i in range(3):
        assert rows[f"quick {i}"].state == "complete" and rows[f"quick {i}"].reply == QUICK
        assert results[f"quick {i}"]["state"] == "complete"
    for prompt in ("slow 0", "slow 1"):
        row = rows[prompt]
        assert row.state == "shutdown" and row.reply.startswith("slow0 slow1 ")
        assert "slow199" not in row.reply
        # Saved whole (events, timings), and the browser was told how its run ended.
        assert json.loads(row.data)["state"] == "shutdown" and row.latency_ms > 3000
        assert results[prompt]["state"] == "shutdown" and results[prompt]["url"]
        assert "Stopped by the server" in results[prompt]["html"]
    assert rows["held"].state == "shutdown" and rows["held"].reply == HOLD_TEXT


# -- in one process: the running page, and a database that fails --------------------------------
def consume(client, events: list, **fields) -> threading.Thread:
    """POST the form to /stream and read the reply on a thread of its own, as a tab would."""
    data = form(client, **fields)

    def read() -> None:  # a streamed Flask response is read on the thread that requested it
        events.extend(sse_events(client.post("/stream", data=data, buffered=False)))

    thread = threading.Thread(target=read)
    thread.start()
    return thread


def test_a_running_runs_page_shows_its_text_and_the_follow_endpoint_its_end(make_app, held):
    app = make_app(PLAYGROUND_SINGLE_USER=True, UPSTREAM_READ_TIMEOUT=30.0)
    client, events = app.test_client(), []
    reader = consume(client, events, model="fake/hold", prompt="Follow me")
    run_id = wait_for(lambda: [r.id for r in app.extensions["runs"].history("local").rows])[0]
    page = wait_for(lambda: (p := Page(client.get(f"/runs/{run_id}"))).text(".reply")
                    == HOLD_TEXT and p)
    assert page.text(".result-head .pill") == "Running"
    banner = page.soup.select_one(".banner-running")
    assert banner["data-follow-url"] == f"/runs/{run_id}/follow"
    assert banner.select_one("a").get_text() == "Refresh"
    state = client.get(f"/runs/{run_id}/follow").get_json()
    assert (state["state"], state["label"], state["finished"]) == ("running", "Running", False)
    assert HOLD_TEXT in state["html"]
    stranger = make_app(PLAYGROUND_SINGLE_USER=False).test_client()
    assert stranger.get(f"/runs/{run_id}/follow").status_code == 404
    held.release.set()
    reader.join(timeout=10)
    assert dict(events)["result"]["state"] == "complete"
    response = client.get(f"/runs/{run_id}/follow")
    assert response.headers["Cache-Control"] == "private, no-store"
    state = response.get_json()
    assert (state["state"], state["label"], state["finished"]) == ("complete", "Done", True)
    assert f"{HOLD_TEXT} And the rest." in state["html"]
    assert "data-follow-url" not in state["html"]


def test_a_non_streamed_run_is_running_while_the_provider_thinks(make_app, upstream):
    upstream.slow_seconds = 1.5
    app = make_app(PLAYGROUND_SINGLE_USER=True, UPSTREAM_READ_TIMEOUT=5.0)
    client, done = app.test_client(), []
    thread = threading.Thread(target=lambda: done.append(submit(client, model="fake/slow",
                                                                prompt="Think slowly")))
    thread.start()
    history = wait_for(lambda: (p := Page(client.get("/history"))).all_text(".run-row .pill")
                       and p)
    assert history.all_text(".run-row .pill") == ["Running"]
    assert history.all_text(".run-link") == ["Think slowly"]
    thread.join(timeout=10)
    assert done[0].text(".result-head .pill") == "Done"
    assert Page(client.get("/history")).all_text(".run-row .pill") == ["Complete"]


def test_sqlite_down_at_start_then_back_is_used_again(make_app, upstream, tmp_path, caplog):
    folder = tmp_path / "not-yet"
    app = make_app(DATABASE_URL=f"sqlite:///{folder / 'runs.db'}", PLAYGROUND_SINGLE_USER=True)
    client = app.test_client()
    page = submit(client, prompt="while it is down")
    assert page.status == 200 and "Hello! How can I help you today?" in page.text(".reply")
    assert "could not be saved" in page.text(".banner-warn")
    result = dict(sse_events(client.post("/stream", data=form(client))))["result"]
    card = Page(Fetched(result["html"]))  # the notice, then the result card as usual (not escaped)
    assert result["url"] is None and "could not be saved" in card.text(".banner-warn")
    assert "Hello! How can I help you today?" in card.text("article.result .reply")
    # Not saved, nothing could load a panel later: each is drawn in full, Get code included.
    assert card.soup.select_one("[data-panel-url]") is None and card.text("#code-curl")
    history = client.get("/history")
    assert history.status_code == 503 and "History unavailable" in history.get_data(as_text=True)
    assert "could not write a run as it started" in caplog.text
    folder.mkdir()  # the database is back
    page = submit(client, prompt="once it is back")
    assert page.response.history and page.response.history[0].status_code == 303
    assert Page(client.get("/history")).all_text(".run-link") == ["once it is back"]


class Outage:
    """A TCP relay in front of PostgreSQL that a test can cut and restore (a real outage)."""

    def __init__(self, target_port: int) -> None:
        self.target, self.port = target_port, free_port()
        self.links: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def down(self) -> None:
        listener, self.listener = self.listener, None
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below: close() alone won't
        listener.close()
        for link in self.links:
            with contextlib.suppress(OSError):
                link.shutdown(socket.SHUT_RDWR)
            link.close()
        self.links.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            self.links += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def outage(pg_url):
    """pg_url reached through a relay: (the relay, the URL through it)."""
    url = sa.make_url(pg_url)
    relay = Outage(url.port)
    yield relay, url.set(port=relay.port).render_as_string(hide_password=False)
    if relay.listener is not None:
        relay.down()


def test_postgresql_down_at_start_then_back_is_migrated_and_used(make_app, upstream, outage):
    relay, url = outage
    relay.down()
    app = make_app(DATABASE_URL=url, PLAYGROUND_SINGLE_USER=True)
    client = app.test_client()
    page = submit(client, prompt="while it is down")
    assert page.status == 200 and "could not be saved" in page.text(".banner-warn")
    assert client.get("/history").status_code == 503
    relay.up()
    page = submit(client, prompt="once it is back")
    assert page.response.history and page.text(".result-head .pill") == "Done"
    assert Page(client.get("/history")).all_text(".run-link") == ["once it is back"]


def test_postgresql_down_mid_stream_shows_the_reply_and_keeps_the_text_so_far(
        make_app, held, outage, caplog):
    relay, url = outage
    app = make_app(DATABASE_URL=url, PLAYGROUND_SINGLE_USER=True,
                   PLAYGROUND_INTERRUPTED_AFTER=1.0, UPSTREAM_READ_TIMEOUT=30.0)
    store, client, events = app.extensions["runs"], app.test_client(), []
    reader = consume(client, events, model="fake/hold", prompt="Outage mid-reply")
    run_id = wait_for(lambda: [r.id for r in store.history("local").rows])[0]
    wait_for(lambda: store.get(run_id, "local")[0].reply == HOLD_TEXT)
    relay.down()
    held.release.set()
    reader.join(timeout=20)
    result = dict(events)["result"]
    assert result["url"] is None and result["state"] == "complete"
    card = Page(Fetched(result["html"]))
    assert "could not be saved" in card.text(".banner-warn")
    assert card.text(".reply") == f"{HOLD_TEXT} And the rest."  # the visitor gets the reply
    assert "could not save a run" in caplog.text
    relay.up()
    # The row kept what was saved before the outage; it never finished, so it reads back as
    # interrupted once its heartbeat is a second old.
    page = wait_for(lambda: (p := Page(client.get(f"/runs/{run_id}")))
                    .text(".result-head .pill") == "Interrupted" and p)
    assert page.text(".reply") == HOLD_TEXT
    assert submit(client, prompt="after the outage").response.history  # saved again


def test_the_stream_writes_its_row_after_the_first_delta_has_gone_out(make_app, held):
    """The INSERT is never between the provider's first token and the browser."""
    app = make_app(PLAYGROUND_SINGLE_USER=True, UPSTREAM_READ_TIMEOUT=30.0)
    store, client = app.extensions["runs"], app.test_client()

    def first_then_wait(h, model: str) -> None:
        h.start_sse()
        h.event(chunk(model, {"content": "First "}))
        h.server.release.wait(10)
        h.end_sse()

    held.scenarios["crash/first"] = first_then_wait
    response = client.post("/stream", data=form(client, model="crash/first"), buffered=False)
    events = sse_events(response)
    assert next(events)[0] == "start"
    assert store.count() == 0  # nothing written before the call
    assert next(events) == ("content", "First ")
    assert store.count() == 0  # the first token went out before any write
    held.release.set()
    assert [name for name, _ in events if name != "snapshot"] == ["result"]
    assert store.count() == 1
