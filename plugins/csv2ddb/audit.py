"""The audit store: one durable record per (DAG run, source file) in the audit table.

Written by the load DAG's ``record_audit`` task for every file it attempted (verified or not),
read back by ``python -m csv2ddb.audit_cli``. Key: ``dag_run_id`` (HASH) + ``source``
(RANGE, ``s3://bucket/key``), see ``csv2ddb.tables.audit_table_spec``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

STATUS_VERIFIED = "verified"
STATUS_COUNT_MISMATCH = "count_mismatch"
STATUS_FAILED = "failed"
MANIFEST_FIELDS = (
    "rows_read",
    "rows_written",
    "rows_rejected",
    "rows_duplicate",
    "rejected_location",
    "started_at",
    "finished_at",
    "seconds",
    "rows_per_second",
    "peak_rss_mb",
)

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_record(
    *,
    dag_id: str,
    dag_run_id: str,
    run_type: str,
    triggered_by: str | None,
    load: Mapping[str, Any],
    status: str,
    glue_job_name: str,
    glue_job_run_id: str | None,
    manifest: Mapping[str, Any] | None,
    items_counted: int | None,
    error: str | None,
    logical_date: str | None = None,
) -> dict[str, Any]:
    """A flat record; manifest timings and figures are copied under ``load_*`` / ``rows_*``."""
    record: dict[str, Any] = {
        "dag_run_id": dag_run_id,
        "source": load["source_uri"],
        "dag_id": dag_id,
        "run_id": load["run_id"],
        "run_type": run_type,
        "triggered_by": triggered_by,
        "logical_date": logical_date,
        "table": load["table"],
        "source_bucket": load["bucket"],
        "source_key": load["key"],
        "source_etag": load.get("etag"),
        "source_size": load.get("size"),
        "source_version_id": load.get("version_id"),
        "reject_tolerance": load.get("reject_tolerance"),
        "status": status,
        "glue_job_name": glue_job_name,
        "glue_job_run_id": glue_job_run_id,
        "items_counted": items_counted,
        "error": error,
        "recorded_at": utc_now(),
    }
    for name in MANIFEST_FIELDS:
        value = (manifest or {}).get(name)
        target = {
            "started_at": "load_started_at",
            "finished_at": "load_finished_at",
            "seconds": "load_seconds",
        }
        record[target.get(name, name)] = value
    return {k: v for k, v in record.items() if v is not None}


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def to_item(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in record.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in item.items():
        value = _deserializer.deserialize(v)
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        out[k] = value
    return out


def put_record(client: Any, table: str, record: Mapping[str, Any]) -> None:
    """Write (or overwrite, on a task retry) the record of one (DAG run, file)."""
    client.put_item(TableName=table, Item=to_item(record))


def scan_records(client: Any, table: str) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        for item in page.get("Items", []):
            yield from_item(item)
        if not page.get("LastEvaluatedKey"):
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def history(
    client: Any, table: str, *, since: str | None = None, file: str | None = None
) -> list[dict[str, Any]]:
    """Records oldest first; ``since`` is an ISO date/time, ``file`` a key or ``s3://`` URI."""
    records = []
    for record in scan_records(client, table):
        if since and record.get("recorded_at", "") < since:
            continue
        if file and file not in (record.get("source_key"), record.get("source")):
            continue
        records.append(record)
    return sorted(records, key=lambda r: (r.get("recorded_at", ""), r.get("source", "")))
