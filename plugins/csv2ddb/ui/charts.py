"""The figures behind the Loads page's per-day chart: rows written per UTC day and status.

Per-load charts (reject rate, rows/s) are drawn from the page's own rows in the browser; this
one spans the whole filtered date range, so it is aggregated here from a projection of a few
attributes, with a cap on the records read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

PROJECTION = ("recorded_at", "status", "rows_written", "rows_read", "rows_rejected")
MAX_RECORDS = 50_000


def daily_totals(records: Iterable[Mapping[str, Any]], max_records: int = MAX_RECORDS) -> dict[str, Any]:
    """``{"days": [{day, status, loads, rows_written, rows_rejected}], "records", "truncated"}``."""
    totals: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"loads": 0, "rows_written": 0, "rows_rejected": 0}
    )
    count = 0
    truncated = False
    for record in records:
        if count >= max_records:
            truncated = True
            break
        count += 1
        day = str(record.get("recorded_at", ""))[:10]
        entry = totals[(day, str(record.get("status", "")))]
        entry["loads"] += 1
        entry["rows_written"] += int(record.get("rows_written") or 0)
        entry["rows_rejected"] += int(record.get("rows_rejected") or 0)
    days = [{"day": day, "status": status, **figures} for (day, status), figures in sorted(totals.items())]
    return {"days": days, "records": count, "truncated": truncated}
