"""A per-process copy of something slow to fetch (the catalogue, a model's document).

It never blocks a page for long: the first read waits at most ``wait`` seconds, later reads
answer at once from the last good copy while a refresh runs in the background. A refresh
sends the ETag back (304 keeps the copy); a failure keeps the last good copy, with a note,
and is retried after ``retry_after`` seconds rather than on every page. Fetching, parsing,
the clocks and the way work is started are all passed in, so this stays pure and is tested
with a fake clock and no threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


def conditional_headers(etag: str | None) -> dict[str, str]:
    """The header that asks for ``304 Not Modified`` when the catalogue has not moved."""
    if not isinstance(etag, str) or not etag.strip() or len(etag) > 512 \
            or "\n" in etag or "\r" in etag:
        return {}
    return {"If-None-Match": etag.strip()}


@dataclass(frozen=True)
class Fetched:
    """What one request brought: its status, ETag and parsed JSON (None on a 304)."""

    status: int
    etag: str | None = None
    data: object = None


@dataclass(frozen=True)
class Snapshot:
    """What a page can show now: the last good value (or None), how old it is, and why."""

    value: object = None
    as_of: float | None = None  # wall-clock time the value was last confirmed (200 or 304)
    note: str | None = None  # set when the value is stale or missing because a fetch failed
    refreshing: bool = False

    @property
    def available(self) -> bool:
        return self.value is not None


def _thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="cache-refresh", daemon=True).start()


class Cached:
    """A value fetched with ``fetch(etag) -> Fetched`` and read with ``parse(data)``."""

    def __init__(self, fetch: Callable[[str | None], Fetched], parse: Callable[[object], object],
                 *, what: str = "The catalogue", ttl: float = 600.0, retry_after: float = 30.0,
                 wait: float = 2.0, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 spawn: Callable[[Callable[[], None]], None] = _thread) -> None:
        self.fetch, self.parse, self.what = fetch, parse, what
        self.ttl, self.retry_after, self.wait = ttl, retry_after, wait
        self.clock, self.wall, self.spawn = clock, wall, spawn
        self._lock = threading.Lock()
        self._value: object = None
        self._etag: str | None = None
        self._checked: float | None = None  # clock() of the last 200/304
        self._as_of: float | None = None
        self._failed: float | None = None  # clock() of the last failure
        self._error: str | None = None
        self._running: threading.Event | None = None

    def get(self) -> Snapshot:
        """The current snapshot; starts a refresh when due, waits only while there is none."""
        with self._lock:
            start = self._due()
            if start:
                self._running = threading.Event()
            running = self._running
        if start:  # outside the lock: the work may run right here, and it takes the lock
            self.spawn(lambda: self._refresh(running))
        with self._lock:
            empty = self._value is None
        if empty and running is not None and self.wait > 0:
            running.wait(self.wait)  # the first page waits a little, never long
        return self.snapshot()

    def snapshot(self) -> Snapshot:
        with self._lock:
            note = None
            if self._error is not None:
                note = (f"{self.what} could not be refreshed ({self._error}); this copy may be "
                        "out of date." if self._value is not None else
                        f"{self.what} is unavailable ({self._error}).")
            elif self._value is None:
                note = f"{self.what} is still loading."
            return Snapshot(self._value, self._as_of, note, self._running is not None)

    def refresh(self) -> Snapshot:
        """Fetch now, in this thread (a refresh already running is not doubled)."""
        with self._lock:
            if self._running is not None:
                running = None
            else:
                running = self._running = threading.Event()
        if running is not None:
            self._refresh(running)
        return self.snapshot()

    def _due(self) -> bool:
        if self._running is not None:
            return False
        now = self.clock()
        if self._failed is not None and now - self._failed < self.retry_after:
            return False
        return self._checked is None or now - self._checked >= self.ttl

    def _refresh(self, running: threading.Event) -> None:
        try:
            error, value, fetched = None, None, None
            try:
                fetched = self.fetch(self._etag)
                if fetched.status == 200:
                    value = self.parse(fetched.data)
                    error = None if value else "it listed nothing usable"
                elif fetched.status == 304 and self._value is not None:
                    error = None
                else:
                    error = f"HTTP {fetched.status}"
            except Exception as exc:  # noqa: BLE001 - fetch is the network: any failure falls back
                # Our own errors carry a message meant for people; anything else, its name.
                message = getattr(exc, "message", None)
                error = message[:200].rstrip(".") if isinstance(message, str) and message \
                    else type(exc).__name__
            with self._lock:
                now = self.clock()
                if error is not None:
                    self._failed, self._error = now, error
                    return
                if value:
                    self._value, self._etag = value, fetched.etag
                self._checked, self._as_of = now, self.wall()
                self._failed = self._error = None
        finally:
            with self._lock:
                self._running = None
            running.set()
