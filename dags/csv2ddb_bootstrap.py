"""csv2ddb_bootstrap: create (or repair) every AWS resource of the stack, then verify it.

Same code as ``infra_bootstrap.py create``; idempotent, so it is safe to run again. The
bootstrap library is imported inside the tasks (see csv2ddb.bootstrap.dag_tasks).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, task
from csv2ddb import alerts
from csv2ddb.bootstrap import dag_tasks
from csv2ddb.settings import DAG_ID_BOOTSTRAP, load_settings

# Its datasets/ folder is the one the dataset DAGs are built from: the routing table and the
# per-dataset staleness alarms follow those files (csv2ddb.bootstrap.dag_tasks).
DAGS_FOLDER = Path(__file__).resolve().parent

with DAG(
    dag_id=DAG_ID_BOOTSTRAP,
    description="Create or repair the csv2ddb AWS stack (bucket, roles, tables, Glue job, Lambda, topic)",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "csv2ddb",
        "retries": 1,
        "retry_delay": timedelta(seconds=30),
        "on_failure_callback": alerts.on_failure,
    },
    tags=["csv2ddb", "infra"],
    doc_md=__doc__,
):

    @task
    def create_stack() -> list:
        return dag_tasks.create(load_settings(), DAGS_FOLDER)

    @task
    def verify_stack() -> list:
        return dag_tasks.status(load_settings(), DAGS_FOLDER, require_ok=True)

    create_stack() >> verify_stack()
