"""What a rollback does to a load's processed zone: its Parquet files are REMOVED (items and
rejects), and a day's catalog partition is dropped once no load of that day is left in it.

Removed, not marked: Athena reads every file under a partition, so a marked file would still be
counted and queried; deleting the run's own prefix is exact (it holds only that run's rows) and
other loads of the same day keep their files and their partition.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from botocore.exceptions import ClientError
from csv2ddb_core.keylist import parse_s3_uri
from csv2ddb_core.processed import DATASET, LOAD_DATE

from csv2ddb.analytics.catalog import glue_hook
from csv2ddb.analytics.config import Analytics, analytics_config
from csv2ddb.settings import Settings


def _drop_partition_if_empty(
    cfg: Analytics, s3: S3Hook, table: str, values: list[str], location: str
) -> bool:
    bucket, prefix = parse_s3_uri(location)
    if s3.list_keys(bucket_name=bucket, prefix=prefix, max_items=1):
        return False
    try:
        glue_hook(cfg).conn.delete_partition(
            DatabaseName=cfg.database, TableName=table, PartitionValues=values
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "EntityNotFoundException":
            raise
    return True


def remove_processed(cfg: Analytics, table: str, zone: Mapping[str, Any]) -> dict[str, Any]:
    """Delete one load's processed files (items and rejects); drop its day's partitions when empty."""
    s3 = S3Hook(aws_conn_id=cfg.settings.aws_conn_id, region_name=cfg.settings.region)
    out: dict[str, Any] = {"processed_removed": 0}
    date = zone["load_date"]
    if zone.get("location"):
        bucket, prefix = parse_s3_uri(zone["location"])
        keys = s3.list_keys(bucket_name=bucket, prefix=prefix)
        if keys:
            s3.delete_objects(bucket=bucket, keys=keys)
        out["processed_removed"] = len(keys)
        out["partition_dropped"] = _drop_partition_if_empty(
            cfg, s3, cfg.items_table(table), [date], f"{cfg.items_location(table)}{LOAD_DATE}={date}/"
        )
    rejects = zone.get("rejects") or {}
    if rejects.get("location"):
        bucket, key = parse_s3_uri(rejects["location"])
        s3.delete_objects(bucket=bucket, keys=[key])
        out["processed_removed"] += 1
        _drop_partition_if_empty(
            cfg,
            s3,
            cfg.rejects_table,
            [table, date],
            f"{cfg.rejects_location}{DATASET}={table}/{LOAD_DATE}={date}/",
        )
    return out


def remove_processed_of_load(settings: Settings, run_id: str) -> dict[str, Any]:
    """The rollback's one call: read load ``run_id``'s manifest; remove its processed zone, if any."""
    cfg = analytics_config(settings)
    s3 = S3Hook(aws_conn_id=settings.aws_conn_id, region_name=settings.region)
    key = settings.manifest_key(run_id)
    if not s3.check_for_key(key, bucket_name=settings.bucket):
        return {"processed_removed": 0}
    manifest = json.loads(s3.read_key(key, bucket_name=settings.bucket))
    zone = manifest.get("processed")
    if not zone or zone.get("error") or not zone.get("load_date"):
        return {"processed_removed": 0}
    return remove_processed(cfg, manifest["table"], zone)
