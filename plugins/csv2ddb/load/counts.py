"""The count check: a load is verified only when the job's manifest adds up and the table itself
holds every item the load wrote.

Two ways to count, both exact (``DescribeTable.ItemCount`` is refreshed by AWS only about every six
hours, so it is never used):

- ``keys`` (the default): read the load's key list (``csv2ddb_core.keylist``: proven whole by its
  count and SHA-256) and look every key up with parallel BatchGetItem (``csv2ddb.keyreads``). Its
  cost follows the load, not the table: a 2-row file costs one call however big the table is.
  Verified when each listed key holds either this load's item or a *later* load's (one that started
  after this one: it overwrote the item since, which is reported, not counted as a loss). A key
  that is missing, or holds an item of a load that started earlier, fails the check.
- ``scan``: the reconciliation count, a strongly consistent parallel ``Scan`` (``Segment`` /
  ``TotalSegments``) of the whole table with ``Select=COUNT`` filtered on ``load_run_id``. It reads
  the whole table (on AWS: every item's RCUs) and cannot tell an overwritten item from a lost one:
  verified when exactly ``rows_written`` items carry this run.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from csv2ddb_core.contract import (
    ATTR_LOAD_RUN_ID,
    STATUS_SUCCEEDED,
    ManifestError,
    validate_manifest,
)
from csv2ddb_core.keylist import read_key_list

from csv2ddb import keyreads
from csv2ddb.load_defaults import COUNT_BY_KEYS, COUNT_BY_SCAN, COUNT_METHODS

BY_KEYS, BY_SCAN, METHODS = COUNT_BY_KEYS, COUNT_BY_SCAN, COUNT_METHODS  # defined with the setting


class CountMismatch(RuntimeError):
    """The table does not hold what the manifest says was written."""


@dataclass(frozen=True)
class Verification:
    run_id: str
    table: str
    rows_read: int
    rows_written: int
    rows_rejected: int
    rows_duplicate: int
    items_counted: int  # items still carrying this load's run id
    rows_skipped: int = 0  # rows a write mode chose not to write (not in the key list)
    method: str = BY_SCAN
    # keys method only: keys a later load overwrote since (still written, not ours any more) ...
    items_overwritten: int = 0
    # ... and keys that hold no item, or an item of a load that started before this one.
    items_missing: int = 0
    items_stale: int = 0
    overwritten_by: dict[str, int] = field(default_factory=dict)
    stale_from: dict[str, int] = field(default_factory=dict)
    keys_checked: int | None = None
    check_seconds: float | None = None

    @property
    def ok(self) -> bool:
        if self.method == BY_KEYS:
            return (
                self.items_missing == 0
                and self.items_stale == 0
                and self.items_counted + self.items_overwritten == self.rows_written
            )
        return self.items_counted == self.rows_written

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def check_manifest(manifest: dict[str, Any], load: dict[str, Any], where: str) -> None:
    """The manifest belongs to this load, says succeeded, and its figures add up."""
    if manifest.get("run_id") != load["run_id"]:
        raise ManifestError(f"manifest {where} is for run {manifest.get('run_id')!r}, not {load['run_id']!r}")
    if manifest.get("table") not in (None, load["table"]):
        raise ManifestError(f"manifest {where} loaded table {manifest.get('table')!r}, not {load['table']!r}")
    source = manifest.get("source") or {}
    if (source.get("bucket"), source.get("key")) != (load["bucket"], load["key"]):
        raise ManifestError(
            f"manifest {where} describes s3://{source.get('bucket')}/{source.get('key')}, "
            f"not {load['source_uri']}"
        )
    if manifest.get("status") != STATUS_SUCCEEDED:
        raise ManifestError(
            f"manifest {where} says status={manifest.get('status')!r}: {manifest.get('error')}"
        )
    validate_manifest(manifest, where)


def count_items(client: Any, table: str, run_id: str, page_size: int | None = None, segments: int = 1) -> int:
    """Exact number of items in ``table`` whose ``load_run_id`` equals ``run_id``: a strongly
    consistent ``Scan`` of the whole table, ``segments`` parallel segments (the reconciliation count)."""
    base: dict[str, Any] = {
        "TableName": table,
        "Select": "COUNT",
        "FilterExpression": "#rid = :rid",
        "ExpressionAttributeNames": {"#rid": ATTR_LOAD_RUN_ID},
        "ExpressionAttributeValues": {":rid": {"S": run_id}},
        "ConsistentRead": True,
    }
    if page_size:
        base["Limit"] = page_size

    def segment(number: int) -> int:
        kwargs = dict(base)
        if segments > 1:
            kwargs.update(Segment=number, TotalSegments=segments)
        total = 0
        while True:
            page = client.scan(**kwargs)
            total += int(page["Count"])
            last = page.get("LastEvaluatedKey")
            if not last:
                return total
            kwargs["ExclusiveStartKey"] = last

    if segments <= 1:
        return segment(0)
    with ThreadPoolExecutor(max_workers=segments, thread_name_prefix="csv2ddb-scan") as pool:
        return sum(pool.map(segment, range(segments)))


def verify_load(
    manifest: dict[str, Any],
    load: dict[str, Any],
    client: Any,
    where: str,
    *,
    s3: Any = None,
    method: str = BY_KEYS,
    workers: int = 8,
    segments: int = 8,
) -> Verification:
    """Check the manifest, then count the table by ``method``; the caller decides what a mismatch means.

    ``s3`` (a boto3 S3 client) reads the key list; a missing, truncated or altered list raises
    ManifestError (the check never passes without the whole list).
    """
    if method not in METHODS:
        raise ValueError(f"count method must be one of {METHODS}, got {method!r}")
    check_manifest(manifest, load, where)
    figures = {
        name: manifest[name] for name in ("rows_read", "rows_written", "rows_rejected", "rows_duplicate")
    }
    started = time.monotonic()
    if method == BY_SCAN:
        counted = count_items(client, load["table"], load["run_id"], segments=segments)
        return Verification(
            run_id=load["run_id"],
            table=load["table"],
            **figures,
            items_counted=counted,
            method=BY_SCAN,
            check_seconds=round(time.monotonic() - started, 3),
        )
    if s3 is None:
        raise ValueError("the keys method needs an S3 client to read the key list")
    keys = read_key_list(s3, manifest, where)
    census = keyreads.count_keys(
        client, load["table"], keys, load["run_id"], manifest.get("started_at"), workers=workers
    )
    top = census.as_dict()
    return Verification(
        run_id=load["run_id"],
        table=load["table"],
        **figures,
        items_counted=census.ours,
        method=BY_KEYS,
        items_overwritten=census.later,
        items_missing=census.missing,
        items_stale=census.stale,
        overwritten_by=top["later_runs"],
        stale_from=top["stale_runs"],
        keys_checked=census.keys,
        check_seconds=round(time.monotonic() - started, 3),
    )


def describe(result: Verification) -> str:
    """One line: what the table holds of this load."""
    if result.method == BY_SCAN:
        return (
            f"table {result.table} holds {result.items_counted} items with load_run_id={result.run_id} "
            f"(full-table scan)"
        )
    parts = [f"{result.items_counted} still this load's"]
    if result.items_overwritten:
        parts.append(f"{result.items_overwritten} overwritten since by later loads {result.overwritten_by}")
    if result.items_missing:
        parts.append(f"{result.items_missing} missing")
    if result.items_stale:
        parts.append(
            f"{result.items_stale} holding an earlier load's item {result.stale_from} "
            "(this load's write is not there)"
        )
    return f"of the {result.keys_checked} keys in its key list, table {result.table} has " + ", ".join(parts)


def mismatch(result: Verification) -> str:
    return (
        f"count check failed for {result.run_id}: the manifest says rows_written={result.rows_written}, "
        f"but {describe(result)}"
    )


def raise_on_mismatch(result: Verification) -> None:
    if not result.ok:
        raise CountMismatch(mismatch(result))
