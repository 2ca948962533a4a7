"""The Glue tasks of one file, built from the file's plan (``load``, a ``FilePlan.to_xcom`` dict).

A group of batch files (``csv2ddb.load.groups``) is one task when it loads: :class:`GroupGlueOperator`
(one Glue run writes the table for every file of the group; an ``inline`` group loads in the worker
instead), which then verifies every file of the group itself; the group's verify task runs only when
that task failed.
A file planned as an import is four (``dag_builder``): :class:`StageFileOperator` (the job stages
DynamoDB JSON), the import step (``import_table.ImportLoadOperator``), :class:`BatchInsteadOperator`
(runs only when the import step handed over a batch plan: another load created the table first),
then verify. Each step is its own task: a retry repeats that step only, and each step's log, state
and duration are its own in the Airflow UI.

Why subclasses and not a ``glue_args`` task feeding ``script_args``: every task of the load DAG is a
process start, a DAG parse and a scheduler round trip (seconds each on a busy laptop), for what is a
dict lookup. The job arguments are the same ``csv2ddb.load.glue_run.script_args``, computed in
``execute``: after templating, so a key that happens to contain ``{{`` is never rendered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from csv2ddb_core.contract import ArgumentError

from csv2ddb import tables
from csv2ddb.engines import engine_spec
from csv2ddb.load import groups, inline, steps
from csv2ddb.load.file_plan import FilePlan
from csv2ddb.load.glue_run import GuardedGlueJobOperator, script_args
from csv2ddb.load.import_table import BATCH_PLAN_KEY, staged_manifest, taken
from csv2ddb.provider_clients import dynamodb_client
from csv2ddb.settings import Settings, load_settings

RECORDED_KEY = "recorded"  # XCom of a load step that checked and recorded every file of its group


class LoadFileGlueOperator(GuardedGlueJobOperator):
    """``GuardedGlueJobOperator`` for one file's plan (``load``: ``FilePlan.to_xcom``, from
    ``import_files`` or the import step's hand-over); the base of the import path's Glue steps.

    ``load`` is a template field only so that Airflow resolves it (an XCom, or the mapped task
    group's argument) before ``execute``; a resolved XCom value is not Jinja-rendered.
    """

    template_fields: Sequence[str] = (*GuardedGlueJobOperator.template_fields, "load")

    def __init__(self, *, load: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.load = load

    def execute(self, context: Any) -> str | None:
        self.script_args = script_args(self.load, load_settings())
        return super().execute(context)


@dataclass(frozen=True)
class LoadedHere(steps.Done):
    """The load step's own outcome, for the verify it runs itself once it succeeded: every file of
    the group is loaded, by the Glue run ``job_run_id`` (None: inline, in the worker)."""

    job_run_id: str | None = None

    def loaded(self, ti: Any) -> bool:
        return True

    def glue_run(self, ti: Any) -> str | None:
        return self.job_run_id


class GroupGlueOperator(GuardedGlueJobOperator):
    """ONE Glue run for a group of batch files (``group``: a dict from ``resolve_inputs``), then, once
    it succeeded, the bulk verify of every file of the group in this same task.

    A group of one file is that file's run, with its single-file arguments. A larger group first
    writes its group file to S3 (``--files``; the provider's ``S3Hook``), then starts one run of its
    files' engine (the Python shell's or the Spark job) carrying ``--group_id``, by which a retry
    finds a run still active instead of starting a second one. The job loads only what is not
    done, so a retried group does not load a file twice.

    A group planned on an engine that runs in the worker (``inline``: the registry's ``in_worker``)
    starts no Glue run: this task loads its files with the core itself (:meth:`load_in_worker`).

    Why the verify runs here (:meth:`verify_here`): a task is a process start, a DAG parse and
    scheduler round trips (~4 s each on a busy laptop), and a group's separate verify task doubled
    what a group of small files cost. The group's ``verify`` task (``dag_builder``) runs only when
    this task failed: it then checks and records every file whatever this task did (a crash, a
    failed file, retries spent), as it always did. Every file is verified once either way: when this
    task recorded every file before failing (a file not verified), ``verify`` skips.
    """

    template_fields: Sequence[str] = (*GuardedGlueJobOperator.template_fields, "group")

    def __init__(self, *, group: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.group = group

    def execute(self, context: Any) -> str | None:
        settings = load_settings()
        if engine_spec(groups.engine_of(self.group)).in_worker:
            said = self.load_in_worker(settings)
            self.verify_here(context, settings, None)
            return said
        job_run_id = self.run_glue(context, settings)
        self.verify_here(context, settings, job_run_id)
        return job_run_id

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> str:
        """A deferred Glue run ended (deferrable mode): verify here, as :meth:`execute` does."""
        job_run_id = super().execute_complete(context, event)
        self.verify_here(context, load_settings(), job_run_id)
        return job_run_id

    def verify_here(self, context: Any, settings: Settings, job_run_id: str | None) -> None:
        """The bulk verify of the group (``steps.verify_group``: every file checked and recorded),
        the load having succeeded. A file not verified fails this task without retries, every file
        recorded first (XCom ``RECORDED_KEY``: ``verify`` then skips); an AWS error of a check is
        raised after every file is recorded, so the task retries (its load finds every file done)."""
        ti, done = context["ti"], LoadedHere((), (), job_run_id)
        try:
            steps.verify_group(self.group, settings, ti, context["dag_run"], done, context["params"])
        except AirflowFailException:
            ti.xcom_push(key=RECORDED_KEY, value=True)
            raise

    def run_glue(self, context: Any, settings: Settings) -> str | None:
        """Start the group's Glue run (or find the one still active) and wait for it."""
        files = groups.files_of(self.group)
        if len(files) == 1:
            self.load = files[0]
            self.script_args = script_args(self.load, settings)
            return super().execute(context)
        key = settings.group_key(str(self.group["group_id"]))
        S3Hook(aws_conn_id=self.aws_conn_id).load_string(
            groups.group_file(self.group), key, bucket_name=settings.bucket, replace=True
        )
        location = f"s3://{settings.bucket}/{key}"
        self.log.info("group %s: %d files in one Glue run (%s)", self.group["group_id"], len(files), location)
        self.load = files[0]  # its plan names the group's engine, so the Glue job to run
        self.script_args = groups.group_script_args(self.group, location, settings)
        return super().execute(context)

    def run_ids(self) -> list[str]:
        return [str(load["run_id"]) for load in groups.files_of(self.group)]

    def load_in_worker(self, settings: Settings) -> str:
        """Load the group inline; succeed only when every file did. As for a Glue run, a failure
        retries unless every file that failed refused its input before the first write (its manifest
        ``nothing_written``), and a retry loads only the files not done."""
        files = groups.files_of(self.group)
        self.log.info(
            "group %s: %d file(s) inline, in this worker (no Glue run)", self.group["group_id"], len(files)
        )
        try:
            outcomes = inline.load_group(self.group, settings)
        except ArgumentError as exc:
            raise AirflowFailException(
                f"inline load refused its arguments, nothing was loaded: {exc}"
            ) from exc
        failed = [f"{o.source}: {o.error}" for o in outcomes if not o.ok]
        if not failed:
            return f"inline: {len(outcomes)} file(s) loaded"
        said = f"{len(failed)} of {len(files)} file(s) failed inline:\n" + "\n".join(failed)
        refused = self.refused_input()
        if refused is not None:
            raise AirflowFailException(
                f"{said}\nevery one refused its input before the first write: no retry",
            )
        raise AirflowException(said)


class StageFileOperator(LoadFileGlueOperator):
    """The import path's first step: the job stages the file as DynamoDB JSON for ImportTable.

    It stages nothing when its table exists already (ImportTable only creates tables): an ``auto``
    import then skips, and the import step hands the file over to a batch load; an import asked
    for by name fails. A retry after a staging run succeeded does not stage twice."""

    def execute(self, context: Any) -> str | None:
        settings = load_settings()
        if staged_manifest(self.load, settings):
            self.log.info("%s is staged already: nothing to stage", self.load["source_uri"])
            return "staged"
        if tables.describe(dynamodb_client(settings), self.load["table"]) is not None:
            reason = taken(self.load["table"])
            if FilePlan.from_xcom(self.load).auto_import:
                raise AirflowSkipException(f"nothing staged: {reason}")
            raise reason
        return super().execute(context)


class BatchInsteadOperator(LoadFileGlueOperator):
    """The import path's fallback: the batch plan the import step handed over (``auto`` planned an
    import, but another load created the table first), loaded in batches by the Glue job. Skips when
    the import step imported the file. A new plan, run by its own task: nothing of the staging run
    (its task state, its hook) is reused."""

    def __init__(self, *, import_task_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.import_task_id = import_task_id

    def execute(self, context: Any) -> str | None:
        ti = context["ti"]
        handed_over = ti.xcom_pull(
            task_ids=self.import_task_id, key=BATCH_PLAN_KEY, map_indexes=getattr(ti, "map_index", -1)
        )
        if not handed_over:
            raise AirflowSkipException(f"{self.load['source_uri']} was imported: no batch load")
        self.load = handed_over
        self.log.info(
            "%s: %s", self.load["source_uri"], FilePlan.from_xcom(self.load).write.load_method_reason
        )
        return super().execute(context)
