"""The DAGs of a folder of dataset files: a load DAG per good dataset, and for each broken file a
DAG of the same id that shows the error and refuses to run.

Why not an import error: Airflow 3.3 reports import errors per DAG *file*, and a file that raises
loses all its DAGs (apache/airflow#53971), so one bad dataset would take every dataset DAG down.
``python -m csv2ddb.datasets check`` (CI) refuses the bad file before it is deployed; this is the
second line, for a file that got through.
"""

from __future__ import annotations

import logging
from pathlib import Path

from airflow.sdk import DAG, task
from airflow.sdk.exceptions import AirflowFailException

from csv2ddb.datasets.registry import load_all
from csv2ddb.datasets.spec import DAG_ID_PREFIX, Dataset, DatasetError
from csv2ddb.load.dag_builder import START_DATE, build_load_dag
from csv2ddb.settings import Settings

log = logging.getLogger(__name__)
BROKEN_TAG = "broken-dataset"


def dataset_dag(dataset: Dataset, settings: Settings) -> DAG:
    files = f"s3://{settings.bucket}/{dataset.prefix}"
    how = (
        f"by schedule ({dataset.schedule}, {dataset.prefix}dt=<ds>/)"
        if dataset.arrive == "schedule"
        else "by S3 event"
    )
    doc = (
        f"**Dataset `{dataset.name}`** ({dataset.path}): {dataset.description or 'no description'}\n\n"
        f"Files `{files}` arriving {how}, loaded into `{dataset.table}`. The form asks only for what "
        "the dataset file does not fix; change the rest in the file (docs/datasets.md)."
    )
    return build_load_dag(
        dataset.dag_id,
        settings,
        description=dataset.description or f"Load dataset {dataset.name} into {dataset.table}",
        schedule=dataset.schedule if dataset.arrive == "schedule" else None,
        doc_md=doc,
        dataset=dataset,
        owner=dataset.owner,
        tags=("dataset", *dataset.tags),
    )


def broken_dag(error: DatasetError) -> DAG:
    """A DAG that says what is wrong with its dataset file and fails if run."""
    dag_id = f"{DAG_ID_PREFIX}{Path(error.path).stem}"
    with DAG(
        dag_id=dag_id,
        description=f"BROKEN dataset file: {error}",
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        tags=["csv2ddb", BROKEN_TAG],
        doc_md=f"**This dataset file cannot be used; nothing is loaded with it.**\n\n`{error}`",
        is_paused_upon_creation=True,
    ) as dag:

        @task(retries=0)
        def refuse() -> None:
            raise AirflowFailException(f"dataset file not loaded: {error}")

        refuse()
    return dag


def dataset_dags(folder: Path, settings: Settings) -> dict[str, DAG]:
    found = load_all(folder, settings)
    dags = {dataset.dag_id: dataset_dag(dataset, settings) for dataset in found.datasets}
    for error in found.errors:
        log.error("dataset file refused: %s", error)
        broken = broken_dag(error)
        dags.setdefault(broken.dag_id, broken)
    return dags
