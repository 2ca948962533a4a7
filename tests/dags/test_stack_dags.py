"""csv2ddb_bootstrap / csv2ddb_teardown under dag.test() against the emulator."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from csv2ddb.local.emulator import Emulator
from csv2ddb.settings import Settings

pytestmark = [pytest.mark.emulator, pytest.mark.airflow]


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


def test_bootstrap_dag_creates_the_stack_and_teardown_deletes_it(
    stack_settings: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    created = dag_runner.run(stack_settings, "test", "csv2ddb_bootstrap")
    assert created.state == "success", created.output[-6000:]
    assert created.tasks == {"create_stack": "success", "verify_stack": "success"}
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    s3.head_object(Bucket=stack_settings.bucket, Key=stack_settings.script_key)

    deleted = dag_runner.run(
        stack_settings, "test", "csv2ddb_teardown", "--conf", json.dumps({"confirm": "delete"})
    )
    assert deleted.state == "success", deleted.output[-6000:]
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert stack_settings.bucket not in buckets
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    assert stack_settings.audit_table not in ddb.list_tables()["TableNames"]
