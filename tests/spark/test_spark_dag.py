"""The local DAG path with ``engine=spark``: csv2ddb_load (real Airflow, dag.test()) -> the guarded
GlueJobOperator -> the stack's Spark job (bootstrap-created; registered as a Python-shell job on
the emulator, which runs it as a process) -> glue/csv2ddb_spark_job.py in local[2,4] -> count check
-> verified audit record. The S3 event -> Lambda -> REST API leg is engine-independent and tested
in tests/local; `make demo` runs all of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from csv2ddb.history.audit import from_item
from csv2ddb.settings import Settings
from csv2ddb_dev.datasets import write_flights_csv
from csv2ddb_dev.emulator import Emulator

pytestmark = [pytest.mark.emulator, pytest.mark.airflow, pytest.mark.spark]
ROWS = 2000


def test_engine_spark_through_the_load_dag(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session, tmp_path: Path
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    glue = boto_session.client("glue", endpoint_url=emulator.endpoint_url)
    key = f"raw/flights-{ROWS}.csv"
    s3.upload_file(str(write_flights_csv(tmp_path / "f.csv", limit=ROWS)), stack.bucket, key)
    head = s3.head_object(Bucket=stack.bucket, Key=key)
    conf = {
        "bucket": stack.bucket,
        "key": key,
        "etag": head["ETag"].strip('"'),
        "size": head["ContentLength"],
        "engine": "spark",
        "load_method": "batch",  # a new table would otherwise be loaded by ImportTable (no engine)
    }
    run = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf))
    assert run.state == "success", run.output[-8000:]

    items = ddb.query(
        TableName=stack.audit_table,
        KeyConditionExpression="dag_run_id = :d",
        ExpressionAttributeValues={":d": {"S": run.result["dag_run_id"]}},
        ConsistentRead=True,
    )["Items"]
    (record,) = [from_item(i) for i in items]
    assert record["status"] == "verified", record
    assert (record["rows_read"], record["rows_written"], record["items_counted"]) == (ROWS, ROWS, ROWS)

    manifest = json.loads(
        s3.get_object(Bucket=stack.bucket, Key=stack.manifest_key(record["run_id"]))["Body"].read()
    )
    assert manifest["engine"] == "spark"
    assert manifest["spark"]["master"] == "local[2,4]"
    assert manifest["keys_count"] == ROWS
    runs = glue.get_job_runs(JobName=stack.spark.job_name)["JobRuns"]
    assert [r["Arguments"].get("--engine") for r in runs] == ["spark"]
    assert runs[0]["JobRunState"] == "SUCCEEDED"
    assert glue.get_job_runs(JobName=stack.glue.job_name)["JobRuns"] == []  # the Python shell did not run
