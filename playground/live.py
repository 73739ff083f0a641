"""The runs in flight in this process: their partial text, their heartbeat, their shutdown.

A run is registered here once its row is written (``Store.start``) and leaves when it is
finished. One background pulse per process saves the text of the streams that grew, at most
once per ``PROGRESS_EVERY`` seconds, and refreshes the heartbeat of every live run, so a run
reads as running for as long as this process works on it (also while a provider is silent,
or a non-streamed call waits) and as interrupted soon after the process dies.

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

from playground.errors import scrub
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
        self.length = self.saved_length = 0

    @property
    def text(self) -> str:
        return scrub("".join(self.parts), self.secrets)  # a key split across two deltas too

    def add(self, text: str) -> None:
        """Append a delta (called on the request's own thread; the pulse only reads)."""
        self.parts.append(text)
        self.length += len(text)


class Registry:
    """Every live run of this process, and the pulse that saves their text and heartbeat.

    The pulse, not the request, writes the text: a stream only appends to a list, so saving
    never delays a delta, and all the streams of a process share one transaction a second.
    """

    def __init__(self) -> None:
        self._runs: dict[str, LiveRun] = {}
        self._lock = threading.Lock()
        self._pulse: threading.Thread | None = None
        self._last_beat = time.monotonic()
        self._failing = False

    def begin(self, store, run: Run, owner: str, secrets: tuple[str, ...] = ()) -> LiveRun:
        """Write the run's row as running and follow it (raises what the store raises)."""
        return self.adopt(store, store.start(run, owner), secrets)

    def adopt(self, store, run_id: str, secrets: tuple[str, ...] = ()) -> LiveRun:
        """Follow a run whose "running" row is already written (a comparison's lane)."""
        live = LiveRun(store, run_id, secrets)
        with self._lock:
            self._runs[live.id] = live
            if self._pulse is None:
                self._pulse = threading.Thread(target=self._pulse_forever, daemon=True,
                                               name="playground-pulse")
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

    def _by_store(self, lives: list[LiveRun]) -> list[tuple]:
        groups: dict[int, tuple] = {}
        for live in lives:
            groups.setdefault(id(live.store), (live.store, []))[1].append(live)
        return list(groups.values())

    def save_progress(self) -> int:
        """Save the text of every live run that grew since its last save; how many."""
        saved = 0
        for store, lives in self._by_store([r for r in self.live()
                                            if r.length != r.saved_length and not r.halted]):
            lengths = [live.length for live in lives]
            try:
                store.progress_many([(live.id, live.text) for live in lives])
            except SQLAlchemyError:
                self._failed(f"could not save the text of {len(lives)} running runs")
                continue
            for live, length in zip(lives, lengths, strict=True):
                live.saved_length = length
            saved += len(lives)
        return saved

    def beat(self) -> None:
        """Refresh the heartbeat of every live run, one statement per store."""
        for store, lives in self._by_store(self.live()):
            try:
                store.beat([live.id for live in lives])
            except SQLAlchemyError:
                self._failed(f"could not refresh the heartbeat of {len(lives)} runs")

    def _failed(self, what: str) -> None:
        if not self._failing:  # once per outage: a database that is down would flood the log
            log.exception("%s (is the database down?)", what)
        self._failing = True

    def pulse(self) -> None:
        """One beat of the pulse: the text saved, and the heartbeats when they are due."""
        if self.save_progress():
            self._failing = False  # the database answers again: log the next outage too
        if time.monotonic() - self._last_beat >= self.interval():
            self._last_beat = time.monotonic()
            self.beat()

    def _pulse_forever(self) -> None:
        """Beat while runs are live; with none left, stop (the next ``begin`` starts again)."""
        while True:
            time.sleep(min(self.interval(), PROGRESS_EVERY))
            with self._lock:
                if not self._runs:
                    self._pulse = None
                    return
            try:
                self.pulse()
            except Exception:  # the pulse must outlive any one bad moment
                log.exception("the heartbeat pulse failed once")

    def halt_all(self, state: str = "shutdown") -> int:
        """Save every live run as ``state`` with its text so far; how many were saved."""
        halted = 0
        for live in self.live():
            if live.halted:
                continue
            live.halted = True
            try:
                halted += live.store.halt(live.id, live.text, state)
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
