"""(d) What rendering costs: big replies, a 1 MB JSON, and the worst inputs the caps allow.

Also: live markdown (a reply fed in deltas, snapshots as the stream would send them,
incremental vs re-rendering the whole text at the same moments), the word diff's worst case
at its budget, and the timeline of a long stream.

Each case runs in a forked child with a hard timeout, so a pathological input can only cost
its own time budget, never hang the whole benchmark.
"""

from __future__ import annotations

import json
import multiprocessing
import time

from bench.content import COSTLY_SHAPES, big_completion, costliest_formatted, markdown_reply
from bench.stats import median, spread, summary
from playground import diff, markdown, markdown_cost, render, timeline
from playground.run import Run

# A fast model: 6 characters every 1.5 ms (4,000 characters a second).
LIVE_DELTA, LIVE_STEP_MS = 6, 1.5
LIVE_FULL_SAMPLES = 40  # whole-text renders timed for the comparison; the rest is scaled

_cache: dict = {}


def _cases() -> dict:
    """name -> (function, argument, what it shows); built once, forked children inherit it."""
    if not _cache:
        _cache.update(_build())
    return _cache


def _build() -> dict:
    # Just under MARKDOWN_LIMIT: the biggest reply that is still parsed as markdown.
    big_md = markdown_reply(markdown.MARKDOWN_LIMIT - 1_000)
    big_json = big_completion(1_000_000)
    run = Run(request={"model": "bench/logprobs", "messages": []}, endpoint="bench",
              response=big_json, total_ms=1000.0)
    half = markdown.MARKDOWN_LIMIT // 2
    return {**_diff_cases(), **_timeline_cases(),
        "markdown_200k": (markdown.markdown_html, big_md, "200 KB reply, code blocks, tables"),
        "json_tree_1mb": (render.json_tree, big_json, "1 MB response JSON as a tree"),
        "present_1mb": (render.present, run, "everything _result.html needs, 1 MB JSON"),
        "a_underscore_100k": (markdown.markdown_html, "a_" * half, "'a_' x 100,000"),
        "star_a_100k": (markdown.markdown_html, "*a" * half, "'*a' x 100,000"),
        "backtick_a_100k": (markdown.markdown_html, "`a" * half, "'`a' x 100,000"),
        "lt_200k": (markdown.markdown_html, "<" * markdown.MARKDOWN_LIMIT, "200,000 '<'"),
        "over_limit": (markdown.markdown_html, "a" * (markdown.MARKDOWN_LIMIT + 1),
                       "just over MARKDOWN_LIMIT (plain text)"),
        **_worst_cases(),
    }


def _worst_cases() -> dict:
    """Each costly shape at the most of it that is still formatted: the ≤ 100 ms target."""
    cases = {}
    for name in COSTLY_SHAPES:
        text = costliest_formatted(name, markdown_cost.BUDGET_US, markdown.MARKDOWN_LIMIT,
                                   markdown_cost.estimate)
        cases[f"worst: {name}"] = (markdown.markdown_html, text,
                                   f"worst formatted case: {name}, {len(text):,} chars")
    return cases


def _cycle(count: int, stride: int, end: str) -> str:
    """Tokens cycling through 200 words: the input that makes difflib split one at a time."""
    return "".join(f"w{(i * stride) % 200}{end}" for i in range(count))


def _diff_cases() -> dict:
    side = int(diff.WORD_PAIRS ** 0.5)  # 500 x 500 tokens: at the word budget
    lines = int(diff.LINE_PAIRS ** 0.5)
    prose = markdown_reply(12_000)
    edited = " ".join(w + "!" if i % 10 == 0 else w for i, w in enumerate(prose.split(" ")))
    other = markdown_reply(12_000).replace("the", "a").replace("code", "program")
    return {
        "diff_worst_words_at_cap": (_pair_diff, (_cycle(side, 1, " "), _cycle(side, 2, " ")),
                                    f"diff worst case: {side} x {side} cycling tokens"),
        "diff_worst_lines_at_cap": (_pair_diff, (_cycle(lines, 1, "\n"), _cycle(lines, 2, "\n")),
                                    f"diff worst case: {lines} x {lines} cycling lines"),
        "diff_12k_every_10th_word": (_pair_diff, (prose, edited),
                                     "diff of 12 KB replies, every 10th word changed"),
        "diff_12k_reworded": (_pair_diff, (prose, other), "diff of 12 KB replies, reworded"),
        "diff_over_line_budget": (_pair_diff, (_cycle(2_000, 1, "\n"), _cycle(2_000, 3, "\n")),
                                  "diff past the line budget (a note only)"),
    }


def _pair_diff(pair):
    return diff.word_diff(*pair)


def _timeline_cases() -> dict:
    events = [json.dumps({"choices": [{"index": 0, "delta": {"content": "token "}}]})] * 20_000
    times = [100 + i * 2.5 for i in range(len(events))]
    return {"timeline_20k_events": (_draw_timeline, (events, times),
                                    "timeline of 20,000 chunks: build, SVG, summary, JSON")}


def _draw_timeline(pair):
    line = timeline.build(pair[0], pair[1], total_ms=pair[1][-1] + 10)
    return timeline.svg(line), timeline.summary(line), line.to_json()


