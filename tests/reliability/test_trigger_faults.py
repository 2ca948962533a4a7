"""Faults around the orchestration: an Airflow retry of the Glue task while the first Glue run is
still going, and the same S3 event delivered three times.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from csv2ddb.bootstrap import create_stack, delete_stack
from csv2ddb.engines import PYTHONSHELL
from csv2ddb.job_definitions import create_job_kwargs, script_key
from csv2ddb.load import glue_task
from csv2ddb.load.file_plan import FilePlan
from csv2ddb_dev.emulator import Emulator, start_emulator
from csv2ddb_dev.paths import free_port
from csv2ddb_dev.scripts import load_script

from tests.glue.conftest import JOB_PATH
from tests.holding_proxy import HoldingProxy
from tests.reliability.casegen import BAD_KEYS
from tests.reliability.conftest import Results
from tests.reliability.faults import HELD_AFTER, WRITE_CALL, Place, ids_of, numbered_csv, wait_until

pytestmark = pytest.mark.emulator

REPO = Path(__file__).resolve().parents[2]
ACTIVE = {"STARTING", "RUNNING", "STOPPING", "WAITING"}

WEATHER_DAG = "csv2ddb_load__weather"  # the dataset whose files the event test uploads


class TaskInstanceStub:
    """Only what ``submit_job`` touches on the task instance: XCom pushes and the try number.

    A stub because the point is the operator's decision against a real Glue (the emulator's):
    reproducing "attempt 1 still running while attempt 2 starts" with a real scheduler needs a
    worker killed mid-task, which dag.test() cannot do. The DAG's own runs are in tests/dags.
    """

    task_id = "load_file.run_glue"
    try_number = 2

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


@pytest.fixture
def held_glue(tmp_path: Path) -> Iterator[tuple[Emulator, HoldingProxy]]:
    """An emulator of this test's own whose Glue jobs write through a HoldingProxy in front of it:
    a job run cannot get past its ``HELD_AFTER + 1``-th BatchWriteItem until the test releases it."""
    port = free_port()
    with HoldingProxy(f"http://127.0.0.1:{port}", WRITE_CALL, allow=HELD_AFTER) as proxy:
        emulator = start_emulator(tmp_path / "ministack", port=port, job_endpoint=proxy.url)
        try:
            yield emulator, proxy
        finally:
            proxy.release()  # no job run is left waiting
            emulator.stop()


def test_airflow_retry_while_the_first_glue_run_is_running_starts_no_second_run(
    held_glue: tuple[Emulator, HoldingProxy], monkeypatch: pytest.MonkeyPatch, results: Results
) -> None:
    emulator, proxy = held_glue
    place = Place.create(emulator)
    settings = place.settings
    # Run 1 must still run when attempt 2 submits, whatever the machine's speed: its job writes
    # through the proxy, which holds its 5th BatchWriteItem until attempt 2 has chosen its run.
    # (Before: a --max_write_rate cap made run 1 slower than the test, a bet on the machine.)
    rows = 1_000
    key = place.put("raw/guarded.csv", numbered_csv(rows, "gd"))
    place.s3.upload_file(str(JOB_PATH), place.bucket, script_key(settings))
    glue = place.client("glue")
    glue.create_job(
        Name=settings.glue.job_name,
        Role=f"arn:aws:iam::000000000000:role/{settings.glue.role_name}",
        **create_job_kwargs(settings),
    )
    load = {"bucket": place.bucket, "key": key, "table": place.table, "run_id": "guarded-1"}
    load["reject_tolerance"] = "0"
    args = {**FilePlan.from_xcom(load).run_arguments(settings, PYTHONSHELL), "--write_concurrency": "1"}
    try:
        first = glue.start_job_run(JobName=settings.glue.job_name, Arguments=args)["JobRunId"]
        proxy.wait_held(lambda: _active(glue, settings, first))
        state = glue.get_job_run(JobName=settings.glue.job_name, RunId=first)["JobRun"]
        assert state["JobRunState"] in ACTIVE, f"run 1 ended before its write was held: {state}"

        # Attempt 2 of the Glue task, built exactly as the DAG builds it, against the emulator.
        connection = {"conn_type": "aws", "login": "test", "password": "test"}
        connection["extra"] = {"region_name": settings.region, "endpoint_url": emulator.endpoint_url}
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
        operator = glue_task.GuardedGlueJobOperator(
            task_id="run_glue", script_args=args, **glue_task.operator_kwargs(settings)
        )
        ti = TaskInstanceStub()
        assert operator.submit_job({"ti": ti}) == first
        assert ti.xcom["glue_job_run_id"] == first

        runs = glue.get_job_runs(JobName=settings.glue.job_name)["JobRuns"]
        assert [r["Id"] for r in runs] == [first]  # no second run was started
        proxy.release()
        wait_until(lambda: not _active(glue, settings, first), 300, "run 1 to end", interval=0.5)
        state = glue.get_job_run(JobName=settings.glue.job_name, RunId=first)["JobRun"]
        assert state["JobRunState"] == "SUCCEEDED", state.get("ErrorMessage")
    finally:
        glue.delete_job(JobName=settings.glue.job_name)
    manifest = place.manifest("guarded-1")
    assert manifest is not None
    assert [manifest[k] for k in ("rows_read", "rows_written", "rows_rejected", "rows_duplicate")] == [
        rows,
        rows,
        0,
        0,
    ]
    assert set(place.items()) == ids_of("gd", rows)
    results.record(
        "fault",
        "airflow_retry_while_glue_runs",
        input=(
            f"Glue run 1 ({rows} rows) held at its write call {HELD_AFTER + 1}; the Glue task's "
            "attempt 2 submits the same load"
        ),
        via="GuardedGlueJobOperator.submit_job + emulator Glue",
        outcome="attempt 2 attached to run 1 (one Glue run in total); run 1 succeeded, table exact",
        rows_lost=rows - len(place.items()),
    )


def _active(glue: Any, settings: Any, run_id: str) -> bool:
    state = glue.get_job_run(JobName=settings.glue.job_name, RunId=run_id)["JobRun"]["JobRunState"]
    return state in ACTIVE


def _fake_airflow_module() -> ModuleType:
    """tests/lambda's stand-in Airflow API (tests/lambda cannot be imported as a package: 'lambda')."""
    path = REPO / "tests" / "lambda" / "fake_airflow_api.py"
    return load_script(path, "fake_airflow_api_for_reliability")


