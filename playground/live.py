"""The runs in flight in this process: their partial text, their heartbeat, their shutdown.

A run is registered here once its row is written (``Store.start``) and leaves when it is
finished. One background pulse refreshes the heartbeat of every live run, one statement per
store, so a run reads as running for as long as this process works on it (also while a
provider is silent, or a non-streamed call waits) and as interrupted soon after the process
dies. A stream's text is saved at most once per ``PROGRESS_EVERY`` seconds.

At a graceful shutdown (gunicorn's SIGTERM, see gunicorn.conf.py) ``halt_all`` saves every run
still live as "shutdown" with its text so far, shortly before the graceful timeout ends and the
worker is killed; a stream that was halted ends at its next delta with that state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from playground.run import Run

PROGRESS_EVERY = 1.0  # seconds between two saves of a stream's text: at most ~1 write/s
PULSE_MAX = 15.0  # the longest wait between two heartbeats
log = logging.getLogger("playground")


class LiveRun:
    """One run in flight: its row's id, its text so far, and whether the server halted it."""

    def __init__(self, store, run_id: str, secrets: tuple[str, ...] = ()) -> None:
        self.store, self.id, self.secrets = store, run_id, secrets
        self.parts: list[str] = []
        self.halted = False  # saved as "shutdown" by halt_all: the stream should end now
        self._length = self._saved_length = 0
        self._saved_at = time.monotonic()
        self._failed = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self._length += len(text)

    def tick(self, now: float | None = None) -> None:
        """Save the text so far if it grew and a second has passed since the last save."""
        now = time.monotonic() if now is None else now
        if now - self._saved_at < PROGRESS_EVERY or self._length == self._saved_length:
            return
        self._saved_at, length = now, self._length
        try:
            self.store.progress(self.id, self.text, secrets=self.secrets)
        except SQLAlchemyError:
            if not self._failed:  # once per run: a database that is down would flood the log
                log.exception("could not save the progress of run %s", self.id)
            self._failed = True
            return
        self._saved_length = length


class Registry:
    """Every live run of this process, and the pulse that keeps their heartbeats fresh."""

    def __init__(self) -> None:
        self._runs: dict[str, LiveRun] = {}
        self._lock = threading.Lock()
        self._pulse: threading.Thread | None = None
        self._last_beat = time.monotonic()

    def begin(self, store, run: Run, owner: str, secrets: tuple[str, ...] = ()) -> LiveRun:
        """Write the run's row as running and follow it (raises what the store raises)."""
        live = LiveRun(store, store.start(run, owner), secrets)
        with self._lock:
            self._runs[live.id] = live
            if self._pulse is None:
                self._pulse = threading.Thread(target=self._beat_forever, daemon=True,
                                               name="playground-heartbeat")
                self._pulse.start()
        return live

    def end(self, live: LiveRun) -> None:
        with self._lock:
            self._runs.pop(live.id, None)

    def live(self) -> list[LiveRun]:
        with self._lock:
            return list(self._runs.values())

    def interval(self) -> float:
        """A third of the shortest threshold in use: two beats may be missed, not three."""
        quiet = [live.store.interrupted_after for live in self.live()]
        return max(min([PULSE_MAX, *(q / 3 for q in quiet)]), 0.1)

    def beat(self) -> None:
        """Refresh the heartbeat of every live run, one statement per store."""
        by_store: dict[int, tuple] = {}
        for live in self.live():
            by_store.setdefault(id(live.store), (live.store, []))[1].append(live.id)
        for store, ids in by_store.values():
            try:
                store.beat(ids)
            except SQLAlchemyError:
                log.warning("could not refresh the heartbeat of %d runs (database down?)",
                            len(ids))

    def _beat_forever(self) -> None:
        while True:
            interval = self.interval()
            time.sleep(min(interval, 1.0))
            if time.monotonic() - self._last_beat >= interval:
                self._last_beat = time.monotonic()
                self.beat()

    def halt_all(self, state: str = "shutdown") -> int:
        """Save every live run as ``state`` with its text so far; how many were saved."""
        halted = 0
        for live in self.live():
            if live.halted:
                continue
            live.halted = True
            try:
                halted += live.store.halt(live.id, live.text, state, secrets=live.secrets)
            except SQLAlchemyError:
                log.exception("could not save run %s at shutdown", live.id)
        if halted:
            log.warning("saved %d run%s still in flight as %s", halted, "s"[:halted != 1], state)
        return halted


LIVE = Registry()  # this process's live runs: the views add to it, gunicorn's hooks halt it


def watch_shutdown(stopping: Callable[[], bool], graceful_timeout: float,
                   registry: Registry = LIVE) -> threading.Thread:
    """Once ``stopping()`` is true, halt the live runs shortly before the graceful timeout.

    gunicorn's master kills a worker ``graceful_timeout`` seconds after asking it to stop, so
    the runs still going then are saved a little earlier: 2 s before, or halfway for a short
    timeout. A stream that ends before that is finished as usual.
    """
    def watch() -> None:
        while not stopping():
            time.sleep(0.2)
        time.sleep(max(graceful_timeout - 2.0, graceful_timeout / 2))
        registry.halt_all()

    thread = threading.Thread(target=watch, daemon=True, name="playground-shutdown")
    thread.start()
    return thread
