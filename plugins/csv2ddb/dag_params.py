"""The csv2ddb_load trigger form (``params``) and the decision what one DAG run loads.

Three ways in, one request: the S3-event Lambda sends ``{bucket, key, etag, version_id, size,
sequencer}`` as conf; a person fills the form (bucket, key *or* prefix, table, reject
tolerance); a scheduled or backfill run with neither loads its day's partition
``raw/dt=<ds>/*.csv``. Per-field checks live in the JSON schemas below (Airflow rejects a bad
conf before anything runs); rules spanning fields are checked in :func:`plan_request`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from csv2ddb.settings import Settings

TOLERANCE_PATTERN = r"^([0-9]+|0?\.[0-9]+)$"
BUCKET_PATTERN = r"^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
TABLE_PATTERN = r"^$|^[A-Za-z0-9_.-]{3,255}$"
KEY_PATTERN = r"^$|^[^/].*$"
EVENT_SECTION = "S3 event (filled in by the trigger Lambda)"
SCHEDULED_RUN_TYPES = frozenset({"scheduled", "backfill"})


class InvalidLoadRequest(ValueError):
    """The run's conf/params do not describe a load; the message says what to change."""


def load_params(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``airflow.sdk.Param`` per field (kept Airflow-free for unit tests)."""
    return {
        "bucket": {
            "default": settings.bucket,
            "type": "string",
            "pattern": BUCKET_PATTERN,
            "title": "Bucket",
            "description": "S3 bucket holding the CSV file(s). Empty = the stack's bucket.",
        },
        "key": {
            "default": "",
            "type": "string",
            "pattern": KEY_PATTERN,
            "maxLength": 1024,
            "title": "Object key",
            "description": "One CSV object to load, e.g. raw/flights.csv. Give this OR a prefix.",
        },
        "prefix": {
            "default": "",
            "type": "string",
            "pattern": KEY_PATTERN,
            "maxLength": 1024,
            "title": "Key prefix",
            "description": "Load every .csv object under this prefix (recursively), e.g. raw/dt=2024-01-01/.",
        },
        "table": {
            "default": settings.table,
            "type": "string",
            "pattern": TABLE_PATTERN,
            "title": "DynamoDB table",
            "description": "Target table; created if missing (PAY_PER_REQUEST, PITR on). Empty = default.",
        },
        "reject_tolerance": {
            "default": settings.reject_tolerance,
            "type": "string",
            "pattern": TOLERANCE_PATTERN,
            "title": "Reject tolerance",
            "description": "Rejected rows allowed before the load fails: a count (25) or a fraction (0.01).",
        },
        "etag": {
            "default": "",
            "type": "string",
            "section": EVENT_SECTION,
            "description": "ETag from the S3 event; the run fails if the object has changed since.",
        },
        "version_id": {"default": None, "type": ["null", "string"], "section": EVENT_SECTION},
        "size": {"default": None, "type": ["null", "integer"], "minimum": 0, "section": EVENT_SECTION},
        "sequencer": {"default": None, "type": ["null", "string"], "section": EVENT_SECTION},
    }


@dataclass(frozen=True)
class LoadRequest:
    """What one DAG run loads, before S3 is asked what is actually there."""

    mode: str  # "object" | "prefix" | "partition"
    bucket: str
    table: str
    reject_tolerance: str
    key: str = ""
    prefix: str = ""
    recursive: bool = True
    expected_etag: str = ""
    version_id: str | None = None


def run_type_name(run_type: Any) -> str:
    """``"scheduled"`` for ``DagRunType.SCHEDULED`` (an enum whose ``str()`` is its class path)."""
    return str(getattr(run_type, "value", run_type))


def partition_prefix(settings: Settings, ds: str) -> str:
    """``raw/dt=YYYY-MM-DD/`` for a data interval date."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", ds or ""):
        raise InvalidLoadRequest(f"scheduled run has no usable date (ds={ds!r})")
    return f"{settings.raw_prefix}dt={ds}/"


def _check_under_raw(what: str, value: str, raw_prefix: str) -> None:
    """Loads start only from the raw prefix, as the trigger Lambda enforces (reliability finding F6):
    the Glue role may read nothing else, and a '..' segment must not climb out of it."""
    if not value:
        return
    if ".." in value.split("/"):
        raise InvalidLoadRequest(f"{what} {value!r} contains a '..' path segment; name the object directly")
    if not value.startswith(raw_prefix):
        raise InvalidLoadRequest(
            f"{what} {value!r} is outside {raw_prefix}: csv2ddb loads only objects under {raw_prefix}"
        )


def plan_request(params: Mapping[str, Any], run_type: Any, ds: str | None, settings: Settings) -> LoadRequest:
    """Turn the run's params into a LoadRequest, or raise InvalidLoadRequest saying why not."""
    run_type = run_type_name(run_type)
    bucket = (params.get("bucket") or settings.bucket).strip()
    table = (params.get("table") or settings.table).strip()
    tolerance = str(params.get("reject_tolerance") or settings.reject_tolerance).strip()
    if not re.fullmatch(TOLERANCE_PATTERN, tolerance):
        raise InvalidLoadRequest(
            f"reject_tolerance must be a count (25) or a fraction (0.01), got {tolerance!r}"
        )
    key = (params.get("key") or "").strip()
    prefix = (params.get("prefix") or "").strip()
    common = {"bucket": bucket, "table": table, "reject_tolerance": tolerance}
    if key and prefix:
        raise InvalidLoadRequest(f"give either key ({key!r}) or prefix ({prefix!r}), not both")
    for what, value in (("key", key), ("prefix", prefix)):
        _check_under_raw(what, value, settings.raw_prefix)
    if key:
        if key.endswith("/"):
            raise InvalidLoadRequest(f"key {key!r} looks like a folder; use the prefix field for folders")
        return LoadRequest(
            mode="object",
            key=key,
            expected_etag=(params.get("etag") or "").strip('"'),
            version_id=params.get("version_id") or None,
            **common,
        )
    if prefix:
        return LoadRequest(mode="prefix", prefix=prefix, **common)
    if run_type in SCHEDULED_RUN_TYPES:
        return LoadRequest(
            mode="partition", prefix=partition_prefix(settings, ds or ""), recursive=False, **common
        )
    raise InvalidLoadRequest(
        f"a {run_type} run needs a key or a prefix to load (conf/params 'key' or 'prefix'); "
        "only scheduled and backfill runs default to the day's raw/dt=<date>/ partition"
    )
