"""The ONE wiring of a load DAG, shared by the generic ``csv2ddb_load`` and every dataset's
``csv2ddb_load__<name>``: choose the source (a scheduled run waits for its day's partition),
resolve and plan the files with their tables ensured, then the steps of each group of batch files
(``load.groups``: ONE Glue run for the group, or the inline load, and the verify of every file of it
in the same task; a ``verify`` task only when that failed) and of each file
planned as an import (stage, import, batch-instead and verify), and a summary that fails the run
unless every file is verified.

A dataset DAG differs only in what it is handed: its dataset (which fixes the table, keys,
options and CSV dialect, so the form asks for none of them), its schedule, owner and tags, and
the asset its verified loads emit. Building a DAG makes no AWS call and reads no Variable.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.sdk import (
    DAG,
    Asset,
    BaseOperator,
    CronDataIntervalTimetable,
    Param,
    TriggerRule,
    task,
    task_group,
)
from airflow.sdk.bases.skipmixin import SkipMixin
from airflow.sdk.exceptions import AirflowSkipException
from csv2ddb_core.contract import CSV_SUFFIX

from csv2ddb import alerts
from csv2ddb.datasets.spec import Dataset
from csv2ddb.load import glue_task, groups, steps
from csv2ddb.load.glue_task import RECORDED_KEY, BatchInsteadOperator, GroupGlueOperator, StageFileOperator
from csv2ddb.load.import_table import ImportLoadOperator
from csv2ddb.load.trigger_form import load_params
from csv2ddb.settings import LOAD_GROUP_ID, LOAD_STEP_ID, Settings, load_settings

GROUP = LOAD_GROUP_ID  # the steps of a group of batch files (load.groups)
IMPORT_GROUP = "import_file"  # the steps of a file planned as an import (a new table)
START_DATE = datetime(2024, 1, 1)
IMPORT_STEPS = ("stage", "import_table", "batch_instead")
IMPORTS_KEY = "imports"  # resolve_inputs' XCom of the files planned as imports
BASE_TAGS = ("csv2ddb", "load", "s3", "dynamodb", "glue")
log = logging.getLogger(__name__)


class ImportFilesOperator(BaseOperator, SkipMixin):
    """The files planned as imports, as a return value: Airflow maps only over return values, and the
    import group (``IMPORT_GROUP``) maps over this one. One small task per run, beside the batch
    files' steps, so no batch file pays for it.

    With none planned (most runs), it skips the whole import group here, at once. Left to Airflow, an
    empty mapped group is skipped one level per scheduling pass (stage, import_table, batch_instead,
    verify), and the run's summary waits for the last; ``dag.test()`` waits a second per pass."""

    inherits_from_skipmixin = True
    template_fields: Sequence[str] = ("imports",)

    def __init__(self, *, imports: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.imports = imports

    def execute(self, context: Any) -> list:
        if self.imports:
            return list(self.imports)
        group = [
            t for t in self.get_flat_relatives(upstream=False) if t.task_id.startswith(f"{IMPORT_GROUP}.")
        ]
        log.info("no file planned as an import: skipping %s", sorted(t.task_id for t in group))
        self.skip(context["ti"], group)  # raises DownstreamTasksSkipped: they are skipped, this succeeds
        return []


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
        def resolve_inputs(params: Any = None, dag_run: Any = None, ds: Any = None, ti: Any = None) -> list:
            """The run's files, and their tables ensured (one task: each is a process start). Returns
            the batch files in groups, one Glue run each (``load_file`` maps over them); the files
            planned as imports go to ``import_files`` under the XCom key ``imports``."""
            cfg = load_settings()
            request = steps.plan(params, dag_run.run_type, ds, cfg, dataset)
            batch, imports = steps.by_path(steps.prepare(request, dag_run.run_id, cfg, dag_run.dag_id))
            ti.xcom_push(key=IMPORTS_KEY, value=imports)
            grouped = groups.group_loads(batch, dag_run.run_id, cfg)
            for group in grouped:
                log.info("group %s: %d file(s)", group["group_id"], len(group["files"]))
            return grouped

        @task(trigger_rule=TriggerRule.ONE_FAILED)
        def verify(group: dict, params: Any = None, ti: Any = None, dag_run: Any = None) -> list:
            """Verify in bulk when the group's load step failed (it verifies the group itself when
            it succeeds: ``GroupGlueOperator``): count check and audit record of every file, whatever
            the load step did; skips when that step recorded every file before failing."""
            run_glue = f"{GROUP}.{LOAD_STEP_ID}"
            if ti.xcom_pull(task_ids=run_glue, key=RECORDED_KEY, map_indexes=getattr(ti, "map_index", -1)):
                raise AirflowSkipException("the load step checked and recorded every file: see its log")
            return steps.verify_group(
                group, load_settings(), ti, dag_run, steps.Done((run_glue,), (run_glue,)), params
            )

        @task(task_id="verify", trigger_rule=TriggerRule.ALL_DONE)
        def verify_import(load: dict, params: Any = None, ti: Any = None, dag_run: Any = None) -> dict:
            """Count check and audit record of one file planned as an import, whatever its steps did:
            the file is loaded when the import step imported it or the batch fallback wrote it."""
            stage, imported, instead = (f"{IMPORT_GROUP}.{name}" for name in IMPORT_STEPS)
            done = steps.Done(finished=(imported, instead), glue_runs=(instead, stage))
            return steps.verify(load, load_settings(), ti, dag_run, done, params)

        @task_group(group_id=GROUP)
        def load_file(group: dict) -> None:
            run_glue = GroupGlueOperator(
                task_id=LOAD_STEP_ID, group=group, **glue_task.operator_kwargs(settings)
            )
            run_glue >> verify(group)

        @task_group(group_id=IMPORT_GROUP)
        def import_file(load: dict) -> None:
            stage_name, import_name, instead_name = IMPORT_STEPS
            stage = StageFileOperator(task_id=stage_name, load=load, **glue_task.operator_kwargs(settings))
            imported = ImportLoadOperator(
                task_id=import_name,
                load=load,
                aws_conn_id=settings.aws_conn_id,
                check_interval=settings.load.import_poll_seconds,
                max_attempts=settings.load.import_poll_attempts,
                # Runs after a skipped staging step too (its table was taken): it hands over then.
                trigger_rule=TriggerRule.NONE_FAILED,
            )
            instead = BatchInsteadOperator(
                task_id=instead_name,
                load=load,
                import_task_id=f"{IMPORT_GROUP}.{import_name}",
                trigger_rule=TriggerRule.NONE_FAILED,
                **glue_task.operator_kwargs(settings),
            )
            stage >> imported >> instead >> verify_import(load)

        @task(trigger_rule=TriggerRule.ALL_DONE, retries=0, outlets=outlets)
        def summarize(batch: Any, imports: Any, dag_run: Any = None) -> dict:
            """Set the DAG-run note; fail the run unless every file is verified (read from the audit
            table). Succeeding, it emits the table's asset event (dataset DAGs)."""
            if batch is None and imports is None:
                loads = None
            else:
                loads = [*(f for group in batch or [] for f in groups.files_of(group)), *(imports or [])]
            return steps.finish(loads, dag_run.dag_id, dag_run.run_id, load_settings())

        resolved: Any = resolve_inputs()  # its return value; resolved[key]: its XCom of that key
        to_import = ImportFilesOperator(task_id="import_files", imports=resolved[IMPORTS_KEY]).output
        per_batch_file = load_file.expand(group=resolved)
        per_import_file = import_file.expand(load=to_import)
        choose_source() >> [wait_for_partition, resolved]
        wait_for_partition >> resolved
        [per_batch_file, per_import_file] >> summarize(resolved, to_import)
    return dag
