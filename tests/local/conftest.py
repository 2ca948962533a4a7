"""A real local Airflow 3 (api-server, scheduler, dag-processor, triggerer) for tests/local.

One Airflow per test module (startup takes ~25 s on 2 cores), against the session emulator,
with AIRFLOW_HOME in a temp dir and the repo's dags/ when ``dags/csv2ddb_load.py`` exists (else a
one-task stand-in DAG with the same dag_id, so this layer can be tested before the DAG lands).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from csv2ddb_dev.airflow_runner import DAGS_FOLDER, AirflowProcesses, start_airflow
from csv2ddb_dev.emulator import Emulator

STAND_IN_DAG = '''
"""Stand-in for dags/csv2ddb_load.py while it does not exist (same dag_id, conf is only printed)."""
from datetime import datetime

from airflow.sdk import dag, task


@dag(dag_id="csv2ddb_load", schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def csv2ddb_load():
    @task
    def show_conf(**context):
        print(context["dag_run"].conf)

    show_conf()


csv2ddb_load()
'''


def dags_folder_for_tests(tmp_path: Path) -> Path:
    if (DAGS_FOLDER / "csv2ddb_load.py").exists():
        return DAGS_FOLDER
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "csv2ddb_load.py").write_text(textwrap.dedent(STAND_IN_DAG))
    return folder


@pytest.fixture(scope="module")
def airflow(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowProcesses]:
    """Started once per module; stopped by process group at the end (idempotent if a test did it)."""
    tmp = tmp_path_factory.mktemp("airflow")
    proc = start_airflow(tmp / "home", dags_folder=dags_folder_for_tests(tmp), aws_env=emulator.client_env())
    try:
        yield proc
    finally:
        proc.stop()
