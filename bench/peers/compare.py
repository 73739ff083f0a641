"""Turn the rounds into figures per server, ratios to each peer, targets and two tables.

Every figure is first worked out inside one round (an "added" time is that round's median for
a server less the same round's median for direct), so the headline is the median over rounds
and the spread is the lowest and highest round. A ratio is app ÷ peer, round by round.
"""

from __future__ import annotations

import math

from bench.peers.servers import LABELS
from bench.stats import median, spread

PEERS = ("litellm", "portkey")
# The section 2 targets for the app, each against direct in the same round.
CPU_TARGET_MS, TTFT_TARGET_MS = 2.5, 2.0
SHARE_TARGETS = {100: 0.97, 1000: 0.9}


def _per_round(rounds: list[dict], pick) -> list[float | None]:
    values = []
    for r in rounds:
        try:
            values.append(pick(r))
        except (KeyError, TypeError):
            values.append(None)
    return values


def _added(part: str, key: str, direct_key: str):
    return lambda r: r[part][key]["median"] - r[part][direct_key]["median"]


def figures(rounds: list[dict], names: list[str], ns: list[int]) -> dict:
    """Per-round lists of every figure, keyed by (figure, server)."""
    out: dict = {}
    for name in names:
        if name == "direct":
            continue
        for key in ((["app_nojs", "app_stream"]) if name == "app" else [name]):
            out[("short_added", key)] = _per_round(rounds, _added("short", key, "direct"))
        out[("ttft_added", name)] = _per_round(
            rounds, _added("stream", f"{name}_ttft", "direct_ttft"))
        out[("reach_added", name)] = _per_round(
            rounds, _added("stream", f"{name}_reach", "direct_reach"))
    for name in names:
        for n in ns:
            for field in ("throughput_of_ideal", "errors", "cpu_ms_per_stream", "peak_rss_mib",
                          "added_p99_ms"):
                out[(f"{field}@{n}", name)] = _per_round(
                    rounds, lambda r, n=n, name=name, field=field:
                    r["waves"][str(n)][name][field])
    out[("reach", "direct")] = _per_round(rounds, lambda r: r["stream"]["direct_reach"]["median"])
    out[("ttft", "direct")] = _per_round(rounds, lambda r: r["stream"]["direct_ttft"]["median"])
    out[("short", "direct")] = _per_round(rounds, lambda r: r["short"]["direct"]["median"])
    return out


def _clean(values: list) -> list[float]:
    return [v for v in values if v is not None]


def ratio(a: float | None, p: float | None) -> float | None:
    """a ÷ p; infinite when only p is 0 (a peer that completed no stream), else None."""
    if a is None or p is None or p < 0 or (p == 0 and a <= 0):
        return None
    return a / p if p > 0 else math.inf


def ratios(app: list, peer: list) -> list[float | None]:
    """app ÷ peer, round by round."""
    return [ratio(a, p) for a, p in zip(app, peer, strict=True)]


def _number(value: float, unit: str) -> str:
    if math.isinf(value):
        return "∞"
    if unit == "%":
        return f"{value * 100:.0f}"
    if unit == "x":
        return f"{value:.2f}"
    if unit == "MiB":
        return f"{value:.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    suffix = {"%": "%", "x": "×", "MiB": " MiB"}.get(unit, " ms")
    return _number(value, unit) + suffix


def cell(values: list, unit: str = "ms") -> str:
    """The median over rounds and, when it moved, the lowest–highest round: "5.7 ms (5.6–5.8)"."""
    clean = _clean(values)
    if not clean:
        return "n/a"
    med, (low, high) = median(clean), spread(clean)
    if len(clean) == 1 or _number(low, unit) == _number(high, unit):
        return _fmt(med, unit)
    return f"{_fmt(med, unit)} ({_number(low, unit)}–{_number(high, unit)})"


def _row(metric: str, target: str, measured: str, ok: bool | None) -> dict:
    verdict = "info" if ok is None else "PASS" if ok else "FAIL"
    return {"metric": metric, "target": target, "measured": measured, "result": verdict}


def _lead_row(metric: str, app: list, peer: list, peer_name: str, unit: str,
              lower_is_better: bool = True, errors: tuple[list, list] | None = None) -> dict:
    """A ratio app ÷ peer; PASS when the app leads in every round."""
    per_round = ratios(app, peer)
    clean = _clean(per_round)
    if not clean or len(clean) < len(per_round):
        ok = None  # a round without a defined ratio: no verdict, the numbers still shown
    else:
        ok = all(r < 1 for r in clean) if lower_is_better else all(r > 1 for r in clean)
    target = "< 1 in every round" if lower_is_better else "> 1 in every round"
    app_errors, peer_errors = (f", {sum(_clean(e))} errors" for e in errors) if errors \
        else ("", "")
    return _row(f"{metric}: this app ÷ {LABELS[peer_name]}", target,
                f"{cell(per_round, 'x')}; app {cell(app, unit)}{app_errors} vs "
                f"{cell(peer, unit)}{peer_errors}", ok)


