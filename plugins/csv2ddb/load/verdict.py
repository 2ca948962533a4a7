"""What the verify step concludes about one file: the audit record's outcome, decided once from the
file's manifest and, for a loaded file, the table itself (``csv2ddb.load.counts``).

Why its own module: the rules (loaded or not, imported or batch-written, a Glue run that failed, an
import that staged its items but did not complete) lived inline in the verify step, between reading
the manifest and writing the record; here they are one function with one typed answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from csv2ddb_core.contract import ENGINE_INLINE, LOAD_IMPORT, STATUS_FAILED, STATUS_SUCCEEDED, ManifestError

from csv2ddb.history.audit import STATUS_COUNT_MISMATCH, STATUS_VERIFIED, Outcome
from csv2ddb.history.audit import STATUS_FAILED as RECORD_FAILED
from csv2ddb.load import counts
from csv2ddb.provider_clients import session_clients
from csv2ddb.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Clients:
    """The AWS clients a verify step shares across every file it checks: S3 (manifests, key lists)
    and DynamoDB (the key reads, a connection per reader thread; the audit records).

    Why shared: made per file (an S3Hook and a DynamoDB client each), a bulk verify of 64 files made
    128 clients, each loading botocore's models anew, most of the step's CPU. Each file's verdict is
    still its own: the clients hold no state of a file."""

    s3: Any
    dynamodb: Any

    @classmethod
    def of(cls, settings: Settings) -> Clients:
        made = session_clients(settings, ("s3", "dynamodb"), pool=settings.load.key_read_threads + 2)
        return cls(s3=made["s3"], dynamodb=made["dynamodb"])


def judge(
    load: Mapping[str, Any],
    manifest: dict[str, Any] | None,
    where: str,
    loaded: bool,
    settings: Settings,
    method: str,
    clients: Clients | None = None,
) -> Outcome:
    """The outcome of one file whose steps have ended (``loaded``: one of them says it reached the
    table). A loaded file is checked (:func:`check`): ``verified`` or ``count_mismatch``; a manifest
    that does not add up is ``failed`` with the reason. AWS errors of the check are raised (the
    task retries). ``clients``: the step's shared clients (None: made for this file)."""
    if not loaded:
        return Outcome(RECORD_FAILED, not_loaded_reason(manifest), manifest)
    try:
        result = check(load, manifest, where, settings, method, clients)
    except ManifestError as exc:
        return Outcome(RECORD_FAILED, str(exc), manifest)
    status, error = (STATUS_VERIFIED, None) if result.ok else (STATUS_COUNT_MISMATCH, counts.mismatch(result))
    return Outcome(status, error, manifest, result.items_counted, check_fields(result))


def check(
    load: Mapping[str, Any],
    manifest: dict[str, Any] | None,
    where: str,
    settings: Settings,
    method: str,
    clients: Clients | None = None,
) -> counts.Verification:
    """Verify one loaded file: its manifest, then the table (see ``csv2ddb.load.counts``)."""
    if manifest is None:
        raise ManifestError(f"manifest {where} does not exist: the Glue job wrote no account of the load")
    clients = clients or Clients.of(settings)
    result = counts.verify_load(
        manifest,
        dict(load),
        clients.dynamodb,
        where,
        s3=clients.s3,
        method=method,
        workers=settings.load.key_read_threads,
        segments=settings.load.scan_segments,
    )
    log.info(
        "%s: read %s = written %s + rejected %s + duplicate %s + skipped %s; %s (%s check, %.2fs)",
        load["source_uri"],
        result.rows_read,
        result.rows_written,
        result.rows_rejected,
        result.rows_duplicate,
        result.rows_skipped,
        counts.describe(result),
        result.method,
        result.check_seconds or 0.0,
    )
    return result


def not_loaded_reason(manifest: Mapping[str, Any] | None) -> str:
    """Why a file that did not reach the table has no verification, as its manifest tells it."""
    if manifest is None:
        return "the load did not reach the count check (Glue task or an earlier step failed; see its log)"
    if manifest.get("load_method") == LOAD_IMPORT and manifest.get("status") == STATUS_SUCCEEDED:
        staged = (manifest.get("staging") or {}).get("location")
        return (
            f"the file was staged ({manifest.get('rows_written')} items at {staged}, kept for "
            "inspection) but ImportTable did not complete it: see the import task's log for the "
            "import ARN and counts"
        )
    if manifest.get("status") == STATUS_FAILED:
        ran = "the inline load" if manifest.get("engine") == ENGINE_INLINE else "Glue job"
        return f"{ran} failed: {manifest.get('error')}"
    return "the load did not reach the count check (Glue task or an earlier step failed; see its log)"


def check_fields(result: counts.Verification) -> dict[str, Any]:
    """What the audit record keeps of a check beyond ``items_counted``."""
    fields: dict[str, Any] = {
        "count_method": result.method,
        "check_seconds": result.check_seconds,
        "keys_checked": result.keys_checked,
    }
    if result.method == counts.BY_KEYS:
        fields |= {
            "items_overwritten": result.items_overwritten,
            "items_missing": result.items_missing,
            "items_stale": result.items_stale,
            "overwritten_by": result.overwritten_by or None,
        }
    return fields
