"""A load's manifest as the job stored it in S3, read with a plain boto3 client through the
contract's one reader (``csv2ddb_core.contract.read_manifest``, which validates every field and the
identity): the verify step's checks, the rollback, the lineage CLI and the Loads page read it here.
Inside a task, ``csv2ddb.load.manifests`` reads the same document through the provider's S3Hook.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from csv2ddb_core.contract import read_manifest


def parse_manifest(text: str, where: str) -> dict[str, Any]:
    """The manifest document, read by the contract's one reader (validated)."""
    return read_manifest(text, where).to_dict()


def fetch_manifest(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The validated manifest at ``s3://bucket/key`` (a boto3 client), or None when there is none."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    return parse_manifest(body.decode("utf-8"), f"s3://{bucket}/{key}")
