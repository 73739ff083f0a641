"""`make bench-history`: the history at a million runs, on SQLite and PostgreSQL.

    python -m bench.history [--runs N | --quick] [--db sqlite|postgresql] [--no-before]

The runs are made once per size (bench/history_data.py) and kept (bench/history_db.py). Then,
for each database, everything is measured through the store, as the history page calls it (the
run page through the app's test client), in rounds: the first round warms the caches and is
not counted; p50 and p99 are over every other sample, the spread is the lowest and highest
median of a round. Prints a table with targets and PASS/FAIL, writes
bench/results/history-latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import time

import sqlalchemy as sa

from bench import history_before as before
from bench import history_db, history_report
from bench.history_data import ABSENT, PROBES
from bench.procs import REPO, RESULTS, base_env
from bench.stats import median, percentile
from playground.listing import Cursor
from playground.store import Store, engine_for, runs

DEFAULT_RUNS, QUICK_RUNS = 1_000_000, 100_000
DEEP = 25_000  # the deep page: this many runs down the heavy owner's history
PRUNED = 500_000


def queries(described: dict, who: str) -> list[tuple[str, str]]:
    """The fixed query set, as the heavy or the light owner asks it."""
    one = next(word for word, (owner, rate) in PROBES.items() if owner == who and rate == "one")
    common = next(word for word, (_owner, rate) in PROBES.items() if rate == 0.30)
    rare = next(word for word, (_owner, rate) in PROBES.items() if rate == 0.01)
    prefix = described["vocabulary"][150][:4]
    return [("a word in 1 run", one), ("a word in 1 % of runs", rare),
            ("a word in 30 % of runs", common), ("a word in no run", ABSENT),
            (f"a prefix ({prefix}*)", f"{prefix}*"), ("two words", f"{rare} {common}")]


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def rounds(cases: dict, count: int, seed: int = 1) -> dict:
    """Run every case once a round, in a shuffled order; the first round only warms up.

    A case is a list of calls, each timed; the result holds each round's times per case.
    """
    rng, found = random.Random(seed), {name: [] for name in cases}
    for number in range(count + 1):
        order = list(cases)
        rng.shuffle(order)
        for name in order:
            took = [timed(call) for call in cases[name]]
            if number:
                found[name].append(took)
    return found


def summary(found: dict, names: list[str]) -> dict:
    """p50/p99 over every sample of ``names``; the spread: the rounds' lowest and highest p50."""
    values = [v for name in names for times in found[name] for v in times]
    by_round = [median([v for name in names for v in found[name][r]])
                for r in range(len(found[names[0]]))]
    return {"p50": median(values), "p99": percentile(values, 99), "n": len(values),
            "spread": [min(by_round), max(by_round)],
            "each": {name: median([v for times in found[name] for v in times])
                     for name in names}}


