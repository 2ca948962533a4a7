"""The count check: a load is verified only when the job's manifest adds up and the table
itself holds exactly ``rows_written`` items stamped with this load's run id.

``DescribeTable.ItemCount`` is refreshed by AWS only about every six hours, so the table is
counted with a paginated, strongly consistent ``Scan`` (``Select=COUNT``) filtered on the
``load_run_id`` attribute the Glue job writes on every item.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from csv2ddb_core.contract import ATTR_LOAD_RUN_ID, STATUS_SUCCEEDED, ManifestError, validate_manifest


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
    items_counted: int

    @property
    def ok(self) -> bool:
        return self.items_counted == self.rows_written

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def parse_manifest(text: str, where: str) -> dict[str, Any]:
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"manifest {where} is not JSON: {exc}") from exc
    return validate_manifest(manifest, where)


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


def count_items(client: Any, table: str, run_id: str, page_size: int | None = None) -> int:
    """Exact number of items in ``table`` whose ``load_run_id`` equals ``run_id``."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "Select": "COUNT",
        "FilterExpression": "#rid = :rid",
        "ExpressionAttributeNames": {"#rid": ATTR_LOAD_RUN_ID},
        "ExpressionAttributeValues": {":rid": {"S": run_id}},
        "ConsistentRead": True,
    }
    if page_size:
        kwargs["Limit"] = page_size
    total = 0
    while True:
        page = client.scan(**kwargs)
        total += int(page["Count"])
        last = page.get("LastEvaluatedKey")
        if not last:
            return total
        kwargs["ExclusiveStartKey"] = last


def verify_load(manifest: dict[str, Any], load: dict[str, Any], client: Any, where: str) -> Verification:
    """Check the manifest, count the table; the caller decides what a mismatch means."""
    check_manifest(manifest, load, where)
    counted = count_items(client, load["table"], load["run_id"])
    return Verification(
        run_id=load["run_id"],
        table=load["table"],
        rows_read=manifest["rows_read"],
        rows_written=manifest["rows_written"],
        rows_rejected=manifest["rows_rejected"],
        rows_duplicate=manifest["rows_duplicate"],
        items_counted=counted,
    )


def raise_on_mismatch(result: Verification) -> None:
    if not result.ok:
        raise CountMismatch(
            f"count check failed for {result.run_id}: the manifest says rows_written={result.rows_written}, "
            f"but table {result.table} holds {result.items_counted} items with load_run_id={result.run_id}"
        )
