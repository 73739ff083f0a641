"""(d) What rendering costs: big replies, a 1 MB JSON, and the worst inputs the caps allow.

Each case runs in a forked child with a hard timeout, so a pathological input can only cost
its own time budget, never hang the whole benchmark.
"""

from __future__ import annotations

import multiprocessing
import time

from bench.content import big_completion, markdown_reply
from bench.stats import median
from playground import render
from playground.run import Run

_cache: dict = {}


def _cases() -> dict:
    """name -> (function, argument, what it shows); built once, forked children inherit it."""
    if not _cache:
        _cache.update(_build())
    return _cache


def _build() -> dict:
    # Just under MARKDOWN_LIMIT: the biggest reply that is still parsed as markdown.
    big_md = markdown_reply(render.MARKDOWN_LIMIT - 1_000)
    big_json = big_completion(1_000_000)
    run = Run(request={"model": "bench/logprobs", "messages": []}, endpoint="bench",
              response=big_json, total_ms=1000.0)
    half = render.MARKDOWN_LIMIT // 2
    return {
        "markdown_200k": (render.markdown_html, big_md, "200 KB reply, code blocks, tables"),
        "json_tree_1mb": (render.json_tree, big_json, "1 MB response JSON as a tree"),
        "present_1mb": (render.present, run, "everything _result.html needs, 1 MB JSON"),
        "brackets_at_cap": (render.markdown_html, "[" * render.BRACKET_LIMIT,
                            "BRACKET_LIMIT '[' (still parsed)"),
        "brackets_100k": (render.markdown_html, "[" * 100_000, "100,000 '[' (plain text)"),
        "a_underscore_100k": (render.markdown_html, "a_" * half, "'a_' x 100,000"),
        "star_a_100k": (render.markdown_html, "*a" * half, "'*a' x 100,000"),
        "backtick_a_100k": (render.markdown_html, "`a" * half, "'`a' x 100,000"),
        "lt_200k": (render.markdown_html, "<" * render.MARKDOWN_LIMIT, "200,000 '<'"),
        "link_open_at_cap": (render.markdown_html, "[a](" * (render.BRACKET_LIMIT - 1),
                             "'[a](' up to the bracket cap"),
        "over_limit": (render.markdown_html, "a" * (render.MARKDOWN_LIMIT + 1),
                       "just over MARKDOWN_LIMIT (plain text)"),
    }


def _measure(name: str, reps: int, budget_s: float, out) -> None:
    """Child: one untimed warm-up, then up to reps timed calls within budget_s."""
    func, arg, _ = _cases()[name]
    func(arg)
    times, deadline = [], time.monotonic() + budget_s
    for _ in range(reps):
        start = time.perf_counter()
        func(arg)
        times.append((time.perf_counter() - start) * 1000)
        if time.monotonic() > deadline:
            break
    out.send(times)


def render_cost(cfg) -> dict:
    """Median ms per case; a case that overruns its timeout is reported as such."""
    context = multiprocessing.get_context("fork")  # the child inherits the imported renderer
    results = {}
    for name, (_, arg, label) in _cases().items():
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_measure, args=(name, cfg.render_reps, cfg.render_budget_s,
                                                       send), daemon=True)
        child.start()
        times = receive.recv() if receive.poll(cfg.render_timeout_s) else None
        if child.is_alive():
            child.kill()
        child.join(5)
        size = len(arg) if isinstance(arg, str) else len(render.pretty_json(
            arg.response if isinstance(arg, Run) else arg))
        results[name] = {"label": label, "chars": size, "reps": len(times or []),
                         "median_ms": median(times) if times else None,
                         "max_ms": max(times) if times else None,
                         "timed_out": times is None}
    return results
