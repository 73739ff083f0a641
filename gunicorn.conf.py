"""Production settings for `make serve` (gunicorn).

gevent workers: a streamed reply spends nearly all its time waiting on the provider, so one
green thread per stream holds thousands of slow streams on two cores, where gthread would need
an OS thread (and its stack) per stream. Every setting can be overridden from the environment.

Shutdown (SIGTERM) is graceful: a worker stops accepting, lets its streams finish for up to
``graceful_timeout`` seconds, and saves the runs still going as "shutdown" with their text so
far just before that time is up (the hooks at the end; docs/storage.md).
"""

import os

from dotenv import load_dotenv

from playground import settings

load_dotenv()
settings.check_or_exit()  # a bad setting stops the master with one line, before any worker

worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "4000"))
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:5000")
# A stream can last minutes; the upstream client enforces its own deadline.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "330"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
backlog = 4096
accesslog = os.environ.get("GUNICORN_ACCESSLOG")  # off by default: one line per run is logged
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
raw_env = ["FLASK_DEBUG=0"]


def post_worker_init(worker):
    """Once this worker is asked to stop, save its live runs before it is killed."""
    from playground import live

    live.watch_shutdown(lambda: not worker.alive, worker.cfg.graceful_timeout)


def worker_exit(server, worker):
    """The last word of a worker: whatever is still live is saved as "shutdown"."""
    from playground import live

    live.LIVE.halt_all()
