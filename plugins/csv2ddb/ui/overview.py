"""The Loads page's per-dataset overview: for each dataset of the deployment, its last load, that
load's status, its freshness (time since its last *verified* load) and rows written per day; and
the files no dataset claims (``unrouted`` audit records), with their reason.

The datasets are read from the deployment's own dataset files (``csv2ddb.datasets.registry``),
so a dataset with no load yet shows as such, and a broken file shows with its error. Every figure
comes from the sparse ``by_dataset`` index (one partition per dataset): the last load is one
``Query`` item, the last verified load a filtered ``Query`` bounded by :data:`VERIFIED_BUDGET`
items, the per-day rows a projection of the page's date range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from csv2ddb_core.routing import STATUS_UNROUTED

from csv2ddb.datasets.registry import Datasets, deployed_dir, load_all
from csv2ddb.datasets.spec import Dataset
from csv2ddb.history import audit
from csv2ddb.history.audit import RecordFilter
from csv2ddb.settings import Settings
from csv2ddb.tables import AUDIT_BY_STATUS
from csv2ddb.ui import charts

VERIFIED_BUDGET = 2000  # items read looking for the last verified load (failures in a row)
UNROUTED_SHOWN = 5
EPOCH = date(2000, 1, 1)  # "all time" for the last load: before any csv2ddb record


def datasets_dir() -> Path:
    """The deployment's dataset files, beside Airflow's dags folder unless configured
    (``registry.deployed_dir``): the page and the dataset DAGs agree."""
    from airflow.configuration import conf

    return deployed_dir(Path(conf.get("core", "dags_folder")))


def read_datasets(settings: Settings) -> Datasets:
    return load_all(datasets_dir(), settings)


def parse_time(text: str | None) -> datetime | None:
    """``recorded_at`` (``YYYY-MM-DDTHH:MM:SSZ``) as an aware datetime; None when absent/unreadable."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def freshness_seconds(last_verified_at: str | None, now: datetime) -> int | None:
    """Seconds since the last verified load (never negative); None when there is none."""
    when = parse_time(last_verified_at)
    return None if when is None else max(0, int((now - when).total_seconds()))


def load_summary(record: Mapping[str, Any] | None, run_link: str | None) -> dict[str, Any] | None:
    """What the overview shows of one load."""
    if record is None:
        return None
    return {
        "recorded_at": record.get("recorded_at"),
        "status": record.get("status"),
        "file": record.get("source_key"),
        "dag_run_id": record.get("dag_run_id"),
        "rows_written": record.get("rows_written"),
        "error": record.get("error"),
        "run": run_link,
    }


def rows_per_day(totals: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``charts.daily_totals``' (day, status) entries summed per day: the sparkline's points."""
    days: dict[str, dict[str, Any]] = {}
    for entry in totals["days"]:
        day = days.setdefault(entry["day"], {"day": entry["day"], "rows_written": 0, "loads": 0})
        day["rows_written"] += entry["rows_written"]
        day["loads"] += entry["loads"]
    return [days[d] for d in sorted(days)]


def dataset_entry(
    client: Any,
    table: str,
    dataset: Dataset,
    *,
    date_from: date,
    date_to: date,
    now: datetime,
    run_link: Any,
) -> dict[str, Any]:
    """One dataset's row of the overview. ``run_link(record)`` gives a load's DAG-run URL."""
    all_time = RecordFilter(date_from=EPOCH, date_to=now.date(), dataset=dataset.name)
    last = audit.query_page(client, table, all_time, dag_id=dataset.dag_id, limit=1)
    verified_filter = dataclasses.replace(all_time, status=audit.STATUS_VERIFIED)
    verified = audit.query_page(
        client, table, verified_filter, dag_id=dataset.dag_id, limit=1, read_budget=VERIFIED_BUDGET
    )
    last_verified = verified.records[0] if verified.records else None
    in_range = RecordFilter(date_from=date_from, date_to=date_to, dataset=dataset.name)
    totals = charts.daily_totals(
        audit.query_records(client, table, in_range, dag_id=dataset.dag_id, projection=charts.PROJECTION)
    )
    last_record = last.records[0] if last.records else None
    verified_at = str(last_verified["recorded_at"]) if last_verified else None
    return {
        "name": dataset.name,
        "dag_id": dataset.dag_id,
        "table": dataset.table,
        "prefix": dataset.prefix,
        "arrive": dataset.arrive,
        "schedule": dataset.schedule,
        "owner": dataset.owner,
        "description": dataset.description,
        "last_load": load_summary(last_record, run_link(last_record) if last_record else None),
        "last_verified_at": verified_at,
        "freshness_seconds": freshness_seconds(verified_at, now),
        # False when the search for a verified load stopped at its budget: "none found" is then
        # "none in the last VERIFIED_BUDGET loads", not "never".
        "verified_search_complete": last_verified is not None or verified.next_key is None,
        "rows_per_day": rows_per_day(totals),
        "rows_written": sum(d["rows_written"] for d in totals["days"]),
        "loads": totals["records"],
        "truncated": totals["truncated"],
    }


def unrouted(client: Any, table: str, date_from: date, date_to: date) -> dict[str, Any]:
    """Files no dataset claims in the date range: how many, and the newest few with their reason.

    The ``by_status`` index's ``unrouted`` partition: a ``COUNT`` Query (no items sent back) and a
    ``Limit``-ed one; whoever records them (the event path), the page only reads them."""
    key = {
        "IndexName": AUDIT_BY_STATUS.name,
        "KeyConditionExpression": "#s = :s AND #t BETWEEN :from AND :to",
        "ExpressionAttributeNames": {"#s": "status", "#t": "recorded_at"},
        "ExpressionAttributeValues": {
            ":s": {"S": STATUS_UNROUTED},
            ":from": {"S": f"{date_from.isoformat()}{audit.DAY_START}"},
            ":to": {"S": f"{date_to.isoformat()}{audit.DAY_END}"},
        },
    }
    count = 0
    kwargs: dict[str, Any] = {"TableName": table, "Select": "COUNT", **key}
    while True:
        response = client.query(**kwargs)
        count += int(response.get("Count", 0))
        if not response.get("LastEvaluatedKey"):
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    recent = []
    if count:
        response = client.query(TableName=table, ScanIndexForward=False, Limit=UNROUTED_SHOWN, **key)
        for item in response.get("Items", []):
            record = audit.from_item(item)
            recent.append(
                {
                    "recorded_at": record.get("recorded_at"),
                    "source": record.get("source"),
                    "reason": record.get("reason") or record.get("error"),
                }
            )
    return {"count": count, "recent": recent}


def overview(
    client: Any,
    settings: Settings,
    *,
    date_from: date,
    date_to: date,
    now: datetime,
    readable: frozenset[str],
    run_link: Any,
) -> dict[str, Any]:
    """``{"datasets": [...], "errors": [...], "unrouted": {...}}`` for the datasets whose DAG the
    user may read (``readable``), by name."""
    found = read_datasets(settings)
    entries = [
        dataset_entry(
            client,
            settings.audit_table,
            d,
            date_from=date_from,
            date_to=date_to,
            now=now,
            run_link=run_link,
        )
        for d in sorted(found.datasets, key=lambda d: d.name)
        if d.dag_id in readable
    ]
    return {
        "datasets": entries,
        "errors": [{"file": Path(e.path).name, "where": e.where, "problem": e.problem} for e in found.errors],
        "unrouted": unrouted(client, settings.audit_table, date_from, date_to),
    }
