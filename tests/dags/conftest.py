"""Fixtures for the DAG tests: a child-process runner and a real stack.

Airflow runs in child processes (see airflow_runner.py: forked from one server per session
that imported Airflow once) against the session's Airflow home (tests/conftest.py, a SQLite
database migrated once per session); the AWS side is the session's emulator with a stack from
``csv2ddb.bootstrap.create_stack`` (real glue/ script) under a unique prefix per test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from csv2ddb.bootstrap import Sources, create_stack, delete_stack
from csv2ddb.settings import Settings, load_settings
from csv2ddb_dev.emulator import Emulator, endpoint_env
from csv2ddb_dev.paths import free_port

# One module object whichever way this conftest is imported (pytest imports it as `conftest`, other
# suites as `tests.dags.conftest`): the runner's fork servers are one registry per process.
from tests.dags.runner_client import AirflowRun, run_airflow

REPO = Path(__file__).resolve().parents[2]

# The stack's S3 notification invokes the trigger Lambda on every raw/*.csv upload. These
# tests drive csv2ddb_load through dag.test() themselves, so the Lambda here only records the
# event (the real Lambda -> Airflow API path is tested in tests/lambda and tests/local).
NOOP_HANDLER = """
def handler(event, context):
    return {"records": len(event.get("Records", []))}
"""


def airflow_env_for(
    settings: Settings, emulator: Emulator, airflow_home: dict[str, str], endpoint: str | None = None
) -> dict[str, str]:
    """Env of an Airflow process that runs csv2ddb against ``settings`` on the emulator; its AWS
    calls go to ``endpoint`` instead when given (a proxy in front of the emulator)."""
    endpoint = endpoint or emulator.endpoint_url
    connection = {
        "conn_type": "aws",
        "login": "test",
        "password": "test",
        "extra": {"region_name": settings.region, "endpoint_url": endpoint},
    }
    return {
        **airflow_home,
        **emulator.client_env(),
        **endpoint_env(endpoint),
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
        "CSV2DDB_PREFIX": settings.prefix,
        "CSV2DDB_AIRFLOW_API_URL": settings.airflow_api_url,
        "CSV2DDB_SENSOR_DEFERRABLE": "true",
        # These tests drive the Glue path with small files, which `auto` would now load inline:
        # they keep the Glue job; tests/dags/test_inline_engine.py turns inline on (extra_env).
        "CSV2DDB_INLINE_MAX_BYTES": "0",
    }


@pytest.fixture
def airflow_conn(
    airflow_home: dict[str, str], emulator: Emulator, aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Provider hooks used in this (pytest) process reach the emulator through aws_default."""
    for key, value in airflow_home.items():
        monkeypatch.setenv(key, value)
    connection = {
        "conn_type": "aws",
        "login": "test",
        "password": "test",
        "extra": {"region_name": emulator.region, "endpoint_url": emulator.endpoint_url},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))


@dataclass
class DagRunner:
    """Runs airflow_runner.py commands against one Airflow home and the session's emulator."""

    emulator: Emulator
    airflow_home: dict[str, str]

    def run(
        self,
        settings: Settings | None,
        *args: str,
        extra_env: dict[str, str] | None = None,
        endpoint: str | None = None,
    ) -> AirflowRun:
        env = dict(self.airflow_home)
        if settings is not None:
            env = airflow_env_for(settings, self.emulator, self.airflow_home, endpoint)
        return run_airflow(list(args), {**env, **(extra_env or {})})


@pytest.fixture
def dag_runner(emulator: Emulator, airflow_home: dict[str, str]) -> DagRunner:
    return DagRunner(emulator, airflow_home)


@pytest.fixture(scope="module")
def stack(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A full csv2ddb stack (bootstrap) on the emulator, shared by one test module, then deleted.

    Module-scoped because a bootstrap costs real time on the shared machine; tests on it tell
    their data apart by DAG run id / table.
    """
    env = emulator.client_env()
    # No Airflow API server listens on this port: the note step must cope with that.
    settings = load_settings(
        env, prefix=f"d{uuid.uuid4().hex[:10]}", airflow_api_url=f"http://127.0.0.1:{free_port()}"
    )
    lambda_dir = tmp_path_factory.mktemp("lambda")
    (lambda_dir / "trigger_dag.py").write_text(NOOP_HANDLER)
    sources = Sources(lambda_dir=lambda_dir)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        for leak in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            mp.delenv(leak, raising=False)
        create_stack(settings, sources=sources)
        try:
            yield settings
        finally:
            delete_stack(settings, sources=sources)
