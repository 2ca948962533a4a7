"""The job's AWS clients: one S3 client and ONE DynamoDB client shared by every writer thread."""

from __future__ import annotations

import logging
import os
import platform
from typing import Any, Optional, Tuple

import boto3
import botocore
import botocore.session
from botocore.config import Config

from csv2ddb_core import sender
from csv2ddb_core.contract import JOB_VERSION, JobArgs

LOG = logging.getLogger("csv2ddb.clients")


def fixed_user_agent() -> str:
    """One User-Agent string for every request, built once.

    Without ``Config(user_agent=...)`` botocore rebuilds and sanitizes its User-Agent from a dozen
    components twice per request: about a fifth of a BatchWriteItem call's client CPU (profiled).
    The header is informational only; this one still names the SDK, Python and the platform.
    """
    return (
        f"csv2ddb/{JOB_VERSION} Boto3/{boto3.__version__} Botocore/{botocore.__version__} "
        f"Python/{platform.python_version()} {platform.system()}/{platform.release()}"
    )


def make_clients(args: JobArgs) -> Tuple[Any, Any]:
    """One S3 client and ONE shared DynamoDB client (botocore clients are thread-safe).

    Retries are ours (bounded, jittered), so botocore's are switched off for DynamoDB; parameter
    validation is off because we build the low-level items ourselves and it costs CPU per item;
    the User-Agent is built once (``fixed_user_agent``). Its BatchWriteItem calls are sent by
    ``sender.install`` (a keep-alive connection per writer thread) unless a proxy or a client
    certificate is configured.
    ``AWS_ENDPOINT_URL`` is read explicitly because Glue's older botocore ignores it; it is only set
    for the local emulator.
    """
    core = botocore.session.get_session()
    session = boto3.session.Session(botocore_session=core)
    s3 = s3_client(session)
    ddb = session.client(
        "dynamodb",
        endpoint_url=endpoint_url(),
        config=Config(
            max_pool_connections=max(10, args.write_concurrency + 2),
            retries={"total_max_attempts": 1, "mode": "standard"},
            parameter_validation=False,
            tcp_keepalive=True,
            user_agent=fixed_user_agent(),
        ),
    )
    declined = sender.install(ddb, ca_bundle=core.get_config_variable("ca_bundle"))
    if declined:
        LOG.info("BatchWriteItem sent by botocore's own HTTP stack: %s is configured", declined)
    return s3, ddb


def endpoint_url() -> Optional[str]:
    """``AWS_ENDPOINT_URL``, read explicitly because Glue's older botocore ignores it (emulator only)."""
    return os.environ.get("AWS_ENDPOINT_URL") or None


def s3_client(session: Optional[Any] = None) -> Any:
    """The job's S3 client; a group run needs one before any load's arguments are known (to read
    its group file)."""
    session = session or boto3.session.Session()
    return session.client(
        "s3", endpoint_url=endpoint_url(), config=Config(retries={"max_attempts": 5, "mode": "standard"})
    )
