"""Run the Glue load job from Airflow: operator arguments, per-file arguments, and a retry guard.

The job definition itself lives in ``csv2ddb.engines`` (shared with the bootstrap).

Why a subclass of ``GlueJobOperator`` (provider 9.39.0): its own protection against a retry
starting a second Glue run is ``durable`` (on by default on Airflow 3.3), which stores the
JobRunId in ``task_state_store`` *after* ``StartJobRun`` returns and reconnects on retry. It
does not cover (a) a worker that dies between StartJobRun and that store write, (b) a context
without ``task_state_store`` (it then only warns), and in synchronous mode on 3.3 it does not
tag runs with ``--airflow_task_uuid``, so nothing else can find the run. Our runs carry
``--run_id`` (one per DAG run and file), a group run ``--group_id`` (``csv2ddb.load.groups``): before
submitting, :class:`GuardedGlueJobOperator` looks for an active run of the job with this id and
waits for it instead.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from airflow.configuration import conf
from airflow.exceptions import AirflowException
from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.sdk.exceptions import AirflowFailException
from csv2ddb_core.contract import GROUP_ID_ARG, RUN_ID_ARG, STATUS_FAILED, STATUS_SUCCEEDED, ManifestError

from csv2ddb import stored_manifest
from csv2ddb.engines import PYTHONSHELL
from csv2ddb.job_definitions import (
    create_job_kwargs,
    default_arguments,
    job_description,
    job_name,
    role_name,
    script_uri,
    stack_argument_names,
)
from csv2ddb.load.file_plan import FilePlan
from csv2ddb.settings import Settings, load_settings

ACTIVE_STATES = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})
ENGINE_ARG = "--engine"  # recorded in the Glue run's arguments; both scripts ignore it


def engine_kwargs(settings: Settings, engine: str) -> dict[str, Any]:
    """The operator arguments that name the engine's Glue job (the ONE definition in engines)."""
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


def script_args(load: Mapping[str, Any], settings: Settings) -> dict[str, str]:
    """Per-file job arguments (the plan's) plus the stack locations, repeated so a run never depends
    on the job's DefaultArguments being current."""
    plan = FilePlan.from_xcom(load)
    return {**plan.job_arguments(), **stack_arguments(plan, settings, PYTHONSHELL)}


def stack_arguments(plan: FilePlan, settings: Settings, engine: str) -> dict[str, str]:
    """The engine's stack arguments, with this file's own processed-zone choice laid over the
    stack's default (a load may turn the zone off)."""
    return {**default_arguments(settings, engine), **plan.zone_arguments()}


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
        stack = stack_arguments(FilePlan.from_xcom(self.load), settings, engine)
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
