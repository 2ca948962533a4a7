"""The audit store: one durable record per (DAG run, source file) in the audit table.

Written by the load DAG's ``load_file.verify`` task for every file it attempted (verified or not),
read back by ``python -m csv2ddb.history.audit_cli`` and the Loads page. Key: ``dag_run_id`` (HASH) +
``source`` (RANGE, ``s3://bucket/key``); two indexes serve the page's queries (see
``csv2ddb.tables.audit_table_spec`` and :class:`RecordFilter`): ``by_time`` (``dag_id`` +
``recorded_at``) for a date range, ``by_status`` and ``by_table`` (``status`` / ``table`` +
``recorded_at``) for one status or table in a date range, ``by_file`` (``dag_id`` + ``source``)
for a file prefix.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from csv2ddb_core.contract import LOAD_METHOD_REASON

from csv2ddb.run_identity import RunStamp
from csv2ddb.tables import (
    AUDIT_BY_DATASET,
    AUDIT_BY_FILE,
    AUDIT_BY_STATUS,
    AUDIT_BY_TABLE,
    AUDIT_BY_TIME,
    IndexSpec,
)

STATUS_VERIFIED = "verified"
STATUS_COUNT_MISMATCH = "count_mismatch"
STATUS_FAILED = "failed"
STATUSES = (STATUS_VERIFIED, STATUS_COUNT_MISMATCH, STATUS_FAILED)
MANIFEST_FIELDS = (
    "rows_read",
    "rows_written",
    "rows_rejected",
    "rows_duplicate",
    # Set by newer jobs only (write modes, engines, load methods): absent on older records.
    "rows_skipped",
    "engine",
    "load_method",
    LOAD_METHOD_REASON,  # why the DAG chose it (csv2ddb.load.file_plan.choose_method)
    "import_arn",  # the import path: the ImportTable that created the table, and what it imported
    "imported_count",
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


@dataclass(frozen=True)
class Outcome:
    """How one file's load ended, as its audit record tells it (decided by the verify step,
    ``csv2ddb.load.verdict``): the status and why, the job's manifest, and the count check's figures
    (``items_counted``; ``check``: its method, seconds and overwritten keys)."""

    status: str
    error: str | None = None
    manifest: Mapping[str, Any] | None = None
    items_counted: int | None = None
    check: Mapping[str, Any] = field(default_factory=dict)


def build_record(
    run: RunStamp,
    load: Mapping[str, Any],
    outcome: Outcome,
    glue_job_name: str | None,
    glue_job_run_id: str | None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A flat record of one file of one DAG run; manifest timings and figures are copied under
    ``load_*`` / ``rows_*``; ``extra`` adds fields (e.g. the analytics step's, a group's id)."""
    manifest = outcome.manifest
    record: dict[str, Any] = {
        "dag_run_id": run.dag_run_id,
        "source": load["source_uri"],
        "dag_id": run.dag_id,
        "run_id": load["run_id"],
        "run_type": run.run_type,
        "triggered_by": run.triggered_by,
        "logical_date": run.logical_date,
        "table": load["table"],
        "source_bucket": load["bucket"],
        "source_key": load["key"],
        "source_etag": load.get("etag"),
        "source_size": load.get("size"),
        "source_version_id": load.get("version_id"),
        "reject_tolerance": load.get("reject_tolerance"),
        "dataset": load.get("dataset"),
        "uploaded_by": load.get("uploaded_by"),  # an S3 event's uploader; triggered_by: who started the run
        # How the file was to be read and written, as planned (csv2ddb.load.file_plan).
        "write_options": dict(load.get("options") or {}) or None,
        "csv_options": dict(load.get("csv_options") or {}) or None,
        "status": outcome.status,
        "glue_job_name": glue_job_name,
        "glue_job_run_id": glue_job_run_id,
        "items_counted": outcome.items_counted,
        "error": outcome.error,
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
    record.update(quality_fields(manifest or {}))
    record.update(outcome.check)
    record.update(extra or {})
    return {k: v for k, v in record.items() if v is not None}


def quality_fields(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What the load found about its data (docs/checks.md), flat for the audit table and the Loads
    page: duplicates exact and conflicting and the policy, whether the key is a column taken only
    for its name (``id``), and the checks: passed or not, which failed, every result as JSON."""
    fields: dict[str, Any] = {}
    duplicates = manifest.get("duplicates") or {}
    if duplicates:
        fields["on_conflict"] = duplicates.get("on_conflict")
        fields["duplicates_exact"] = duplicates.get("exact")
        fields["duplicates_conflicting"] = duplicates.get("conflicting")
    if manifest.get("key_by_default"):
        fields["key_by_default"] = True
    checks = manifest.get("checks")
    if checks:
        fields["checks_passed"] = bool(checks.get("passed"))
        fields["checks_failed"] = check_failures_text(checks) or None
        fields["check_results"] = json.dumps(checks.get("results") or [], sort_keys=True)
    return fields


def check_failures_text(checks: Mapping[str, Any]) -> str:
    """``between:amount (2 rows); row_count_history: row count 4,120 is 48 % of ...``: the failed
    checks of a manifest's ``checks`` and by how much, for a note, an alert or a table cell."""
    said = []
    for result in checks.get("results") or []:
        if result.get("status") != "failed":
            continue
        if result.get("kind") == "row":
            said.append(f"{result['check']} ({result.get('rows_failing', 0):,} rows)")
        else:
            said.append(f"{result['check']}: {result.get('detail', '')}")
    return "; ".join(said)


def recent_row_counts(client: Any, table: str, dag_id: str, items_table: str, last: int) -> list[int]:
    """``rows_read`` of the last ``last`` verified loads into ``items_table``, newest first: the
    history a ``row_count_history`` check compares a file with (one Query of the by-table index)."""
    flt = RecordFilter(
        date_from=date(2000, 1, 1),
        date_to=datetime.now(UTC).date(),
        status=STATUS_VERIFIED,
        table=items_table,
    )
    counts: list[int] = []
    for record in query_records(client, table, flt, dag_id=dag_id):
        if isinstance(record.get("rows_read"), int):
            counts.append(record["rows_read"])
        if len(counts) >= last:
            break
    return counts


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


def records_of_dag_run(client: Any, table: str, dag_run_id: str) -> list[dict[str, Any]]:
    """Every record of one DAG run (its HASH key: one strongly consistent Query), by source."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#d = :d",
        "ExpressionAttributeNames": {"#d": "dag_run_id"},
        "ExpressionAttributeValues": {":d": {"S": dag_run_id}},
        "ConsistentRead": True,
    }
    records = []
    while True:
        page = client.query(**kwargs)
        records += [from_item(item) for item in page.get("Items", [])]
        if not page.get("LastEvaluatedKey"):
            return sorted(records, key=lambda r: r.get("source", ""))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def records_of_load(client: Any, table: str, run_id: str) -> list[dict[str, Any]]:
    """Every record about one load run id (the load's own and its rollbacks'), oldest first.

    A filtered Scan: the run id is not a key, and the audit log is small (one item per file)."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "#r = :r",
        "ExpressionAttributeNames": {"#r": "run_id"},
        "ExpressionAttributeValues": {":r": {"S": run_id}},
        "ConsistentRead": True,
    }
    records = []
    while True:
        page = client.scan(**kwargs)
        records += [from_item(item) for item in page.get("Items", [])]
        if not page.get("LastEvaluatedKey"):
            return sorted(records, key=lambda r: r.get("recorded_at", ""))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def verified_versions(
    client: Any, table: str, dag_id: str, versions: Sequence[tuple[str, str]]
) -> dict[str, str]:
    """{source: dag_run_id} of the ``(source, etag)`` object versions ``dag_id`` has verified, one
    Query of the by-file index each (the cost follows the batch, not the audit log)."""
    done: dict[str, str] = {}
    for source, etag in versions:
        kwargs: dict[str, Any] = {
            "TableName": table,
            "IndexName": AUDIT_BY_FILE.name,
            "KeyConditionExpression": "#d = :d AND #s = :s",
            "FilterExpression": "#st = :verified AND #e = :e",
            "ExpressionAttributeNames": {
                "#d": "dag_id",
                "#s": "source",
                "#st": "status",
                "#e": "source_etag",
            },
            "ExpressionAttributeValues": {
                ":d": {"S": dag_id},
                ":s": {"S": source},
                ":verified": {"S": STATUS_VERIFIED},
                ":e": {"S": etag},
            },
        }
        while source not in done:
            page = client.query(**kwargs)
            for item in page.get("Items", []):
                done[source] = from_item(item)["dag_run_id"]
            if not page.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return done


def update_record(client: Any, table: str, dag_run_id: str, source: str, fields: Mapping[str, Any]) -> None:
    """Set ``fields`` on an existing record (e.g. a load's ``rolled_back_by``); never creates one."""
    names = {f"#f{i}": name for i, name in enumerate(fields)}
    values = {f":v{i}": _serializer.serialize(_to_dynamo(v)) for i, v in enumerate(fields.values())}
    client.update_item(
        TableName=table,
        Key={"dag_run_id": {"S": dag_run_id}, "source": {"S": source}},
        UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
        ConditionExpression="attribute_exists(dag_run_id)",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


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


# --- the Loads page's queries -------------------------------------------------------------------
DAY_START = "T00:00:00Z"
DAY_END = "T23:59:59Z"  # recorded_at has second precision ("YYYY-MM-DDTHH:MM:SSZ")


@dataclass(frozen=True)
class RecordFilter:
    """Which records to list: a UTC date range of ``recorded_at`` (inclusive), optionally one
    status, one table, one dataset and a source prefix (``s3://bucket/key...``).

    Each filter has an index whose key serves it (see :attr:`index`); the query reads only that
    index's matching key range, and the other filters narrow it with a filter expression.
    """

    date_from: date
    date_to: date
    status: str | None = None
    table: str | None = None
    source_prefix: str | None = None
    dataset: str | None = None

    @property
    def index(self) -> IndexSpec:
        """The index whose key serves the most selective filter asked for.

        A source prefix (``by_file``: ``begins_with`` on the sort key) first; then a rare status
        (``failed``/``count_mismatch``: ``by_status``); then a dataset (``by_dataset``: that
        dataset's loads only); then a table (``by_table``); then ``verified`` (``by_status``);
        else the date range alone (``by_time``).
        """
        if self.source_prefix:
            return AUDIT_BY_FILE
        if self.status and self.status != STATUS_VERIFIED:
            return AUDIT_BY_STATUS
        if self.dataset:
            return AUDIT_BY_DATASET
        if self.table:
            return AUDIT_BY_TABLE
        if self.status:
            return AUDIT_BY_STATUS
        return AUDIT_BY_TIME

    @property
    def newest_first(self) -> bool:
        """Every index but ``by_file`` sorts by time; ``by_file`` lists files in key order."""
        return self.index is not AUDIT_BY_FILE

    @property
    def by_dag(self) -> bool:
        """True when the index is partitioned by DAG id (``by_time``, ``by_file``): records of
        several DAGs then come from one Query per DAG (see :func:`query_merged_page`)."""
        return self.index.hash_key == "dag_id"

    def query_kwargs(self, dag_id: str | Sequence[str]) -> dict[str, Any]:
        """KeyConditionExpression on the index; FilterExpression for what its key does not serve.

        ``dag_id``: the DAG whose records to read, or several DAGs (``IN`` filter; not on an index
        partitioned by DAG id, where each DAG is its own Query)."""
        index = self.index
        dag_ids = [dag_id] if isinstance(dag_id, str) else list(dag_id)
        if not dag_ids or (len(dag_ids) > 1 and self.by_dag):
            raise ValueError(f"index {index.name} reads one DAG per Query, got {dag_ids}")
        wanted = {"dag_id": dag_ids[0], "status": self.status, "table": self.table, "dataset": self.dataset}
        names = {"#p": index.hash_key, "#k": index.range_key or ""}
        values: dict[str, Any] = {":p": {"S": str(wanted[index.hash_key])}}
        day_from = {"S": f"{self.date_from.isoformat()}{DAY_START}"}
        day_to = {"S": f"{self.date_to.isoformat()}{DAY_END}"}
        conditions = []
        if index is AUDIT_BY_FILE:
            key = "#p = :p AND begins_with(#k, :pfx)"
            values[":pfx"] = {"S": self.source_prefix}
            names["#at"] = "recorded_at"
            values.update({":from": day_from, ":to": day_to})
            conditions.append("#at BETWEEN :from AND :to")
        else:
            key = "#p = :p AND #k BETWEEN :from AND :to"
            values.update({":from": day_from, ":to": day_to})
        for attribute, value in wanted.items():
            if value and attribute != index.hash_key:
                names[f"#{attribute}"] = attribute
                if attribute == "dag_id" and len(dag_ids) > 1:
                    aliases = [f":dag{i}" for i in range(len(dag_ids))]
                    values.update({alias: {"S": d} for alias, d in zip(aliases, dag_ids, strict=True)})
                    conditions.append(f"#dag_id IN ({', '.join(aliases)})")
                    continue
                values[f":{attribute}"] = {"S": value}
                conditions.append(f"#{attribute} = :{attribute}")
        kwargs: dict[str, Any] = {
            "IndexName": index.name,
            "KeyConditionExpression": key,
            "ScanIndexForward": not self.newest_first,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if conditions:
            kwargs["FilterExpression"] = " AND ".join(conditions)
        return kwargs

    @property
    def narrows(self) -> bool:
        """True when a filter the key does not serve may drop items the key condition reads (then
        a page reads bigger chunks). The dag_id check on a status/table partition is not counted:
        every record there is csv2ddb_load's in practice."""
        index = self.index
        if index is AUDIT_BY_FILE:
            return True  # the date range is a filter there
        asked = {"status": self.status, "table": self.table, "dataset": self.dataset}
        return any(value and name != index.hash_key for name, value in asked.items())

    def start_key_names(self) -> set[str]:
        """The attributes of a valid ExclusiveStartKey on this filter's index."""
        index = self.index
        return {"dag_run_id", "source", index.hash_key, index.range_key or ""}


@dataclass(frozen=True)
class Page:
    """One page of records in the index's order, and where the next page starts (None: no more)."""

    records: list[dict[str, Any]]
    next_key: dict[str, Any] | None
    items_read: int


def start_key_of(record: Mapping[str, Any], flt: RecordFilter) -> dict[str, Any]:
    """The ExclusiveStartKey that continues right after ``record`` on ``flt``'s index."""
    return {name: {"S": str(record[name])} for name in sorted(flt.start_key_names())}


def check_start_key(key: Any, flt: RecordFilter) -> dict[str, Any]:
    """``key`` if it is a well-formed start key for ``flt``'s index; else ValueError (a bad cursor)."""
    names = flt.start_key_names()
    if not isinstance(key, dict) or set(key) != names:
        raise ValueError(f"cursor must name exactly {sorted(names)}")
    for name, value in key.items():
        if not (isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str)):
            raise ValueError(f"cursor attribute {name!r} must be a string")
    return key


def query_page(
    client: Any,
    table: str,
    flt: RecordFilter,
    *,
    dag_id: str | Sequence[str],
    limit: int,
    start_key: dict[str, Any] | None = None,
    read_budget: int = 2000,
) -> Page:
    """Up to ``limit`` records matching ``flt`` by Query on one index (never a Scan): newest first,
    or by file for a source prefix.

    DynamoDB applies a filter expression after reading, so a narrow table/prefix filter may need
    several Query calls per page; ``read_budget`` bounds the items read per page. A page cut
    short by the budget still carries ``next_key``, so the caller can go on.
    """
    base = {"TableName": table, **flt.query_kwargs(dag_id)}
    records: list[dict[str, Any]] = []
    items_read = 0
    key = start_key
    while True:
        remaining = limit - len(records)
        chunk = max(remaining, 100) if flt.narrows else remaining
        kwargs = {**base, "Limit": max(1, min(chunk, read_budget - items_read))}
        if key:
            kwargs["ExclusiveStartKey"] = key
        response = client.query(**kwargs)
        items_read += int(response.get("ScannedCount", 0))
        for item in response.get("Items", []):
            records.append(from_item(item))
            if len(records) == limit:
                # Continue after the last record *returned* (the chunk may have read beyond it).
                more = bool(response.get("LastEvaluatedKey")) or item is not response["Items"][-1]
                return Page(records, start_key_of(records[-1], flt) if more else None, items_read)
        key = response.get("LastEvaluatedKey")
        if not key:
            return Page(records, None, items_read)
        if items_read >= read_budget:
            return Page(records, key, items_read)


def query_records(
    client: Any,
    table: str,
    flt: RecordFilter,
    *,
    dag_id: str | Sequence[str],
    projection: tuple[str, ...] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every record matching ``flt``, in the index's order, page by page (the CSV export, the chart).

    ``projection`` limits the attributes read back (the charts need a handful)."""
    kwargs: dict[str, Any] = {"TableName": table, **flt.query_kwargs(dag_id)}
    if projection:
        aliases = {f"#a{i}": name for i, name in enumerate(projection)}
        kwargs["ProjectionExpression"] = ", ".join(aliases)
        kwargs["ExpressionAttributeNames"] = {**kwargs["ExpressionAttributeNames"], **aliases}
    while True:
        response = client.query(**kwargs)
        for item in response.get("Items", []):
            yield from_item(item)
        if not response.get("LastEvaluatedKey"):
            return
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


# --- several load DAGs at once (csv2ddb_load and one DAG per dataset) -----------------------------
ALL = "*"  # the one partition of a query that is not split by DAG id


def partitions_of(flt: RecordFilter, dag_ids: Sequence[str]) -> list[str]:
    """The Query partitions a listing of ``dag_ids`` needs: one per DAG on an index keyed by DAG id
    (``by_time``, ``by_file``), else one (:data:`ALL`) with the DAGs as an ``IN`` filter."""
    return sorted(dag_ids) if flt.by_dag else [ALL]


def order_key(record: Mapping[str, Any], flt: RecordFilter) -> str:
    """The value the filter's index orders by: ``recorded_at``, or ``source`` on ``by_file``."""
    return str(record.get(flt.index.range_key or "recorded_at", ""))


@dataclass(frozen=True)
class MergedPage:
    """One page over several partitions, in the index's order; ``cursors`` = where each partition
    not yet exhausted goes on (None: from its start); None when every partition is done."""

    records: list[dict[str, Any]]
    cursors: dict[str, dict[str, Any] | None] | None
    items_read: int


def query_merged_page(
    client: Any,
    table: str,
    flt: RecordFilter,
    *,
    dag_ids: Sequence[str],
    limit: int,
    cursors: Mapping[str, dict[str, Any] | None] | None = None,
    read_budget: int = 2000,
) -> MergedPage:
    """Up to ``limit`` records of any of ``dag_ids`` matching ``flt``, in the index's order.

    On an index keyed by DAG id each DAG is a partition of its own: one Query page per partition,
    then a merge. A record is only shown once no partition can still hold one that sorts before it
    (the *horizon*: the furthest point every unfinished partition has read to), so the order is
    exact across pages; each partition's cursor moves past exactly what was shown from it.
    """
    open_parts = dict(cursors) if cursors is not None else dict.fromkeys(partitions_of(flt, dag_ids))
    if not open_parts:
        return MergedPage([], None, 0)
    pages: dict[str, Page] = {}
    for part, start in open_parts.items():
        pages[part] = query_page(
            client,
            table,
            flt,
            dag_id=part if part != ALL else tuple(dag_ids),
            limit=limit,
            start_key=start,
            read_budget=max(100, read_budget // len(open_parts)),
        )
    newest_first = flt.newest_first
    range_key = flt.index.range_key or "recorded_at"
    bounds = [str(p.next_key[range_key]["S"]) for p in pages.values() if p.next_key]
    horizon = (max(bounds) if newest_first else min(bounds)) if bounds else None

    def within(record: Mapping[str, Any]) -> bool:
        if horizon is None:
            return True
        value = order_key(record, flt)
        return value >= horizon if newest_first else value <= horizon

    tagged = (
        ((order_key(r, flt), part, i), r) for part, page in pages.items() for i, r in enumerate(page.records)
    )
    candidates = sorted((t for t in tagged if within(t[1])), key=lambda t: t[0][0], reverse=newest_first)
    shown = candidates[:limit]
    taken: dict[str, int] = {}
    for (_, part, i), _record in shown:
        taken[part] = max(taken.get(part, 0), i + 1)
    next_cursors: dict[str, dict[str, Any] | None] = {}
    for part, page in pages.items():
        count = taken.get(part, 0)
        if count == len(page.records):
            if page.next_key is not None:
                next_cursors[part] = page.next_key
        elif count:
            next_cursors[part] = start_key_of(page.records[count - 1], flt)
        else:
            next_cursors[part] = open_parts[part]
    return MergedPage(
        [record for _, record in shown],
        next_cursors or None,
        sum(p.items_read for p in pages.values()),
    )


def query_merged_records(
    client: Any,
    table: str,
    flt: RecordFilter,
    *,
    dag_ids: Sequence[str],
    projection: tuple[str, ...] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every record of any of ``dag_ids`` matching ``flt``, in the index's order (the CSV export,
    the chart): one paginated Query per partition, merged as they stream."""
    parts = partitions_of(flt, dag_ids)
    if projection:  # the merge orders by the index's range key: it must be read back
        projection = tuple(dict.fromkeys((*projection, flt.index.range_key or "recorded_at")))
    streams = [
        query_records(
            client, table, flt, dag_id=part if part != ALL else tuple(dag_ids), projection=projection
        )
        for part in parts
    ]
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=lambda r: order_key(r, flt), reverse=flt.newest_first)