def _size(arg) -> int:
    if isinstance(arg, str):
        return len(arg)
    if isinstance(arg, tuple):
        return sum(len(part) if isinstance(part, str) else len(json.dumps(part)) for part in arg)
    return len(render.pretty_json(arg.response if isinstance(arg, Run) else arg))


def _feed(text: str) -> tuple[float, list[float], list[int], float, int | None]:
    """Feed a reply in deltas, snapshotting when due: (total ms, per snapshot, where, ...)."""
    live, now, at, per_snapshot = markdown.LiveMarkdown(), 0.0, [], []
    started = time.perf_counter()
    for start in range(0, len(text), LIVE_DELTA):
        now += LIVE_STEP_MS
        begun = time.perf_counter()
        live.feed(text[start:start + LIVE_DELTA])
        if live.due(now):
            live.snapshot(now)
            per_snapshot.append((time.perf_counter() - begun) * 1000)
            at.append(start + LIVE_DELTA)
    total = (time.perf_counter() - started) * 1000
    return total, per_snapshot, at, now, live.length if live.stopped else None


def _live(size: int, rounds: int, out) -> None:
    """Child: an untimed warm-up feed, timed feeds, then whole-text renders at the same points."""
    text = markdown_reply(size)
    _feed(text)  # imports the Pygments lexers, as a worker's first reply would
    totals, per_snapshot = [], []
    for _ in range(rounds):
        total, times, at, arrival, stopped_at = _feed(text)
        totals.append(total)
        per_snapshot += times
    every = max(1, -(-len(at) // LIVE_FULL_SAMPLES))
    full = []
    for end in at[::every]:
        begun = time.perf_counter()
        markdown.markdown_html(text[:end])
        full.append((time.perf_counter() - begun) * 1000)
    out.send({"chars": len(text), "arrival_ms": arrival, "snapshots": len(at),
              "total_ms": median(totals), "total_spread_ms": spread(totals),
              "per_snapshot": summary(per_snapshot), "stopped_at": stopped_at,
              "full_sampled": len(full), "full_total_ms": sum(full) * len(at) / len(full),
              "full_per_snapshot": summary(full)})


def _live_cost(cfg, size: int) -> dict:
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    rounds = max(1, min(cfg.render_reps, 5))
    child = context.Process(target=_live, args=(size, rounds, send), daemon=True)
    child.start()
    got = receive.recv() if receive.poll(cfg.render_timeout_s * 4) else None
    if child.is_alive():
        child.kill()
    child.join(5)
    label = f"live markdown, {size // 1000} KB reply at 4,000 chars/s, snapshots when due"
    if got is None:
        return {"label": label, "chars": size, "reps": 0, "median_ms": None, "max_ms": None,
                "timed_out": True}
    per, full = got["per_snapshot"], got["full_per_snapshot"]
    low, high = got["total_spread_ms"]
    stop = f"; live stops at {got['stopped_at']:,} chars" if got["stopped_at"] else ""
    got.update(label=label, reps=rounds, median_ms=per["median"], max_ms=per["max"],
               timed_out=False, detail=(
                   f"incremental: {got['snapshots']} snapshots, {got['total_ms']:.0f} ms in all "
                   f"(rounds {low:.0f}–{high:.0f}; {got['total_ms'] / got['arrival_ms']:.1%} "
                   f"of the arrival time), per snapshot median {per['median']:.2f} / p90 "
                   f"{per['p90']:.2f} / max {per['max']:.1f} ms; whole-text re-render at the "
                   f"same moments: ~{got['full_total_ms']:.0f} ms in all, per snapshot median "
                   f"{full['median']:.1f} / max {full['max']:.1f} ms "
                   f"({got['full_sampled']} of them timed){stop}"))
    return got


def _measure(name: str, reps: int, budget_s: float, out) -> None:
    """Child: one untimed warm-up, then up to reps timed calls within budget_s."""
    func, arg, _ = _cases()[name]
    func(arg)
    times, cpu, deadline = [], [], time.monotonic() + budget_s
    for _ in range(reps):
        start, start_cpu = time.perf_counter(), time.thread_time()
        func(arg)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        if time.monotonic() > deadline:
            break
    out.send((times, cpu))


def render_cost(cfg) -> dict:
    """Median ms per case; a case that overruns its timeout is reported as such."""
    context = multiprocessing.get_context("fork")  # the child inherits the imported renderer
    results = {}
    for name, (_, arg, label) in _cases().items():
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_measure, args=(name, cfg.render_reps, cfg.render_budget_s,
                                                       send), daemon=True)
        child.start()
        times, cpu = receive.recv() if receive.poll(cfg.render_timeout_s) else (None, None)
        if child.is_alive():
            child.kill()
        child.join(5)
        # CPU time is the render's own cost; wall time adds whatever else the machine ran.
        results[name] = {"label": label, "chars": _size(arg), "reps": len(times or []),
                         "median_ms": median(times) if times else None,
                         "max_ms": max(times) if times else None,
                         "cpu_median_ms": median(cpu) if cpu else None,
                         "timed_out": times is None}
    for size in (20_000, 200_000):
        results[f"live_{size // 1000}k"] = _live_cost(cfg, size)
    return results
