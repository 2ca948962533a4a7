"""The ONE wiring of a load DAG, shared by the generic ``csv2ddb_load`` and every dataset's
``csv2ddb_load__<name>``: choose the source (a scheduled run waits for its day's partition),
resolve and plan the files with their tables ensured, a Glue task and a verify task per file,
and a summary that fails the run unless every file is verified.

A dataset DAG differs only in what it is handed: its dataset (which fixes the table, keys,
options and CSV dialect, so the form asks for none of them), its schedule, owner and tags, and
the asset its verified loads emit. Building a DAG makes no AWS call and reads no Variable.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param, TriggerRule, task, task_group
from csv2ddb_core.contract import CSV_SUFFIX

from csv2ddb import alerts
from csv2ddb.datasets.spec import Dataset
from csv2ddb.load import glue_run, steps
from csv2ddb.load.glue_task import LoadFileGlueOperator
from csv2ddb.load.trigger_form import load_params
from csv2ddb.settings import Settings, load_settings

GROUP = "load_file"
START_DATE = datetime(2024, 1, 1)
BASE_TAGS = ("csv2ddb", "load", "s3", "dynamodb", "glue")


def table_asset(table: str) -> Asset:
    """What a verified load of ``table`` announces: downstream DAGs schedule on it."""
    return Asset(name=f"csv2ddb_table__{table}", uri=f"dynamodb://{table}", group="csv2ddb")


def daily(schedule: str | None) -> CronDataIntervalTimetable | None:
    """Data-interval semantics: the run for day D starts after D ends and loads D's partition.
    (Airflow 3's plain "@daily" is a trigger timetable whose ds is the day that just began.)"""
    return CronDataIntervalTimetable(schedule, timezone="UTC") if schedule else None


def build_load_dag(
    dag_id: str,
    settings: Settings,
    *,
    description: str,
    schedule: str | None,
    doc_md: str | None = None,
    dataset: Dataset | None = None,
    owner: str = "csv2ddb",
    tags: tuple[str, ...] = (),
) -> DAG:
    raw_root = dataset.prefix if dataset else settings.raw_prefix
    outlets = [table_asset(dataset.table)] if dataset else []
    with DAG(
        dag_id=dag_id,
        description=description,
        schedule=daily(schedule),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=8,
        params={name: Param(**spec) for name, spec in load_params(settings, dataset).items()},
        default_args={
            "owner": owner,
            "retries": 2,
            "retry_delay": timedelta(seconds=30),
            "retry_exponential_backoff": True,
            "on_failure_callback": alerts.on_failure,
        },
        tags=sorted({*BASE_TAGS, *tags}),
        doc_md=doc_md,
    ) as dag:

        @task.branch
        def choose_source(params: Any = None, dag_run: Any = None, ds: Any = None) -> str:
            """Scheduled/backfill runs without key or prefix wait for their partition first."""
            request = steps.plan(params, dag_run.run_type, ds, load_settings(), dataset)
            return "wait_for_partition" if request.mode == "partition" else "resolve_inputs"

        wait_for_partition = S3KeySensor(
            task_id="wait_for_partition",
            bucket_name=settings.bucket,
            # "*.csv*": plain, .csv.gz and .csv.bz2 (csv2ddb_core.contract.CSV_SUFFIXES).
            bucket_key=f"{raw_root}dt={{{{ ds }}}}/*{CSV_SUFFIX}*",
            wildcard_match=True,
            aws_conn_id=settings.aws_conn_id,
            deferrable=settings.sensor_deferrable,
            mode="reschedule",
            poke_interval=300,
            timeout=int(timedelta(hours=23).total_seconds()),
            retries=0,
        )

        @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
        def resolve_inputs(params: Any = None, dag_run: Any = None, ds: Any = None) -> list:
            """The run's files, and their tables ensured (one task: each is a process start)."""
            cfg = load_settings()
            request = steps.plan(params, dag_run.run_type, ds, cfg, dataset)
            return steps.prepare(request, dag_run.run_id, cfg, dag_run.dag_id)

        @task(trigger_rule=TriggerRule.ALL_DONE)
        def verify(load: dict, params: Any = None, ti: Any = None, dag_run: Any = None) -> dict:
            """Count check and audit record of one file, whatever the Glue task did."""
            return steps.verify(load, load_settings(), ti, dag_run, f"{GROUP}.run_glue", params)

        @task_group(group_id=GROUP)
        def load_file(load: dict) -> None:
            run_glue = LoadFileGlueOperator(
                task_id="run_glue", load=load, **glue_run.operator_kwargs(settings)
            )
            run_glue >> verify(load)

        @task(trigger_rule=TriggerRule.ALL_DONE, retries=0, outlets=outlets)
        def summarize(loads: Any, dag_run: Any = None) -> dict:
            """Set the DAG-run note; fail the run unless every file is verified (read from the audit
            table). Succeeding, it emits the table's asset event (dataset DAGs)."""
            return steps.finish(loads, dag_run.dag_id, dag_run.run_id, load_settings())

        resolved = resolve_inputs()
        per_file = load_file.expand(load=resolved)
        choose_source() >> [wait_for_partition, resolved]
        wait_for_partition >> resolved
        per_file >> summarize(resolved)
    return dag
