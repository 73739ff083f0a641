"""Fixtures: the app, a test client, and a real fake upstream listening on localhost."""

from __future__ import annotations

import pytest

from app import create_app
from tests.fake_upstream import FakeServer
from tests.helpers import SENTINEL_KEY, app_config, submit


def pytest_collection_modifyitems(items):
    """Every test under tests/e2e/ drives Chromium: mark it, so `make test-fast` leaves it out."""
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.e2e)


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


@pytest.fixture
def make_app(fake_server, tmp_path):
    """A playground pointed at the fake upstream with the sentinel key, plus ``overrides``.

    An override of None removes a setting: ``make_app(AIMLAPI_BASE_URL=None,
    AIMLAPI_API_KEY=None)`` is the offline demo.
    """
    def make(**overrides):
        live = {"AIMLAPI_BASE_URL": fake_server.base_url, "AIMLAPI_API_KEY": SENTINEL_KEY}
        return create_app(app_config(tmp_path, **{**live, **overrides}))
    return make


@pytest.fixture
def app(upstream, make_app):
    """The playground pointed at the fake upstream with a sentinel key."""
    return make_app()


@pytest.fixture
def demo_app(make_app):
    """The playground with no key and no base URL: the offline demo model."""
    return make_app(AIMLAPI_BASE_URL=None, AIMLAPI_API_KEY=None)


@pytest.fixture
def client(app):
    return app.test_client()


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
