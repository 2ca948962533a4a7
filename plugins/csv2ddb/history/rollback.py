"""Roll back one load: delete the items that still carry its ``load_run_id``, found through its key list.

Used by the ``csv2ddb_rollback`` DAG (``csv2ddb.rollback_steps``) and
``python -m csv2ddb.history.rollback_cli``;
both hand in their own clients (provider hooks in Airflow, plain boto3 outside).

How (cost follows the load, never the table):

1. Refuse bad input before touching anything: a malformed run id, a run with neither manifest nor
   audit record (unknown), a load already rolled back, a manifest without a whole key list.
2. Write a ``rolling_back`` audit record, linked to the load's own record (``rolls_back_dag_run_id``).
3. Per 100 keys of the list, in parallel: BatchGetItem (``csv2ddb.keyreads``) to see which items
   still carry the run id, then delete only those with *conditional* PartiQL deletes,
   ``DELETE FROM "t" WHERE <key> = ? AND "load_run_id" = ?``, 25 per ``BatchExecuteStatement``. An item
   a later load overwrote is never deleted: it fails the condition (or was seen not to be ours) and
   is counted as left. BatchWriteItem cannot carry a condition, so it is not used.
4. Read every key again: none may still carry the run id. Then the record says ``rolled_back`` and
   the load's own record gets ``rolled_back_by``/``rolled_back_at``.

Re-runnable: a rollback that was killed half-way leaves ``rolling_back``; running it again skips the
items already gone and finishes (and marks the interrupted attempt ``rollback_interrupted``). Deleting
does not restore what a load overwrote: for that, restore the table to a point in time before the
load (the items tables have point-in-time recovery on).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from csv2ddb_core.contract import (
    ATTR_LOAD_RUN_ID,
    RETRYABLE_ERROR_CODES,
    RUN_ID_RE,
    ArgumentError,
    ManifestError,
    check_run_id,
)
from csv2ddb_core.keylist import read_key_list
from csv2ddb_core.writer import RetryPolicy, for_botocore

from csv2ddb import keyreads
from csv2ddb.history import audit
from csv2ddb.settings import DAG_ID_LOAD, DAG_ID_ROLLBACK, Settings
from csv2ddb.stored_manifest import fetch_manifest

log = logging.getLogger(__name__)

ROLLING_BACK = "rolling_back"
ROLLED_BACK = "rolled_back"
ROLLBACK_FAILED = "rollback_failed"
ROLLBACK_INTERRUPTED = "rollback_interrupted"
ROLLBACK_STATUSES = (ROLLING_BACK, ROLLED_BACK, ROLLBACK_FAILED, ROLLBACK_INTERRUPTED)
PARTIQL_BATCH_MAX = 25  # BatchExecuteStatement's limit per call
# Per-statement error codes of BatchExecuteStatement drop the "Exception" suffix.
RETRYABLE_STATEMENT_CODES = frozenset(
    {code.removesuffix("Exception") for code in RETRYABLE_ERROR_CODES}
    | {"ThrottlingError", "TransactionConflict", "InternalServerError"}
)


class RollbackError(RuntimeError):
    """The rollback was refused or cannot go on; the message says why and what was deleted (if anything)."""


class RollbackRefused(RollbackError):
    """Bad input: nothing was deleted."""


def rollback_hint(run_id: str) -> str:
    """How to undo one load: the same words in the failed load's note, its alert and the docs."""
    return (
        f"to delete what load {run_id} wrote, trigger {DAG_ID_ROLLBACK} with run_id={run_id} "
        f"(or run: python -m csv2ddb.history.rollback_cli {run_id})"
    )


def rollback_params() -> dict[str, dict[str, Any]]:
    """The csv2ddb_rollback trigger form (keyword arguments of ``airflow.sdk.Param``, Airflow-free)."""
    return {
        "run_id": {
            "type": "string",
            "pattern": RUN_ID_RE.pattern,
            "title": "Load run id",
            "description": (
                "The load_run_id of the load to undo: its audit record's run_id "
                "(python -m csv2ddb.history.audit_cli), also named in a failed load's note and alert."
            ),
        }
    }


