"""Does an Airflow retry of the Glue task start a second Glue run while the first still runs?

Findings for apache-airflow-providers-amazon 9.39.0 on Airflow 3.3 (read from its source and
proven here against the emulator's real Glue job runs):

* ``durable`` (default on) stores the JobRunId in ``task_state_store`` *after* StartJobRun
  returns; a retry that finds it reconnects to the running job (test 1).
* If the worker dies between StartJobRun and that store write (or no store is available), the
  retry starts a second run next to the first (test 2): synchronous mode on 3.3 does not tag
  runs with ``--airflow_task_uuid``, so there is nothing to find them by.
* ``GuardedGlueJobOperator`` looks for an active run carrying this load's ``--run_id`` first
  and waits for it instead (test 3); a group run's retry finds it by ``--group_id`` (test 4).

Why stand-ins for the task instance and the state store: staging a worker that dies at exactly
that point needs control no local Airflow run gives. The stand-ins implement only what the
operator calls (``xcom_push/pull``, ids, ``try_number``; ``get``/``set``); the Glue side is real.

Why a gate and not a sleep: every assertion here needs the first run still active when the retry
looks for it. A job that sleeps a fixed time makes that a bet on the machine's speed; the job here
runs until the test opens its gate (a file), which a retry does only once it has chosen the run it
waits for (``poll_until_complete``). The gate's own limit only ends a broken test instead of hanging
it, and then the run fails and so does the test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from csv2ddb.settings import Settings
from csv2ddb_dev.emulator import Emulator

from tests.glue.pythonshell import create_pythonshell_job

pytestmark = pytest.mark.emulator

GATE_LIMIT_S = 300  # a broken test fails after this, instead of hanging


def gated_script(gate: Path) -> str:
    """A job script that runs until ``gate`` exists (the emulator runs Glue scripts on this machine)."""
    return (
        "import os, sys, time\n"
        f"deadline = time.monotonic() + {GATE_LIMIT_S}\n"
        f"while not os.path.exists({str(gate)!r}):\n"
        "    if time.monotonic() > deadline:\n"
        "        sys.exit('the test never opened the gate')\n"
        "    time.sleep(0.05)\n"
    )


@dataclass
class StandInTaskInstance:
    try_number: int
    dag_id: str = "csv2ddb_load"
    task_id: str = "load_file.run_glue"
    run_id: str = "manual__retry-test"
    map_index: int = 0
    stats_tags: dict = field(default_factory=dict)
    xcoms: dict = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def xcom_pull(self, key: str = "return_value", **_: Any) -> Any:
        return self.xcoms.get(key)


@dataclass
class DictStateStore:
    values: dict = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, **_: Any) -> None:
        self.values[key] = value


@pytest.fixture
def slow_job(
    stack_settings: Settings,
    emulator: Emulator,
    boto_session: boto3.Session,
    airflow_conn: None,
    tmp_path: Path,
) -> Iterator[dict[str, Any]]:
    """A real Glue Python-shell job on the emulator whose runs last until the test opens the gate."""
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    glue = boto_session.client("glue", endpoint_url=emulator.endpoint_url)
    bucket, name = stack_settings.bucket, f"{stack_settings.prefix}-slow"
    gate = tmp_path / "gate"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="scripts/slow.py", Body=gated_script(gate).encode())
    create_pythonshell_job(
        glue,
        name,
        f"s3://{bucket}/scripts/slow.py",
        MaxCapacity=0.0625,
        ExecutionProperty={"MaxConcurrentRuns": 4},
        Timeout=60,
    )
    yield {"glue": glue, "job_name": name, "gate": gate}
    gate.touch()  # every run still waiting ends now
    for run in glue.get_job_runs(JobName=name)["JobRuns"]:
        while glue.get_job_run(JobName=name, RunId=run["Id"])["JobRun"]["JobRunState"] in (
            "STARTING",
            "RUNNING",
        ):
            time.sleep(0.5)
    glue.delete_job(JobName=name)
    s3.delete_object(Bucket=bucket, Key="scripts/slow.py")
    s3.delete_bucket(Bucket=bucket)


def opening_the_gate(cls: type, gate: Path) -> type:
    """``cls`` that opens the gate when it starts waiting for a run: only after the run is chosen."""

    class Opening(cls):
        def poll_until_complete(self, external_id: Any, context: Any) -> None:
            gate.touch()
            super().poll_until_complete(external_id, context)

    return Opening


def operator(cls: type, job_name: str, run_id: str) -> Any:
    return cls(
        task_id="run_glue",
        job_name=job_name,
        script_args={"--run_id": run_id},
        aws_conn_id="aws_default",
        region_name="us-east-1",
        job_poll_interval=1,
    )


def context(ti: StandInTaskInstance, store: DictStateStore) -> dict[str, Any]:
    return {"ti": ti, "task_state_store": store}


def runs(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["glue"].get_job_runs(JobName=job["job_name"])["JobRuns"]


def state_of(job: dict[str, Any], run_id: str) -> str:
    return job["glue"].get_job_run(JobName=job["job_name"], RunId=run_id)["JobRun"]["JobRunState"]


def test_durable_reconnects_when_the_first_attempt_stored_its_run_id(slow_job: dict[str, Any]) -> None:
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

    store = DictStateStore()
    first = operator(GlueJobOperator, slow_job["job_name"], "load-1")
    assert first.durable is True  # the Airflow 3.3 default
    run_1 = first.submit_job(context(StandInTaskInstance(try_number=1), store))
    store.set(
        GlueJobOperator.external_id_key, run_1
    )  # what execute_resumable does next; then the worker dies
    assert state_of(slow_job, run_1) in ("STARTING", "RUNNING")

    retry = operator(opening_the_gate(GlueJobOperator, slow_job["gate"]), slow_job["job_name"], "load-1")
    assert retry.execute(context(StandInTaskInstance(try_number=2), store)) == run_1
    assert [r["Id"] for r in runs(slow_job)] == [run_1]


def test_plain_operator_starts_a_second_run_when_the_worker_died_before_storing_it(
    slow_job: dict[str, Any],
) -> None:
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator

    store = DictStateStore()
    run_1 = operator(GlueJobOperator, slow_job["job_name"], "load-2").submit_job(
        context(StandInTaskInstance(try_number=1), store)
    )  # ... and the worker dies before task_state_store.set()
    retry = operator(GlueJobOperator, slow_job["job_name"], "load-2")
    run_2 = retry.submit_job(context(StandInTaskInstance(try_number=2), store))
    assert run_2 != run_1
    assert state_of(slow_job, run_1) in ("STARTING", "RUNNING")  # two runs of one load at once
    assert len(runs(slow_job)) == 2


def test_guarded_operator_waits_for_the_running_load_instead(slow_job: dict[str, Any]) -> None:
    from csv2ddb.load.glue_task import GuardedGlueJobOperator

    store = DictStateStore()
    run_1 = operator(GuardedGlueJobOperator, slow_job["job_name"], "load-3").submit_job(
        context(StandInTaskInstance(try_number=1), store)
    )  # ... and the worker dies before task_state_store.set()
    assert state_of(slow_job, run_1) in ("STARTING", "RUNNING")
    retry = operator(
        opening_the_gate(GuardedGlueJobOperator, slow_job["gate"]), slow_job["job_name"], "load-3"
    )
    assert retry.execute(context(StandInTaskInstance(try_number=2), store)) == run_1
    assert state_of(slow_job, run_1) == "SUCCEEDED"  # it waited for the first run to finish
    assert [r["Id"] for r in runs(slow_job)] == [run_1]
    # Another load of the same job (another --run_id) is not mistaken for this one.
    other = operator(GuardedGlueJobOperator, slow_job["job_name"], "load-4")
    assert other.submit_job(context(StandInTaskInstance(try_number=1), store)) != run_1


def test_guarded_operator_finds_a_group_run_by_its_group_id(slow_job: dict[str, Any]) -> None:
    """A group run (csv2ddb.load.groups) carries no ``--run_id``: its retry finds it by ``--group_id``."""
    from csv2ddb.load.glue_task import GuardedGlueJobOperator

    def group_operator(group_id: str) -> Any:
        op = operator(
            opening_the_gate(GuardedGlueJobOperator, slow_job["gate"]), slow_job["job_name"], "unused"
        )
        op.script_args = {"--group_id": group_id, "--files": f"s3://b/manifests/groups/{group_id}.json"}
        return op

    store = DictStateStore()
    run_1 = group_operator("group-5").submit_job(context(StandInTaskInstance(try_number=1), store))
    assert state_of(slow_job, run_1) in ("STARTING", "RUNNING")  # ... and the worker dies
    assert group_operator("group-5").execute(context(StandInTaskInstance(try_number=2), store)) == run_1
    assert [r["Id"] for r in runs(slow_job)] == [run_1]
    # Another group is not mistaken for this one.
    assert group_operator("group-6").submit_job(context(StandInTaskInstance(try_number=1), store)) != run_1
