"""Straight lines fitted to measured seconds (``seconds = fixed + per_MB × MB``), and where two of
them meet: the one arithmetic the crossover benchmark and the report's sentence both use."""

from __future__ import annotations

import statistics

Line = dict[str, float]  # {"fixed_s": ..., "per_mb_s": ...}


def fit(xs: list[float], ys: list[float]) -> Line | None:
    """``y = fixed + per × x`` by least squares (None with fewer than two distinct points)."""
    if len(xs) < 2 or len(set(xs)) < 2:
        return None
    per, fixed = statistics.linear_regression(xs, ys)
    return {"fixed_s": round(fixed, 2), "per_mb_s": round(per, 3)}


def meet_at(batch: Line, imported: Line) -> float | None:
    """The size (MB) at which the two lines meet, signed (below zero: they do not meet at any real
    size); None when they are parallel."""
    slower_per_mb = batch["per_mb_s"] - imported["per_mb_s"]  # > 0: the import gains with size
    if slower_per_mb == 0:
        return None
    return (imported["fixed_s"] - batch["fixed_s"]) / slower_per_mb