class ProgressLog:
    """Says how far a rollback got: after the first chunk, then every ``every`` seconds, and at the
    end (a killed rollback's log shows where it stopped)."""

    def __init__(self, total: int, say: Callable[[str], None], every: float = 5.0) -> None:
        self.total, self.say, self.every = total, say, every
        self.last: float | None = None

    def __call__(self, tally: keyreads.Census) -> None:
        now = time.monotonic()
        if self.last is not None and now - self.last < self.every and tally.keys < self.total:
            return
        self.last = now
        deleted = getattr(tally, "deleted", 0)
        self.say(
            f"rollback progress: {tally.keys}/{self.total} keys read, {deleted} deleted, "
            f"{tally.later + tally.stale} held by other loads, {tally.missing} already gone"
        )


@dataclass
class Tally(keyreads.Census):
    """A census of the keys, plus what this rollback did with the ones still ours."""

    deleted: int = 0
    changed: int = 0  # ours when read, but a conditional delete found it changed: left alone

    def add(self, other: keyreads.Census) -> None:
        super().add(other)
        if isinstance(other, Tally):
            self.deleted += other.deleted
            self.changed += other.changed


@dataclass
class Target:
    """What a rollback of one load works on, established before anything is deleted."""

    run_id: str
    table: str
    source: str
    manifest: dict[str, Any]
    keys: list[dict[str, Any]]
    load_records: list[dict[str, Any]] = field(default_factory=list)
    interrupted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def load_dag_run_id(self) -> str | None:
        return self.load_records[0]["dag_run_id"] if self.load_records else None

    @property
    def load_dag_id(self) -> str | None:
        """The DAG that ran the load (``csv2ddb_load`` or a dataset's), from its audit record."""
        if not self.load_records:
            return None
        return str(self.load_records[0].get("dag_id") or DAG_ID_LOAD)


@dataclass
class Report:
    run_id: str
    table: str
    source: str
    dag_run_id: str
    load_dag_run_id: str | None
    keys: int
    deleted: int
    left_overwritten: int
    absent: int
    remaining: int
    overwritten_by: dict[str, int]
    seconds: float
    load_dag_id: str | None = None  # the DAG whose run did the load (its note gets a line)

    @property
    def ok(self) -> bool:
        return self.remaining == 0

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}

    def summary(self) -> str:
        left = f"left {self.left_overwritten} overwritten by later loads" + (
            f" {self.overwritten_by}" if self.overwritten_by else ""
        )
        return (
            f"rolled back load {self.run_id} ({self.source}) in table {self.table}: deleted {self.deleted} "
            f"of the {self.keys} items it wrote, {left}, {self.absent} already gone; "
            f"{self.remaining} still carry its run id ({self.seconds:.1f}s)"
        )


# --- 1. what to roll back -----------------------------------------------------------------------------
def find_target(s3: Any, ddb: Any, settings: Settings, run_id: str) -> Target:
    """Everything the rollback needs, or RollbackRefused (nothing deleted) saying why not."""
    try:
        run_id = check_run_id(run_id)
    except ArgumentError as exc:
        raise RollbackRefused(f"not a load run id: {exc}") from exc
    records = audit.records_of_load(ddb, settings.audit_table, run_id)
    loads = [r for r in records if r.get("dag_id") != DAG_ID_ROLLBACK]
    rollbacks = [r for r in records if r.get("dag_id") == DAG_ID_ROLLBACK]
    done = [r for r in rollbacks if r.get("status") == ROLLED_BACK]
    if done:
        last = done[-1]
        raise RollbackRefused(
            f"load {run_id} was already rolled back by {last['dag_run_id']} at {last.get('recorded_at')} "
            f"({last.get('items_deleted')} item(s) deleted); nothing was deleted now"
        )
    manifest_uri = f"s3://{settings.bucket}/{settings.manifest_key(run_id)}"
    manifest = fetch_manifest(s3, settings.bucket, settings.manifest_key(run_id))
    if manifest is None:
        if not loads:
            raise RollbackRefused(
                f"no load with run id {run_id}: no manifest at {manifest_uri} and no audit record in "
                f"{settings.audit_table}; nothing was deleted"
            )
        raise RollbackRefused(
            f"load {run_id} wrote no manifest ({manifest_uri} does not exist: its Glue job never finished), "
            "so it has no key list to roll back by; nothing was deleted"
        )
    try:
        keys = read_key_list(s3, manifest, manifest_uri)
    except ManifestError as exc:
        raise RollbackRefused(f"cannot roll back {run_id}: {exc}; nothing was deleted") from exc
    source = manifest.get("source") or {}
    return Target(
        run_id=run_id,
        table=str(manifest.get("table") or (loads[0]["table"] if loads else settings.table)),
        source=f"s3://{source.get('bucket')}/{source.get('key')}",
        manifest=manifest,
        keys=keys,
        load_records=loads,
        interrupted=[r for r in rollbacks if r.get("status") == ROLLING_BACK],
    )


