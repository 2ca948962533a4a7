"""Shared fixtures, one of each per pytest session: the real local AWS emulator (ministack on a free
loopback port), the migrated Airflow home the DAG runs use, and the local Spark session.

Session fixtures live here rather than in a suite's conftest because a fixture imported into another
conftest is a second definition with a cache of its own: each suite re-importing them paid for a
second emulator, Airflow migration or Spark session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from csv2ddb.settings import Settings, load_settings
from csv2ddb_dev.emulator import Emulator, start_emulator

# The analytics side is on by default (CSV2DDB_PROCESSED). Most suites test something else: the
# session's emulator hands every stack, DAG run and Airflow process it configures the switch OFF
# (no Parquet, no Athena query per load, no analytics resources per bootstrap). The suites that test
# the analytics side (tests/analytics) turn it on explicitly.
ANALYTICS_OFF = {"CSV2DDB_PROCESSED": "false"}


@dataclass
class HarnessEmulator(Emulator):
    """The session's ministack: its client environment passes the analytics side off."""

    def client_env(self) -> dict[str, str]:
        return {**super().client_env(), **ANALYTICS_OFF}


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One ministack for the whole session (every service of SERVICES, Athena and CloudWatch
    included), stopped by PID (process group) at the end."""
    em = HarnessEmulator(**vars(start_emulator(tmp_path_factory.mktemp("ministack"))))
    try:
        yield em
    finally:
        em.stop()


@pytest.fixture
def aws_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point every boto3 client (and settings) of this test at the emulator."""
    env = emulator.client_env()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for leak in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(leak, raising=False)
    return env


@pytest.fixture
def boto_session(aws_env: dict[str, str]) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"],
        region_name=aws_env["AWS_DEFAULT_REGION"],
    )


@pytest.fixture
def stack_settings(aws_env: dict[str, str]) -> Settings:
    """Settings with a unique stack prefix, so tests sharing one emulator never collide."""
    return load_settings(aws_env, prefix=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """AIRFLOW_* variables of a fresh, migrated Airflow home whose dags folder is dags/.

    One per session (here, not in tests/dags, so every suite that runs DAGs through
    tests/dags/conftest.py's dag_runner shares one migration and one runner fork server).
    """
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(Path(__file__).resolve().parents[1] / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return env


@pytest.fixture(scope="session")
def spark_job() -> ModuleType:
    from tests.spark.conftest import load_job_module

    return load_job_module()


@pytest.fixture(scope="session")
def spark(emulator: Emulator, spark_job: ModuleType) -> Iterator[Any]:
    """ONE local Spark session for every Spark test (tests/spark, tests/checks, tests/analytics):
    it takes seconds of CPU to start. Started with the emulator's endpoint in the environment."""
    from tests.spark.conftest import LOCAL_CORES

    saved = {k: os.environ.get(k) for k in emulator.client_env()}
    os.environ.update(emulator.client_env())
    session = spark_job.start_spark(spark_job.spark_options(["--spark_local_cores", LOCAL_CORES], {}))
    try:
        yield session
    finally:
        session.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def engines(spark: Any, spark_job: ModuleType, emulator: Emulator) -> Any:
    """The two-engine runner of tests/spark/conftest.py (Python shell and Spark, same inputs)."""
    from tests.spark.conftest import Engines

    env = emulator.client_env()
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    s3 = session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    return Engines(spark, spark_job, s3, ddb)
