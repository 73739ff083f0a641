"""The table `make bench-history` prints: each measure, its target, before, after, PASS/FAIL."""

from __future__ import annotations

TARGETS = {"search_p50": 50.0, "search_p99": 200.0, "page": 20.0, "run_page": 20.0,
           "export": 15_000.0, "build_s": 600.0}
FLAT_MIB = 32.0  # "flat memory": a third export of the same runs adds less than this


def _ms(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def _spread(found: dict) -> str:
    low, high = found["spread"]
    return f"rounds {_ms(low)}–{_ms(high)}"


def _verdict(ok: bool | None) -> str:
    return "report" if ok is None else "PASS" if ok else "FAIL"


def rows(kind: str, r: dict) -> list[tuple[str, str, str, str, str]]:
    """(measure, target, before, after, result) for one database."""
    old = r.get("before") or {}
    search, first, deep = r["search"], r["first_page"], r["deep_page"]

    def was(key: str, stat: str) -> str:
        return _ms(old[key][stat]) if key in old else "not run"

    found = [
        ("search p50 (12 queries × heavy and light owner)", "≤ 50 ms", was("search", "p50"),
         f"{_ms(search['p50'])} ({_spread(search)})", search["p50"] <= TARGETS["search_p50"]),
        ("search p99", "≤ 200 ms", was("search", "p99"), _ms(search["p99"]),
         search["p99"] <= TARGETS["search_p99"]),
        ("history page p50, first page (heavy owner)", "≤ 20 ms", was("first_page", "p50"),
         f"{_ms(first['p50'])} ({_spread(first)})", first["p50"] <= TARGETS["page"]),
        (f"history page p50, {r['deep']:,} runs deep (keyset; before: OFFSET)", "≤ 20 ms",
         was("deep_page", "p50"), f"{_ms(deep['p50'])} ({_spread(deep)})",
         deep["p50"] <= TARGETS["page"]),
        ("run page p50 (GET /runs/<id>, test client)", "≤ 20 ms", "",
         f"{_ms(r['run_page']['p50'])} ({_spread(r['run_page'])})",
         r["run_page"]["p50"] <= TARGETS["run_page"]),
    ]
    for server, export in r["export"].items():
        low, high = export["spread"]
        found.append((f"JSONL export of the heavy owner ({export['runs']:,} runs), {server} "
                      f"server", "≥ 15,000 runs/s, flat memory", "",
                      f"{export['runs_per_s']:,.0f} runs/s (rounds {low:,.0f}–{high:,.0f}); "
                      f"RSS {export['rss_by_tenth_mib'][0]:.0f} MiB at 10 %, "
                      f"{export['rss_after_mib'][0]:.0f} at its end, "
                      f"{export['rss_after_mib'][2]:.0f} after two more; the third added at "
                      f"most {export['grew_mib']:.0f} MiB; peak {export['peak_rss_mib']:.0f} MiB",
                      export["runs_per_s"] >= TARGETS["export"]
                      and export["grew_mib"] < FLAT_MIB and export["complete"]))
    prune = r["prune"]
    found.append((f"`flask runs prune` of {prune['deleted']:,} runs", "time, peak RSS", "",
                  f"{prune['seconds']:.1f} s ({prune['deleted'] / prune['seconds']:,.0f} "
                  f"runs/s), peak RSS {prune['peak_rss_mib']:.0f} MiB", None))
    built = r["described"]
    together = {1: "this database alone", 2: "both databases at once"}.get(
        built.get("databases", 2), f"{built.get('databases')} databases at once")
    found.append((f"building the history ({built['size']:,} runs; {together})",
                  "≤ 10 min", "", f"{built['seconds'] / 60:.1f} min "
                  f"({built['size'] / built['seconds']:,.0f} runs/s into each)",
                  built["seconds"] <= TARGETS["build_s"]))
    migration = r["migration"]
    found.append((f"migration indexing {migration['runs']:,} existing runs", "time per 100k",
                  "", f"{migration['per_100k_s']:.1f} s per 100,000 runs", None))
    return [(f"{kind}: {m}", t, b, a, _verdict(ok)) for m, t, b, a, ok in found]


def per_query(kind: str, r: dict) -> list[str]:
    """A line per query: its median after (and before) the change."""
    old = (r.get("before") or {}).get("search", {}).get("each", {})
    return [f"- {kind}, {name}: {_ms(after)}" + (f" (before {_ms(old[name])})" if name in old
                                                   else "")
            for name, after in r["search"]["each"].items()]


def markdown(results: dict, meta: dict) -> str:
    lines = [f"History at {meta['runs']:,} runs, {meta['started']}, {meta['cpus']} CPUs, load "
             f"{meta['loadavg_before'][0]:.1f} before / {meta['loadavg_after'][0]:.1f} after",
             "", "| measure | target | before | after | result |", "|---|---|---|---|---|"]
    for kind, r in results.items():
        lines += [f"| {' | '.join(row)} |" for row in rows(kind, r)]
    lines.append("")
    for kind, r in results.items():
        lines += per_query(kind, r)
        d = r["described"]
        lines.append(f"- {kind}: heavy owner {d['heavy_runs']:,} runs, light owner "
                     f"{d['light_runs']:,} runs, {d['owners']:,} owners")
    return "\n".join(lines)