# --- 3. conditional deletes ----------------------------------------------------------------------------
def _identifier(name: str) -> str:
    if '"' in name:
        raise RollbackError(f"cannot address attribute or table {name!r} in PartiQL (it contains a quote)")
    return f'"{name}"'


def delete_statement(table: str, names: Sequence[str]) -> str:
    """``DELETE FROM "t" WHERE "id" = ? AND "load_run_id" = ?`` (one ``?`` per key attribute)."""
    where = [f"{_identifier(name)} = ?" for name in names] + [f"{_identifier(ATTR_LOAD_RUN_ID)} = ?"]
    return f"DELETE FROM {_identifier(table)} WHERE " + " AND ".join(where)


def delete_ours(
    client: Any,
    table: str,
    items: Sequence[Mapping[str, Any]],
    names: Sequence[str],
    run_id: str,
    retry: RetryPolicy,
) -> tuple[int, int]:
    """Conditionally delete up to 25 items still carrying ``run_id``: (deleted, changed since read)."""
    statement = delete_statement(table, names)
    pending = [
        {
            "Statement": statement,
            "Parameters": [*for_botocore(keyreads.key_of(item, names)).values(), {"S": run_id}],
        }
        for item in items
    ]
    deleted = changed = attempt = 0
    while pending:
        try:
            responses = client.batch_execute_statement(Statements=pending)["Responses"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in RETRYABLE_ERROR_CODES:
                raise RollbackError(f"BatchExecuteStatement on {table} failed: {exc}") from exc
            retry_these = pending
        else:
            retry_these = []
            for sent, response in zip(pending, responses, strict=True):
                error = response.get("Error")
                if not error:
                    deleted += 1
                elif error.get("Code") == "ConditionalCheckFailed":
                    changed += 1
                elif error.get("Code") in RETRYABLE_STATEMENT_CODES:
                    retry_these.append(sent)
                else:
                    raise RollbackError(
                        f"DELETE on {table} refused ({error.get('Code')}: {error.get('Message')}); "
                        f"{deleted} item(s) of this batch were deleted before it"
                    )
        pending = retry_these
        if pending:
            attempt += 1
            if attempt >= retry.max_attempts:
                raise RollbackError(
                    f"BatchExecuteStatement on {table}: {len(pending)} delete(s) still throttled after "
                    f"{attempt} attempts; run the rollback again to finish"
                )
            retry.backoff(attempt)
    return deleted, changed


def delete_keys(
    client: Any,
    target: Target,
    *,
    workers: int,
    progress: Callable[[keyreads.Census], None] | None = None,
    retry: RetryPolicy | None = None,
) -> Tally:
    """Read every key of the list, conditionally delete the items still ours; the tally."""
    names = keyreads.key_names(target.keys)
    policy = retry or RetryPolicy()

    def work(chunk: Sequence[Mapping[str, Any]]) -> Tally:
        items = keyreads.get_items(client, target.table, chunk, names, policy)
        census, ours = keyreads.census_of(items, len(chunk), target.run_id, None)
        tally = Tally()
        tally.add(census)
        for group in keyreads.chunked(ours, PARTIQL_BATCH_MAX):
            deleted, changed = delete_ours(client, target.table, group, names, target.run_id, policy)
            tally.deleted += deleted
            tally.changed += changed
        return tally

    return keyreads.run_chunks(work, target.keys, keyreads.BATCH_GET_MAX, workers, progress, Tally())


# --- the whole rollback ---------------------------------------------------------------------------------
def rollback_record(
    target: Target, dag_run_id: str, status: str, run_type: str, triggered_by: str | None, **figures: Any
) -> dict[str, Any]:
    """The rollback's own audit record (dag_id csv2ddb_rollback; ``run_id`` = the load it undoes)."""
    record = {
        "dag_run_id": dag_run_id,
        "source": target.source,
        "dag_id": DAG_ID_ROLLBACK,
        "run_id": target.run_id,
        "run_type": run_type,
        "triggered_by": triggered_by,
        "table": target.table,
        "status": status,
        "rolls_back_dag_run_id": target.load_dag_run_id,
        "rolls_back_dag_id": target.load_dag_id,
        "keys_count": len(target.keys),
        "recorded_at": audit.utc_now(),
        **figures,
    }
    return {k: v for k, v in record.items() if v is not None}


def roll_back(
    s3: Any,
    ddb: Any,
    settings: Settings,
    run_id: str,
    *,
    dag_run_id: str,
    run_type: str = "manual",
    triggered_by: str | None = None,
    workers: int | None = None,
    say: Callable[[str], None] | None = None,
    every: float = 5.0,
) -> Report:
    """Roll back load ``run_id`` (see the module docstring); RollbackRefused deletes nothing."""
    target = find_target(s3, ddb, settings, run_id)
    workers = workers or settings.load.key_read_threads
    started_at, started = audit.utc_now(), time.monotonic()
    common = {"started_at": started_at}
    audit.put_record(
        ddb,
        settings.audit_table,
        rollback_record(target, dag_run_id, ROLLING_BACK, run_type, triggered_by, **common),
    )
    for old in target.interrupted:
        if old["dag_run_id"] != dag_run_id:
            audit.update_record(
                ddb, settings.audit_table, old["dag_run_id"], old["source"],
                {"status": ROLLBACK_INTERRUPTED, "resumed_by": dag_run_id},
            )  # fmt: skip
    log.info(
        "rolling back load %s: %d keys in %s, %d threads",
        target.run_id,
        len(target.keys),
        target.table,
        workers,
    )
    try:
        progress = ProgressLog(len(target.keys), say, every) if say else None
        tally = delete_keys(ddb, target, workers=workers, progress=progress)
        after = keyreads.count_keys(ddb, target.table, target.keys, target.run_id, None, workers=workers)
    except Exception as exc:
        audit.put_record(
            ddb,
            settings.audit_table,
            rollback_record(
                target, dag_run_id, ROLLBACK_FAILED, run_type, triggered_by, **common,
                error=f"{type(exc).__name__}: {exc}; run the rollback again to finish",
            ),
        )  # fmt: skip
        raise
    report = Report(
        run_id=target.run_id,
        table=target.table,
        source=target.source,
        dag_run_id=dag_run_id,
        load_dag_run_id=target.load_dag_run_id,
        load_dag_id=target.load_dag_id,
        keys=len(target.keys),
        deleted=tally.deleted,
        left_overwritten=tally.later + tally.stale + tally.changed,
        absent=tally.missing,
        remaining=after.ours,
        overwritten_by=dict((tally.later_runs + tally.stale_runs).most_common(5)),
        seconds=round(time.monotonic() - started, 3),
    )
    figures = {
        "items_deleted": report.deleted,
        "items_left_overwritten": report.left_overwritten,
        "items_absent": report.absent,
        "items_remaining": report.remaining,
        "overwritten_by": report.overwritten_by or None,
        "rollback_seconds": report.seconds,
    }
    if not report.ok:
        error = f"{report.remaining} item(s) still carry load_run_id={target.run_id} after the deletes"
        audit.put_record(
            ddb,
            settings.audit_table,
            rollback_record(
                target, dag_run_id, ROLLBACK_FAILED, run_type, triggered_by, **common, **figures, error=error
            ),
        )
        raise RollbackError(f"{report.summary()}: {error} (written again since?); run the rollback again")
    audit.put_record(
        ddb,
        settings.audit_table,
        rollback_record(target, dag_run_id, ROLLED_BACK, run_type, triggered_by, **common, **figures),
    )
    for rec in target.load_records:
        audit.update_record(
            ddb,
            settings.audit_table,
            rec["dag_run_id"],
            rec["source"],
            {"rolled_back_by": dag_run_id, "rolled_back_at": audit.utc_now()},
        )
    log.info("%s", report.summary())
    return report
