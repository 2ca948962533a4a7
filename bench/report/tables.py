"""The Markdown tables of docs/benchmarks.md: every run, the DAG run's time, the targets' verdicts.

Also printed by ``bench.run`` at the end of a run.
"""

from __future__ import annotations

from typing import Any

from bench.data import BIG_ON_SINK
from bench.report.results import ORDER, UNORDERED


def _fmt(value: Any, spec: str = ",.0f") -> str:
    """A figure, or a dash where it was not measured."""
    return "—" if value is None else format(value, spec)


def _run_tag(r: dict[str, Any]) -> str:
    """Which run a merged record came from: run-YYYYmmddTHHMMSSZ → ' · run 00:23Z'."""
    run = r.get("run")
    return f" · run {run[13:15]}:{run[15:17]}Z" if run and len(run) >= 17 else ""


def markdown_table(doc: dict[str, Any]) -> str:
    """Every run of the document, emulator runs first, in contender order."""
    head = (
        "| data | contender | threads | wall s | rows/s | × ceiling | client CPU s | CPU s / M rows "
        "| peak RSS MB | emulator CPU s (cores) | items verified | load 1m before→after |\n"
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n"
    )
    rows = []
    results = sorted(
        doc["results"],
        key=lambda r: (
            r.get("server", "ministack") != "ministack",
            r["dataset"] == BIG_ON_SINK,
            ORDER.get(r["contender"], UNORDERED),
        ),
    )
    for r in results:
        if r["verified"] is None:
            verified = f"n/a (no writes; {r['inner'].get('items', '?'):,} items built)"
        elif r["verified"]:
            verified = f"✅ {r['verified_count']:,}"
        else:
            verified = f"❌ {_fmt(r['verified_count'])} of {r['expected_items']:,}"
        if r["contender"] == "import_table" and r.get("inner"):
            inner = r["inner"]
            verified += f" (imported {inner.get('imported_item_count')}, errors {inner.get('error_count')})"
        rows.append(
            f"| {r['dataset']} ({r['rows']:,}){_run_tag(r)} | {r['label']} | {_fmt(r.get('threads'), 'd')} "
            f"| {_fmt(r['wall_s'], '.1f')} | {_fmt(r['rows_per_s'])} | {_fmt(r['ratio_to_ceiling'], '.2f')} "
            f"| {_fmt(r['client_cpu_s'], '.1f')} | {_fmt(r['client_cpu_s_per_m_rows'])} "
            f"| {_fmt(r['peak_rss_mb'])} "
            f"| {_fmt(r['emulator_cpu_s'], '.1f')} ({_fmt(r['emulator_cores'], '.2f')}) "
            f"| {verified} | {r['load_before'][0]:.2f}→{r['load_after'][0]:.2f} |"
        )
    return head + "\n".join(rows) + "\n"


def dag_section(doc: dict[str, Any]) -> str:
    """Where the DAG run's time goes: the Glue job's own seconds vs the orchestration around it."""
    runs = [r for r in doc["results"] if r["contender"] == "csv2ddb_dag" and r["ok"]]
    if not runs:
        return ""
    lines = [
        "### Through the DAG: the orchestration overhead\n",
        "The same file once through `csv2ddb_load` with `dag.test()` (real Airflow, tasks in one",
        "process; the Glue job run by the emulator from the stack's script). *Glue job* is the job's",
        "own time from its manifest; *orchestration* is the DAG run's wall time minus that. The DAG",
        "row's client CPU and RSS are the Airflow process's; the job's CPU is in the emulator column.\n",
        "| data | DAG wall s | Glue job s | Glue rows/s | orchestration s | per task (s) |",
        "|---|--:|--:|--:|--:|---|",
    ]
    for r in runs:
        inner = r.get("inner") or {}
        tasks = ", ".join(
            f"{name} {_fmt(t.get('seconds'), '.1f')}" for name, t in (inner.get("tasks") or {}).items()
        )
        cells = [
            f"{r['dataset']} ({r['rows']:,})",
            _fmt(r["wall_s"], ".1f"),
            _fmt(inner.get("glue_job_s"), ".1f"),
            _fmt(inner.get("glue_rows_per_s")),
            _fmt(inner.get("orchestration_s"), ".1f"),
            tasks,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def targets_table(doc: dict[str, Any]) -> str:
    """Each target with its measured value, goal and verdict."""
    lines = ["| target | measured | goal | met | figures |", "|---|--:|---|---|---|"]
    for t in doc["targets"]:
        met = {True: "✅ met", False: "❌ missed", None: "— not measured"}[t["met"]]
        lines.append(f"| {t['target']} | {_fmt(t['value'], ',.2f')} | {t['goal']} | {met} | {t['detail']} |")
    return "\n".join(lines) + "\n"
