"""Fixtures for the Lambda tests: the handler module and a stand-in Airflow API (see fake_airflow_api)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
from csv2ddb_dev.scripts import lambda_module
from fake_airflow_api import FakeAirflow, serve_fake_airflow


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
