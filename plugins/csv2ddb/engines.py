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
ADDITIONAL_PYTHON_MODULES = "--additional-python-modules"  # Glue ETL: pip-installs the wheel
PYTHONSHELL = "pythonshell"
SPARK = "spark"
# Set by the hook from the operator's own arguments (job_desc, iam_role_name, retry_limit).
OPERATOR_OWNED_FIELDS = ("Description", "Role", "MaxRetries")


def job_description(settings: Settings, engine: str = PYTHONSHELL) -> str:
    how = " (Spark engine)" if engine == SPARK else ""
    return f"csv2ddb {settings.prefix}: load one CSV file from S3 into DynamoDB{how}"


def default_arguments(settings: Settings, engine: str = PYTHONSHELL) -> dict[str, str]:
    """Stack locations every run needs, and the load core's wheel for Glue to install.

    Python shell takes the wheel in ``--extra-py-files``; Glue ETL installs it with pip from
    ``--additional-python-modules`` (on the driver and every worker). The Spark job also records its
    worker settings in the manifest, and, run locally, how many cores its local Spark gets.
    """
    args = {
        "--manifest_bucket": settings.bucket,
        "--manifest_prefix": settings.manifests_prefix,
        "--rejected_prefix": settings.rejected_prefix,
        "--staging_prefix": settings.staging_prefix,
        "--write_concurrency": str(settings.write_concurrency),
    }
    if engine != SPARK:
        return {**args, EXTRA_PY_FILES: settings.core_wheel_s3_uri}
    args.update(
        {"--worker_type": settings.spark_worker_type, "--number_of_workers": str(settings.spark_workers)}
    )
    if settings.spark_job_command == "glueetl":
        return {**args, ADDITIONAL_PYTHON_MODULES: settings.core_wheel_s3_uri}
    return {**args, "--spark_local_cores": str(settings.spark_local_cores)}


def job_name(settings: Settings, engine: str = PYTHONSHELL) -> str:
    return settings.spark_job_name if engine == SPARK else settings.glue_job_name


def role_name(settings: Settings, engine: str = PYTHONSHELL) -> str:
    return settings.spark_role_name if engine == SPARK else settings.glue_role_name


def script_uri(settings: Settings, engine: str = PYTHONSHELL) -> str:
    return settings.spark_script_s3_uri if engine == SPARK else settings.script_s3_uri


def job_definition(settings: Settings, role_arn: str, engine: str = PYTHONSHELL) -> dict[str, Any]:
    """Everything but the name, as CreateJob and UpdateJob (``JobUpdate``) take it.

    ``engine`` "spark" is the Glue ETL job (Glue 5.0, workers): ``spark_job_command`` "glueetl".
    Locally it is registered as ``pythonshell`` (the emulator runs nothing else; the script starts
    local Spark itself) -- the one field in which the local Spark job differs from AWS.
    """
    spark = engine == SPARK
    name = settings.spark_job_command if spark else settings.glue_command
    command: dict[str, Any] = {"Name": name, "ScriptLocation": script_uri(settings, engine)}
    definition: dict[str, Any] = {
        "Description": job_description(settings, engine),
        "Role": role_arn,
        "Command": command,
        "DefaultArguments": default_arguments(settings, engine),
        "MaxRetries": 0,
        "Timeout": settings.spark_timeout_minutes if spark else settings.glue_timeout_minutes,
        "ExecutionProperty": {"MaxConcurrentRuns": settings.glue_max_concurrent_runs},
    }
    if not spark and name == "pythonshell":
        command["PythonVersion"] = settings.glue_python_version
        definition["MaxCapacity"] = settings.glue_max_capacity
    else:  # Glue ETL: Python "3" and workers, not MaxCapacity (the local Spark job keeps them too)
        command["PythonVersion"] = "3"
        worker_type, workers = (
            (settings.spark_worker_type, settings.spark_workers)
            if spark
            else (GLUEETL_WORKER_TYPE, GLUEETL_WORKERS)
        )
        definition.update(GlueVersion=GLUEETL_VERSION, WorkerType=worker_type, NumberOfWorkers=workers)
    return definition


def create_job_kwargs(settings: Settings, engine: str = PYTHONSHELL) -> dict[str, Any]:
    """The definition as ``GlueJobOperator(create_job_kwargs=...)`` takes it: the operator fills
    in what it owns (description, role, retries) from its own arguments."""
    definition = job_definition(settings, role_arn="", engine=engine)
    return {k: v for k, v in definition.items() if k not in OPERATOR_OWNED_FIELDS}