def rows(rounds: list[dict], names: list[str], ns: list[int]) -> list[dict]:
    """The ratio rows (app ÷ each peer) and the section 2 targets, with PASS/FAIL."""
    f = figures(rounds, names, ns)
    peers = [p for p in PEERS if p in names]
    out = []
    for peer in peers:
        out.append(_lead_row("added latency, short reply, no-JS POST → 303 → GET vs "
                             "non-streamed", f[("short_added", "app_nojs")],
                             f[("short_added", peer)], peer, "ms"))
        out.append(_lead_row("added latency, short reply, /stream complete (save + render) vs "
                             "non-streamed", f[("short_added", "app_stream")],
                             f[("short_added", peer)], peer, "ms"))
        out.append(_lead_row("added time to first token (streamed)", f[("ttft_added", "app")],
                             f[("ttft_added", peer)], peer, "ms"))
        out.append(_lead_row("request reaches the upstream, added", f[("reach_added", "app")],
                             f[("reach_added", peer)], peer, "ms"))
        for n in ns:
            out.append(_lead_row(f"{n} concurrent streams, share of ideal",
                                 f[(f"throughput_of_ideal@{n}", "app")],
                                 f[(f"throughput_of_ideal@{n}", peer)], peer, "%",
                                 lower_is_better=False,
                                 errors=(f[(f"errors@{n}", "app")], f[(f"errors@{n}", peer)])))
            out.append(_lead_row(f"{n} concurrent streams, CPU per stream",
                                 f[(f"cpu_ms_per_stream@{n}", "app")],
                                 f[(f"cpu_ms_per_stream@{n}", peer)], peer, "ms"))
            out.append(_lead_row(f"{n} concurrent streams, peak RSS",
                                 f[(f"peak_rss_mib@{n}", "app")],
                                 f[(f"peak_rss_mib@{n}", peer)], peer, "MiB"))
    return out + target_rows(f, ns)


def target_rows(f: dict, ns: list[int]) -> list[dict]:
    """The issue's section 2 targets for the app, measured here beside the (idle) peers."""
    ttft = f[("ttft_added", "app")]
    ttft_med = median(_clean(ttft))
    out = [_row("app: added time to first token, median (target set for app + direct alone; "
                "here the peers sit idle beside them)", f"≤ {TTFT_TARGET_MS:g} ms", cell(ttft),
                ttft_med is not None and ttft_med <= TTFT_TARGET_MS)]
    for n in ns:
        cpu = f[(f"cpu_ms_per_stream@{n}", "app")]
        cpu_med = median(_clean(cpu))
        out.append(_row(f"app: CPU per stream, {n} concurrent (master + workers, /proc)",
                        f"≤ {CPU_TARGET_MS:g} ms", cell(cpu),
                        cpu_med is not None and cpu_med <= CPU_TARGET_MS))
        share = ratios(f[(f"throughput_of_ideal@{n}", "app")],
                       f[(f"throughput_of_ideal@{n}", "direct")])
        errors = sum(_clean(f[(f"errors@{n}", "app")]))
        goal = SHARE_TARGETS.get(n)
        share_med = median(_clean(share))
        measured = (f"{cell(share, 'x')} (app {cell(f[(f'throughput_of_ideal@{n}', 'app')], '%')}"
                    f", direct {cell(f[(f'throughput_of_ideal@{n}', 'direct')], '%')}); "
                    f"{errors} errors")
        if goal is None:
            out.append(_row(f"app: {n} concurrent streams, share of ideal ÷ direct's", "report",
                            measured, None))
        else:
            ok = share_med is not None and share_med >= goal and (n != 1000 or errors == 0)
            out.append(_row(f"app: {n} concurrent streams, share of ideal ÷ direct's",
                            f"≥ {goal:g}" + (", 0 errors" if n == 1000 else ""), measured, ok))
    return out


def side_by_side(rounds: list[dict], names: list[str], ns: list[int], idle: dict) -> str:
    """The issue's table: one row per measure, one column per server, medians (spreads)."""
    f = figures(rounds, names, ns)
    cols = [n for n in names]
    head = "| measure | " + " | ".join(LABELS[c] for c in cols) + " |"
    lines = [head, "|---" * (len(cols) + 1) + "|"]

    def line(label: str, values: dict) -> None:
        lines.append(f"| {label} | " + " | ".join(values.get(c, "—") for c in cols) + " |")

    short = {c: cell(f[("short_added", c)]) for c in cols if ("short_added", c) in f}
    short["app"] = (f"no-JS {cell(f[('short_added', 'app_nojs')])}; "
                    f"/stream {cell(f[('short_added', 'app_stream')])}")
    short["direct"] = f"baseline: {cell(f[('short', 'direct')])}"
    line("added latency, short reply (app: no-JS POST → 303 → GET, and /stream with save and "
         "render; peers: non-streamed)", short)
    ttft = {c: cell(f[("ttft_added", c)]) for c in cols if ("ttft_added", c) in f}
    ttft["direct"] = f"baseline: {cell(f[('ttft', 'direct')])}"
    line("added time to first token (streamed)", ttft)
    reach = {c: cell(f[("reach_added", c)]) for c in cols if ("reach_added", c) in f}
    reach["direct"] = f"baseline: {cell(f[('reach', 'direct')])}"
    line("request reaches the upstream, added", reach)
    for n in ns:
        line(f"{n} concurrent 2-s streams: share of ideal (errors)",
             {c: f"{cell(f[(f'throughput_of_ideal@{n}', c)], '%')} "
                 f"({sum(_clean(f[(f'errors@{n}', c)]))})" for c in cols})
    for n in ns:
        line(f"{n} concurrent streams: CPU per stream",
             {c: cell(f[(f"cpu_ms_per_stream@{n}", c)]) for c in cols if c != "direct"})
    for n in ns:
        line(f"{n} concurrent streams: peak RSS",
             {c: cell(f[(f"peak_rss_mib@{n}", c)], "MiB") for c in cols if c != "direct"})
    line("idle RSS after warm-up", {c: _fmt(idle.get(c), "MiB") for c in cols if c != "direct"})
    return "\n".join(lines)


def report(rounds: list[dict], names: list[str], ns: list[int], idle: dict) -> tuple[str, list]:
    """The side-by-side table as markdown, and the ratio and target rows."""
    return side_by_side(rounds, names, ns, idle), rows(rounds, names, ns)
