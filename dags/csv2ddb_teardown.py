"""csv2ddb_teardown: delete the stack's AWS resources, only after explicit confirmation.

Trigger with ``confirm = "delete"``; anything else fails the run before anything is touched.
Deletes only resources carrying this stack's tag. The delete is deliberately not an Airflow
``@teardown`` task: teardown tasks run even when their upstream failed, i.e. even when the
confirmation was refused.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param, task
from csv2ddb import alerts
from csv2ddb.bootstrap import dag_tasks
from csv2ddb.settings import DAG_ID_TEARDOWN, load_settings

# Its datasets/ folder is the one the dataset DAGs are built from: the routing table and the
# per-dataset staleness alarms follow those files (csv2ddb.bootstrap.dag_tasks).
DAGS_FOLDER = Path(__file__).resolve().parent

with DAG(
    dag_id=DAG_ID_TEARDOWN,
    description="Delete the csv2ddb AWS stack (needs confirm=delete)",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    params={
        "confirm": Param(
            "",
            type="string",
            title="Confirm",
            description='Type "delete" to delete every resource of this stack (data included).',
        )
    },
    default_args={"owner": "csv2ddb", "retries": 0, "on_failure_callback": alerts.on_failure},
    tags=["csv2ddb", "infra"],
    doc_md=__doc__,
):

    @task
    def confirm_deletion(params: dict) -> None:
        dag_tasks.require_confirmation(params.get("confirm"), load_settings())

    @task
    def delete_stack() -> list:
        return dag_tasks.delete(load_settings(), DAGS_FOLDER)

    @task
    def show_status() -> list:
        return dag_tasks.status(load_settings(), DAGS_FOLDER, require_ok=False)

    confirm_deletion() >> delete_stack() >> show_status()
