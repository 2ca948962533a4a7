"""One load: check the table, (validate the whole file,) stream, build, dedupe, write, judge,
and write the manifest and the key list, also when it fails."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Dict, List, Optional, Tuple

import boto3.exceptions
import botocore.exceptions

from csv2ddb_core import processed
from csv2ddb_core.conditional import ConditionalWriter
from csv2ddb_core.contract import (
    BATCH_SIZE,
    LOAD_BATCH,
    LOAD_IMPORT,
    WRITE_OVERWRITE,
    JobArgs,
    JobError,
    KeySchema,
    Manifest,
    SourceObject,
)
from csv2ddb_core.header import header_from
from csv2ddb_core.keylist import KeyListWriter
from csv2ddb_core.keys import DedupeIndex
from csv2ddb_core.manifest import LoadResult, LoadStats, finish_manifest, iso, utc_now
from csv2ddb_core.progress import Progress
from csv2ddb_core.ratecap import WriteRateLimiter
from csv2ddb_core.rejects import RejectSink
from csv2ddb_core.rows import RowBuilder
from csv2ddb_core.source import S3ObjectStream, open_text, read_records
from csv2ddb_core.staging import StagingWriter
from csv2ddb_core.writer import BatchWriter, Entry, RetryPolicy

LOG = logging.getLogger("csv2ddb.load")
UPLOAD_ERRORS = (
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.ClientError,
    boto3.exceptions.S3UploadFailedError,
)


def table_keys(description: Dict[str, Any]) -> List[Tuple[str, str, str]]:
    """(name, HASH|RANGE, S|N|B) of a DescribeTable answer's key schema."""
    types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
    return [
        (k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?"))
        for k in description["KeySchema"]
    ]


def schema_keys(keys: KeySchema) -> List[Tuple[str, str, str]]:
    out = [(keys.partition.name, "HASH", keys.partition.type)]
    if keys.sort is not None:
        out.append((keys.sort.name, "RANGE", keys.sort.type))
    return out


def check_table(ddb: Any, table: str, keys: KeySchema, load_method: str = LOAD_BATCH) -> None:
    """Fail before reading anything when the table is missing or keyed differently (both named),
    or, for an import, when it exists already (ImportTable creates its table)."""
    try:
        desc = ddb.describe_table(TableName=table)["Table"]
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            if load_method == LOAD_IMPORT:
                return
            raise JobError(f"DynamoDB table {table!r} does not exist") from exc
        raise
    if load_method == LOAD_IMPORT:
        raise JobError(
            f"--load_method import creates table {table!r}, but it exists already: "
            "load into it with --load_method batch, or import into a new table"
        )
    have, want = table_keys(desc), schema_keys(keys)
    if have != want:
        raise JobError(
            f"table {table!r} has key schema {have}, but this load writes {want} "
            "(name, key type, attribute type): pass --partition_key/--sort_key matching the table"
        )


Sink = Callable[[Dict[str, Any], int, List[str]], None]


def stream_rows(
    args: JobArgs,
    s3: Any,
    stats: LoadStats,
    result: LoadResult,
    started: dt.datetime,
    rejects: RejectSink,
    sink: Sink,
    progress_writer: Optional[Any] = None,
    items: bool = True,
) -> None:
    """One pass over the object: every row is built and then rejected, counted as a duplicate, or
    handed to ``sink`` (first occurrence of its key). Fills ``stats`` as it goes, also on error."""
    stream = S3ObjectStream(s3, args.source_bucket, args.source_key)
    result.source = SourceObject(
        args.source_bucket, args.source_key, stream.etag, stream.size, stream.version_id
    )
    progress = Progress(stats, stream)
    read = duplicate = 0
    try:
        text, result.compression = open_text(stream, args.encoding)
        records = read_records(text, args.delimiter)
        builder = RowBuilder(
            header_from(records, args),
            source_file=args.source_uri,
            run_id=args.run_id,
            ingestion_timestamp=iso(started),
            type_map=args.type_map,
            empty_cells=args.empty_cells,
            na_values=args.na_values,
            ttl=args.ttl,
            version_column=args.version_column,
        )
        result.id_source = builder.header.id_source
        result.columns = list(builder.names)
        seen = DedupeIndex()
        # The validation pass only decides each row (no item to hand on): RowBuilder.verdict.
        build = builder.build if items else builder.verdict
        add_seen = seen.add
        for line_number, row in records:
            read += 1
            item, digest = build(row)
            if digest is None:
                rejects.add(line_number, item, row)
            elif add_seen(digest):
                sink(item, line_number, row)
            else:
                duplicate += 1
            if not read & 0x3FF:
                stats.rows_read, stats.rows_duplicate, stats.rows_rejected = read, duplicate, rejects.count
                progress.maybe_log(progress_writer)
        result.dedupe_index_mb = round(seen.nbytes / (1024 * 1024), 1)
    finally:
        stats.rows_read, stats.rows_duplicate, stats.rows_rejected = read, duplicate, rejects.count
        stats.reject_reasons = dict(rejects.by_reason)
        stats.bytes_read = stream.pos
        progress.log(progress_writer)
        stream.close()


def validate(args: JobArgs, s3: Any, result: LoadResult, started: dt.datetime) -> None:
    """The parse-only pass of an all-or-nothing load: a file over its reject tolerance fails here,
    before its first write, with its rejects stored so the user sees why."""
    stats = LoadStats()
    rejects = RejectSink(args.delimiter, args.encoding)
    try:
        try:
            stream_rows(args, s3, stats, result, started, rejects, lambda item, line, row: None, items=False)
        except JobError:  # malformed file: fails here, before any write, with what was read
            result.validation_stats = stats
            raise
        result.validation = {
            "rows_read": stats.rows_read,
            "rows_rejected": stats.rows_rejected,
            "rows_duplicate": stats.rows_duplicate,
        }
        if args.tolerance.exceeded(stats.rows_rejected, stats.rows_read):
            _store_rejects(rejects, s3, args, result)
            result.validation_stats = stats
            raise JobError(tolerance_message(args, stats, result, validated=True))
    finally:
        rejects.close()


def make_writer(
    args: JobArgs, s3: Any, ddb: Any, rejects: RejectSink, keys: KeyListWriter, columns: List[str]
) -> Any:
    """BatchWriteItem for overwrite, PartiQL for the conditional modes (one rate cap for all
    threads), or the import path's staging writer."""
    if args.load_method == LOAD_IMPORT:
        return StagingWriter(s3, args.manifest_bucket, args.staging_prefix, args.run_id, keys)
    common: Dict[str, Any] = {
        "rate": WriteRateLimiter(args.max_write_rate) if args.max_write_rate else None,
    }
    policy = RetryPolicy(max_attempts=args.write_max_attempts)
    if args.write_mode == WRITE_OVERWRITE:
        return BatchWriter(ddb, args.table, args.write_concurrency, policy, rejects, keys, **common)
    return ConditionalWriter(
        ddb,
        args.table,
        args.write_concurrency,
        policy,
        rejects,
        keys,
        mode=args.write_mode,
        version_column=args.version_column,
        columns=columns,
        **common,
    )


def load(
    args: JobArgs, s3: Any, ddb: Any, stats: LoadStats, result: LoadResult, started: dt.datetime
) -> None:
    """Check, (validate,) then stream and write. Fills ``stats`` and ``result`` (also when it raises)."""
    check_table(ddb, args.table, args.keys, args.load_method)
    if args.validate_first:
        try:
            validate(args, s3, result, started)
        except JobError:
            _store_key_list(KeyListWriter(args.keys.names), s3, args, result)  # empty: nothing written
            checked, result.validation_stats = result.validation_stats, None
            if checked is not None:  # over tolerance: report the validated figures, nothing written
                result.nothing_written = True
                stats.rows_read, stats.rows_rejected = checked.rows_read, checked.rows_rejected
                stats.rows_duplicate, stats.reject_reasons = checked.rows_duplicate, checked.reject_reasons
                stats.bytes_read = checked.bytes_read
            raise
    rejects = RejectSink(args.delimiter, args.encoding)
    keys = processed.key_list(args, rejects, iso(started))  # teed into the processed zone when on
    writer: Optional[Any] = None
    batch: List[Entry] = []

    def submit(item: Dict[str, Any], line_number: int, row: List[str]) -> None:
        nonlocal writer
        if writer is None:
            writer = make_writer(args, s3, ddb, rejects, keys, result.columns)
            LOG.info(
                "loading %s into %s (%s, mode %s, cap %s): id from %s, %d writer threads",
                args.source_uri,
                args.table,
                args.keys,
                args.write_mode,
                args.max_write_rate or "none",
                result.id_source,
                args.write_concurrency,
            )
        batch.append(({"PutRequest": {"Item": item}}, line_number, row))
        if len(batch) == BATCH_SIZE:
            writer.submit(batch[:])
            batch.clear()

    try:
        stream_rows(args, s3, stats, result, started, rejects, submit)
        if batch:
            assert writer is not None
            writer.submit(batch[:])
        if writer is not None:
            writer.close()
    finally:
        if writer is not None:
            writer.close(raise_error=False)  # after a failure: let queued batches finish or skip
            stats.rows_written = writer.written
            stats.rows_skipped = writer.skipped
            stats.write_retries = writer.retried_calls
            if isinstance(writer, StagingWriter):
                result.staging = {
                    "location": writer.location,
                    "parts": len(writer.parts),
                    "bytes": writer.staged_bytes,
                }
        stats.rows_rejected = rejects.count
        stats.reject_reasons = dict(rejects.by_reason)
        _store_rejects(rejects, s3, args, result)
        rejects.close()
        _store_key_list(keys, s3, args, result)
        result.processed = processed.outcome(keys)


def _store_rejects(rejects: RejectSink, s3: Any, args: JobArgs, result: LoadResult) -> None:
    if not rejects.count:
        return
    try:
        result.rejected_location = rejects.upload(s3, args.manifest_bucket, args.rejects_key)
    # upload_file wraps S3 errors in boto3's S3UploadFailedError (reliability finding F8): caught
    # so the cleanup still runs, and reported by run() as a failure, since rejected rows whose
    # reasons cannot be stored are not "rejected with a reason".
    except UPLOAD_ERRORS as exc:
        LOG.error("could not upload the rejects file to %s: %s", args.rejects_key, exc)
        result.rejects_error = (
            f"the {rejects.count} rejected row(s) could not be stored at "
            f"s3://{args.manifest_bucket}/{args.rejects_key}: {exc}"
        )


def _store_key_list(keys: KeyListWriter, s3: Any, args: JobArgs, result: LoadResult) -> None:
    """Upload the key list, also after a failure (a rollback needs the keys that were written)."""
    try:
        result.set_key_list(keys.upload(s3, args.manifest_bucket, args.keys_key))
    except UPLOAD_ERRORS as exc:
        LOG.error("could not upload the key list to %s: %s", args.keys_key, exc)
        where = f"s3://{args.manifest_bucket}/{args.keys_key}"
        result.keys_error = f"the key list could not be stored at {where}: {exc}"
    finally:
        keys.close()


# What makes a load fail after its rows were read, whatever the engine: an artifact that could
# not be stored, a failed task (parallel engines), then the identity, then the tolerance.
PROBLEMS = ("rejects_error", "keys_error", "task_error")


def judge(args: JobArgs, stats: LoadStats, result: LoadResult) -> None:
    """Raise JobError unless the load succeeded: every engine's rule, in the same words."""
    for problem in PROBLEMS:
        message = getattr(result, problem)
        if message:
            raise JobError(message)
    if stats.rows_unconfirmed != 0:
        raise JobError(
            f"accounting identity violated: rows_read {stats.rows_read} != written {stats.rows_written} "
            f"+ rejected {stats.rows_rejected} + duplicate {stats.rows_duplicate} "
            f"+ skipped {stats.rows_skipped}"
        )
    if args.tolerance.exceeded(stats.rows_rejected, stats.rows_read):
        raise JobError(tolerance_message(args, stats, result, validated=False))


def tolerance_message(args: JobArgs, stats: LoadStats, result: LoadResult, validated: bool) -> str:
    """Why a load over its reject tolerance failed; ``validated``: found before the first write."""
    nothing = "nothing was written (validate_first); " if validated else ""
    return (
        f"{stats.rows_rejected} row(s) rejected, above the tolerance {args.tolerance.text!r} "
        f"(at most {args.tolerance.allowed(stats.rows_read)} of {stats.rows_read} rows read); "
        f"{nothing}rejects are in {result.rejected_location}"
    )


def run(args: JobArgs, s3: Any, ddb: Any) -> Manifest:
    """Load, judge the result, write the manifest (also on failure); return the manifest."""
    started = utc_now()
    stats = LoadStats()
    result = LoadResult()
    error: Optional[str] = None
    try:
        load(args, s3, ddb, stats, result, started)
        judge(args, stats, result)
    except JobError as exc:
        error = str(exc)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        error = f"AWS error: {exc}"
    except Exception as exc:
        LOG.exception("unexpected error")
        error = f"internal error: {type(exc).__name__}: {exc}"
    return finish_manifest(args, s3, stats, result, started, utc_now(), error)
