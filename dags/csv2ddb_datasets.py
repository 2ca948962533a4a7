"""One load DAG per dataset file of ``dags/datasets/`` (``csv2ddb_load__<name>``; docs/datasets.md).

Each has its dataset's schedule, owner, tags, run history and a trigger form that asks only for
what the dataset does not already fix. A broken dataset file does not take the others down: its
DAG is still listed, tagged ``broken-dataset``, and refuses to run with the file's error
(``csv2ddb.load.dataset_dags``). Importing this file reads the dataset files and the environment
settings only: no AWS call, no Variable.
"""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import DAG
from csv2ddb.datasets.registry import deployed_dir
from csv2ddb.load.dataset_dags import dataset_dags
from csv2ddb.settings import load_settings

# Airflow finds DAGs among a DAG file's module globals: one per dataset, by its DAG id.
dags: dict[str, DAG] = dataset_dags(deployed_dir(Path(__file__).resolve().parent), load_settings())
globals().update(dags)
