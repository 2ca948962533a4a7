"""Every DAG file imports cleanly in real Airflow, with no AWS call and no Variable read at parse
time, and carries owners, tags, retries and the failure alert."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parents[2]
DATASET_OWNERS = {
    f"csv2ddb_load__{path.stem}": yaml.safe_load(path.read_text())["owner"]
    for path in sorted((REPO / "dags" / "datasets").glob("*.yaml"))
}
DAG_IDS = {
    "csv2ddb_load",
    "csv2ddb_bootstrap",
    "csv2ddb_teardown",
    "csv2ddb_rollback",
    "csv2ddb_freshness",
    *DATASET_OWNERS,
}
OFFLINE = {
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "CSV2DDB_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_ACCESS_KEY_ID": "none",
    "AWS_SECRET_ACCESS_KEY": "none",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def dagbag(airflow_home: dict[str, str]) -> dict[str, Any]:
    from tests.dags.conftest import run_airflow

    # No emulator and an endpoint nobody listens on: an import-time AWS call could only fail
    # (and the runner traps botocore calls and Variable.get anyway, recording any attempt).
    return run_airflow(["dagbag"], {**airflow_home, **OFFLINE}).result


def test_no_import_errors_and_all_dags_present(dagbag: dict[str, Any]) -> None:
    assert dagbag["import_errors"] == {}
    assert set(dagbag["dags"]) == DAG_IDS


def test_no_aws_call_or_variable_read_at_import(dagbag: dict[str, Any]) -> None:
    assert dagbag["calls"] == []


@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_owner_tags_retries_and_alerts_on_every_task(dagbag: dict[str, Any], dag_id: str) -> None:
    dag = dagbag["dags"][dag_id]
    assert "csv2ddb" in dag["tags"]
    assert dag["catchup"] is False
    for task_id, task in dag["tasks"].items():
        assert task["owner"] == DATASET_OWNERS.get(dag_id, "csv2ddb"), task_id
        assert task["callback"], f"{task_id} has no on_failure_callback"


def test_load_dag_retries_and_trigger_form(dagbag: dict[str, Any]) -> None:
    dag = dagbag["dags"]["csv2ddb_load"]
    retries = {task_id: task["retries"] for task_id, task in dag["tasks"].items()}
    assert retries["load_file.run_glue"] >= 1
    assert retries["resolve_inputs"] >= 1  # also ensures the table (AWS hiccups retry)
    assert retries["load_file.verify"] >= 1  # bad figures fail without retries (AirflowFailException)
    assert retries["summarize"] == 0  # a verdict, not a transient step
    # Every task is a process start and a scheduler round trip: a group of batch files is ONE task
    # when it loads (it verifies its files itself); its verify task runs only when that task failed.
    # A file planned as an import (a new table) has its own group: stage, import, the batch
    # fallback and verify, each its own task (one retries without repeating the others), mapped over
    # import_files: one task per run, since Airflow maps only over a task's return value.
    assert sorted(dag["tasks"]) == [
        "choose_source",
        "import_file.batch_instead",
        "import_file.import_table",
        "import_file.stage",
        "import_file.verify",
        "import_files",
        "load_file.run_glue",
        "load_file.verify",
        "resolve_inputs",
        "summarize",
        "wait_for_partition",
    ]
    for step in ("stage", "import_table", "batch_instead", "verify"):
        assert retries[f"import_file.{step}"] >= 1, step
    assert retries["wait_for_partition"] == 0  # its timeout is the limit
    assert {"bucket", "key", "prefix", "table", "reject_tolerance"} <= set(dag["params"])
    assert dag["schedule"] != "None"


def test_teardown_has_no_retries(dagbag: dict[str, Any]) -> None:
    assert {t["retries"] for t in dagbag["dags"]["csv2ddb_teardown"]["tasks"].values()} == {0}


def test_rollback_dag_takes_a_run_id_and_retries_to_finish(dagbag: dict[str, Any]) -> None:
    dag = dagbag["dags"]["csv2ddb_rollback"]
    assert dag["params"] == ["run_id"]
    assert dag["schedule"] == "None"
    assert {task_id: task["retries"] for task_id, task in dag["tasks"].items()} == {"roll_back": 2}


def test_the_freshness_check_runs_once_per_staleness_alarm_period(dagbag: dict[str, Any]) -> None:
    from csv2ddb.analytics.metrics import STALE_PERIOD_SECONDS

    dag = dagbag["dags"]["csv2ddb_freshness"]
    assert dag["schedule"] == str(timedelta(seconds=STALE_PERIOD_SECONDS))
    assert {task_id: task["retries"] for task_id, task in dag["tasks"].items()} == {"check_freshness": 2}


def test_each_dataset_dag_has_its_files_schedule_form_and_owner(dagbag: dict[str, Any]) -> None:
    weather = dagbag["dags"]["csv2ddb_load__weather"]
    assert {"dataset", "nycflights13", "weather"} <= set(weather["tags"])
    assert weather["schedule"] == "None"  # its files arrive by event: no schedule loads them again
    assert "table" not in weather["params"]
    assert "partition_key" not in weather["params"]
    assert {"key", "prefix", "reject_tolerance"} <= set(weather["params"])
    assert sorted(weather["tasks"]) == sorted(dagbag["dags"]["csv2ddb_load"]["tasks"])  # one wiring


def test_a_broken_dataset_file_leaves_the_other_dataset_dags_working(
    airflow_home: dict[str, str], tmp_path: Path
) -> None:
    from tests.dags.conftest import run_airflow

    dags = tmp_path / "dags"
    (dags / "datasets").mkdir(parents=True)
    shutil.copy(REPO / "dags" / "csv2ddb_datasets.py", dags)
    shutil.copy(REPO / "dags" / "datasets" / "weather.yaml", dags / "datasets")
    (dags / "datasets" / "orders.yaml").write_text("files: {prefix: raw/orders/}\ntable: {name: x}\n")
    env = {**airflow_home, **OFFLINE, "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}
    bag = run_airflow(["dagbag"], env).result
    assert bag["import_errors"] == {}
    assert set(bag["dags"]) == {"csv2ddb_load__weather", "csv2ddb_load__orders"}
    broken = bag["dags"]["csv2ddb_load__orders"]
    assert "broken-dataset" in broken["tags"]
    assert list(broken["tasks"]) == ["refuse"]
    assert "orders.yaml: table: 'partition_key' is a required property" in broken["description"]
