"""Small, dependency-free statistics for benchmark samples."""

from __future__ import annotations

import statistics


def percentile(values: list[float], pct: float) -> float | None:
    """Linear-interpolated percentile (pct in 0..100), None for no samples."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summary(values: list[float]) -> dict:
    """Count, median, p90, p99, max and min of samples (milliseconds by convention)."""
    return {"n": len(values), "min": min(values, default=None), "median": median(values),
            "p90": percentile(values, 90), "p99": percentile(values, 99),
            "max": max(values, default=None)}


def spread(values: list[float]) -> list[float] | None:
    """[min, max] of per-round estimates: how much a result moved between rounds."""
    return [min(values), max(values)] if values else None


def diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b
