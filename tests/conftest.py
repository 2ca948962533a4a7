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
REPO = Path(__file__).resolve().parents[1]


# `make test` runs on two xdist workers (scripts/test.sh: `-n 2`). Each test file is one unit of
# work, so its module fixtures (a bootstrapped stack, a local Airflow) are set up once; these folders
# go whole to one worker: tests/ui shares one Airflow stack per package, and tests/reliability's last
# test renders the rows every test of the folder recorded.
WHOLE_FOLDER_UNITS = ("tests/ui", "tests/reliability")
# The longest units start first (measured: docs/testing.md), so neither worker is left alone with a
# long one at the end. Everything else keeps its collection order after them.
LONGEST_FIRST = (
    "tests/ui",
    "tests/reliability",
    "tests/bootstrap/test_bootstrap_cli.py",
    "tests/bench/test_zone_bench.py",
    "tests/dags/test_load_options_dag.py",
    "tests/dags/test_load_dag_runs.py",
    "tests/local/test_local_airflow.py",
    "tests/bench/test_bench_harness.py",
    "tests/checks/test_both_engines.py",
    "tests/analytics/test_analytics_dag.py",
    "tests/spark/test_spark_dag.py",
    "tests/analytics/test_processed_spark.py",
    "tests/bootstrap/test_bootstrap_stack.py",
    "tests/dags/test_event_batches.py",
)


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: its file, or its folder for WHOLE_FOLDER_UNITS."""
    path = nodeid.split("::", 1)[0]
    folder = path.rsplit("/", 1)[0]
    return folder if folder in WHOLE_FOLDER_UNITS else path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the longest units first: a stable sort, so the tests of one unit keep their order
    (with or without xdist)."""
    rank = {unit: i for i, unit in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(work_unit(item.nodeid), len(rank)))


@pytest.hookimpl(optionalhook=True)  # a venv without pytest-xdist still runs the suite in one process
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under plain `-n N` (xdist's `--dist load`), hand out whole work units in collection order.

    xdist's `loadgroup` cannot do it under pytest 9: it renames `item._nodeid`, which pytest 9 no
    longer reads (a node id is derived from `item._id`), so its groups fall apart into single tests.
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # keep LONGEST_FIRST, not xdist's "most tests first"
    return WorkUnitScheduling(config, log)


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
    return REPO


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """AIRFLOW_* variables of a fresh, migrated Airflow home whose dags folder is dags/.

    One per session (here, not in tests/dags, so every suite that runs DAGs through
    tests/dags/conftest.py's dag_runner shares one migration and one runner fork server).
    """
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
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
def spark(
    emulator: Emulator, spark_job: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """ONE local Spark session for every Spark test (tests/spark, tests/checks, tests/analytics):
    it takes seconds of CPU to start. Started with the emulator's endpoint in the environment.

    Its JVM, and with it every Python worker, also gets a TMPDIR of the test run's own (this process
    keeps its own): a worker that a test kills mid-split leaves its split's spool files behind, and
    they belong under the test run, not in the machine's /tmp."""
    from tests.spark.conftest import LOCAL_CORES

    with pytest.MonkeyPatch.context() as session_env:
        for key, value in emulator.client_env().items():
            session_env.setenv(key, value)
        with pytest.MonkeyPatch.context() as start_env:  # the JVM keeps it; this process does not
            start_env.setenv("TMPDIR", str(tmp_path_factory.mktemp("spark-workers-tmp")))
            session = spark_job.start_spark(spark_job.spark_options(["--spark_local_cores", LOCAL_CORES], {}))
        try:
            yield session
        finally:
            session.stop()


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
