"""A load's manifest in S3, from the DAG's side: read through the provider's ``S3Hook`` and THE
manifest reader of the contract (``csv2ddb_core.contract.read_manifest``, which validates every
field and the identity), so the verify step, the import step and its fallback read it one way.
Outside a task (rollback, lineage, the Loads page) ``csv2ddb.stored_manifest`` uses the same reader.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from csv2ddb_core.contract import read_manifest

from csv2ddb.settings import Settings


def manifest_uri(settings: Settings, run_id: str) -> str:
    return f"s3://{settings.bucket}/{settings.manifest_key(run_id)}"


def fetch(settings: Settings, run_id: str) -> tuple[dict[str, Any] | None, str]:
    """(the load's validated manifest, or None when the job wrote none; its s3 uri).
    ManifestError when it is there but malformed, naming the uri and the field."""
    key = settings.manifest_key(run_id)
    where = manifest_uri(settings, run_id)
    hook = S3Hook(aws_conn_id=settings.aws_conn_id)
    if not hook.check_for_key(key, bucket_name=settings.bucket):
        return None, where
    return read_manifest(hook.read_key(key, bucket_name=settings.bucket), where).to_dict(), where


def store(settings: Settings, run_id: str, manifest: Mapping[str, Any]) -> None:
    """Write the manifest back (the import step adds its ARN and counts for the audit record)."""
    body = json.dumps(manifest, indent=2, sort_keys=True, default=str)
    hook = S3Hook(aws_conn_id=settings.aws_conn_id)
    hook.load_string(body, settings.manifest_key(run_id), bucket_name=settings.bucket, replace=True)
