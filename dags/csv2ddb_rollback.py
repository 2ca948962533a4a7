"""csv2ddb_rollback: undo one load, i.e. delete the items that still carry its ``load_run_id``.

Param ``run_id``: the load's run id (its audit record's ``run_id``; a failed load's note and alert
name it). The items are found through the load's key list, so a rollback costs what the load cost,
not what the table holds; items a later load overwrote are left alone and counted. Recorded in the
audit table and the DAG-run notes (this run's, and the undone load's). Logic: ``csv2ddb.history.rollback``
(see docs/dags.md); the same as ``python -m csv2ddb.history.rollback_cli RUN_ID``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, task
from csv2ddb import alerts, rollback_steps
from csv2ddb.history.rollback import rollback_params
from csv2ddb.settings import DAG_ID_ROLLBACK, load_settings

with DAG(
    dag_id=DAG_ID_ROLLBACK,
    description="Delete the items one load wrote (found by its key list); audit and note it",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=4,
    params={name: Param(**spec) for name, spec in rollback_params().items()},
    default_args={
        "owner": "csv2ddb",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "on_failure_callback": alerts.on_failure,
    },
    tags=["csv2ddb", "rollback", "dynamodb"],
    doc_md=__doc__,
) as dag:

    @task
    def roll_back(params: dict, dag_run=None) -> dict:
        """Conditional deletes of the load's items; an interrupted run is finished by a retry."""
        return rollback_steps.run(params["run_id"], load_settings(), dag_run)

    roll_back()
