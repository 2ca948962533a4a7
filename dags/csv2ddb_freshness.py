"""csv2ddb_freshness: the staleness check, once per alarm period (hourly).

Reads each watched dataset's newest verified load from the audit table (the stack's items table,
the table of every dataset file of this deployment's ``datasets/`` folder, the one the dataset DAGs
are built from, and every table a load has cataloged) and puts its age (``FreshnessSeconds``) and
``Stale`` (1 when older than ``CSV2DDB_STALE_AFTER_HOURS``, or never loaded) to CloudWatch, where
each dataset's staleness alarm (made by the bootstrap) reads it. Logic:
``csv2ddb.analytics.metrics.staleness_step`` (docs/analytics.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, task
from csv2ddb import alerts
from csv2ddb.analytics.metrics import STALE_PERIOD_SECONDS, staleness_step
from csv2ddb.datasets.registry import deployed_dir
from csv2ddb.settings import DAG_ID_FRESHNESS, load_settings

# The folder this DAG file lies in: its datasets/ are the ones dags/csv2ddb_datasets.py builds.
DAGS_FOLDER = Path(__file__).resolve().parent

with DAG(
    dag_id=DAG_ID_FRESHNESS,
    description="Put each dataset's freshness to CloudWatch: its staleness alarm reads it",
    schedule=timedelta(seconds=STALE_PERIOD_SECONDS),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={
        "owner": "csv2ddb",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "on_failure_callback": alerts.on_failure,
    },
    tags=["csv2ddb", "analytics", "cloudwatch"],
    doc_md=__doc__,
) as dag:

    @task
    def check_freshness() -> dict:
        """Every watched dataset's age and Stale flag, as put to CloudWatch."""
        return staleness_step(load_settings(), deployed_dir(DAGS_FOLDER))

    check_freshness()
