"""The Glue tasks of the load DAG: the guarded Glue operator, and the tasks of one file or one group
built on it from the file's plan (``load``, a ``FilePlan.to_xcom`` dict).

:class:`GuardedGlueJobOperator` runs the engine the file's plan names, never starts a second Glue
run for a load whose run is active (below), and fails without retries when the job refused its
input before the first write. The job definitions live in ``csv2ddb.job_definitions`` (shared with
the bootstrap); a run's arguments are its plan's (``FilePlan.run_arguments``).

Why a retry guard of our own beside the provider's (apache-airflow-providers-amazon 9.39.0): its
protection against a retry starting a second Glue run is ``durable`` (on by default on Airflow
3.3), which stores the JobRunId in ``task_state_store`` *after* ``StartJobRun`` returns and
reconnects on retry. It does not cover (a) a worker that dies between StartJobRun and that store
write, (b) a context without ``task_state_store`` (it then only warns), and in synchronous mode on
3.3 it does not tag runs with ``--airflow_task_uuid``, so nothing else can find the run. Our runs
carry ``--run_id`` (one per DAG run and file), a group run ``--group_id`` (``csv2ddb.load.groups``):
before submitting, :class:`GuardedGlueJobOperator` looks for an active run of the job with this id
and waits for it instead.

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
dict lookup. The job arguments are computed in ``execute``: after templating, so a key that happens
to contain ``{{`` is never rendered.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from airflow.configuration import conf
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from csv2ddb_core.contract import (
    GROUP_ID_ARG,
    RUN_ID_ARG,
    STATUS_FAILED,
    STATUS_SUCCEEDED,
    ArgumentError,
    ManifestError,
)

from csv2ddb import stored_manifest, tables
from csv2ddb.engines import PYTHONSHELL, engine_spec
from csv2ddb.job_definitions import (
    create_job_kwargs,
    job_description,
    job_name,
    role_name,
    script_uri,
    stack_argument_names,
)
from csv2ddb.load import groups, inline, steps
from csv2ddb.load.file_plan import FilePlan
from csv2ddb.load.import_table import BATCH_PLAN_KEY, staged_manifest, taken
from csv2ddb.provider_clients import dynamodb_client
from csv2ddb.settings import Settings, load_settings

ACTIVE_STATES = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})
ENGINE_ARG = "--engine"  # recorded in the Glue run's arguments; both scripts ignore it


def engine_kwargs(settings: Settings, engine: str) -> dict[str, Any]:
    """The operator arguments that name the engine's Glue job (its ONE definition:
    ``csv2ddb.job_definitions``)."""
    kwargs = create_job_kwargs(settings, engine)
    return {
        "job_name": job_name(settings, engine),
        "job_desc": job_description(settings, engine),
        "script_location": script_uri(settings, engine),
        "iam_role_name": role_name(settings, engine),
        "create_job_kwargs": kwargs,
        # The hook puts num_of_dpus into MaxCapacity *after* create_job_kwargs and defaults it
        # to 10, so the capacity must be given here; a Spark job takes workers instead (None).
        "num_of_dpus": kwargs.get("MaxCapacity"),
    }


def operator_kwargs(settings: Settings) -> dict[str, Any]:
    """Arguments of the (mapped) Glue task, all from settings."""
    return {
        **engine_kwargs(settings, PYTHONSHELL),  # the Spark job replaces these per file (use_engine)
        "s3_bucket": settings.bucket,
        "aws_conn_id": settings.aws_conn_id,
        "region_name": settings.region,
        "concurrent_run_limit": settings.glue.max_concurrent_runs,
        "retry_limit": 0,  # Airflow owns retries; a Glue-side retry would load behind its back
        "update_config": True,
        "wait_for_completion": True,
        "verbose": settings.glue.verbose,
        "job_poll_interval": settings.glue.poll_seconds,
        "stop_job_run_on_kill": True,
        # Airflow's own switch, read when the DAG is parsed: the operator's default reads it once,
        # when the provider is imported (a long-lived process that imported it keeps that value).
        "deferrable": conf.getboolean("operators", "default_deferrable", fallback=False),
    }


def find_active_run(
    glue: Any, job_name: str, run_id: str, max_pages: int = 10, arg: str = RUN_ID_ARG
) -> tuple[str, str] | None:
    """(JobRunId, state) of a STARTING/RUNNING/... run of ``job_name`` whose argument ``arg`` is
    ``run_id`` (a load's ``--run_id``, or a group run's ``--group_id``)."""
    request: dict[str, Any] = {"JobName": job_name, "MaxResults": 200}
    for _ in range(max_pages):
        response = glue.get_job_runs(**request)
        for run in response.get("JobRuns", []):
            if (run.get("Arguments") or {}).get(arg) == run_id and run.get("JobRunState") in ACTIVE_STATES:
                return run["Id"], run["JobRunState"]
        if not response.get("NextToken"):
            return None
        request["NextToken"] = response["NextToken"]
    return None


class GuardedGlueJobOperator(GlueJobOperator):
    """``GlueJobOperator`` that never starts a second Glue run for a load whose run is active."""

    # The file's plan (``file_plan.FilePlan.to_xcom``) when the task has one: it names the engine.
    load: Mapping[str, Any] = MappingProxyType({})

    def execute(self, context: Any) -> str | None:
        """Run the engine the file's plan names: the Spark engine switches this task to the Spark
        job; the Python shell runs the job it was built with."""
        engine = FilePlan.from_xcom(self.load).engine if self.load else PYTHONSHELL
        if engine != PYTHONSHELL:  # the task was built for the Python shell's job
            self.use_engine(engine, load_settings())
        try:
            return super().execute(context)
        except AirflowFailException:
            raise
        except AirflowException as exc:
            refused = self.refused_input()
            if refused is None:
                raise  # no account of a refusal: a crash or an AWS hiccup, which a retry may fix
            raise AirflowFailException(
                f"{exc}: the job refused its input before the first write ({refused}); a retry "
                "would read the same object version and fail the same way, so none is made"
            ) from exc

    def run_ids(self) -> list[str]:
        """The load run ids this task's Glue run loads: one file's (a group's: every file's)."""
        run_id = (self.script_args or {}).get(RUN_ID_ARG)
        return [run_id] if run_id else []

    def refused_input(self) -> str | None:
        """Why the failed run's input was refused, when every file it did not load was refused
        before its first write (its stored manifest ``nothing_written``: over the tolerance, a failed
        file check, a bad header...), else None. The job pins the object version, so such a failure
        is the same on every retry; a file that failed otherwise, or left no manifest, may load on a
        retry (which skips the files already loaded)."""
        refused = []
        for run_id in self.run_ids():
            try:
                manifest, where = stored_manifest.fetch(load_settings(), run_id)
            except ManifestError as exc:
                self.log.warning("the failed run's manifest is unreadable, so the task may retry: %s", exc)
                return None
            if manifest and manifest.get("status") == STATUS_SUCCEEDED:
                continue
            if not (manifest and manifest.get("status") == STATUS_FAILED and manifest.get("nothing_written")):
                return None
            refused.append(str(manifest.get("error") or f"see {where}"))
        return "; ".join(refused) or None

    def use_engine(self, engine: str, settings: Settings) -> None:
        """Point this task at the engine's Glue job, with that job's stack arguments."""
        for name, value in engine_kwargs(settings, engine).items():
            setattr(self, name, value)
        stack_args = stack_argument_names(settings)
        per_file = {k: v for k, v in (self.script_args or {}).items() if k not in stack_args}
        stack = FilePlan.from_xcom(self.load).stack_arguments(settings, engine)
        self.script_args = {**per_file, **stack, ENGINE_ARG: engine}
        self.log.info("engine %s: Glue job %s", engine, self.job_name)

    @property
    def _hook_parameters(self) -> dict[str, Any]:
        params = super()._hook_parameters
        # GlueJobHook.create_glue_job_config() pops "Command" out of create_job_kwargs; mapped
        # task instances in one process can share that dict, so hand the hook a private copy.
        params["create_job_kwargs"] = copy.deepcopy(params.get("create_job_kwargs"))
        return params

    def submit_job(self, context: Any) -> str:
        # A group run is found by its group id, a one-file run by its load's run id.
        arg = GROUP_ID_ARG if GROUP_ID_ARG in (self.script_args or {}) else RUN_ID_ARG
        run_id = (self.script_args or {}).get(arg)
        if run_id:
            found = find_active_run(self.hook.conn, self.job_name, run_id, arg=arg)
            if found:
                job_run_id, state = found
                self.log.info(
                    "Glue run %s of job %s is already %s for %s: waiting for it instead of "
                    "starting a second run",
                    job_run_id,
                    self.job_name,
                    state,
                    run_id,
                )
                self._set_job_run_id(context, job_run_id)
                return job_run_id
        return super().submit_job(context)


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
        self.script_args = FilePlan.from_xcom(self.load).run_arguments(load_settings(), PYTHONSHELL)
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
            self.script_args = FilePlan.from_xcom(self.load).run_arguments(settings, PYTHONSHELL)
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
