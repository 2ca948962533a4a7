"""The inline engine: a group of small files loaded inside the Airflow worker by the load core itself
(``csv2ddb_core.group.run_group``, each file by ``csv2ddb_core.load.run``), with no Glue run.

Why: a Glue Python-shell run costs a start (30-60 s on AWS) and is billed for at least a minute,
for a file of a few thousand rows that the core loads in about a second. ``auto`` plans such a file
inline (``file_plan.choose_engine``, ``Settings.load.inline_max_bytes``); the load task of its group runs
this instead of starting a Glue run.

Nothing else differs from a Glue run: the same job arguments (the file's plan laid over the stack's
locations) parsed by the core's own ``parse_job_args``, so the same options, checks, rejects, key
list and manifest (whose ``engine`` says ``inline``), and the same verify step and audit record
after it. A retry loads only what is not done: ``run_group`` skips a file whose stored manifest says
this run id succeeded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from botocore.config import Config
from csv2ddb_core.contract import ENGINE_INLINE, JobArgs
from csv2ddb_core.group import Outcome, run_group
from csv2ddb_core.load import run
from csv2ddb_core.options import parse_job_args

from csv2ddb.load import groups
from csv2ddb.load.file_plan import FilePlan
from csv2ddb.provider_clients import dynamodb_client
from csv2ddb.settings import Settings


def job_args(load: Mapping[str, Any], settings: Settings) -> JobArgs:
    """One file's job arguments as its Glue run would get them, checked by the core's parser (the
    worker's environment is not read: under the emulator the job reads its arguments from there)."""
    plan = FilePlan.from_xcom(load)
    arguments = plan.run_arguments(settings, ENGINE_INLINE)
    return parse_job_args([f"{name}={value}" for name, value in arguments.items()], env={})


def core_clients(settings: Settings) -> tuple[Any, Any]:
    """(S3, DynamoDB) clients on the provider's connection, configured as the job configures its own
    (``csv2ddb_core.clients``): the core's writer retries with its own bounded backoff, so botocore
    makes one attempt per call, and one shared client has a connection per writer thread."""
    s3 = S3Hook(aws_conn_id=settings.aws_conn_id).get_conn()
    own = Config(
        max_pool_connections=max(10, settings.load.write_concurrency + 2),
        retries={"total_max_attempts": 1, "mode": "standard"},
        parameter_validation=False,
    )
    return s3, dynamodb_client(settings, config=own)


def load_group(group: Mapping[str, Any], settings: Settings) -> list[Outcome]:
    """Load every file of an inline group in order, past a failed one; every file's arguments are
    checked before the first load (a bad one raises ``ArgumentError``: nothing is loaded). Returns
    each file's outcome; a failed file's manifest says why."""
    files = [job_args(load, settings) for load in groups.files_of(group)]
    s3, ddb = core_clients(settings)
    return run_group(files, s3, ddb, load=lambda args, s3, ddb: run(args, s3, ddb, ENGINE_INLINE))
