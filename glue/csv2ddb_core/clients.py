"""The job's AWS clients: one S3 client and ONE DynamoDB client shared by every writer thread."""

from __future__ import annotations

import os
from typing import Any, Tuple

import boto3
from botocore.config import Config

from csv2ddb_core.contract import JobArgs


def make_clients(args: JobArgs) -> Tuple[Any, Any]:
    """One S3 client and ONE shared DynamoDB client (botocore clients are thread-safe).

    Retries are ours (bounded, jittered), so botocore's are switched off for DynamoDB; parameter
    validation is off because we build the low-level items ourselves and it costs CPU per item.
    ``AWS_ENDPOINT_URL`` is read explicitly because Glue's older botocore ignores it; it is only set
    for the local emulator.
    """
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    session = boto3.session.Session()
    s3 = session.client(
        "s3", endpoint_url=endpoint, config=Config(retries={"max_attempts": 5, "mode": "standard"})
    )
    ddb = session.client(
        "dynamodb",
        endpoint_url=endpoint,
        config=Config(
            max_pool_connections=max(10, args.write_concurrency + 2),
            retries={"total_max_attempts": 1, "mode": "standard"},
            parameter_validation=False,
            tcp_keepalive=True,
        ),
    )
    return s3, ddb
