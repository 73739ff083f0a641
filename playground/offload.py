"""CPU work on a native thread, so it neither stalls a gevent worker nor waits for I/O.

Under gunicorn's gevent workers every request of a worker shares one thread: CPU work done
there holds up every other stream of that worker, and it cannot overlap with the worker's own
waits on the database. gevent's pool runs real OS threads even when ``threading`` is patched;
its jobs must only compute (a gevent lock or socket touched from two threads is unsafe, as
gevent's maintainers warn), so nothing handed here reads the database or the network.
Without gevent (the threaded dev server, tests) a small pool of this process does the same.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

THREADS = 2  # jobs at once per process without gevent: more only queue for the same GIL
_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool): a forked worker makes its own


class Job(Protocol):
    def get(self):
        """The job's value (or its exception), waiting for it; under gevent, cooperatively."""


def gevent_patched() -> bool:
    """Whether this process runs under gevent's monkey-patching (a gevent worker)."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("threading"))


class _Future:
    def __init__(self, future) -> None:
        self.future = future

    def get(self):
        return self.future.result()


def spawn(function: Callable, *args) -> Job:
    """Start ``function(*args)`` on a native thread; ``.get()`` its value later."""
    global _pool
    if gevent_patched():
        from gevent import get_hub

        return get_hub().threadpool.spawn(function, *args)
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(THREADS, thread_name_prefix="offload"))
        pool = _pool[1]
    return _Future(pool.submit(function, *args))


def call(function: Callable, *args):
    """``function(*args)`` on a native thread under gevent; in place otherwise (a thread of
    the threaded server only waits for the GIL the hop would also need)."""
    if not gevent_patched():
        return function(*args)
    return spawn(function, *args).get()


class Ready:
    """A value already computed, behind a job's interface."""

    def __init__(self, value) -> None:
        self.value = value

    def get(self):
        return self.value
