"""A load's processed zone (its Parquet partition) and its Athena reconciliation, for the Loads page.

The audit record carries what the analytics step recorded (``csv2ddb.analytics.step``). The page
shows the wording made here, so the table, its hover texts and the tests read one definition.
On real AWS the partition and the query also get console addresses; with an endpoint set (the
local emulator) those are None and the page shows the uri and the query id as text: the emulator
has no console, and a link to AWS's would open someone else's account or nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from csv2ddb.analytics.status import COUNT_MISMATCH, FAILED, OFF, RECONCILED, SKIPPED
from csv2ddb.consoles import athena_query_url, console_links, s3_prefix_url
from csv2ddb.settings import Settings

# analytics_status -> (what the page says, why, on hover). None: the record has no analytics fields.
LABELS: dict[str | None, tuple[str, str]] = {
    RECONCILED: ("reconciled", "Athena counted this run's rows in the processed zone: rows written"),
    COUNT_MISMATCH: ("count mismatch", "Athena counted another number of rows than the load wrote"),
    FAILED: (
        "analytics failed",
        "the zone, the catalog or Athena failed; the DynamoDB load keeps its status",
    ),
    SKIPPED: ("not reconciled", "the load was not verified: no partition registered, no Athena count"),
    OFF: (
        "processed zone off",
        "this load wrote no Parquet (turned off for its run or its dataset): no partition, no Athena count",
    ),
    None: (
        "no processed zone",
        "the record has no analytics fields: the stack's processed zone (CSV2DDB_PROCESSED) was off "
        "when it loaded, or the load predates it",
    ),
}


def label(status: str | None) -> tuple[str, str]:
    """(text, hover) for an ``analytics_status``; an unknown one is shown as it is."""
    return LABELS.get(status, (str(status), "an analytics status this page does not know"))


def athena_text(count: Any, written: Any) -> str | None:
    """``40 = 40 written`` / ``39 ≠ 40 written``; None when Athena gave no count."""
    if not isinstance(count, int):
        return None
    if not isinstance(written, int):
        return f"{count:,} counted"
    return f"{count:,} {'=' if count == written else '≠'} {written:,} written"


def analytics_of(record: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """The load's partition and reconciliation as one JSON object of a row (``None`` for what the
    record lacks, never an invented value)."""
    status = record.get("analytics_status") or None
    text, note = label(status)
    location = record.get("processed_location")
    query_id = record.get("athena_query_id")
    consoles = console_links(settings)
    return {
        "status": status,
        "label": text,
        "note": note,
        "error": record.get("analytics_error"),
        "partition": location,
        "partition_console": s3_prefix_url(settings.region, location) if consoles and location else None,
        "partition_state": record.get("partition"),  # created / exists (another load of the day)
        "catalog_table": record.get("catalog_table"),
        "processed_rows": record.get("processed_rows"),
        "processed_bytes": record.get("processed_bytes"),
        "athena_count": record.get("athena_count"),
        "athena_text": athena_text(record.get("athena_count"), record.get("rows_written")),
        "athena_query_id": query_id,
        "athena_console": athena_query_url(settings.region, query_id) if consoles and query_id else None,
        "athena_seconds": record.get("athena_seconds"),
    }
