"""Which DAG run an object was handed to: the event path's ledger, so a late duplicate starts nothing.

A burst is split over a few collections (two collectors run at once, and events keep arriving), so
the same object can be named in two different batches: S3 delivered its event twice, or the same
bytes were uploaded twice. The batch's run id cannot catch that (the batches differ); this ledger
does. Before a run is triggered, each of its objects is claimed for it in a DynamoDB table (one
conditional ``PutItem`` per object, keyed ``bucket/key/etag``):

- not claimed yet, or claimed by this same run id (a retry of this batch): kept;
- claimed by a run that exists in Airflow: a duplicate, dropped from this batch;
- claimed by a run that does not exist (yet), more recently than ``grace_seconds``: another
  collector is about to trigger it, or failed and will retry; this invocation is retried later
  (``ClaimBusy``), it never drops the object while its only run may still fail;
- claimed longer ago than that by a run that never came to exist: an orphan (its trigger failed
  and its events were regrouped); taken over, conditionally, for this run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from s3_events import S3Object

KEY = "object"
TTL_ATTRIBUTE = "expires_at"
KEEP_SECONDS = 90 * 24 * 3600  # a claim outlives any redelivery (S3/SQS) and the DLQ's 14 days


class ClaimBusy(RuntimeError):
    """An object is claimed by a run that does not exist yet: retry this invocation later."""


@dataclass
class ClaimResult:
    kept: list[S3Object] = field(default_factory=list)
    duplicates: dict[str, str] = field(default_factory=dict)  # key -> the run that has it


def identity(obj: S3Object) -> str:
    return f"{obj.bucket}/{obj.key}/{obj.etag}"


class Claims:
    def __init__(
        self, ddb: Any, table: str, grace_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.ddb = ddb
        self.table = table
        self.grace_seconds = grace_seconds
        self.clock = clock

    def claim(self, objects: list[S3Object], run_id: str, run_exists: Callable[[str], bool]) -> ClaimResult:
        """Claim every object for ``run_id``; see the module docstring for what each outcome means."""
        result = ClaimResult()
        for obj in objects:
            holder = self._put(obj, run_id)
            if holder is None:
                result.kept.append(obj)
                continue
            other, claimed_at = holder
            if run_exists(other):
                result.duplicates[obj.key] = other
            elif self.clock() - claimed_at < self.grace_seconds:
                raise ClaimBusy(f"s3://{identity(obj)} is claimed by run {other}, not created yet")
            elif self._take_over(obj, other, run_id):
                result.kept.append(obj)
            else:
                raise ClaimBusy(f"s3://{identity(obj)}: another collection took over its claim")
        return result

    def _item(self, obj: S3Object, run_id: str) -> dict[str, Any]:
        now = self.clock()
        return {
            KEY: {"S": identity(obj)},
            "dag_run_id": {"S": run_id},
            "claimed_at": {"N": f"{now:.3f}"},
            TTL_ATTRIBUTE: {"N": str(int(now + KEEP_SECONDS))},
        }

    def _put(self, obj: S3Object, run_id: str) -> tuple[str, float] | None:
        """None when claimed for ``run_id``; else (the other run id, when it was claimed)."""
        try:
            self.ddb.put_item(
                TableName=self.table,
                Item=self._item(obj, run_id),
                ConditionExpression="attribute_not_exists(#k) OR dag_run_id = :run",
                ExpressionAttributeNames={"#k": KEY},
                ExpressionAttributeValues={":run": {"S": run_id}},
            )
            return None
        except self.ddb.exceptions.ConditionalCheckFailedException:
            key = {KEY: {"S": identity(obj)}}
            held = self.ddb.get_item(TableName=self.table, Key=key, ConsistentRead=True)["Item"]
            return held["dag_run_id"]["S"], float(held["claimed_at"]["N"])

    def _take_over(self, obj: S3Object, orphan_run: str, run_id: str) -> bool:
        try:
            self.ddb.put_item(
                TableName=self.table,
                Item=self._item(obj, run_id),
                ConditionExpression="dag_run_id = :orphan",
                ExpressionAttributeValues={":orphan": {"S": orphan_run}},
            )
            return True
        except self.ddb.exceptions.ConditionalCheckFailedException:
            return False
