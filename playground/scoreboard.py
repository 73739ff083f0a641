"""The metrics row of a comparison: each lane's numbers, and which lane is best at each.

Pure: from the lanes' runs to rows of cells. Lowest is best for time to first token, total
time and cost; highest for tokens per second. Token counts are shown, never ranked. A value
that was not reported is None ("n/a") and never wins; a tie marks every lane that has it.
"""

from __future__ import annotations

from dataclasses import dataclass

from playground.run import Run


@dataclass(frozen=True)
class Cell:
    value: object  # a number, a text, or None (not reported)
    text: str
    best: bool = False


@dataclass(frozen=True)
class Row:
    label: str
    cells: list[Cell]
    ranked: str | None = None  # "lowest" or "highest": what "best" means on this row


def _finish_reason(run: Run) -> str | None:
    response = run.response if isinstance(run.response, dict) else {}
    choices = response.get("choices") if isinstance(response.get("choices"), list) else []
    first = choices[0] if choices and isinstance(choices[0], dict) else {}
    reason = first.get("finish_reason")
    return reason if isinstance(reason, str) else None


def _ms(value) -> str:
    return f"{value:,.0f} ms"


def _row(label: str, values: list, fmt, ranked: str | None = None,
         eligible: list[bool] | None = None) -> Row:
    eligible = eligible or [True] * len(values)
    numbers = [v for v, ok in zip(values, eligible, strict=True)
               if ok and isinstance(v, int | float) and not isinstance(v, bool)]
    best = None
    if ranked and len(numbers) > 1:
        best = min(numbers) if ranked == "lowest" else max(numbers)
    return Row(label, [Cell(v, "n/a" if v is None else fmt(v), best is not None and ok and
                            v == best) for v, ok in zip(values, eligible, strict=True)], ranked)


def metrics(runs: list[Run]) -> list[Row]:
    """The metrics rows, one cell per lane, in lane order.

    Only lanes that completed compete: a lane stopped, cut or failed early is not "fastest".
    """
    usages = [run.usage for run in runs]
    done = [run.state == "complete" for run in runs]
    return [
        _row("Time to first token", [run.ttft_ms for run in runs], _ms, "lowest", done),
        _row("Total time", [run.total_ms for run in runs], _ms, "lowest", done),
        _row("Tokens per second", [run.tokens_per_s for run in runs], lambda v: f"{v:,.1f}",
             "highest", done),
        _row("Prompt tokens", [u.prompt for u in usages], lambda v: f"{v:,}"),
        _row("Completion tokens", [u.completion for u in usages], lambda v: f"{v:,}"),
        _row("Reasoning tokens", [u.reasoning for u in usages], lambda v: f"{v:,}"),
        _row("Cost", [u.cost_usd for u in usages], lambda v: f"${v:.6f}", "lowest", done),
        _row("Finish reason", [_finish_reason(run) for run in runs], str),
    ]


def total_cost(runs: list[Run]) -> float | None:
    """The comparison's cost: the sum of the lanes' reported costs (None if none reported)."""
    costs = [run.usage.cost_usd for run in runs if run.usage.cost_usd is not None]
    return sum(costs) if costs else None


def reply_text(run: Run) -> str:
    """The raw text of a lane's first choice, for the diff."""
    response = run.response if isinstance(run.response, dict) else {}
    choices = response.get("choices") if isinstance(response.get("choices"), list) else []
    first = choices[0] if choices and isinstance(choices[0], dict) else {}
    message = first.get("message") if isinstance(first.get("message"), dict) else {}
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return content if isinstance(content, str) else ""
