"""Fixtures for the Lambda tests: the handler module and a stand-in Airflow API (see fake_airflow_api)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType

import boto3
import pytest
from csv2ddb_dev.scripts import lambda_module
from fake_airflow_api import PASSWORD, USERNAME, FakeAirflow, serve_fake_airflow


@pytest.fixture(scope="session")
def trigger_dag() -> ModuleType:
    """The Lambda module, loaded from its file (lambda/ is not a package: it ships as one file)."""
    return lambda_module()


@pytest.fixture
def fake_airflow() -> Iterator[FakeAirflow]:
    state, server = serve_fake_airflow()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def lambda_env(
    fake_airflow: FakeAirflow, boto_session: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> FakeAirflow:
    """The handler's environment as the bootstrap writes it; the login is in Secrets Manager."""
    secret_id = f"csv2ddb-test/{id(fake_airflow)}"
    sm = boto_session.client("secretsmanager")
    sm.create_secret(Name=secret_id, SecretString=json.dumps({"username": USERNAME, "password": PASSWORD}))
    fake_airflow.secret_id = secret_id
    monkeypatch.setenv("CSV2DDB_AIRFLOW_API_URL", fake_airflow.url)
    monkeypatch.setenv("CSV2DDB_SECRET_ID", secret_id)
    monkeypatch.setenv("CSV2DDB_DAG_ID", "csv2ddb_load")
    monkeypatch.setenv("CSV2DDB_RAW_PREFIX", "raw/")
    monkeypatch.setenv("CSV2DDB_TRIGGER_MODE", "airflow")
    return fake_airflow
