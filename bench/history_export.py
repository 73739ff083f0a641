"""One owner's JSON Lines export through the app, in a process of its own (for its memory).

    python -m bench.history_export DATABASE_URL OWNER [--gevent]

With ``--gevent`` the process is monkey-patched first, as a gunicorn gevent worker is (the
production server, `make serve`): the export's reads then wait cooperatively, and its encoding
runs on gevent's native thread pool. Without it, plain threads, as under the dev server.

Streams GET /history.jsonl through the app's test client, as a browser would download it, and
prints JSON: runs, seconds, runs per second, the resident memory after each tenth of the runs
and at the end, and the process's own peak. Then it exports the same runs twice more, untimed,
and prints the resident memory after each: flat memory means the third export adds nothing
much to the second (a leak grows with every export; the allocator's arenas settle).
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and "--gevent" in sys.argv:  # before anything imports threading
    from gevent import monkey

    monkey.patch_all()

import json  # noqa: E402 - after the patching above
import time  # noqa: E402
from pathlib import Path  # noqa: E402


def _status(field: str) -> float:
    """A size from /proc/self/status, in MiB (VmRSS: resident now; VmHWM: the most so far,
    for this program only: unlike wait4's, it does not carry the parent's size over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_mib() -> float:
    return _status("VmRSS")


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
    started, lines, size, tenths = time.perf_counter(), 0, 0, []
    for chunk in client.get("/history.jsonl", buffered=False).response:
        lines += chunk.count(b"\n")
        size += len(chunk)
        while len(tenths) < 9 and lines >= total * (len(tenths) + 1) // 10:
            tenths.append(rss_mib())
    seconds, after = time.perf_counter() - started, [rss_mib()]
    # The same export twice more, untimed: a leak grows with every one; the allocator's arenas
    # settle within the first two (threads, batches of several sizes), then stay.
    again = []
    for _ in range(2):
        again.append(sum(chunk.count(b"\n") for chunk in
                         client.get("/history.jsonl", buffered=False).response))
        after.append(rss_mib())
    print(json.dumps({"runs": lines, "expected": total, "again": again, "seconds": seconds,
                      "runs_per_s": lines / seconds, "bytes": size,
                      "rss_by_tenth_mib": tenths, "rss_after_mib": after,
                      "peak_rss_mib": _status("VmHWM")}))


if __name__ == "__main__":
    main(*[arg for arg in sys.argv[1:] if arg != "--gevent"][:2])
