"""CSV2DDB_TRIGGER_MODE=mwaa: the real boto3 ``mwaa.invoke_rest_api`` call, served by ministack's MWAA.

ministack implements InvokeRestApi as a proxy to the environment's webserver. Without Docker it
cannot start an Airflow container, so a created environment is "stub-only" with its webserver
at ``localhost:<MWAA_BASE_PORT>``; we put the stand-in Airflow API on exactly that port. The proxy
sends no bearer token (it assumes an all-admins Airflow 3 container), which is also why this
test does not aim it at the real api-server of tests/local (that one requires a login).
This needs its own ministack with the ``mwaa`` service (the session emulator does not enable it).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from types import ModuleType

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from csv2ddb_dev import emulator as emulator_module
from csv2ddb_dev.paths import free_port
from fake_airflow_api import FakeAirflow, s3_event, serve_fake_airflow

ENVIRONMENT = "csv2ddb-test-mwaa"
EMULATOR_PYTHON = emulator_module.EMULATOR_VENV / "bin" / "python"


def _emulator_has_requests() -> bool:
    """ministack's InvokeRestApi proxy imports ``requests``, which ministack does not depend on."""
    probe = subprocess.run([str(EMULATOR_PYTHON), "-c", "import requests"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.fixture
def mwaa_stack(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeAirflow]:
    if not _emulator_has_requests():
        pytest.skip("ministack's MWAA proxy needs `requests` in .venv-emulator (requirements-emulator.in)")
    webserver_port = free_port()
    fake, server = serve_fake_airflow(webserver_port)
    fake.require_token = False
    monkeypatch.setenv("MWAA_BASE_PORT", str(webserver_port))  # the stub environment's webserver port
    monkeypatch.setattr(emulator_module, "SERVICES", "mwaa,sts")
    em = emulator_module.start_emulator(tmp_path_factory.mktemp("ministack-mwaa"))
    try:
        for key, value in em.client_env().items():
            monkeypatch.setenv(key, value)
        # botocore would prefix the host with "api." / "env."; an IP endpoint cannot take that.
        mwaa = boto3.client("mwaa", config=Config(inject_host_prefix=False))
        mwaa.create_environment(
            Name=ENVIRONMENT,
            ExecutionRoleArn="arn:aws:iam::000000000000:role/mwaa",
            SourceBucketArn="arn:aws:s3:::csv2ddb-mwaa-dags",
            DagS3Path="dags/",
            NetworkConfiguration={"SubnetIds": ["subnet-1", "subnet-2"]},
        )
        deadline = time.monotonic() + 30
        while mwaa.get_environment(Name=ENVIRONMENT)["Environment"]["Status"] != "AVAILABLE":
            assert time.monotonic() < deadline, "ministack MWAA environment never became AVAILABLE"
            time.sleep(0.2)
        yield fake
    finally:
        em.stop()
        server.shutdown()
        server.server_close()


def test_mwaa_mode_triggers_once_through_invoke_rest_api(
    trigger_dag: ModuleType, mwaa_stack: FakeAirflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSV2DDB_TRIGGER_MODE", "mwaa")
    monkeypatch.setenv("CSV2DDB_MWAA_ENVIRONMENT", ENVIRONMENT)
    monkeypatch.delenv("CSV2DDB_AIRFLOW_API_URL", raising=False)
    monkeypatch.delenv("CSV2DDB_SECRET_ID", raising=False)
    event = s3_event("raw/a.csv")

    summary = trigger_dag.handler(event, None)
    run_id = trigger_dag.dag_run_id("b", "raw/a.csv", "abc123")
    assert summary["triggered"] == [{"key": "raw/a.csv", "dag_id": "csv2ddb_load", "dag_run_id": run_id}]
    method, path, _, body = mwaa_stack.requests[-1]
    assert (method, path) == ("POST", "/api/v2/dags/csv2ddb_load/dagRuns")
    conf = trigger_dag.batch_conf(trigger_dag.parse_records(event))  # a batch of one: objects + its fields
    assert body == {"logical_date": None, "dag_run_id": run_id, "conf": conf}

    again = trigger_dag.handler(event, None)
    assert again["already_triggered"] == [
        {"key": "raw/a.csv", "dag_id": "csv2ddb_load", "dag_run_id": run_id}
    ]
    assert list(mwaa_stack.runs) == [run_id]


def test_mwaa_mode_needs_an_environment_name(
    trigger_dag: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSV2DDB_TRIGGER_MODE", "mwaa")
    monkeypatch.setenv("CSV2DDB_MWAA_ENVIRONMENT", "")
    with pytest.raises(trigger_dag.TriggerError) as info:
        trigger_dag.handler(s3_event("raw/a.csv"), None)
    assert "CSV2DDB_MWAA_ENVIRONMENT must be set" in str(info.value.__cause__)


def test_mwaa_mode_treats_a_409_client_exception_as_already_triggered(
    trigger_dag: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real MWAA *raises* RestApiClientException for Airflow's 4xx answers; ministack answers 200 with
    the status inside, so this path is driven by botocore's Stubber (the real service model)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    trigger = trigger_dag.MwaaTrigger(ENVIRONMENT)
    with Stubber(trigger.client) as stub:
        stub.add_client_error(
            "invoke_rest_api",
            service_error_code="RestApiClientException",
            http_status_code=400,
            modeled_fields={"RestApiStatusCode": 409, "RestApiResponse": {"detail": "exists"}},
            expected_params={
                "Name": ENVIRONMENT,
                "Path": "/dags/csv2ddb_load/dagRuns",
                "Method": "POST",
                "Body": {"logical_date": None, "dag_run_id": "r1", "conf": {"key": "raw/a.csv"}},
            },
        )
        stub.add_client_error(
            "invoke_rest_api",
            service_error_code="RestApiClientException",
            http_status_code=400,
            modeled_fields={"RestApiStatusCode": 404, "RestApiResponse": {"detail": "DAG not found"}},
        )
        assert trigger.trigger("csv2ddb_load", "r1", {"key": "raw/a.csv"}) == trigger_dag.ALREADY_TRIGGERED
        with pytest.raises(trigger_dag.TriggerError, match="HTTP 404: DAG not found"):
            trigger.trigger("csv2ddb_load", "r2", {"key": "raw/b.csv"})
        stub.assert_no_pending_responses()
