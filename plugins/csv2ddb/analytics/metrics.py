"""CloudWatch metrics: one set per load (dataset = the DynamoDB table, as a dimension) and the
staleness check's per-dataset freshness, through the provider's ``AwsBaseHook``.

Why a stack-wide series beside the per-table one: a CloudWatch alarm watches one metric with
fixed dimensions, so "any load failed" needs the series without a dimension (the load also
publishes it), while the dashboard and the per-dataset staleness alarms use the ``Table`` one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

from csv2ddb.analytics.catalog import glue_hook
from csv2ddb.analytics.config import Analytics, analytics_config
from csv2ddb.datasets.registry import deployed_dir, load_all
from csv2ddb.history.audit import STATUS_VERIFIED
from csv2ddb.provider_clients import dynamodb_client
from csv2ddb.settings import Settings
from csv2ddb.tables import AUDIT_BY_TABLE

log = logging.getLogger(__name__)
TABLE = "Table"
# Metric name -> unit. The names are the dashboard's and the alarms' too (one definition).
ROWS_WRITTEN, ROWS_REJECTED, ROWS_DUPLICATE = "RowsWritten", "RowsRejected", "RowsDuplicate"
LOAD_SECONDS, ROWS_PER_SECOND = "LoadSeconds", "RowsPerSecond"
VERIFIED, FAILED, REJECT_RATE = "Verified", "Failed", "RejectRatePercent"
FRESHNESS, STALE = "FreshnessSeconds", "Stale"
# The staleness check runs once per this many seconds (dags/csv2ddb_freshness.py), and each staleness
# alarm evaluates one such period: no data in it at all counts as stale too.
STALE_PERIOD_SECONDS = 3600
UNITS = {
    ROWS_WRITTEN: "Count",
    ROWS_REJECTED: "Count",
    ROWS_DUPLICATE: "Count",
    LOAD_SECONDS: "Seconds",
    ROWS_PER_SECOND: "Count/Second",
    VERIFIED: "Count",
    FAILED: "Count",
    REJECT_RATE: "Percent",
    FRESHNESS: "Seconds",
    STALE: "Count",
}
STACK_WIDE = (FAILED, REJECT_RATE)  # also published without a dimension, for the stack's alarms


def cloudwatch(cfg: Analytics) -> Any:
    return AwsBaseHook(
        aws_conn_id=cfg.settings.aws_conn_id, client_type="cloudwatch", region_name=cfg.settings.region
    ).conn


def load_metrics(manifest: Mapping[str, Any] | None, verified: bool) -> dict[str, float]:
    """The figures of one load (a load without a manifest still counts as failed)."""
    m = manifest or {}
    read = int(m.get("rows_read") or 0)
    rejected = int(m.get("rows_rejected") or 0)
    out = {
        VERIFIED: 1.0 if verified else 0.0,
        FAILED: 0.0 if verified else 1.0,
        ROWS_WRITTEN: float(m.get("rows_written") or 0),
        ROWS_REJECTED: float(rejected),
        ROWS_DUPLICATE: float(m.get("rows_duplicate") or 0),
        REJECT_RATE: round(100.0 * rejected / read, 4) if read else 0.0,
    }
    if m.get("seconds") is not None:
        out[LOAD_SECONDS] = float(m["seconds"])
        out[ROWS_PER_SECOND] = float(m.get("rows_per_second") or 0)
    return out


def datum(name: str, value: float, table: str | None, when: dt.datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"MetricName": name, "Value": value, "Unit": UNITS[name], "Timestamp": when}
    if table is not None:
        out["Dimensions"] = [{"Name": TABLE, "Value": table}]
    return out


PUT_LIMIT = 500  # data per PutMetricData call: its limit (1000) with room


def put(cfg: Analytics, data: list[dict[str, Any]], client: Any = None) -> None:
    client = client or cloudwatch(cfg)
    for start in range(0, len(data), PUT_LIMIT):
        client.put_metric_data(Namespace=cfg.namespace, MetricData=data[start : start + PUT_LIMIT])


def load_data(
    table: str, manifest: Mapping[str, Any] | None, verified: bool, when: dt.datetime
) -> list[dict[str, Any]]:
    """One load's data: its figures per table, and the stack-wide failure and reject-rate series."""
    figures = load_metrics(manifest, verified)
    data = [datum(name, value, table, when) for name, value in figures.items()]
    return data + [datum(name, figures[name], None, when) for name in STACK_WIDE]


def publish_load(
    cfg: Analytics, table: str, manifest: Mapping[str, Any] | None, verified: bool
) -> dict[str, float]:
    """Put one load's metrics (per table, and the stack-wide failure and reject-rate series)."""
    put(cfg, load_data(table, manifest, verified, dt.datetime.now(dt.UTC)))
    return load_metrics(manifest, verified)


@dataclass(frozen=True)
class LoadFigures:
    """One load whose metrics go out with others': its run id, table, manifest and verdict."""

    run_id: str
    table: str
    manifest: Mapping[str, Any] | None
    verified: bool


