"""The results document: one run's facts, every record with its ratio to the ceiling, the verdicts.

Built at the end of a run, or rebuilt from saved results (several runs merged in order) or from
the per-contender ``records.jsonl`` of runs cut short. It is what docs/benchmarks.json holds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import facts
from bench.data import RUN_PREFIX, RUN_STAMP
from bench.report import results as picks
from bench.report import targets

# The run facts kept of each run merged into another's document.
MERGED_FACTS = ("started_at", "mode", "load_average_start", "load_average_end")
# Sections that are not loader records (each a measurement of its own): a later document that has
# one replaces the earlier one's, e.g. a ``python -m bench.crossover`` run merged into the page.
SECTIONS = ("check_scale", "import_crossover")


def build(meta: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    """The results document: run facts, every run with its ratio to the ceiling, the targets."""
    picks.with_ratios(results)
    return {**meta, "results": results, "targets": targets.judge(meta, results)}


def rebuild(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """One document from saved ones, in order: the first one's run facts head it; the others'
    results and datasets are appended (each result keeps its own load average and names its run)."""
    doc = docs[0]
    names = {d["name"] for d in doc["datasets"]}
    for extra in docs[1:]:
        # Tag each appended record with its run (as ``from_records`` does), so the tables say which
        # run a row is from and a record is held to its own run's ceiling, not the first run's.
        tag = RUN_PREFIX + datetime.fromisoformat(extra["started_at"]).strftime(RUN_STAMP)
        for r in extra["results"]:
            r.setdefault("run", tag)
        doc["results"] += extra["results"]
        doc["datasets"] += [d for d in extra["datasets"] if d["name"] not in names]
        names |= {d["name"] for d in extra["datasets"]}
        doc.setdefault("merged_runs", []).append({k: extra.get(k) for k in MERGED_FACTS})
        doc.update({name: extra[name] for name in SECTIONS if extra.get(name)})
    return build({k: v for k, v in doc.items() if k not in ("results", "targets")}, doc["results"])


def from_records(paths: list[Path]) -> dict[str, Any]:
    """A results document from the per-contender ``records.jsonl`` of runs that were cut short.

    The run facts are rebuilt here (machine, versions now; start time from the run folder's
    name; load averages from the first and last record), and the page says so.
    """
    results = [
        {**json.loads(line), "run": path.parent.name}
        for path in paths
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    datasets: dict[str, dict[str, Any]] = {}
    for r in results:
        datasets.setdefault(r["dataset"], {"name": r["dataset"], "rows": r["rows"], "bytes": 0, "path": "?"})
    stamp = paths[0].parent.name.removeprefix(RUN_PREFIX)
    started = datetime.strptime(stamp, RUN_STAMP).replace(tzinfo=UTC)
    shas = sorted({r.get("job_sha256") or "not recorded" for r in results})
    return {
        "started_at": started.isoformat(timespec="seconds"),
        "mode": "assembled from per-contender records (" + ", ".join(p.parent.name for p in paths) + ")",
        "machine": facts.machine_facts(),
        "versions": facts.versions(),
        "job": {**facts.job_facts(), "per_run": shas},
        "load_average_start": results[0]["load_before"] if results else None,
        "load_average_end": results[-1]["load_after"] if results else None,
        "emulator_idle_cores": None,
        "datasets": list(datasets.values()),
        "results": results,
    }
