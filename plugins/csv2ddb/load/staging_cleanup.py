"""The import path's staging data in S3: kept after a failed import, removed after a verified one.

A lifecycle rule on the staging prefix (``bootstrap/bucket.py``) expires what a failed load leaves
behind, once it has had time to be inspected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook

from csv2ddb.settings import Settings


def delete_staging(manifest: Mapping[str, Any], settings: Settings) -> int:
    """Remove a verified import's staging parts; return how many objects went."""
    location = (manifest.get("staging") or {}).get("location")
    if not location:
        return 0
    bucket, _, prefix = str(location)[len("s3://") :].partition("/")
    hook = S3Hook(aws_conn_id=settings.aws_conn_id)
    keys = hook.list_keys(bucket_name=bucket, prefix=prefix) or []
    if keys:
        hook.delete_objects(bucket=bucket, keys=keys)
    return len(keys)
