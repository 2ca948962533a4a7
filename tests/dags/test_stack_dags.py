"""csv2ddb_bootstrap / csv2ddb_teardown under dag.test() against the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from csv2ddb.analytics.config import analytics_config
from csv2ddb.datasets.registry import load_all
from csv2ddb.settings import Settings
from csv2ddb_dev.emulator import Emulator

pytestmark = [pytest.mark.emulator, pytest.mark.airflow]
REPO = Path(__file__).resolve().parents[2]


def test_teardown_refuses_without_confirm(
    stack_settings: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    s3.create_bucket(Bucket=stack_settings.bucket)
    try:
        run = dag_runner.run(
            stack_settings, "test", "csv2ddb_teardown", "--conf", json.dumps({"confirm": "yes"})
        )
        assert run.state == "failed"
        assert run.tasks["confirm_deletion"] == "failed"
        assert run.tasks["delete_stack"] == "upstream_failed"
        assert "refusing to delete stack" in run.output
        assert "confirm='delete' (got 'yes')" in run.output
        s3.head_bucket(Bucket=stack_settings.bucket)  # still there
    finally:
        s3.delete_bucket(Bucket=stack_settings.bucket)


def test_the_stack_dags_alarm_on_each_dataset_of_their_own_folder(
    stack_settings: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    """csv2ddb_bootstrap reads the dataset files of its own DAGs folder, the ones Airflow builds the
    dataset DAGs from: each dataset's table gets its staleness alarm (and status, its verify task,
    finds the stack complete); csv2ddb_teardown removes them."""
    settings = stack_settings.with_load(processed=True)
    analytics_on = {"CSV2DDB_PROCESSED": "true"}  # the harness turns the side off elsewhere
    cfg = analytics_config(settings)
    tables = load_all(REPO / "dags" / "datasets", settings).tables
    assert tables  # the demo datasets
    cw = boto_session.client("cloudwatch", endpoint_url=emulator.endpoint_url)

    def stale_alarms() -> set[str]:
        found = cw.describe_alarms(AlarmNamePrefix=cfg.stale_alarm_prefix)["MetricAlarms"]
        return {alarm["AlarmName"] for alarm in found}

    created = dag_runner.run(settings, "test", "csv2ddb_bootstrap", extra_env=analytics_on)
    try:
        assert created.state == "success", created.output[-6000:]
        assert created.tasks["verify_stack"] == "success"
        assert stale_alarms() == {cfg.stale_alarm(table) for table in (settings.table, *tables)}
    finally:
        confirm = json.dumps({"confirm": "delete"})
        deleted = dag_runner.run(
            settings, "test", "csv2ddb_teardown", "--conf", confirm, extra_env=analytics_on
        )
    assert deleted.state == "success", deleted.output[-6000:]
    assert stale_alarms() == set()
