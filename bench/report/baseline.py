""" "Before": the DAG row of the last benchmark run before this one, to set beside this run's.

Taken from docs/benchmarks.json (the last full run, committed with the code it measured), else
from the newest results file under .cache/bench that has a DAG row for the same data. A fresh
clone thus compares a full run with the page it replaces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.data import CACHE_DIR
from bench.report.output import DOCS_JSON

# What is kept of the earlier DAG row: enough to compare and to say where it came from.
KEPT = ("wall_s", "rows", "dataset", "job_sha256")
KEPT_INNER = ("glue_job_s", "glue_run_s", "orchestration_s", "check_s", "count_method", "tasks")


def _dag_row(path: Path, dataset: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    rows = [r for r in doc.get("results", []) if r.get("contender") == "csv2ddb_dag" and r.get("ok")]
    rows = [r for r in rows if r.get("dataset") == dataset]
    if not rows:
        return None
    row = rows[-1]
    inner = row.get("inner") or {}
    kept = {k: row.get(k) for k in KEPT}
    kept |= {k: inner.get(k) for k in KEPT_INNER}
    return {**kept, "from": str(path.name), "started_at": doc.get("started_at")}


def previous_dag(dataset: str) -> dict[str, Any] | None:
    """The previous DAG row for ``dataset`` (docs/ first, then the newest cached results)."""
    candidates = [DOCS_JSON, *sorted(CACHE_DIR.glob("results-*.json"), reverse=True)]
    for path in candidates:
        row = _dag_row(path, dataset) if path.exists() else None
        if row:
            return row
    return None
