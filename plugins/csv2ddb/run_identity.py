"""Who and what started a DAG run, as the audit record and the notes name them: the load DAGs and
the rollback DAG ask the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Who started a run that no person triggered, by its run type.
NOT_A_PERSON = {"scheduled": "scheduler", "backfill": "backfill", "asset_triggered": "asset"}


def run_type_name(run_type: Any) -> str:
    """``"scheduled"`` for ``DagRunType.SCHEDULED`` (an enum whose ``str()`` is its class path)."""
    return str(getattr(run_type, "value", run_type))


def triggered_by(dag_run: Any) -> str:
    """The Airflow user who triggered the run (the form, the REST API, who created a backfill), else
    what started it (the scheduler, an asset event)."""
    user = getattr(dag_run, "triggering_user_name", None)
    if user:
        return str(user)
    return NOT_A_PERSON.get(run_type_name(getattr(dag_run, "run_type", "")), "unknown")


@dataclass(frozen=True)
class RunStamp:
    """The DAG run a record belongs to, read once from the task's context: which DAG and run, its
    type, who started it, and its logical date (ISO text; None for a run without one)."""

    dag_id: str
    dag_run_id: str
    run_type: str
    triggered_by: str | None
    logical_date: str | None = None

    @classmethod
    def of(cls, ti: Any, dag_run: Any) -> RunStamp:
        logical_date: Any = getattr(dag_run, "logical_date", None)
        return cls(
            dag_id=ti.dag_id,
            dag_run_id=ti.run_id,
            run_type=run_type_name(getattr(dag_run, "run_type", "")),
            triggered_by=triggered_by(dag_run),
            logical_date=logical_date.isoformat() if hasattr(logical_date, "isoformat") else None,
        )
