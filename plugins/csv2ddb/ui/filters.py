"""The Loads page's query string: validated into an ``audit.RecordFilter`` before any AWS call.

Type errors (a bad date, an unknown status, an oversized page) are FastAPI/pydantic's 422 with
the offending parameter named; rules spanning parameters (the order and span of the date range,
a cursor that does not belong to these filters) are a 400 with a message.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Query, status

from csv2ddb.datasets.schema import NAME_PATTERN
from csv2ddb.history.audit import ALL, STATUSES, RecordFilter, check_start_key
from csv2ddb.load.trigger_form import TABLE_PATTERN
from csv2ddb.settings import load_settings

DEFAULT_DAYS = 30
MAX_DAYS = 366
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
Status = Literal[STATUSES]  # type: ignore[valid-type]

DateFrom = Annotated[date | None, Query(alias="from", description="first day (UTC), YYYY-MM-DD")]
DateTo = Annotated[date | None, Query(alias="to", description="last day (UTC), YYYY-MM-DD; default today")]
TableParam = Annotated[str | None, Query(pattern=TABLE_PATTERN, max_length=255)]
# A dataset's name is its file's stem (the DAG id's tail): the dataset files' own rule.
DatasetParam = Annotated[
    str | None, Query(pattern=NAME_PATTERN, max_length=63, description="a dataset's name, e.g. weather")
]
PrefixParam = Annotated[
    str | None, Query(alias="file", max_length=1024, description="object key or s3:// URI prefix")
]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"rows per page, 1..{MAX_PAGE_SIZE}")]
CursorParam = Annotated[str | None, Query(max_length=4096)]


def bad_request(message: str) -> HTTPException:
    return HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail=message)


def source_prefix(file_prefix: str | None, bucket: str) -> str | None:
    """``raw/x`` means ``s3://<stack bucket>/raw/x``; an ``s3://`` prefix is taken as it is."""
    if not file_prefix:
        return None
    return file_prefix if file_prefix.startswith("s3://") else f"s3://{bucket}/{file_prefix.lstrip('/')}"


def record_filter(
    date_from: date | None,
    date_to: date | None,
    status_: str | None,
    table: str | None,
    file_prefix: str | None,
    bucket: str,
    today: date | None = None,
    dataset: str | None = None,
) -> RecordFilter:
    """Defaults (the last 30 days) and the range rules: from <= to, at most 366 days."""
    date_to = date_to or today or datetime.now(UTC).date()
    date_from = date_from or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        raise bad_request(f"'from' ({date_from}) is after 'to' ({date_to})")
    days = (date_to - date_from).days + 1
    if days > MAX_DAYS:
        raise bad_request(f"the date range spans {days} days; at most {MAX_DAYS} per request")
    return RecordFilter(
        date_from=date_from,
        date_to=date_to,
        status=status_ or None,
        table=table or None,
        source_prefix=source_prefix(file_prefix, bucket),
        dataset=dataset or None,
    )


def encode_cursor(cursors: dict[str, dict[str, Any] | None] | None) -> str | None:
    """An opaque, URL-safe token for the next page: each unfinished partition's ExclusiveStartKey
    (``audit.query_merged_page``)."""
    if cursors is None:
        return None
    raw = json.dumps(cursors, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    token: str | None, flt: RecordFilter, dag_ids: frozenset[str] | set[str]
) -> dict[str, dict[str, Any] | None] | None:
    """The partitions' start keys inside ``token``; 400 when it is not one of ours for these
    filters and the DAGs this user may read (a cursor cannot widen what is listed)."""
    if not token:
        return None
    allowed = set(dag_ids) if flt.by_dag else {ALL}
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursors = json.loads(raw)
        if not isinstance(cursors, dict) or not cursors or not set(cursors) <= allowed:
            raise ValueError(f"cursor must map partitions of {sorted(allowed)} to start keys")
        return {part: None if key is None else check_start_key(key, flt) for part, key in cursors.items()}
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise bad_request(f"invalid cursor (start again from the first page): {exc}") from exc


def filter_params(
    date_from: DateFrom = None,
    date_to: DateTo = None,
    status_: Annotated[
        Status | None, Query(alias="status", description="verified, count_mismatch or failed")
    ] = None,
    table: TableParam = None,
    file_prefix: PrefixParam = None,
    dataset: DatasetParam = None,
) -> RecordFilter:
    """The FastAPI dependency every listing route shares (the page, the CSV, the chart)."""
    return record_filter(
        date_from, date_to, status_, table, file_prefix, load_settings().bucket, dataset=dataset
    )
