"""csv2ddb_bootstrap / csv2ddb_teardown under dag.test() against the emulator."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from csv2ddb.settings import Settings
from csv2ddb_dev.emulator import Emulator

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
