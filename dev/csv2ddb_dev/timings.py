"""Where a csv2ddb_load run's seconds went: the Glue job's own time, the count check, and the rest
(the orchestration), from the Airflow REST API, Glue's GetJobRun and the run's audit records.

Used by ``make demo`` (its phase timings) and the end-to-end test (tests/local); laptop-only.
"""

from __future__ import annotations

import timeit
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from csv2ddb_dev.airflow_api import AirflowApi

# A pure-Python loop timed on this machine: the same code took about three times the CPU-seconds
# on 2026-12-06 as on 2026-12-02 (the host's speed varies), so a run's seconds are read beside it.
HOST_GAUGE_STATEMENT = "sum(i * i for i in range(100000))"


def host_gauge_ms(statement: str = HOST_GAUGE_STATEMENT) -> float:
    """Milliseconds per run of ``statement``, best of 5 repeats of 20: the day's host speed."""
    return min(timeit.Timer(statement).repeat(repeat=5, number=20)) / 20 * 1000


def host_gauge_text(ms: float) -> str:
    """The gauge as the demo and the benchmark page print it."""
    command = f'python -m timeit "{HOST_GAUGE_STATEMENT}"'
    return f"host gauge {ms:.1f} ms per `{command}` (lower: a faster host that day)"


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


@dataclass
class RunTimings:
    dag_run_s: float | None  # the run's start_date -> end_date, as Airflow records it
    queued_s: float | None  # queued_at -> start_date: the scheduler picking the run up
    glue_job_s: float | None  # Glue's own StartedOn -> CompletedOn of the run's job run(s), summed
    load_s: float | None  # the job's manifest: the load itself, inside the job
    check_s: float | None  # the count check (audit record's check_seconds), summed
    tasks: dict[str, float | None] = field(default_factory=dict)
    load_methods: list[str] = field(default_factory=list)  # batch | import, per file

    @property
    def orchestration_s(self) -> float | None:
        """Everything in the DAG run that is not the Glue job."""
        if self.dag_run_s is None or self.glue_job_s is None:
            return None
        return self.dag_run_s - self.glue_job_s

    @property
    def ratio(self) -> float | None:
        """DAG run seconds per Glue job second (the issue's target: at most 1.25 for flights)."""
        if not self.dag_run_s or not self.glue_job_s:
            return None
        return self.dag_run_s / self.glue_job_s

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "orchestration_s": self.orchestration_s, "ratio": self.ratio}

    def lines(self) -> list[str]:
        """The breakdown as the demo prints it."""

        def fmt(value: float | None) -> str:
            return "     -- " if value is None else f"{value:7.1f}s"

        out = [
            f"{fmt(self.dag_run_s)}  DAG run (start to end)",
            f"{fmt(self.glue_job_s)}    the Glue job run (Glue's own StartedOn -> CompletedOn)",
            f"{fmt(self.load_s)}      of which the load itself (its manifest)",
            f"{fmt(self.check_s)}    the count check (key list, BatchGetItem)",
            f"{fmt(self.orchestration_s)}    everything but the Glue job (tasks, polling, check)",
        ]
        if self.ratio is not None:
            out.append(f"{self.ratio:7.2f}x  DAG run / Glue job")
        if "import" in self.load_methods:
            out.append(
                "           (an import load: the Glue job only stages; ImportTable is the import_table task)"
            )
        out += [
            f"{fmt(seconds)}    task {name}" for name, seconds in self.tasks.items() if seconds is not None
        ]
        return out


def glue_run_seconds(glue: Any, job_name: str, job_run_id: str) -> float | None:
    run = glue.get_job_run(JobName=job_name, RunId=job_run_id)["JobRun"]
    if not run.get("StartedOn") or not run.get("CompletedOn"):
        return None
    return (run["CompletedOn"] - run["StartedOn"]).total_seconds()


def _sum(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def run_timings(
    api: AirflowApi, glue: Any, dag_id: str, dag_run_id: str, records: Sequence[Mapping[str, Any]]
) -> RunTimings:
    """The breakdown of one finished DAG run whose per-file audit records are ``records``."""
    run = api.get_dag_run(dag_id, dag_run_id)
    tasks = {}
    for ti in sorted(api.list_task_instances(dag_id, dag_run_id), key=lambda t: t.get("start_date") or ""):
        name = ti["task_id"] + (f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else "")
        tasks[name] = ti.get("duration")
    # Each Glue run once: the files of a group (csv2ddb.load.groups) share one run.
    glue_runs = [
        glue_run_seconds(glue, name, run_id)
        for name, run_id in sorted(
            {
                (r["glue_job_name"], r["glue_job_run_id"])
                for r in records
                if r.get("glue_job_run_id") and r.get("glue_job_name")
            }
        )
    ]
    return RunTimings(
        dag_run_s=_seconds(run.get("start_date"), run.get("end_date")),
        queued_s=_seconds(run.get("queued_at"), run.get("start_date")),
        glue_job_s=_sum(glue_runs),
        load_s=_sum([r.get("load_seconds") for r in records]),
        check_s=_sum([r.get("check_seconds") for r in records]),
        tasks=tasks,
        load_methods=[str(r["load_method"]) for r in records if r.get("load_method")],
    )
