"""A load's manifest as the job stored it in S3 (``manifests/<run>.json``), read through the
contract's one reader (``csv2ddb_core.contract.read_manifest``, which validates every field and the
identity): inside a task through the provider's ``S3Hook`` (the import step and its fallback, the
failure alert) or a client on the provider's connection that the caller shares across files (the
verify step), outside one with a plain boto3 client (the rollback, the lineage CLI, the Loads page).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError
from csv2ddb_core.contract import read_manifest

from csv2ddb.settings import Settings


def parse_manifest(text: str, where: str) -> dict[str, Any]:
    """The manifest document, read by the contract's one reader (validated)."""
    return read_manifest(text, where).to_dict()


def manifest_uri(settings: Settings, run_id: str) -> str:
    return f"s3://{settings.bucket}/{settings.manifest_key(run_id)}"


def fetch(settings: Settings, run_id: str, s3: Any = None) -> tuple[dict[str, Any] | None, str]:
    """In a task: (the load's validated manifest, or None when the job wrote none; its s3 uri).
    ManifestError when it is there but malformed, naming the uri and the field. ``s3``: a client the
    caller shares across files (a bulk verify: one GET per file, no client made per file); without
    it, the provider's ``S3Hook``."""
    key = settings.manifest_key(run_id)
    where = manifest_uri(settings, run_id)
    if s3 is not None:
        return fetch_manifest(s3, settings.bucket, key), where
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook  # a task's: not needed by the CLIs

    hook = S3Hook(aws_conn_id=settings.aws_conn_id)
    if not hook.check_for_key(key, bucket_name=settings.bucket):
        return None, where
    return read_manifest(hook.read_key(key, bucket_name=settings.bucket), where).to_dict(), where


def store(settings: Settings, run_id: str, manifest: Mapping[str, Any]) -> None:
    """In a task: write the manifest back (the import step adds its ARN and counts for the audit)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    body = json.dumps(manifest, indent=2, sort_keys=True, default=str)
    hook = S3Hook(aws_conn_id=settings.aws_conn_id)
    hook.load_string(body, settings.manifest_key(run_id), bucket_name=settings.bucket, replace=True)


def fetch_manifest(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    """The validated manifest at ``s3://bucket/key`` (a boto3 client), or None when there is none."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    return parse_manifest(body.decode("utf-8"), f"s3://{bucket}/{key}")
