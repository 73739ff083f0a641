"""Fixtures: the app, a test client, and a real fake upstream listening on localhost."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from app import create_app
from tests.fake_upstream import FakeServer

SENTINEL_KEY = "fake-sentinel-key-0123456789abcdef"


@pytest.fixture(scope="session")
def fake_server():
    server = FakeServer().start()
    yield server
    server.stop()


@pytest.fixture
def upstream(fake_server):
    """The fake provider, with its recordings and counters cleared for this test."""
    fake_server.reset()
    return fake_server


def app_config(tmp_path, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "UPSTREAM_READ_TIMEOUT": 1.0,
        "UPSTREAM_DEADLINE": 10.0,
        "DEMO_TOKEN_DELAY": 0.0,
        "UPSTREAM_TRUST_ENV": False,
        # Each test its own history: a fresh SQLite file (see tests/pg.py for PostgreSQL).
        "DATABASE_URL": f"sqlite:///{tmp_path / 'runs.db'}",
    }
    config.update(overrides)
    return config


@pytest.fixture
def app(upstream, tmp_path):
    """The playground pointed at the fake upstream with a sentinel key."""
    return create_app(app_config(tmp_path, AIMLAPI_BASE_URL=upstream.base_url,
                                 AIMLAPI_API_KEY=SENTINEL_KEY))


@pytest.fixture
def demo_app(tmp_path):
    """The playground with no key and no base URL: the offline demo model."""
    return create_app(app_config(tmp_path))


@pytest.fixture
def client(app):
    return app.test_client()


class Page:
    """A response parsed the way a user reads it."""

    def __init__(self, response) -> None:
        self.response = response
        self.status = response.status_code
        self.html = response.get_data(as_text=True)
        self.soup = BeautifulSoup(self.html, "html.parser")

    def text(self, selector: str) -> str:
        found = self.soup.select_one(selector)
        return " ".join(found.get_text(" ").split()) if found else ""

    def all_text(self, selector: str) -> list[str]:
        return [" ".join(n.get_text(" ").split()) for n in self.soup.select(selector)]

    def field_errors(self, name: str) -> str:
        return self.text(f"#{name}-errors")

    def value(self, name: str) -> str:
        node = self.soup.select_one(f"[name={name}]")
        if node is None:
            return ""
        if node.name == "textarea":
            return node.get_text().removeprefix("\r\n").removeprefix("\n")
        return node.get("value", "")


def csrf_token(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def submit(client, path: str = "/", follow: bool = True, **fields) -> Page:
    """Fill the form like a user (with a fresh CSRF token) and post it.

    A run answers with a redirect to its own page; like a browser, this follows it.
    """
    data = {"csrf_token": csrf_token(client), "model": "fake/ok", "prompt": "Hello"}
    data.update({k: v for k, v in fields.items() if v is not None})
    return Page(client.post(path, data=data, follow_redirects=follow))


@pytest.fixture
def run_form(client):
    return lambda **fields: submit(client, **fields)


# -- databases: every storage test runs on SQLite and on a real PostgreSQL ---------------------
from tests.pg import free_port, pg_server, pg_url  # noqa: E402,F401 - fixtures


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    return request.getfixturevalue("pg_url")


# -- Redis: the shared rate-limit storage of several instances ---------------------------
@pytest.fixture(scope="session")
def redis_server():
    """A real, throwaway Redis (Debian's redis-server; `make test` provisions it)."""
    import shutil
    import subprocess
    import time

    import redis

    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not shutil.which(binary):
        pytest.fail("redis-server is missing: run `tests/provision.sh redis-server`")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    connection = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            connection.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("redis-server did not start")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server):
    """The Redis server, emptied for this test."""
    import redis

    redis.Redis.from_url(redis_server).flushall()
    return redis_server
