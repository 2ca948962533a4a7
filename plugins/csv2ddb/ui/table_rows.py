"""Audit records shaped for the Loads table, its links and the CSV export.

Engine, load method and ``rows_skipped`` come from newer jobs only; a record without them shows
``None`` (the page prints "—", the CSV an empty cell), never a made-up default.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

from csv2ddb.settings import LOAD_GROUP_ID, LOAD_STEP_ID, Settings
from csv2ddb.ui.analytics_view import analytics_of

FIGURES = ("rows_read", "rows_written", "rows_rejected", "rows_duplicate", "rows_skipped")
CSV_COLUMNS = (
    "recorded_at",
    "source",
    "dataset",
    "table",
    "dag_run_id",
    "run_type",
    "triggered_by",
    "uploaded_by",
    "status",
    *FIGURES,
    "items_counted",
    "engine",
    "load_method",
    "load_seconds",
    "rows_per_second",
    "reject_tolerance",
    "rejected_location",
    "run_id",
    # The group run that loaded the file with others (docs/dags.md, Groups); empty: loaded alone.
    "group_id",
    "group_files",
    "checks_passed",
    "checks_failed",
    "duplicates_exact",
    "duplicates_conflicting",
    "on_conflict",
    "key_by_default",
    # The processed zone and its Athena reconciliation (docs/analytics.md), as the audit record has them.
    "analytics_status",
    "processed_location",
    "processed_bytes",
    "athena_count",
    "athena_query_id",
    "analytics_error",
    "error",
)
# Spreadsheet programs run a cell starting with one of these as a formula (CSV injection);
# S3 keys and error texts are not ours to trust.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def reject_rate(record: Mapping[str, Any]) -> float | None:
    read, rejected = record.get("rows_read"), record.get("rows_rejected")
    if not isinstance(read, int) or not isinstance(rejected, int) or read <= 0:
        return None
    return round(rejected / read, 6)


def object_key(uri: str | None, settings: Settings) -> str | None:
    """The key of ``s3://<stack bucket>/<key>``; None for another bucket (not served)."""
    head = f"s3://{settings.bucket}/"
    return uri[len(head) :] if uri and uri.startswith(head) else None


def links(
    record: Mapping[str, Any], settings: Settings, ui_base: str, app_base: str
) -> dict[str, str | None]:
    """The DAG run in Airflow's UI; the manifest and the rejects through this app's object route; for
    a file loaded in a group, the group's load step in that run (Airflow's list of its mapped
    instances, one per group: the Glue run or the inline load of every file of the group)."""
    dag_id, dag_run_id = quote(record.get("dag_id", ""), safe=""), quote(record["dag_run_id"], safe="")
    run = f"{ui_base}/dags/{dag_id}/runs/{dag_run_id}"
    grouped = record.get("group_id") and int(record.get("group_files") or 0) > 1  # one file: its own run
    group = f"{run}/tasks/{LOAD_GROUP_ID}.{LOAD_STEP_ID}/mapped" if grouped else None
    manifest = None
    if record.get("run_id") and record.get("rows_read") is not None:  # a manifest was read
        manifest = f"{app_base}/api/object?{urlencode({'key': settings.manifest_key(record['run_id'])})}"
    rejects_key = object_key(record.get("rejected_location"), settings)
    rejects = f"{app_base}/api/object?{urlencode({'key': rejects_key})}" if rejects_key else None
    return {"run": run, "manifest": manifest, "rejects": rejects, "group": group}


def present(record: Mapping[str, Any], settings: Settings, ui_base: str, app_base: str) -> dict[str, Any]:
    """One row of the page's table (JSON)."""
    return {
        "recorded_at": record.get("recorded_at"),
        "file": record.get("source_key"),
        "source": record.get("source"),
        # Absent for an ad-hoc load of csv2ddb_load; a dataset DAG's loads carry their dataset.
        "dataset": record.get("dataset"),
        "table": record.get("table"),
        "dag_run_id": record.get("dag_run_id"),
        "run_type": record.get("run_type"),
        "triggered_by": record.get("triggered_by"),
        # An S3 event's uploader (the event record's principal), when the event path recorded it.
        "uploaded_by": record.get("uploaded_by"),
        "status": record.get("status"),
        # The group run that loaded this file with others (its id and size); None: loaded alone.
        "group_id": record.get("group_id"),
        "group_files": record.get("group_files"),
        **{name: record.get(name) for name in FIGURES},
        "items_counted": record.get("items_counted"),
        "engine": record.get("engine"),
        "load_method": record.get("load_method"),
        "load_seconds": record.get("load_seconds"),
        "rows_per_second": record.get("rows_per_second"),
        "reject_rate": reject_rate(record),
        "checks": checks_of(record),
        # Later rows of a key like its first row (exact) or not (conflicting), and what the load's
        # --on_conflict did with the conflicting ones; None when the record predates them.
        "duplicates_exact": record.get("duplicates_exact"),
        "duplicates_conflicting": record.get("duplicates_conflicting"),
        "on_conflict": record.get("on_conflict"),
        # The key is a column named id taken only for its name (no partition key was given).
        "key_by_default": bool(record.get("key_by_default")),
        "error": record.get("error"),
        "links": links(record, settings, ui_base, app_base),
        # Its Parquet partition and Athena reconciliation, beside the manifest and rejects links.
        "analytics": analytics_of(record, settings),
    }


def checks_of(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The load's checks for the page: passed or not, which failed and by how much, and every
    result (passed/failed, rows failing); None when the load declared none."""
    if "checks_passed" not in record:
        return None
    return {
        "passed": record["checks_passed"],
        "failed": record.get("checks_failed"),
        "results": json.loads(record.get("check_results") or "[]"),
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The header, then one line per record (streamed: the export never holds every row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerow([_cell(record.get(column)) for column in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():  # the header alone, when no record matched
        yield buffer.getvalue()
