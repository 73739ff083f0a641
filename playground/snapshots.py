"""Live markdown for one stream, rendered without holding up the relay loop.

The relay loop (``relay.relay``) only appends the deltas it relays and asks, between two of
them, whether a snapshot is ready. A render that could take long runs in a native thread:
gevent's thread pool under gunicorn's gevent workers, where a render on the worker's own
thread would hold up every stream of that worker (a 200 KB reply takes ~200 ms); a small
thread pool under the threaded dev server. One render per stream is in flight at a time, and
the text that arrives meanwhile waits for the next one. A snapshot still rendering when the
stream ends is dropped: the final ``_result.html`` replaces it anyway.

Most snapshots are small, though (only the growing last block is parsed again), and handing
one to a thread costs more CPU than rendering it: a render expected under ``INLINE_MS`` (by
the size of the tail and the rate the last one took, never code to colour) runs on the relay
loop at once, which keeps the per-chunk delay far inside its 5 ms budget.

Each snapshot is sent as a change (``LiveMarkdown.parts``): the finished blocks to keep, the
new finished blocks, and the growing tail, so the page appends blocks and replaces only the
tail, and the bytes sent grow with the reply, not with its square.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from playground.markdown import LiveMarkdown
from playground.offload import gevent_patched

POOL_THREADS = 2  # renders at once per process: more only queue for the same GIL
# A render expected to take less than this runs on the relay loop itself: handing it to a
# thread costs more CPU than that (bench/README.md, "CPU per stream"), and holding the relay
# for it stays far under the 5 ms per-chunk budget.
INLINE_MS = 0.5
# While a render thread holds the GIL, the relay (the worker's own thread) waits for it up to
# the interpreter's switch interval (5 ms by default): with render threads about, 1 ms.
SWITCH_INTERVAL_S = 0.001
log = logging.getLogger("playground")
_pool_lock = threading.Lock()
_pool: tuple[int, object] | None = None  # (pid, pool): a forked worker makes its own


class _Done:
    """A job's outcome behind one interface, whichever pool ran it."""

    def __init__(self, job) -> None:
        self.job = job

    def done(self) -> bool:
        job = self.job
        return job.ready() if hasattr(job, "ready") else job.done()

    def result(self):
        job = self.job
        return job.get(block=False) if hasattr(job, "ready") else job.result(timeout=0)


def submit(func: Callable, *args) -> _Done:
    """Run ``func(*args)`` on a native thread of this process's render pool."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            if gevent_patched():
                # gevent's pool runs real OS threads even when threading is patched.
                from gevent.threadpool import ThreadPool

                _pool = (os.getpid(), ThreadPool(POOL_THREADS))
                sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
            else:
                _pool = (os.getpid(), ThreadPoolExecutor(POOL_THREADS,
                                                         thread_name_prefix="live-markdown"))
        pool = _pool[1]
    return _Done(pool.spawn(func, *args) if hasattr(pool, "spawn") else pool.submit(func, *args))


class _Ran:
    """A render run at once on the relay loop, behind the same interface as a pool's job."""

    def __init__(self, func: Callable, *args) -> None:
        self._error: Exception | None = None
        try:
            self._value = func(*args)
        except Exception as exc:  # handled where a pool job's failure is: in ``_collect``
            self._value, self._error = None, exc

    def done(self) -> bool:
        return True

    def result(self):
        if self._error is not None:
            raise self._error
        return self._value


class LiveSnapshots:
    """The snapshots of one streaming reply: feed deltas with ``add``, ``poll`` for events.

    ``LiveMarkdown`` is only touched by the job in flight, and jobs follow one another, so no
    lock is needed; the relay loop reads nothing of it while a job runs.
    """

    def __init__(self, run_on: Callable = submit, clock: Callable[[], float] = time.monotonic,
                 markdown: LiveMarkdown | None = None, inline_ms: float = INLINE_MS) -> None:
        self.markdown = markdown or LiveMarkdown()
        self._run_on, self._clock, self.inline_ms = run_on, clock, inline_ms
        self._started = clock()
        self._pending: list[str] = []
        self._received = 0  # characters of reply text relayed so far
        self._job: tuple[_Done, int] | None = None  # the render in flight, and its length
        self.finished = False  # stopped (past the caps) or failed: no more snapshots
        self.sent = 0  # snapshots handed to the relay loop

    def add(self, text: str) -> None:
        """Note a delta of reply text (called by the relay loop)."""
        if not self.finished and text:
            self._pending.append(text)
            self._received += len(text)

    def poll(self) -> dict | None:
        """The data of a ``snapshot`` event if one is ready; start the next render when due."""
        ready = None
        if self._job is not None:
            job, chars = self._job
            if not job.done():
                return None
            self._job = None
            ready = self._collect(job, chars)
        now_ms = (self._clock() - self._started) * 1000
        if self._pending and not self.finished and self.markdown.due(now_ms):
            text = "".join(self._pending)
            cost = self.markdown.cost_ms(text)
            if cost is None or cost >= self.inline_ms:
                self._pending = []
                self._job = (self._run_on(self._render, text, now_ms), self._received)
            elif ready is None:  # small: render it here and now (else at the next delta)
                self._pending = []
                ready = self._collect(_Ran(self._render, text, now_ms), self._received)
        return ready

    def _render(self, text: str, now_ms: float):
        """On the render thread: feed the text, then the next snapshot's parts (or None)."""
        self.markdown.feed(text)
        return self.markdown.parts(now_ms)

    def _collect(self, job: _Done | _Ran, chars: int) -> dict | None:
        try:
            parts = job.result()
        except Exception:  # a render that failed must not end the stream
            log.exception("a live markdown snapshot failed; the stream goes on without them")
            self.finished = True
            return None
        self.sent += 1
        if parts is None:  # past the caps: the page shows raw text until the final result
            self.finished = True
            return {"chars": chars, "stopped": str(self.markdown.notice() or "")}
        keep, added, tail = parts
        return {"chars": chars, "keep": keep, "add": added, "tail": tail}
