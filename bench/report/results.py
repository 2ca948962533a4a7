"""Picking records out of a run: a contender's best verified run and the ceiling it is held to.

Records of several runs may be merged into one document (each then carries its ``run``); the
load on the machine differs between runs, so a record is compared with its own run's ceiling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.record import TYPED, item_types

# The order contenders appear in, in the tables and the chart.
ORDER = {
    "ceiling": 0,
    "csv2ddb_job": 1,
    "csv2ddb_job_before": 1,
    "csv2ddb_job_pre21": 1,
    "csv2ddb_dag": 2,
    "transform_only": 3,
    "csv2ddb_import": 4,
    "import_table": 5,
    "batch_writer": 6,
    "awswrangler": 7,
    "processed_zone": 8,
    "processed_zone_spark": 8,
}
UNORDERED = 9  # after every contender ORDER knows


def best(
    results: list[dict[str, Any]], contender: str, dataset: str | None, shape: str | None = TYPED
) -> dict[str, Any] | None:
    """The contender's best verified run on ``dataset`` (of item shape ``shape``; None: any): by
    ratio to its own run's ceiling when results of several runs are merged (load differs between
    runs), else by rows/s."""
    runs = [
        r
        for r in results
        if r["contender"] == contender
        and r["dataset"] == dataset
        and r["ok"]
        and r["verified"] is not False
        and (shape is None or item_types(r) == shape)
    ]
    if not runs:
        return None
    return max(runs, key=lambda r: (r.get("ratio_to_ceiling") or 0, r["rows_per_s"]))


def run_ceiling(results: list[dict[str, Any]], r: dict[str, Any]) -> dict[str, Any] | None:
    """The best ceiling of the same file and item shape in the same run (records carry ``run``
    when merged)."""
    same = [
        c
        for c in results
        if c["contender"] == "ceiling"
        and c["dataset"] == r["dataset"]
        and item_types(c) == item_types(r)
        and c.get("run") == r.get("run")
        and c["ok"]
        and c["verified"]
    ]
    return max(same, key=lambda c: c["rows_per_s"]) if same else None


def with_ratios(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set every record's ``ratio_to_ceiling`` (rows/s ÷ its run's ceiling of its shape)."""
    for r in results:
        ceiling = run_ceiling(results, r)
        r["ratio_to_ceiling"] = (
            round(r["rows_per_s"] / ceiling["rows_per_s"], 3) if ceiling and r["rows_per_s"] else None
        )
    return results


def zone_pairs(
    results: list[dict[str, Any]], contender: str, dataset: str | None
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The (zone off, zone on) pairs of a processed-zone contender on ``dataset``, of the last run
    that has them (records carry ``run`` when merged), matched by round; only pairs of two
    verified loads."""
    mine = [r for r in results if r["contender"] == contender and r["dataset"] == dataset]
    if not mine:
        return []
    last = mine[-1].get("run")
    rounds: dict[int, dict[bool, dict[str, Any]]] = {}
    for r in mine:
        if r.get("run") == last:
            rounds.setdefault(r.get("zone_round", 0), {})[bool(r.get("processed"))] = r
    return [
        (pair[False], pair[True])
        for _, pair in sorted(rounds.items())
        if len(pair) == 2 and all(r["ok"] and r["verified"] for r in pair.values())
    ]


# What a zone pair's ratio is taken of: the job's own load seconds (its manifest's ``seconds``),
# the contender's wall seconds (the job's process), its client CPU seconds (the process tree's).
ZONE_FIGURES: dict[str, Callable[[dict[str, Any]], float]] = {
    "load": lambda r: r["inner"]["load_s"],
    "wall": lambda r: r["wall_s"],
    "cpu": lambda r: r["client_cpu_s"],
}


def zone_ratios(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, float] | None:
    """Zone on ÷ zone off of each of ``ZONE_FIGURES``, summed over the pairs (the rounds)."""
    if not pairs:
        return None
    return {
        name: round(sum(figure(on) for _, on in pairs) / sum(figure(off) for off, _ in pairs), 3)
        for name, figure in ZONE_FIGURES.items()
    }
