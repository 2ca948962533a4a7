"""Fixtures for the Lambda tests: the handler module and a stand-in Airflow API (see fake_airflow_api)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fake_airflow_api import FakeAirflow, serve_fake_airflow

LAMBDA_FILE = Path(__file__).resolve().parents[2] / "lambda" / "trigger_dag.py"


@pytest.fixture(scope="session")
def trigger_dag() -> ModuleType:
    """The Lambda module, loaded from its file (lambda/ is not a package: it ships as one file)."""
    spec = importlib.util.spec_from_file_location("trigger_dag", LAMBDA_FILE)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["trigger_dag"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_airflow() -> Iterator[FakeAirflow]:
    state, server = serve_fake_airflow()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
