"""The engines that run a load, one :class:`EngineSpec` each, and the ONE definition of their Glue
jobs, used by the bootstrap (CreateJob / UpdateJob / status) and by the DAG's ``GlueJobOperator``
(``create_job_kwargs`` with ``update_config=True``).

Adding an engine is one spec in :data:`ENGINES` (plus its entry script in ``glue/``); nothing else
branches on an engine's name. The ``inline`` engine has no Glue job: its spec says it runs in the
Airflow worker (``in_worker``), and the load task runs the same core there (``csv2ddb.load.inline``).
Airflow-free so ``infra_bootstrap.py`` can import it. ``MaxRetries``
is 0: Airflow owns retries, and a Glue-level retry would start a second load behind the DAG's back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from csv2ddb_core.contract import ENGINE_INLINE, ENGINE_PYTHONSHELL, ENGINE_SPARK

from csv2ddb.analytics.config import analytics_config
from csv2ddb.settings import Settings

PYTHONSHELL = ENGINE_PYTHONSHELL
SPARK = ENGINE_SPARK
INLINE = ENGINE_INLINE
GLUE_ETL_VERSION = "5.0"  # Glue 5.0: Spark 3.5, Python 3.11
EXTRA_PY_FILES = "--extra-py-files"  # Python shell: the core's wheel on the path
ADDITIONAL_PYTHON_MODULES = "--additional-python-modules"  # Glue ETL: pip-installs the wheel
# Set by the hook from the operator's own arguments (job_desc, iam_role_name, retry_limit).
OPERATOR_OWNED_FIELDS = ("Description", "Role", "MaxRetries")


def _shell_capacity(settings: Settings) -> dict[str, Any]:
    return {"MaxCapacity": settings.glue.max_capacity}


def _spark_workers(settings: Settings) -> dict[str, Any]:
    return {
        "GlueVersion": GLUE_ETL_VERSION,
        "WorkerType": settings.spark.worker_type,
        "NumberOfWorkers": settings.spark.workers,
    }


def _shell_arguments(settings: Settings) -> dict[str, str]:
    # library-set analytics (no "--": Glue's own key): the Python shell's preloaded pyarrow, which
    # the processed zone writes Parquet with (docs/analytics.md).
    return {EXTRA_PY_FILES: settings.core_wheel_s3_uri, "library-set": "analytics"}


def _spark_arguments(settings: Settings) -> dict[str, str]:
    """The Spark job records its worker settings in the manifest; Glue ETL installs the core's wheel
    with pip on the driver and every worker; run locally, the script gets its local cores."""
    args = {"--worker_type": settings.spark.worker_type, "--number_of_workers": str(settings.spark.workers)}
    if settings.spark.job_command == "glueetl":
        return {**args, ADDITIONAL_PYTHON_MODULES: settings.core_wheel_s3_uri}
    return {**args, "--spark_local_cores": str(settings.spark.local_cores)}


@dataclass(frozen=True)
class EngineSpec:
    """One engine: its Glue job's names, script, command and capacity, and what it supports."""

    name: str
    description: str  # appended to the job description
    job_name: Callable[[Settings], str]
    role_name: Callable[[Settings], str]
    script_key: Callable[[Settings], str]  # where the bootstrap uploads the entry script
    command: Callable[[Settings], str]  # Glue Command.Name
    python_version: Callable[[Settings], str]
    timeout_minutes: Callable[[Settings], int]
    capacity: Callable[[Settings], dict[str, Any]]  # MaxCapacity, or Glue version + workers
    stack_arguments: Callable[[Settings], dict[str, str]]  # engine-only DefaultArguments
    # Stages a file for ImportTable (the import path runs in one Python-shell process).
    stages_imports: bool
    # Loads in the Airflow worker, with no Glue job (its Glue-job fields are empty).
    in_worker: bool = False

    def script_uri(self, settings: Settings) -> str:
        return f"s3://{settings.bucket}/{self.script_key(settings)}"