def test_same_s3_event_delivered_three_times_triggers_one_dag_run(
    stack_settings: Any, boto_session: Any, results: Results
) -> None:
    """Real S3 notification -> real Lambda (ministack runs lambda/trigger_dag.py) -> Airflow API.

    The API is tests/lambda's stand-in (answers 409 to a repeated dag_run_id like Airflow's): a
    real api-server costs a whole Airflow start on this machine, and the same Lambda -> real
    api-server -> 409 path is proven once in tests/local/test_local_airflow.py.
    """
    fake_module = _fake_airflow_module()
    fake, server = fake_module.serve_fake_airflow()
    settings = dataclasses.replace(stack_settings, airflow_api_url=fake.url)
    login = {"CSV2DDB_AIRFLOW_API_USERNAME": fake_module.USERNAME}
    login["CSV2DDB_AIRFLOW_API_PASSWORD"] = fake_module.PASSWORD
    try:
        create_stack(settings, env=login)
        s3 = boto_session.client("s3")
        key = f"{settings.raw_prefix}weather/delivered thrice.csv"  # dags/datasets/weather.yaml's files
        s3.put_object(Bucket=settings.bucket, Key=key, Body=b"id,v\n1,a\n")  # delivery 1: S3 itself
        etag = s3.head_object(Bucket=settings.bucket, Key=key)["ETag"].strip('"')
        wait_until(lambda: len(fake.runs) == 1, 120, "the Lambda to trigger the DAG", interval=0.5)

        record = fake_module.s3_event(key, bucket=settings.bucket, etag=etag)
        summaries = []
        for _ in range(2):  # deliveries 2 and 3: the same record again, as S3 may send it
            resp = boto_session.client("lambda").invoke(
                FunctionName=settings.lambda_function_name, Payload=json.dumps(record).encode()
            )
            summary = json.loads(resp["Payload"].read())
            assert "FunctionError" not in resp, summary
            summaries.append(summary)

        # Keys no load may start from: the Lambda skips them before asking Airflow anything.
        bad = {
            "Records": [{**record["Records"][0], "s3": bad_key_s3(record, k)} for k, _ in BAD_KEYS.values()]
        }
        resp = boto_session.client("lambda").invoke(
            FunctionName=settings.lambda_function_name, Payload=json.dumps(bad).encode()
        )
        skipped_summary = json.loads(resp["Payload"].read())
        assert "FunctionError" not in resp, skipped_summary
    finally:
        delete_stack(settings)
        server.shutdown()
        server.server_close()
    (run_id,) = fake.runs
    assert fake.runs[run_id]["conf"]["key"] == key
    assert fake.runs[run_id]["conf"]["etag"] == etag
    for summary in summaries:
        assert summary["triggered"] == []
        assert summary["already_triggered"] == [{"key": key, "dag_id": WEATHER_DAG, "dag_run_id": run_id}]
    posts = [r for r in fake.requests if r[1].endswith("/dagRuns")]
    assert len(posts) == 3  # and none for the bad keys
    assert {r[3]["dag_run_id"] for r in posts} == {run_id}
    results.record(
        "fault",
        "same_s3_event_three_times",
        input="one upload to raw/; its event delivered by S3 once and replayed twice to the Lambda",
        via="S3 notification + Lambda (emulator) + stand-in API",
        outcome="3 trigger calls with one deterministic dag_run_id; 1 run created, 2 answered 409",
        rows_lost=0,
    )
    assert skipped_summary["triggered"] == skipped_summary["failed"] == []
    skipped = {s["key"]: s["reason"] for s in skipped_summary["skipped"]}
    for name, (key, words) in BAD_KEYS.items():
        assert words in skipped[key]
        results.record(
            "key",
            f"{name} (Lambda)",
            input=f"S3 event for `{key}`",
            via="Lambda in the emulator",
            outcome=f"skipped, no trigger call: {skipped[key]}",
            rows_lost=0,
        )


def bad_key_s3(record: dict[str, Any], key: str) -> dict[str, Any]:
    s3 = record["Records"][0]["s3"]
    return {**s3, "object": {**s3["object"], "key": key}}
