"""The manifest's figures and fields: what the job says it did, written to ``manifests/<run>.json``.

The ``Manifest`` type, its reader and the identity ``rows_read = written + rejected + duplicate +
skipped`` live in :mod:`csv2ddb_core.contract`; this module gathers a load's figures
(``LoadStats``) and findings (``LoadResult``) and builds and stores the document.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import resource
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Tuple

import botocore.exceptions

from csv2ddb_core.contract import (
    ENGINE_PYTHONSHELL,
    JOB_VERSION,
    LOAD_IMPORT,
    STATUS_FAILED,
    STATUS_SUCCEEDED,
    JobArgs,
    Manifest,
    SourceObject,
)

LOG = logging.getLogger("csv2ddb.load")


@dataclass
class LoadStats:
    rows_read: int = 0
    rows_written: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rows_skipped: int = 0  # items a write mode chose not to write
    bytes_read: int = 0
    write_retries: int = 0
    reject_reasons: Dict[str, int] = field(default_factory=dict)

    @property
    def rows_unconfirmed(self) -> int:
        """Rows read but neither written, rejected, duplicate nor skipped: 0 for a good load."""
        accounted = self.rows_written + self.rows_rejected + self.rows_duplicate + self.rows_skipped
        return self.rows_read - accounted


@dataclass
class LoadResult:
    """What a load found and stored on its way, beside its figures (``LoadStats``): filled as the
    load goes, also when it fails, and turned into the ``Manifest`` at the end by ``build_manifest``.

    Mutable on purpose: an engine learns each field at a different step, and a failure at any step
    must still leave what was learned before it.
    """

    source: Optional[SourceObject] = None
    compression: Optional[str] = None
    id_source: Optional[str] = None
    columns: List[str] = field(default_factory=list)
    dedupe_index_mb: Optional[float] = None
    validation: Optional[Dict[str, int]] = None
    validation_stats: Optional[LoadStats] = None  # the validation pass's figures when it failed the load
    rejected_location: Optional[str] = None
    rejects_error: Optional[str] = None
    keys_location: Optional[str] = None
    keys_count: Optional[int] = None
    keys_sha256: Optional[str] = None
    keys_error: Optional[str] = None
    task_error: Optional[str] = None
    staging: Optional[Dict[str, Any]] = None
    nothing_written: bool = False
    duplicates: Optional[Dict[str, Any]] = None  # csv2ddb_core.conflicts.Duplicates.summary
    last_lines: Dict[bytes, int] = field(default_factory=dict)  # keep_last: the validation pass's winners
    check_failures: Optional[Dict[str, int]] = None  # rows failing each column check
    checks: Optional[Dict[str, Any]] = None  # every check's result (csv2ddb_core.checks.summary)
    checks_error: Optional[str] = None  # a file check that failed after writing (no validation pass)
    key_by_default: bool = False
    processed: Optional[Dict[str, Any]] = None  # the processed zone's figures (csv2ddb_core.processed)

    def set_key_list(self, stored: Mapping[str, Any]) -> None:
        """Record where the key list went (``KeyListWriter.upload``'s ``keys_*`` fields)."""
        self.keys_location = stored["keys_location"]
        self.keys_count = stored["keys_count"]
        self.keys_sha256 = stored["keys_sha256"]

    @property
    def has_key_list(self) -> bool:
        return self.keys_location is not None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(ts: dt.datetime) -> str:
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def peak_rss_mb() -> float:
    """This process's own peak resident memory.

    Linux keeps ``ru_maxrss`` across ``exec``: a job started by a big parent (the local
    emulator runs Python-shell jobs as its subprocesses) would report the parent's peak. The
    kernel's ``VmHWM`` is this process image's own high-water mark, so prefer it.
    """
    if os.path.exists("/proc/self/status"):  # Linux; elsewhere (macOS) getrusage is right
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def build_manifest(
    args: JobArgs,
    stats: LoadStats,
    result: LoadResult,
    started: dt.datetime,
    finished: dt.datetime,
    error: Optional[str],
    engine: str = ENGINE_PYTHONSHELL,
    extra: Optional[Mapping[str, Any]] = None,
) -> Manifest:
    """The manifest of a load from its request, its figures and what it stored on its way."""
    seconds = max((finished - started).total_seconds(), 1e-9)
    source = result.source or SourceObject(args.source_bucket, args.source_key)
    return Manifest(
        run_id=args.run_id,
        status=STATUS_FAILED if error else STATUS_SUCCEEDED,
        table=args.table,
        source=source,
        rows_read=stats.rows_read,
        rows_written=stats.rows_written,
        rows_rejected=stats.rows_rejected,
        rows_duplicate=stats.rows_duplicate,
        rows_skipped=stats.rows_skipped,
        rows_unconfirmed=stats.rows_unconfirmed,
        reject_reasons=dict(stats.reject_reasons),
        rejected_location=result.rejected_location,
        keys_location=result.keys_location,
        keys_count=result.keys_count,
        keys_sha256=result.keys_sha256,
        reject_tolerance=args.tolerance.text,
        rejects_allowed=args.tolerance.allowed(stats.rows_read),
        id_source=result.id_source,
        started_at=iso(started),
        finished_at=iso(finished),
        seconds=round(seconds, 3),
        rows_per_second=round(stats.rows_written / seconds, 1),
        bytes_read=stats.bytes_read,
        write_retries=stats.write_retries,
        write_concurrency=args.write_concurrency,
        engine=engine,
        load_method=args.write.load_method,
        load_method_reason=args.write.load_method_reason or None,
        staging=result.staging,
        key_schema=str(args.write.keys),
        write_mode=args.write.write_mode,
        version_column=args.write.version_column or None,
        max_write_rate=str(args.write.max_write_rate) if args.write.max_write_rate else None,
        ttl_column=args.write.ttl.text if args.write.ttl else None,
        validate_first=args.write.validate_first,
        validation=result.validation,
        nothing_written=result.nothing_written,
        duplicates=result.duplicates,
        checks=result.checks,
        key_by_default=result.key_by_default,
        compression=result.compression,
        peak_rss_mb=peak_rss_mb(),
        job_run_id=args.job_run_id,
        job_version=JOB_VERSION,
        error=error,
        extra={
            **({"processed": result.processed} if result.processed is not None else {}),
            **dict(extra or {}),
        },
    )


def staged_not_imported(
    stats: LoadStats, result: LoadResult, error: str
) -> Tuple[LoadStats, LoadResult, str]:
    """A failed staging run starts no ImportTable: the rows it staged never reach a table.

    The manifest then says so (``rows_written`` 0, ``nothing_written``) and keeps the staged count
    under ``staging.items``, so no one reads "written" for items that are only files in S3.
    """
    staging = dict(result.staging or {})
    staging["items"] = stats.rows_written
    where = staging.get("location") or "the staging prefix"
    error += f" (nothing was imported: the {stats.rows_written} staged item(s) are kept at {where})"
    return replace(stats, rows_written=0), replace(result, staging=staging, nothing_written=True), error


def finish_manifest(
    args: JobArgs,
    s3: Any,
    stats: LoadStats,
    result: LoadResult,
    started: dt.datetime,
    finished: dt.datetime,
    error: Optional[str],
    engine: str = ENGINE_PYTHONSHELL,
    extra: Optional[Mapping[str, Any]] = None,
) -> Manifest:
    """Build the manifest (with an engine's ``extra`` fields), store it in S3, return it.

    Every engine ends here, so a failed load's message and a manifest that could not be stored
    read the same whichever engine ran.
    """
    if error and args.write.load_method == LOAD_IMPORT and stats.rows_written:
        stats, result, error = staged_not_imported(stats, result, error)
    if error and stats.rows_unconfirmed and not result.nothing_written:
        error += f" ({stats.rows_unconfirmed} row(s) read but not confirmed written)"
    manifest = build_manifest(args, stats, result, started, finished, error, engine, extra)
    uri = f"s3://{args.manifest_bucket}/{args.manifest_key}"
    try:
        s3.put_object(
            Bucket=args.manifest_bucket,
            Key=args.manifest_key,
            Body=json.dumps(manifest.to_dict(), indent=2, sort_keys=True).encode("utf-8"),
            ContentType="application/json",
        )
        return replace(manifest, manifest_location=uri)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        LOG.error("could not write the manifest to %s: %s", uri, exc)
        if manifest.error:
            return manifest
        return replace(manifest, status=STATUS_FAILED, error=f"could not write the manifest to {uri}: {exc}")
