"""The event path routes each file to its dataset's DAG (issue 25), against the emulator's S3 and
DynamoDB and a stand-in Airflow API: one run per dataset a burst touches, a scheduled dataset's
files left to its daily run (loaded once, by one way in), a file no dataset claims recorded as
``unrouted`` and never loaded, and a missing routing table failing the invocation (nothing lost).

The routing table is the one the bootstrap publishes from dataset files (``routing_table``), so the
Lambda and the DAG factory read the same files.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from csv2ddb.datasets.registry import load_all
from csv2ddb.datasets.route_table import routing_table
from csv2ddb.history.audit import from_item
from csv2ddb.settings import Settings
from csv2ddb.tables import audit_table_spec, create_table
from csv2ddb_core.routing import STATUS_UNROUTED
from fake_airflow_api import FakeAirflow, s3_event

DATASETS = {
    "orders.yaml": (
        "files: {prefix: raw/orders/, arrive: event}\ntable: {name: '{prefix}-orders', partition_key: id:S}\n"
    ),
    "customers.yaml": (
        "files: {prefix: raw/customers/, arrive: event}\n"
        "table: {name: '{prefix}-customers', partition_key: id:S}\n"
    ),
    "daily.yaml": (
        "files: {prefix: raw/daily/, arrive: schedule, schedule: '@daily'}\n"
        "table: {name: '{prefix}-daily', partition_key: id:S}\n"
    ),
}


@pytest.fixture
def routed_stack(
    lambda_env: FakeAirflow,
    stack_settings: Settings,
    boto_session: boto3.Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Settings, Any]:
    """A bucket holding the routing table of three datasets, and the audit table."""
    for name, text in DATASETS.items():
        (tmp_path / name).write_text(text)
    found = load_all(tmp_path, stack_settings)
    assert not found.errors, found.errors
    s3 = boto_session.client("s3")
    s3.create_bucket(Bucket=stack_settings.bucket)
    body = routing_table(found.datasets)
    s3.put_object(Bucket=stack_settings.bucket, Key=stack_settings.routes_key, Body=json.dumps(body).encode())
    ddb = boto_session.client("dynamodb")
    create_table(ddb, audit_table_spec(stack_settings))
    monkeypatch.setenv("CSV2DDB_ROUTES_KEY", stack_settings.routes_key)
    monkeypatch.setenv("CSV2DDB_AUDIT_TABLE", stack_settings.audit_table)
    return stack_settings, ddb


def test_a_burst_over_three_datasets_and_an_unclaimed_prefix(
    trigger_dag: ModuleType, lambda_env: FakeAirflow, routed_stack: tuple[Settings, Any]
) -> None:
    settings, ddb = routed_stack
    bucket = settings.bucket
    keys = [
        "raw/orders/o1.csv",
        "raw/customers/c1.csv",
        "raw/orders/o2.csv",
        "raw/daily/dt=2024-03-01/d.csv",
        "raw/returns/r1.csv",
    ]
    summary = trigger_dag.handler(s3_event(*keys, bucket=bucket, uploader="AWS:AIDAUPLOADER"), None)

    orders_run = trigger_dag.batch_dag_run_id(
        [(bucket, k, "abc123") for k in ("raw/orders/o1.csv", "raw/orders/o2.csv")]
    )
    customers_run = trigger_dag.dag_run_id(bucket, "raw/customers/c1.csv", "abc123")
    assert summary["dag_run_ids"] == {
        "csv2ddb_load__orders": orders_run,
        "csv2ddb_load__customers": customers_run,
    }
    posted = {path: body for _, path, _, body in lambda_env.requests if path.endswith("/dagRuns")}
    assert set(posted) == {
        "/api/v2/dags/csv2ddb_load__orders/dagRuns",
        "/api/v2/dags/csv2ddb_load__customers/dagRuns",
    }
    orders = lambda_env.runs[orders_run]["conf"]["objects"]
    assert [o["key"] for o in orders] == ["raw/orders/o1.csv", "raw/orders/o2.csv"]
    assert {o["uploaded_by"] for o in orders} == {"AWS:AIDAUPLOADER"}  # who uploaded, for the audit record
    assert summary["scheduled"] == [{"key": "raw/daily/dt=2024-03-01/d.csv", "dag_id": "csv2ddb_load__daily"}]
    assert summary["unrouted"] == [
        {"key": "raw/returns/r1.csv", "reason": "no dataset claims raw/returns/r1.csv"}
    ]

    items = ddb.scan(TableName=settings.audit_table)["Items"]
    (record,) = [from_item(item) for item in items]  # the unrouted file only: nothing was loaded
    assert record["status"] == STATUS_UNROUTED
    assert record["source"] == f"s3://{bucket}/raw/returns/r1.csv"
    assert record["reason"] == "no dataset claims raw/returns/r1.csv"
    assert record["uploaded_by"] == "AWS:AIDAUPLOADER"

    # the same events again: the same two runs (409), the unrouted record overwritten, not doubled
    again = trigger_dag.handler(s3_event(*keys, bucket=bucket, uploader="AWS:AIDAUPLOADER"), None)
    assert again["triggered"] == []
    assert {t["dag_id"] for t in again["already_triggered"]} == {
        "csv2ddb_load__orders",
        "csv2ddb_load__customers",
    }
    assert len(ddb.scan(TableName=settings.audit_table)["Items"]) == 1


def test_a_missing_routing_table_fails_the_invocation_and_starts_nothing(
    trigger_dag: ModuleType,
    lambda_env: FakeAirflow,
    routed_stack: tuple[Settings, Any],
    boto_session: boto3.Session,
) -> None:
    settings, _ = routed_stack
    boto_session.client("s3").delete_object(Bucket=settings.bucket, Key=settings.routes_key)
    with pytest.raises(trigger_dag.TriggerError, match="1 of 1 records failed"):
        trigger_dag.handler(s3_event("raw/orders/o9.csv", bucket=settings.bucket), None)
    assert lambda_env.runs == {}


def test_without_a_routes_key_every_raw_file_goes_to_the_one_dag(
    trigger_dag: ModuleType, lambda_env: FakeAirflow
) -> None:
    """A function wired by hand (no CSV2DDB_ROUTES_KEY): the one-table setup of csv2ddb_load."""
    summary = trigger_dag.handler(s3_event(f"raw/{uuid.uuid4().hex}.csv"), None)
    assert list(summary["dag_run_ids"]) == ["csv2ddb_load"]
    assert summary["unrouted"] == [] == summary["scheduled"]
