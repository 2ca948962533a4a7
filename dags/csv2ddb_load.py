"""csv2ddb_load: load CSV files from S3 into DynamoDB with Glue, verify exact counts, audit.

The ad-hoc load: any file under the raw prefix into any table the stack may load. Three ways in:
the S3-event Lambda (conf names the objects of a coalesced batch), the daily schedule (waits for
``raw/dt=<ds>/*.csv`` with an S3KeySensor), and the trigger form (``params``). Each dataset of
``dags/datasets/`` has its own DAG (``csv2ddb_datasets.py``), built by the same wiring
(``csv2ddb.load.dag_builder``; docs/dags.md). Importing this file reads environment settings
only: no AWS call, no Variable.
"""

from __future__ import annotations

from airflow.sdk import DAG
from csv2ddb.load.dag_builder import build_load_dag
from csv2ddb.settings import DAG_ID_LOAD, load_settings

dag: DAG = build_load_dag(
    DAG_ID_LOAD,
    load_settings(),
    description="Load S3 CSV files into DynamoDB via Glue; verify exact counts; audit each file",
    schedule="@daily",
    doc_md=__doc__,
)
