"""One owner's JSON Lines export through the app, in a process of its own (for its memory).

    python -m bench.history_export DATABASE_URL OWNER [--gevent]

With ``--gevent`` the process is monkey-patched first, as a gunicorn gevent worker is (the
production server, `make serve`): the export's reads then wait cooperatively, and its encoding
runs on gevent's native thread pool. Without it, plain threads, as under the dev server.

Streams GET /history.jsonl through the app's test client, as a browser would download it, and
prints JSON: runs, seconds, runs per second, and the resident memory after 10 % of the runs
and at the end (flat memory: the two are close).
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and "--gevent" in sys.argv:  # before anything imports threading
    from gevent import monkey

    monkey.patch_all()

import json  # noqa: E402 - after the patching above
import time  # noqa: E402
from pathlib import Path  # noqa: E402


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(url: str, owner: str) -> None:
    from app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url,
                      "AIMLAPI_API_KEY": "sk-bench"})
    client = app.test_client()
    with client.session_transaction() as session:
        session["owner"] = owner.removeprefix("session:")
    with app.extensions["runs"].engine.connect() as conn:  # not timed: how many to expect
        total = conn.exec_driver_sql("SELECT count(*) FROM runs WHERE owner = ?"
                                     if conn.dialect.name == "sqlite" else
                                     "SELECT count(*) FROM runs WHERE owner = %s",
                                     (owner,)).scalar_one()
    started, lines, at_tenth, size = time.perf_counter(), 0, None, 0
    response = client.get("/history.jsonl", buffered=False)
    for chunk in response.response:
        lines += chunk.count(b"\n")
        size += len(chunk)
        if at_tenth is None and lines >= total // 10:
            at_tenth = rss_mib()
    seconds = time.perf_counter() - started
    print(json.dumps({"runs": lines, "expected": total, "seconds": seconds,
                      "runs_per_s": lines / seconds, "bytes": size,
                      "rss_at_tenth_mib": at_tenth, "rss_at_end_mib": rss_mib()}))


if __name__ == "__main__":
    main(*[arg for arg in sys.argv[1:] if arg != "--gevent"][:2])
