"""Athena over the processed zone, through the provider's ``AthenaHook``: the per-load
reconciliation count (a second check beside the key-list one, independent of DynamoDB) and the
saved queries the bootstrap stores in the workgroup.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.providers.amazon.aws.hooks.athena import AthenaHook
from csv2ddb_core.contract import ATTR_LOAD_RUN_ID
from csv2ddb_core.processed import DATASET, LOAD_DATE

from csv2ddb.analytics.config import Analytics
from csv2ddb.analytics.status import COUNT_MISMATCH, RECONCILED

POLL_SECONDS = 1  # the hook's default is 30 s; a count over one partition takes about a second


class AthenaError(RuntimeError):
    """A query did not succeed; the message names it, its id and Athena's reason."""


@dataclass(frozen=True)
class QueryResult:
    query_id: str
    rows: list[list[str | None]]
    seconds: float


def literal(value: str) -> str:
    """A SQL string literal (``'`` doubled): run ids and dates are safe already, tables may not be."""
    return "'" + value.replace("'", "''") + "'"


def quoted(database: str, table: str) -> str:
    return f'"{database}"."{table}"'


def athena_hook(cfg: Analytics) -> AthenaHook:
    return AthenaHook(aws_conn_id=cfg.settings.aws_conn_id, region_name=cfg.settings.region, log_query=False)


def run(cfg: Analytics, sql: str, hook: AthenaHook | None = None) -> QueryResult:
    """Run ``sql`` in the stack's workgroup (its output location and scan cutoff), wait, fetch."""
    hook = hook or athena_hook(cfg)
    began = time.monotonic()
    query_id = hook.run_query(
        sql,
        query_context={"Database": cfg.database},
        result_configuration={"OutputLocation": cfg.athena_output},
        workgroup=cfg.workgroup,
    )
    state = hook.poll_query_status(query_id, sleep_time=POLL_SECONDS)
    if state != "SUCCEEDED":
        reason = hook.get_state_change_reason(query_id)
        raise AthenaError(f"Athena query {query_id} ended {state}: {reason} (query: {sql})")
    answer = hook.get_query_results(query_id) or {}
    rows = [[cell.get("VarCharValue") for cell in row["Data"]] for row in answer["ResultSet"]["Rows"]]
    return QueryResult(query_id, rows[1:], round(time.monotonic() - began, 3))  # row 0: the header


def count_sql(cfg: Analytics, table: str, load_date: str, run_ids: Sequence[str]) -> str:
    """These loads' rows in the processed zone, per load (their day's partition only: Athena scans
    one day)."""
    listed = ", ".join(literal(run_id) for run_id in run_ids)
    return (
        f"SELECT {ATTR_LOAD_RUN_ID}, count(*) AS n FROM {quoted(cfg.database, cfg.items_table(table))} "
        f"WHERE {LOAD_DATE} = {literal(load_date)} AND {ATTR_LOAD_RUN_ID} IN ({listed}) "
        f"GROUP BY {ATTR_LOAD_RUN_ID}"
    )


def reconcile_runs(
    cfg: Analytics, table: str, load_date: str, written: Mapping[str, int], hook: AthenaHook | None = None
) -> dict[str, dict[str, Any]]:
    """ONE Athena query counting the rows of several loads of one table and day (a group run's
    files: a query per file cost each file an Athena start and poll, about a second locally); per
    run id, its count, whether it equals its ``rows_written``, and the analytics status that
    follows: ``reconciled``, or ``count_mismatch`` with why."""
    result = run(cfg, count_sql(cfg, table, load_date, sorted(written)), hook)
    counted = {str(row[0]): int(row[1] or 0) for row in result.rows}
    catalog_table = f"{cfg.database}.{cfg.items_table(table)}"
    out: dict[str, dict[str, Any]] = {}
    for run_id, rows_written in written.items():
        count = counted.get(run_id, 0)
        fields: dict[str, Any] = {
            "athena_count": count,
            "athena_matches": count == rows_written,
            "athena_query_id": result.query_id,
            "athena_seconds": result.seconds,
            "analytics_status": RECONCILED if count == rows_written else COUNT_MISMATCH,
        }
        if count != rows_written:
            fields["analytics_error"] = (
                f"Athena counted {count} row(s) of run {run_id} in {catalog_table}, "
                f"the load wrote {rows_written}"
            )
        out[run_id] = fields
    return out


def reconcile(cfg: Analytics, table: str, load_date: str, run_id: str, rows_written: int) -> dict[str, Any]:
    """:func:`reconcile_runs` of one load."""
    return reconcile_runs(cfg, table, load_date, {run_id: rows_written})[run_id]


def saved_queries(cfg: Analytics) -> dict[str, tuple[str, str]]:
    """Name -> (description, SQL) of the workgroup's saved queries: the questions users ask."""
    rejects = quoted(cfg.database, cfg.rejects_table)
    items = quoted(cfg.database, cfg.items_table(cfg.settings.table))
    return {
        f"{cfg.settings.prefix}-rejects-by-reason": (
            "Rejected rows per dataset, day and reason (edit the day)",
            f"SELECT {DATASET}, {LOAD_DATE}, reason, count(*) AS rows_rejected FROM {rejects} "
            f"GROUP BY {DATASET}, {LOAD_DATE}, reason ORDER BY {LOAD_DATE} DESC, rows_rejected DESC",
        ),
        f"{cfg.settings.prefix}-rows-per-day": (
            f"Rows loaded per day into {cfg.settings.table}",
            f"SELECT {LOAD_DATE}, count(*) AS rows_loaded FROM {items} "
            f"GROUP BY {LOAD_DATE} ORDER BY {LOAD_DATE}",
        ),
        f"{cfg.settings.prefix}-loads-per-dataset": (
            "Loads (runs) and rows per day in the items table; one table per dataset in this database",
            f"SELECT {LOAD_DATE}, count(DISTINCT {ATTR_LOAD_RUN_ID}) AS loads, count(*) AS rows_loaded "
            f"FROM {items} GROUP BY {LOAD_DATE} ORDER BY {LOAD_DATE}",
        ),
    }
