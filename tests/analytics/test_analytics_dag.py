"""The whole path through real Airflow (``dag.test`` of csv2ddb_load) with CSV2DDB_PROCESSED on:
the Glue job (run by the emulator) lands the zone, the verify step registers the partition, counts
the load with Athena and records it in the audit record, and the metrics appear."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from csv2ddb.analytics import metrics
from csv2ddb.analytics.catalog import ensure_items_table, glue_hook
from csv2ddb.analytics.config import analytics_config
from csv2ddb.bootstrap.analytics_stack import analytics_resources
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.stack import ensure, remove
from csv2ddb.datasets.registry import deployed_dir, load_all
from csv2ddb.settings import DAG_ID_FRESHNESS, Settings
from csv2ddb_dev.emulator import Emulator

from tests.analytics.alerts import stale_series
from tests.dags.conftest import dag_runner, stack  # noqa: F401  (fixtures, reused)
from tests.dags.test_load_dag_runs import audit_records, flights_csv, upload

pytestmark = [pytest.mark.emulator, pytest.mark.airflow]
# The folder Airflow's DAGs come from here (tests/conftest.py): its datasets/ are the deployment's.
DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture
def analytics_stack(stack: Settings, emulator: Emulator) -> Iterator[Settings]:  # noqa: F811
    """The stack with the analytics side on: its catalog, workgroup, alarms and dashboard."""
    settings = stack.with_load(processed=True)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in emulator.client_env().items():
            mp.setenv(key, value)
        ctx = StackContext(settings)
        for resource in analytics_resources(ctx):
            ensure(resource)
        try:
            yield settings
        finally:
            for resource in reversed(analytics_resources(ctx)):
                remove(resource)


def test_a_dag_run_lands_registers_and_reconciles_its_load(
    analytics_stack: Settings,
    emulator: Emulator,
    dag_runner: Any,  # noqa: F811
    boto_session: boto3.Session,
    tmp_path: Path,
) -> None:
    settings = analytics_stack
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    key = "raw/flights-40.csv"
    head = upload(s3, settings, key, flights_csv(tmp_path, 40))
    conf = {
        "bucket": settings.bucket,
        "key": key,
        "etag": head["ETag"].strip('"'),
        "size": head["ContentLength"],
    }
    run = dag_runner.run(
        settings, "test", "csv2ddb_load", "--conf", json.dumps(conf), extra_env={"CSV2DDB_PROCESSED": "true"}
    )
    assert run.state == "success", run.output[-6000:]
    (record,) = audit_records(ddb, settings, run.result["dag_run_id"])
    assert record["status"] == "verified", record
    assert record["analytics_status"] == "reconciled", record
    assert record["athena_count"] == record["rows_written"] == 40
    assert record["processed_rows"] == 40
    assert record["partition"] == "created"
    assert float(record["analytics_seconds"]) >= float(record["athena_seconds"])  # the step holds the query
    cfg = analytics_config(settings)
    cw = boto_session.client("cloudwatch", endpoint_url=emulator.endpoint_url)
    assert cw.list_metrics(Namespace=cfg.namespace, MetricName=metrics.VERIFIED)["Metrics"]


def test_a_run_s_conf_turns_the_zone_off_for_its_load(
    analytics_stack: Settings,
    emulator: Emulator,
    dag_runner: Any,  # noqa: F811
    boto_session: boto3.Session,
    tmp_path: Path,
) -> None:
    """``processed: false`` in a run's conf (the form's "Processed zone" field): the stack's side is
    on, yet this load writes no Parquet and is not reconciled; it is verified by its keys as ever."""
    settings = analytics_stack
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    key = "raw/flights-12-no-zone.csv"
    head = upload(s3, settings, key, flights_csv(tmp_path, 12))
    conf = {"bucket": settings.bucket, "key": key, "etag": head["ETag"].strip('"'), "processed": "false"}
    run = dag_runner.run(
        settings, "test", "csv2ddb_load", "--conf", json.dumps(conf), extra_env={"CSV2DDB_PROCESSED": "true"}
    )
    assert run.state == "success", run.output[-6000:]
    (record,) = audit_records(ddb, settings, run.result["dag_run_id"])
    assert record["status"] == "verified", record
    assert record["rows_written"] == 12
    assert record["analytics_status"] == "off", record
    assert record.get("athena_count") is None
    listed = s3.list_objects_v2(Bucket=settings.bucket, Prefix="processed/").get("Contents", [])
    assert [o["Key"] for o in listed if f"/{record['run_id']}/" in o["Key"]] == []


def test_the_hourly_freshness_dag_drives_a_never_loaded_dataset_s_alarm(
    analytics_stack: Settings,
    emulator: Emulator,
    dag_runner: Any,  # noqa: F811
    boto_session: boto3.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """csv2ddb_freshness, run by Airflow as its schedule would: a dataset of the deployment's
    datasets/ folder never loaded (weather) is stale, its figure reaches CloudWatch and the
    staleness alarm the bootstrap made for it fires; a table only a load cataloged is watched too."""
    for key, value in emulator.client_env().items():
        monkeypatch.setenv(key, value)
    settings = analytics_stack
    cfg = analytics_config(settings)
    weather = load_all(deployed_dir(DAGS_FOLDER), settings).named("weather").table
    cataloged = f"cataloged-only-{uuid.uuid4().hex[:6]}"
    ensure_items_table(glue_hook(cfg), cfg, cataloged, [("id", "string")])
    cw = boto_session.client("cloudwatch", endpoint_url=emulator.endpoint_url)
    try:
        (alarm,) = cw.describe_alarms(AlarmNames=[cfg.stale_alarm(weather)])["MetricAlarms"]
        assert alarm["StateValue"] != "ALARM"
        run = dag_runner.run(settings, "test", DAG_ID_FRESHNESS)
        assert run.state == "success", run.output[-6000:]
        (alarm,) = cw.describe_alarms(AlarmNames=[cfg.stale_alarm(weather)])["MetricAlarms"]
        assert alarm["StateValue"] == "ALARM"
        for table in (weather, cataloged):
            assert stale_series(cw, settings, table) == [1.0], table
    finally:
        glue_hook(cfg).conn.delete_table(DatabaseName=cfg.database, Name=cfg.items_table(cataloged))
