"""csv2ddb_load: load CSV files from S3 into DynamoDB with Glue, verify exact counts, audit.

Three ways in: the S3-event Lambda (conf names one object), the daily schedule (waits for
``raw/dt=<ds>/*.csv`` with an S3KeySensor), and the trigger form (``params``). The logic lives
in ``plugins/csv2ddb`` (see docs/dags.md); this file only wires tasks. Importing it reads
environment settings only: no AWS call, no Variable.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk import DAG, CronDataIntervalTimetable, Param, TriggerRule, task, task_group
from csv2ddb import alerts
from csv2ddb.load import glue_run, steps
from csv2ddb.load.glue_task import LoadFileGlueOperator
from csv2ddb.load.trigger_form import load_params
from csv2ddb.settings import DAG_ID_LOAD, load_settings
from csv2ddb_core.contract import CSV_SUFFIX

settings = load_settings()
GROUP = "load_file"

with DAG(
    dag_id=DAG_ID_LOAD,
    description="Load S3 CSV files into DynamoDB via Glue; verify exact counts; audit each file",
    # Data-interval semantics: the run for day D starts after D ends and loads raw/dt=D/.
    # (Airflow 3's plain "@daily" is a trigger timetable whose ds is the day that just began.)
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=8,
    params={name: Param(**spec) for name, spec in load_params(settings).items()},
    default_args={
        "owner": "csv2ddb",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "on_failure_callback": alerts.on_failure,
    },
    tags=["csv2ddb", "load", "s3", "dynamodb", "glue"],
    doc_md=__doc__,
) as dag:

    @task.branch
    def choose_source(params: dict, dag_run=None, ds=None) -> str:
        """Scheduled/backfill runs without key or prefix wait for their partition first."""
        request = steps.plan(params, dag_run.run_type, ds, load_settings())
        return "wait_for_partition" if request.mode == "partition" else "resolve_inputs"

    wait_for_partition = S3KeySensor(
        task_id="wait_for_partition",
        bucket_name=settings.bucket,
        # "*.csv*": plain, .csv.gz and .csv.bz2 (csv2ddb_core.contract.CSV_SUFFIXES).
        bucket_key=f"{settings.raw_prefix}dt={{{{ ds }}}}/*{CSV_SUFFIX}*",
        wildcard_match=True,
        aws_conn_id=settings.aws_conn_id,
        deferrable=settings.sensor_deferrable,
        mode="reschedule",
        poke_interval=300,
        timeout=int(timedelta(hours=23).total_seconds()),
        retries=0,
    )

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def resolve_inputs(params: dict, dag_run=None, ds=None) -> list:
        """The run's files, and their tables ensured (one task: each is a process start)."""
        cfg = load_settings()
        request = steps.plan(params, dag_run.run_type, ds, cfg)
        return steps.prepare(request, dag_run.run_id, cfg, dag_run.dag_id)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def verify(load: dict, params=None, ti=None, dag_run=None) -> dict:
        """Count check and audit record of one file, whatever the Glue task did."""
        return steps.verify(load, load_settings(), ti, dag_run, f"{GROUP}.run_glue", params)

    @task_group(group_id=GROUP)
    def load_file(load: dict):
        run_glue = LoadFileGlueOperator(task_id="run_glue", load=load, **glue_run.operator_kwargs(settings))
        run_glue >> verify(load)

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def summarize(loads: list, dag_run=None) -> dict:
        """Set the DAG-run note; fail the run unless every file is verified (read from the audit table)."""
        return steps.finish(loads, dag_run.dag_id, dag_run.run_id, load_settings())

    resolved = resolve_inputs()
    per_file = load_file.expand(load=resolved)
    choose_source() >> [wait_for_partition, resolved]
    wait_for_partition >> resolved
    per_file >> summarize(resolved)