def measure_store(url: str, described: dict, reps: int, with_before: bool) -> dict:
    """Search, the history page and (with_before) the release before's, through the store."""
    store = Store(engine_for(url))
    heavy, light = described["heavy"], described["light"]
    deep = _deep_cursor(store, heavy, deep_of(described))
    search_cases = {}
    for who, owner in (("heavy", heavy), ("light", light)):
        for label, query in queries(described, who):
            search_cases[f"{who}: {label}"] = [lambda o=owner, q=query: store.history(o, query=q)]
    first = [lambda: (store.history(heavy), store.models(heavy))]
    deep_page = [lambda: (store.history(heavy, before=deep), store.models(heavy))]
    found = rounds({**search_cases, "first page": first * 5, "deep page": deep_page * 5}, reps)
    result = {"search": summary(found, list(search_cases)),
              "first_page": summary(found, ["first page"]),
              "deep_page": summary(found, ["deep page"]), "deep": deep_of(described)}
    if with_before:  # today's substring scan, OFFSET and exact counts: fewer rounds, slow
        old = {name: [lambda o=owner, q=query: before.history(store, o, q)]
               for name, (owner, query) in _cases(described).items()}
        depth = deep_of(described) // 25 + 1
        old_found = rounds({**old, "first page": [lambda: before.page(store, heavy, 1)],
                            "deep page": [lambda: before.page(store, heavy, depth)]},
                           max(reps // 3, 2))
        result["before"] = {"search": summary(old_found, list(old)),
                            "first_page": summary(old_found, ["first page"]),
                            "deep_page": summary(old_found, ["deep page"])}
    store.engine.dispose()
    return result


def _cases(described: dict) -> dict:
    return {f"{who}: {label}": (described[who], query)
            for who in ("heavy", "light") for label, query in queries(described, who)}


def deep_of(described: dict) -> int:
    """How deep the deep page is: DEEP runs, or less in a history too small for it."""
    return min(DEEP, described["heavy_runs"] - 100)


def _deep_cursor(store: Store, owner: str, depth: int) -> str:
    """The cursor a visitor holds after paging ``depth`` runs down (found once, by OFFSET)."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(runs.c.created_at, runs.c.pk).where(runs.c.owner == owner)
                           .order_by(runs.c.created_at.desc(), runs.c.pk.desc())
                           .offset(depth - 1).limit(1)).one()
    return str(Cursor("t", row.created_at, row.pk))


def measure_run_page(url: str, described: dict, reps: int) -> dict:
    """GET /runs/<id> of the heavy owner's runs through the app's test client."""
    from app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url,
                      "AIMLAPI_API_KEY": "sk-bench"})
    store, heavy = app.extensions["runs"], described["heavy"]
    with store.engine.connect() as conn:
        ids = list(conn.execute(sa.select(runs.c.id).where(runs.c.owner == heavy)
                                .order_by(runs.c.pk).limit(2000)).scalars())
    chosen = random.Random(7).sample(ids, min(20, len(ids)))
    client = app.test_client()
    with client.session_transaction() as session:
        session["owner"] = heavy.removeprefix("session:")

    def get(run_id: str) -> None:
        response = client.get(f"/runs/{run_id}")
        assert response.status_code == 200, response.status_code
        response.get_data()

    found = rounds({"run page": [lambda i=i: get(i) for i in chosen]}, reps)
    store.engine.dispose()
    return summary(found, ["run page"])


def _child(args: list[str], env: dict | None = None) -> tuple[str, float, float]:
    """Run a command; its output, wall seconds and peak RSS in MiB (bench/peak.py's)."""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "bench.peak", *args], cwd=REPO,
                            capture_output=True, env=env or base_env())
    seconds = time.monotonic() - started
    errors = result.stderr.decode()
    if result.returncode:
        raise RuntimeError(f"{args[:4]} failed: {errors[-2000:]}")
    peak = int(re.findall(r"peak_rss_kib=(\d+)", errors)[-1])
    return result.stdout.decode(), seconds, peak / 1024


EXPORT_ROUNDS = 3
SERVERS = {"threaded": [], "gevent": ["--gevent"]}  # the dev server's threads; a gevent worker


def measure_export(url: str, described: dict) -> dict:
    """GET /history.jsonl of the heavy owner, streamed, in a process of its own: as a threaded
    server and as a gevent worker serve it, alternating, EXPORT_ROUNDS each, after one
    untimed warm-up (as the searches have): the first read of the runs measures the disk."""
    found: dict = {server: [] for server in SERVERS}
    _child([sys.executable, "-m", "bench.history_export", url, described["heavy"]])
    for round_ in range(EXPORT_ROUNDS):
        for server in (list(SERVERS) if round_ % 2 == 0 else list(SERVERS)[::-1]):
            out, _seconds, peak = _child([sys.executable, "-m", "bench.history_export", url,
                                          described["heavy"], *SERVERS[server]])
            found[server].append({**json.loads(out), "peak_rss_mib": peak})
    return {server: _export_summary(results) for server, results in found.items()}


def _export_summary(results: list[dict]) -> dict:
    rates = sorted(result["runs_per_s"] for result in results)
    middle = sorted(results, key=lambda result: result["runs_per_s"])[len(results) // 2]
    return {**middle, "runs_per_s": statistics.median(rates), "spread": (rates[0], rates[-1]),
            "rounds": len(results),
            # A leak grows with the runs read, a batch in flight only until the largest has
            # been: what counts is what the third export of the same runs adds to the second.
            "grew_mib": max(r["rss_after_mib"][2] - r["rss_after_mib"][1] for r in results),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in results),
            "complete": all(r["runs"] == r["expected"] and set(r["again"]) == {r["runs"]}
                            for r in results)}


def measure_prune(url: str, described: dict, admin: str | None) -> dict:
    """`flask runs prune --days N` deleting half the runs, on a copy of the history."""
    size = described["size"]
    if admin:
        copy = history_db.create_database(admin, "prune_copy", sa.make_url(url).database)
    else:
        copy = history_db.copy_sqlite(url, "prune-copy.db")
    engine = engine_for(copy)
    with engine.connect() as conn:
        edge = conn.execute(sa.select(runs.c.created_at).order_by(runs.c.created_at)
                            .offset(min(PRUNED, size // 2)).limit(1)).scalar_one()
    engine.dispose()
    days = (time.time() - edge) / 86400
    env = base_env() | {"DATABASE_URL": copy, "FLASK_SECRET_KEY": "bench"}
    out, seconds, peak = _child([sys.executable, "-m", "flask", "--app", "app", "runs", "prune",
                                 "--days", f"{days:.6f}"], env)
    if admin:
        history_db.drop_database(admin, "prune_copy")
    else:
        for leftover in history_db.HERE.glob("prune-copy.db*"):
            leftover.unlink()
    # "Deleted N runs …", then "Deleted M images …": the runs' line is the one counted.
    deleted = int(re.search(r"Deleted ([\d,]+) runs?\b", out).group(1).replace(",", ""))
    return {"deleted": deleted, "seconds": seconds, "peak_rss_mib": peak}


def measure(kind: str, url: str, described: dict, args, admin: str | None) -> dict:
    say = print
    say(f"[bench-history] {kind}: search and pages ...", flush=True)
    result = measure_store(url, described, args.reps, not args.no_before)
    say(f"[bench-history] {kind}: run page ...", flush=True)
    result["run_page"] = measure_run_page(url, described, args.reps)
    say(f"[bench-history] {kind}: export ...", flush=True)
    result["export"] = measure_export(url, described)
    say(f"[bench-history] {kind}: prune ...", flush=True)
    result["prune"] = measure_prune(url, described, admin)
    say(f"[bench-history] {kind}: migration of existing runs ...", flush=True)
    result["migration"] = history_db.migration(kind, admin, min(described["size"], 100_000))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.history",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="runs in the history")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS:,} runs")
    parser.add_argument("--db", action="append", choices=("sqlite", "postgresql"))
    parser.add_argument("--reps", type=int, default=7, help="rounds after the warm-up")
    parser.add_argument("--no-before", action="store_true",
                        help="skip the release before's queries (slow at a million runs)")
    args = parser.parse_args(argv)
    size = QUICK_RUNS if args.quick else args.runs
    kinds = args.db or ["sqlite", "postgresql"]
    started, load = time.strftime("%Y-%m-%d %H:%M"), os.getloadavg()
    results: dict = {}
    with history_db.postgresql() as admin:
        # The histories are made once, together (the runs drawn once for both).
        histories = history_db.histories(kinds, admin, size)
        for kind in kinds:
            url, described = histories[kind]
            results[kind] = measure(kind, url, described, args,
                                    admin if kind == "postgresql" else None)
            results[kind]["described"] = {k: v for k, v in described.items()
                                          if k != "vocabulary"}
    meta = {"started": started, "runs": size, "python": platform.python_version(),
            "cpus": os.cpu_count(), "loadavg_before": load, "loadavg_after": os.getloadavg(),
            "machine": platform.machine(), "peak_rss_mib":
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "history-latest.json"
    path.write_text(json.dumps({"meta": meta, "results": results}, indent=2, default=str))
    print(history_report.markdown(results, meta))
    print(f"\nfull results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
