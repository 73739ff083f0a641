"""Budgets: how many runs a visitor (and everyone together) may start, and how many at once.

Flask-Limiter owns the storage (``RATELIMIT_STORAGE_URI``: ``memory://`` or ``redis://…``) and
the counting strategy. The limits are taken by hand, *after* the form validated, rather than
with a decorator: a typo never spends a run, and an over-limit run re-renders the form it came
with. The runs-in-flight counter lives next to them so both use the same storage.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import Counter
from collections.abc import Callable

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import parse_many


class OverBudget(Exception):
    """A run (or a login attempt) refused by a limit; ``retry_after`` is in whole seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message, self.retry_after = message, max(int(retry_after), 1)


def client_address() -> str:
    """The visitor's address: the socket peer, or what ``PLAYGROUND_PROXY_HOPS`` trusted."""
    return request.remote_addr or "unknown"


def client_hash(address: str | None = None) -> str:
    """A short keyed hash of the address, for logs that must not hold addresses."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    value = (address or client_address()).encode()
    return hashlib.sha256(secret + b"|" + value).hexdigest()[:12]


class Slots:
    """Runs in flight per client.

    memory: an exact per-process counter (with several worker processes, each has its own).
    redis: INCR/DECR on one key per client shared by every instance; the key expires ``ttl``
    seconds after the client's latest run started, so slots held by a crashed process free
    themselves at the latest then (a live run never outlasts the stream deadline).
    """

    def __init__(self, limit: int, ttl: int, storage_uri: str) -> None:
        self.limit, self.ttl = limit, ttl
        self._redis = None
        if storage_uri.split(":", 1)[0] in ("redis", "rediss"):
            import redis

            self._redis = redis.Redis.from_url(storage_uri)
        self.shared = self._redis is not None  # every process counts the same slots
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def acquire(self, client: str, count: int = 1) -> bool:
        """Take ``count`` slots together, or none of them."""
        if self._redis is not None:
            key = f"playground:inflight:{client}"
            held, _ = self._redis.pipeline().incrby(key, count).expire(key, self.ttl).execute()
            if held > self.limit:
                self._redis.decrby(key, count)
                return False
            return True
        with self._lock:
            if self._counts[client] + count > self.limit:
                return False
            self._counts[client] += count
            return True

    def release(self, client: str) -> None:
        if self._redis is not None:
            self._redis.decr(f"playground:inflight:{client}")
            return
        with self._lock:
            self._counts[client] -= 1
            if self._counts[client] <= 0:
                del self._counts[client]


def _describe(item) -> str:
    """'10 runs per minute', '200 runs per day', '5 runs per 10 minutes'."""
    unit = item.GRANULARITY.name
    per = unit if item.multiples == 1 else f"{item.multiples} {unit}s"
    return f"{item.amount} per {per}"


class Budget:
    """The run and login budgets of one app."""

    def __init__(self, app: Flask) -> None:
        config = app.config
        self.limiter = Limiter(client_address, app=app, default_limits=[],
                               storage_uri=config["RATELIMIT_STORAGE_URI"])
        self.per_client = parse_many(config["PLAYGROUND_RATE_LIMIT"])
        self.global_limit = parse_many(config["PLAYGROUND_DAILY_LIMIT"])
        self.login_limit = parse_many(config["PLAYGROUND_LOGIN_LIMIT"])
        ttl = int(config["UPSTREAM_DEADLINE"]) + 60
        self.slots = Slots(int(config["PLAYGROUND_MAX_STREAMS_PER_CLIENT"]), ttl,
                           config["RATELIMIT_STORAGE_URI"])
        app.extensions["budget"] = self

    def _take(self, items, identifiers: tuple[str, ...], message: str) -> None:
        strategy = self.limiter.limiter
        for item in items:
            if not strategy.hit(item, *identifiers):
                reset = strategy.get_window_stats(item, *identifiers).reset_time
                raise OverBudget(message.format(limit=_describe(item)),
                                 math.ceil(reset - time.time()))

    def admit_run(self) -> Callable[[], None]:
        """Count one run and hold a slot for it; return the function that frees the slot."""
        client = client_address()
        self._take(self.per_client, ("run", client),
                   "You have used all the runs this playground allows each visitor ({limit}).")
        self._take(self.global_limit, ("run-global",),
                   "This playground has used its shared allowance of runs ({limit}) for everyone.")
        if not self.slots.acquire(client):
            raise OverBudget(f"You already have {self.slots.limit} run(s) in progress here. "
                             "Wait for one to finish (or stop it), then run again.", 5)
        return self._release_once(client)

    def admit_lanes(self, count: int) -> list[Callable[[], None]]:
        """Count ``count`` runs and hold as many slots, all or none: a comparison's lanes.

        Every limit is tested for the whole count before any is spent, so a comparison that
        does not fit is refused whole and spends nothing. Returns one release per lane.
        """
        client = client_address()
        strategy = self.limiter.limiter
        checks = [(self.per_client, ("run", client), "You have used all the runs this "
                   "playground allows each visitor ({limit}); a comparison of {count} lanes "
                   "counts {count} runs."),
                  (self.global_limit, ("run-global",), "This playground has used its shared "
                   "allowance of runs ({limit}) for everyone.")]
        for items, identifiers, message in checks:
            for item in items:
                if not strategy.test(item, *identifiers, cost=count):
                    reset = strategy.get_window_stats(item, *identifiers).reset_time
                    raise OverBudget(message.format(limit=_describe(item), count=count),
                                     math.ceil(reset - time.time()))
        if not self.slots.acquire(client, count):
            raise OverBudget(f"A comparison of {count} lanes needs {count} runs in progress "
                             f"at once, and this playground allows you {self.slots.limit}. "
                             "Wait for your other runs to finish (or stop them), or compare "
                             "fewer lanes.", 5)
        for items, identifiers, _message in checks:
            for item in items:
                strategy.hit(item, *identifiers, cost=count)
        return [self._release_once(client) for _ in range(count)]

    def _release_once(self, client: str) -> Callable[[], None]:
        released = threading.Event()

        def release() -> None:
            if not released.is_set():
                released.set()
                self.slots.release(client)

        return release

    def admit_login(self) -> None:
        self._take(self.login_limit, ("login", client_address()),
                   "Too many password attempts ({limit}).")


def budget() -> Budget:
    return current_app.extensions["budget"]