ENGINES: dict[str, EngineSpec] = {
    PYTHONSHELL: EngineSpec(
        name=PYTHONSHELL,
        description="",
        job_name=lambda s: s.glue.job_name,
        role_name=lambda s: s.glue.role_name,
        script_key=lambda s: s.script_key,
        command=lambda s: "pythonshell",
        python_version=lambda s: s.glue.python_version,
        timeout_minutes=lambda s: s.glue.timeout_minutes,
        capacity=_shell_capacity,
        stack_arguments=_shell_arguments,
        stages_imports=True,
    ),
    SPARK: EngineSpec(
        name=SPARK,
        description=" (Spark engine)",
        job_name=lambda s: s.spark.job_name,
        role_name=lambda s: s.spark.role_name,
        script_key=lambda s: s.spark_script_key,
        # "glueetl" on AWS; the local emulator only runs pythonshell jobs, so the local stack
        # registers the same script as pythonshell and the script starts local Spark itself.
        command=lambda s: s.spark.job_command,
        python_version=lambda s: "3",
        timeout_minutes=lambda s: s.spark.timeout_minutes,
        capacity=_spark_workers,
        stack_arguments=_spark_arguments,
        stages_imports=False,
    ),
    INLINE: EngineSpec(
        name=INLINE,
        description=" (inline, in the Airflow worker)",
        job_name=lambda s: "",
        role_name=lambda s: "",
        script_key=lambda s: "",
        command=lambda s: "",
        python_version=lambda s: "",
        timeout_minutes=lambda s: 0,
        capacity=lambda s: {},
        # The stack locations of default_arguments, without the Python shell's wheel argument.
        stack_arguments=lambda s: {},
        stages_imports=False,
        in_worker=True,
    ),
}


def engine_spec(engine: str) -> EngineSpec:
    try:
        return ENGINES[engine]
    except KeyError:
        raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}") from None


def job_description(settings: Settings, engine: str = PYTHONSHELL) -> str:
    how = engine_spec(engine).description
    return f"csv2ddb {settings.prefix}: load one CSV file from S3 into DynamoDB{how}"


def default_arguments(settings: Settings, engine: str = PYTHONSHELL) -> dict[str, str]:
    """Stack locations every run needs, and the engine's own (the core's wheel, workers)."""
    return {
        "--manifest_bucket": settings.bucket,
        "--manifest_prefix": settings.manifests_prefix,
        "--rejected_prefix": settings.rejected_prefix,
        "--staging_prefix": settings.staging_prefix,
        "--write_concurrency": str(settings.load.write_concurrency),
        **analytics_config(settings).job_arguments,  # --processed, --processed_prefix (analytics.md)
        **engine_spec(engine).stack_arguments(settings),
    }


def stack_argument_names(settings: Settings) -> set[str]:
    """Every engine's DefaultArguments names: what a task switching engines replaces."""
    return {name for engine in ENGINES for name in default_arguments(settings, engine)}


def job_name(settings: Settings, engine: str = PYTHONSHELL) -> str:
    return engine_spec(engine).job_name(settings)


def role_name(settings: Settings, engine: str = PYTHONSHELL) -> str:
    return engine_spec(engine).role_name(settings)


def script_uri(settings: Settings, engine: str = PYTHONSHELL) -> str:
    return engine_spec(engine).script_uri(settings)


def job_definition(settings: Settings, role_arn: str, engine: str = PYTHONSHELL) -> dict[str, Any]:
    """Everything but the name, as CreateJob and UpdateJob (``JobUpdate``) take it."""
    spec = engine_spec(engine)
    return {
        "Description": job_description(settings, engine),
        "Role": role_arn,
        "Command": {
            "Name": spec.command(settings),
            "ScriptLocation": spec.script_uri(settings),
            "PythonVersion": spec.python_version(settings),
        },
        "DefaultArguments": default_arguments(settings, engine),
        "MaxRetries": 0,
        "Timeout": spec.timeout_minutes(settings),
        "ExecutionProperty": {"MaxConcurrentRuns": settings.glue.max_concurrent_runs},
        **spec.capacity(settings),
    }


def create_job_kwargs(settings: Settings, engine: str = PYTHONSHELL) -> dict[str, Any]:
    """The definition as ``GlueJobOperator(create_job_kwargs=...)`` takes it: the operator fills
    in what it owns (description, role, retries) from its own arguments."""
    definition = job_definition(settings, role_arn="", engine=engine)
    return {k: v for k, v in definition.items() if k not in OPERATOR_OWNED_FIELDS}
