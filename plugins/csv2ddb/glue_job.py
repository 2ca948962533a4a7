"""The ONE definition of the Glue load job, used by the bootstrap (CreateJob / UpdateJob / status)
and by the DAG's ``GlueJobOperator`` (``create_job_kwargs`` with ``update_config=True``).

Airflow-free so ``infra_bootstrap.py`` can import it. ``MaxRetries`` is 0: Airflow owns retries,
and a Glue-level retry would start a second load behind the DAG's back.
"""

from __future__ import annotations

from typing import Any

from csv2ddb.settings import Settings

# The Spark scale path (glueetl) takes workers, not MaxCapacity, and Python "3".
GLUEETL_VERSION = "5.0"
GLUEETL_WORKER_TYPE = "G.1X"
GLUEETL_WORKERS = 2
EXTRA_PY_FILES = "--extra-py-files"
# Set by the hook from the operator's own arguments (job_desc, iam_role_name, retry_limit).
OPERATOR_OWNED_FIELDS = ("Description", "Role", "MaxRetries")


def job_description(settings: Settings) -> str:
    return f"csv2ddb {settings.prefix}: load one CSV file from S3 into DynamoDB"


def default_arguments(settings: Settings) -> dict[str, str]:
    """Stack locations every run needs, and the load core's wheel for Glue to install."""
    return {
        "--manifest_bucket": settings.bucket,
        "--manifest_prefix": settings.manifests_prefix,
        "--rejected_prefix": settings.rejected_prefix,
        "--write_concurrency": str(settings.write_concurrency),
        EXTRA_PY_FILES: settings.core_wheel_s3_uri,
    }


def job_definition(settings: Settings, role_arn: str) -> dict[str, Any]:
    """Everything but the name, as CreateJob and UpdateJob (``JobUpdate``) take it."""
    command: dict[str, Any] = {"Name": settings.glue_command, "ScriptLocation": settings.script_s3_uri}
    definition: dict[str, Any] = {
        "Description": job_description(settings),
        "Role": role_arn,
        "Command": command,
        "DefaultArguments": default_arguments(settings),
        "MaxRetries": 0,
        "Timeout": settings.glue_timeout_minutes,
        "ExecutionProperty": {"MaxConcurrentRuns": settings.glue_max_concurrent_runs},
    }
    if settings.glue_command == "pythonshell":
        command["PythonVersion"] = settings.glue_python_version
        definition["MaxCapacity"] = settings.glue_max_capacity
    else:
        command["PythonVersion"] = "3"
        definition.update(
            GlueVersion=GLUEETL_VERSION, WorkerType=GLUEETL_WORKER_TYPE, NumberOfWorkers=GLUEETL_WORKERS
        )
    return definition


def create_job_kwargs(settings: Settings) -> dict[str, Any]:
    """The definition as ``GlueJobOperator(create_job_kwargs=...)`` takes it: the operator fills
    in what it owns (description, role, retries) from its own arguments."""
    definition = job_definition(settings, role_arn="")
    return {k: v for k, v in definition.items() if k not in OPERATOR_OWNED_FIELDS}