def publish_loads(cfg: Analytics, loads: Sequence[LoadFigures], client: Any = None) -> dict[str, Exception]:
    """Put several loads' metrics in as few PutMetricData calls as they fit, whole loads per call
    (a bulk verify: one or two calls for a group of 64, not one per file). Per run id, the error of
    the call that carried its data; a load missing from the answer was put. Never raises: a failed
    call fails the analytics of exactly the loads it carried."""
    when = dt.datetime.now(dt.UTC)
    failed: dict[str, Exception] = {}
    try:
        client = client or cloudwatch(cfg)
    except Exception as exc:  # noqa: BLE001 -- no client: every load's metrics failed
        return {load.run_id: exc for load in loads}
    for chunk in _whole_loads(loads, when):
        try:
            client.put_metric_data(Namespace=cfg.namespace, MetricData=[d for _, data in chunk for d in data])
        except Exception as exc:
            log.exception("PutMetricData of %d load(s) failed", len(chunk))
            failed.update({run_id: exc for run_id, _ in chunk})
    return failed


def _whole_loads(
    loads: Sequence[LoadFigures], when: dt.datetime
) -> list[list[tuple[str, list[dict[str, Any]]]]]:
    """The loads' data in calls of at most PUT_LIMIT data, no load split between two calls."""
    chunks: list[list[tuple[str, list[dict[str, Any]]]]] = [[]]
    size = 0
    for load in loads:
        data = load_data(load.table, load.manifest, load.verified, when)
        if size + len(data) > PUT_LIMIT and chunks[-1]:
            chunks.append([])
            size = 0
        chunks[-1].append((load.run_id, data))
        size += len(data)
    return [chunk for chunk in chunks if chunk]


def last_verified(client: Any, audit_table: str, table: str) -> str | None:
    """``recorded_at`` of the newest verified audit record of ``table`` (its ``by_table`` index)."""
    kwargs: dict[str, Any] = {
        "TableName": audit_table,
        "IndexName": AUDIT_BY_TABLE.name,
        "KeyConditionExpression": "#t = :t",
        "FilterExpression": "#s = :s",
        "ExpressionAttributeNames": {"#t": AUDIT_BY_TABLE.hash_key, "#s": "status"},
        "ExpressionAttributeValues": {":t": {"S": table}, ":s": {"S": STATUS_VERIFIED}},
        "ScanIndexForward": False,
        "ProjectionExpression": "recorded_at",
    }
    while True:
        page = client.query(**kwargs)
        if page.get("Items"):
            return page["Items"][0]["recorded_at"]["S"]
        if "LastEvaluatedKey" not in page:
            return None
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def freshness(
    cfg: Analytics, tables: Iterable[str], last: Mapping[str, str | None], now: dt.datetime
) -> dict[str, dict[str, float]]:
    """Per dataset: the age of its newest verified load, and Stale = 1 when that is older than
    ``stale_after_hours`` or there is none (a dataset never loaded is stale)."""
    limit = cfg.stale_after_hours * 3600
    out: dict[str, dict[str, float]] = {}
    for table in tables:
        when = last.get(table)
        if when is None:
            out[table] = {STALE: 1.0}
            continue
        age = (now - dt.datetime.fromisoformat(when.replace("Z", "+00:00"))).total_seconds()
        out[table] = {FRESHNESS: round(age, 1), STALE: 1.0 if age > limit else 0.0}
    return out


def publish_staleness(cfg: Analytics, tables: Iterable[str], ddb: Any) -> dict[str, dict[str, float]]:
    """Read each dataset's newest verified load from the audit table and put its freshness."""
    tables = list(tables)
    now = dt.datetime.now(dt.UTC)
    last = {t: last_verified(ddb, cfg.settings.audit_table, t) for t in tables}
    figures = freshness(cfg, tables, last, now)
    put(cfg, [datum(name, value, table, now) for table, f in figures.items() for name, value in f.items()])
    return figures


def datasets(cfg: Analytics, dataset_tables: Iterable[str] = ()) -> list[str]:
    """The datasets to watch: the stack's items table and every declared dataset's table (each has
    a staleness alarm: ``Analytics.watched_tables``, as the bootstrap makes them), and every table a
    load has cataloged (its name is the last folder of its catalog table's location,
    ``processed/<table>/``). A declared dataset never loaded is not cataloged: it is watched all
    the same, so its alarm sees ``Stale = 1``."""
    found = set(cfg.watched_tables(dataset_tables))
    paginator = glue_hook(cfg).conn.get_paginator("get_tables")
    for page in paginator.paginate(DatabaseName=cfg.database):
        for table in page.get("TableList", []):
            location = (table.get("StorageDescriptor") or {}).get("Location", "")
            if table["Name"] != cfg.rejects_table and location.startswith(cfg.processed_root):
                found.add(location[len(cfg.processed_root) :].strip("/"))
    return sorted(found)


def staleness_step(settings: Settings, datasets_dir: Path | None = None) -> dict[str, dict[str, float]]:
    """The scheduled staleness check: every watched dataset's freshness, put to CloudWatch.
    ``datasets_dir``: the deployment's dataset files (default ``registry.deployed_dir()``); the
    DAG passes the folder its dataset DAGs are built from. A broken file is logged and skipped: its
    own DAG reports it."""
    cfg = analytics_config(settings)
    declared = load_all(datasets_dir or deployed_dir(), settings)
    for error in declared.errors:
        log.warning("dataset file not watched for staleness: %s", error)
    return publish_staleness(cfg, datasets(cfg, declared.tables), dynamodb_client(settings))
