"""The ONE definition of each Glue engine's job (:mod:`csv2ddb.engines`), used by the bootstrap
(CreateJob / UpdateJob / status) and by the DAG's ``GlueJobOperator`` (``create_job_kwargs`` with
``update_config=True``).

Airflow-free so ``infra_bootstrap.py`` can import it. ``MaxRetries`` is 0: Airflow owns retries, and
a Glue-level retry would start a second load behind the DAG's back.
"""

from __future__ import annotations

from typing import Any

from csv2ddb.analytics.config import analytics_config
from csv2ddb.engines import ENGINES, PYTHONSHELL, engine_spec
from csv2ddb.settings import Settings

# Set by the hook from the operator's own arguments (job_desc, iam_role_name, retry_limit).
OPERATOR_OWNED_FIELDS = ("Description", "Role", "MaxRetries")


def job_description(settings: Settings, engine: str = PYTHONSHELL) -> str:
    how = engine_spec(engine).description
    return f"csv2ddb {settings.prefix}: load one CSV file from S3 into DynamoDB{how}"


def default_arguments(settings: Settings, engine: str = PYTHONSHELL) -> dict[str, str]:
    """Stack locations every run needs, and the engine's own (the core's wheel, workers)."""
    job = settings.job(engine)
    return {
        "--manifest_bucket": settings.bucket,
        "--manifest_prefix": settings.manifests_prefix,
        "--rejected_prefix": settings.rejected_prefix,
        "--staging_prefix": settings.staging_prefix,
        "--write_concurrency": str(settings.load.write_concurrency),
        **analytics_config(settings).job_arguments,  # --processed, --processed_prefix (analytics.md)
        **(job.arguments(settings.core_wheel_s3_uri) if job is not None else {}),
    }


def stack_argument_names(settings: Settings) -> set[str]:
    """Every engine's DefaultArguments names: what a task switching engines replaces."""
    return {name for engine in ENGINES for name in default_arguments(settings, engine)}


def job_name(settings: Settings, engine: str = PYTHONSHELL) -> str:
    job = settings.job(engine)
    return job.job_name if job is not None else ""


def role_name(settings: Settings, engine: str = PYTHONSHELL) -> str:
    job = settings.job(engine)
    return job.role_name if job is not None else ""


def script_key(settings: Settings, engine: str = PYTHONSHELL) -> str:
    """Where the bootstrap uploads the engine's entry script: ``scripts/<its script_name>``."""
    job = settings.job(engine)
    return f"{settings.scripts_prefix}{job.script_name}" if job is not None else ""


def script_uri(settings: Settings, engine: str = PYTHONSHELL) -> str:
    return f"s3://{settings.bucket}/{script_key(settings, engine)}"


def job_definition(settings: Settings, role_arn: str, engine: str = PYTHONSHELL) -> dict[str, Any]:
    """Everything but the name, as CreateJob and UpdateJob (``JobUpdate``) take it."""
    job = settings.job(engine)
    if job is None:
        raise ValueError(f"engine {engine} loads in the Airflow worker: it has no Glue job")
    command, python_version = job.glue_command()
    return {
        "Description": job_description(settings, engine),
        "Role": role_arn,
        "Command": {
            "Name": command,
            "ScriptLocation": script_uri(settings, engine),
            "PythonVersion": python_version,
        },
        "DefaultArguments": default_arguments(settings, engine),
        "MaxRetries": 0,
        "Timeout": job.timeout_minutes,
        "ExecutionProperty": {"MaxConcurrentRuns": settings.glue.max_concurrent_runs},
        **job.capacity(),
    }


def create_job_kwargs(settings: Settings, engine: str = PYTHONSHELL) -> dict[str, Any]:
    """The definition as ``GlueJobOperator(create_job_kwargs=...)`` takes it: the operator fills
    in what it owns (description, role, retries) from its own arguments."""
    definition = job_definition(settings, role_arn="", engine=engine)
    return {k: v for k, v in definition.items() if k not in OPERATOR_OWNED_FIELDS}
