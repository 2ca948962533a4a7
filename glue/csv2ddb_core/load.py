"""One load: check the table, (validate the whole file,) stream, build, dedupe, write, judge,
and write the manifest and the key list, also when it fails."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Dict, List, Optional, Tuple, cast

import boto3.exceptions
import botocore.exceptions

from csv2ddb_core import processed
from csv2ddb_core.carry import DUPLICATE, RowSpool
from csv2ddb_core.checks import (
    RowChecks,
    declares_unique,
    file_failure,
    file_results,
    judged_chunks,
    row_results,
    summary,
)
from csv2ddb_core.conditional import ConditionalWriter
from csv2ddb_core.conflicts import DROP, KEEP, Duplicates, key_by_default
from csv2ddb_core.contract import (
    BATCH_SIZE,
    ENGINE_PYTHONSHELL,
    LOAD_BATCH,
    LOAD_IMPORT,
    ON_CONFLICT_KEEP_LAST,
    R_CHECK_PREFIX,
    R_CONFLICTING_DUPLICATE,
    WRITE_OVERWRITE,
    JobArgs,
    JobError,
    KeySchema,
    Manifest,
    SourceObject,
)
from csv2ddb_core.header import HeaderSpec, header_from
from csv2ddb_core.keylist import KeyListWriter
from csv2ddb_core.manifest import LoadResult, LoadStats, finish_manifest, iso, utc_now
from csv2ddb_core.progress import Progress
from csv2ddb_core.ratecap import WriteRateLimiter
from csv2ddb_core.rejects import RejectSink
from csv2ddb_core.rows import RowBuilder
from csv2ddb_core.source import S3ObjectStream, open_text, read_records, version_pin
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


def discard(item: Dict[str, Any], line_number: int, row: List[str]) -> None:
    """The sink of a parse-only pass (``validate``): it judges every row and keeps none."""


def _ignore(*_: Any) -> None:
    """A verdict nobody records (a pass without a ``RowSpool``)."""


def changed_file(line_number: int) -> JobError:
    """The write pass met a row other than the one the validation pass judged (it reads the pinned
    version, so only a broken store gets here): fail rather than write under a stale key."""
    return JobError(
        f"the rows read by the write pass differ from those the validation pass judged (line {line_number}); "
        "nothing more is written"
    )


def stream_rows(
    args: JobArgs,
    s3: Any,
    stats: LoadStats,
    result: LoadResult,
    started: dt.datetime,
    rejects: RejectSink,
    sink: Sink,
    progress_writer: Optional[Any] = None,
    winners: Optional[Dict[bytes, int]] = None,
    items: bool = True,
    expected_keys: int = 0,
    record: Optional[RowSpool] = None,
    replay: Optional[RowSpool] = None,
    pin: Optional[Dict[str, str]] = None,
) -> None:
    """One pass over the object: every row is built and then rejected (a bad row, a failed check, a
    conflicting duplicate), counted as a duplicate, or handed to ``sink`` (the row its key keeps:
    the first, or with ``keep_last`` the line ``winners`` names). Fills ``stats`` as it goes, also on
    error. A load without checks whose key is the content hash runs the plain loop: no per-row cost.
    ``expected_keys``: the distinct keys the validation pass counted, to size the dedupe index once.
    ``record``: the validation pass writes each row's verdict there (plain loop only: ``complete``);
    ``replay``: the write pass reads them back instead of hashing and deduping again, from the object
    version ``pin`` names (the one the validation pass read, ``result.source``)."""
    stream = S3ObjectStream(s3, args.source_bucket, args.source_key, pin=pin)
    if pin is None or result.source is None:
        result.source = SourceObject(
            args.source_bucket, args.source_key, stream.etag, stream.size, stream.version_id
        )
    progress = Progress(stats, stream)
    read = duplicate = 0
    dups: Optional[Duplicates] = None
    checks: Optional[RowChecks] = None
    try:
        text, result.compression = open_text(stream, args.encoding)
        records = read_records(text, args.delimiter, quotechar=args.quote_char)
        builder = RowBuilder(
            header_from(records, args),
            source_file=args.source_uri,
            run_id=args.run_id,
            ingestion_timestamp=iso(started),
            type_map=args.type_map,
            empty_cells=args.empty_cells,
            na_values=args.na_values,
            ttl=args.write.ttl,
            version_column=args.write.version_column,
        )
        header = builder.header
        result.id_source = header.id_source
        result.columns = list(builder.names)
        result.key_by_default = key_by_default(args.write.key_given, header.id_index)
        checks = start_checks(args, header, result)
        dups = Duplicates(args.on_conflict, header.id_index is not None, winners, expected_keys)
        seen = dups.index
        # The validation pass only decides each row (no item to hand on): RowBuilder.verdict.
        build = cast(
            Callable[[List[str]], Tuple[Any, Optional[bytes]]], builder.build if items else builder.verdict
        )
        if checks is None and not dups.content and replay is not None and builder.carries:
            # The write pass after a recorded validation pass: each row's fate and digest are known.
            carried = builder.build_carried
            replayed = replay.replay()
            line_number = 0
            for fate, (line_number, row) in zip(replayed, records):
                read += 1
                if len(fate) == 16:  # kept: its content-hash digest
                    item, digest = carried(row, fate)
                    if digest is None:
                        raise changed_file(line_number)
                    sink(item, line_number, row)
                elif fate == DUPLICATE:
                    duplicate += 1
                else:  # rejected there: built again here for its reason
                    item, digest = build(row)
                    if digest is not None:
                        raise changed_file(line_number)
                    rejects.add(line_number, item, row)
                if not read & 0x3FF:
                    stats.rows_read, stats.rows_rejected = read, rejects.count
                    stats.rows_duplicate = duplicate
                    progress.maybe_log(progress_writer)
            if read != replay.rows or next(records, None) is not None:
                raise changed_file(line_number)
            dups.exact = duplicate
        elif checks is None and not dups.content:  # the plain loop: exact duplicates only, no checks
            add_seen = seen.add
            keep, drop, refuse = (
                (record.keep, record.duplicate, record.reject) if record is not None else (_ignore,) * 3
            )
            for line_number, row in records:
                read += 1
                item, digest = build(row)
                if digest is None:
                    rejects.add(line_number, item, row)
                    refuse()
                elif add_seen(digest):
                    sink(item, line_number, row)
                    keep(digest)
                else:
                    duplicate += 1
                    drop()
                if not read & 0x3FF:
                    stats.rows_read, stats.rows_rejected = read, rejects.count
                    stats.rows_duplicate = duplicate
                    progress.maybe_log(progress_writer)
            dups.exact = duplicate
            if record is not None:
                record.finish(read)
        else:
            sort = dups.sort
            content = dups.content  # False: a content-hash id, whose duplicates are all exact
            add_seen = seen.add
            unique = checks.unique_failing if checks is not None and checks.has_unique else None
            # The stateless checks judge a chunk of rows at once; `failing` is None for a chunk
            # that passes them all, else the exact per-row judge (judged_chunks).
            for chunk, failing in judged_chunks(records, checks):
                for line_number, row in chunk:
                    read += 1
                    if not read & 0x3FF:
                        stats.rows_read, stats.rows_rejected = read, rejects.count
                        stats.rows_duplicate = duplicate
                        progress.maybe_log(progress_writer)
                    item, digest = build(row)
                    if digest is None:
                        rejects.add(line_number, item, row)
                        continue
                    if failing is not None:
                        failed = failing(row)
                        if failed is not None:
                            rejects.add(line_number, failed, row)
                            continue
                    verdict: Any = (  # KEEP, DROP, or the Reject of a conflicting duplicate
                        (KEEP if add_seen(digest) else DROP)
                        if not content
                        else sort(digest, row, line_number)
                    )
                    if verdict == KEEP:
                        failed = unique(row) if unique is not None else None
                        if failed is None:
                            sink(item, line_number, row)
                        else:
                            rejects.add(line_number, failed, row)
                    elif verdict == DROP:
                        duplicate += 1
                    else:
                        rejects.add(line_number, verdict, row)
            if not content:
                dups.exact = dups.dropped = duplicate
        if replay is None:  # a replayed pass keeps the validation pass's figure: its index was the load's
            result.dedupe_index_mb = round(seen.nbytes / (1024 * 1024), 1)
    finally:
        if dups is not None:
            result.duplicates = dups.summary()
            result.last_lines = dups.last_lines
        if checks is not None:
            result.check_failures = dict(checks.failures)
        stats.rows_read, stats.rows_duplicate, stats.rows_rejected = read, duplicate, rejects.count
        stats.reject_reasons = dict(rejects.by_reason)
        stats.bytes_read = stream.pos
        progress.log(progress_writer)
        stream.close()


def start_checks(args: JobArgs, header: HeaderSpec, result: LoadResult) -> Optional[RowChecks]:
    """The load's column checks compiled against the header (None when it declares none), after its
    header-time file checks (required columns): a file failing one fails here, before any row."""
    if not args.checks:
        return None
    early = file_results(args.checks, header.names, None)
    failure = file_failure(early)
    if failure:
        result.checks = summary(early)
        raise JobError(f"{failure}; nothing was written")
    checks = RowChecks(args.checks, header.row_names, args.na_values)  # they judge the rows read
    result.check_failures = dict(checks.failures)
    return None if checks.empty else checks


def judge_checks(args: JobArgs, result: LoadResult, rows_read: int) -> Optional[str]:
    """Record every check's result in ``result.checks``; the file checks' failure, or None."""
    if not args.checks:
        return None
    results = row_results(result.check_failures or {}) + file_results(args.checks, result.columns, rows_read)
    result.checks = summary(results)
    return file_failure(results)


def validate(
    args: JobArgs, s3: Any, result: LoadResult, started: dt.datetime, record: Optional[RowSpool] = None
) -> None:
    """The parse-only pass of an all-or-nothing load: a file over its reject tolerance fails here,
    before its first write, with its rejects stored so the user sees why. ``record``: where the
    plain loop writes each row's verdict for the write pass (``RowSpool``)."""
    stats = LoadStats()
    rejects = RejectSink(args.delimiter, args.encoding, args.quote_char)
    try:
        try:
            stream_rows(args, s3, stats, result, started, rejects, discard, items=False, record=record)
            if args.on_conflict == ON_CONFLICT_KEEP_LAST and declares_unique(args.checks):
                # keep_last writes each key's LAST row, known only now, and `unique` must judge the
                # rows written: a second read judges them exactly as the write pass will.
                rejects.close()
                stats = LoadStats()
                rejects = RejectSink(args.delimiter, args.encoding, args.quote_char)
                stream_rows(
                    args,
                    s3,
                    stats,
                    result,
                    started,
                    rejects,
                    discard,
                    winners=dict(result.last_lines),
                    items=False,
                )
        except JobError:  # malformed file: fails here, before any write, with what was read
            result.validation_stats = stats
            raise
        result.validation = {
            "rows_read": stats.rows_read,
            "rows_rejected": stats.rows_rejected,
            "rows_duplicate": stats.rows_duplicate,
        }
        failure = judge_checks(args, result, stats.rows_read)
        if failure:
            _store_rejects(rejects, s3, args, result)
            result.validation_stats = stats
            raise JobError(f"{failure}; nothing was written (validate_first)")
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
    write = args.write
    if write.load_method == LOAD_IMPORT:
        return StagingWriter(s3, args.manifest_bucket, args.staging_prefix, args.run_id, keys)
    common: Dict[str, Any] = {
        "rate": WriteRateLimiter(write.max_write_rate) if write.max_write_rate else None,
    }
    policy = RetryPolicy(max_attempts=args.write_max_attempts)
    if write.write_mode == WRITE_OVERWRITE:
        return BatchWriter(ddb, args.table, args.write_concurrency, policy, rejects, keys, **common)
    return ConditionalWriter(
        ddb,
        args.table,
        args.write_concurrency,
        policy,
        rejects,
        keys,
        mode=write.write_mode,
        version_column=write.version_column,
        columns=columns,
        **common,
    )


def load(
    args: JobArgs, s3: Any, ddb: Any, stats: LoadStats, result: LoadResult, started: dt.datetime
) -> None:
    """Check, (validate,) then stream and write. Fills ``stats`` and ``result`` (also when it raises)."""
    check_table(ddb, args.table, args.write.keys, args.write.load_method)
    spool: Optional[RowSpool] = None
    try:
        if args.write.validate_first:
            spool = RowSpool()
            _validate_first(args, s3, stats, result, started, spool)
        pin = validated_pin(result) if spool is not None else None
        replay = spool if spool is not None and spool.complete and pin is not None else None
        _write_pass(args, s3, ddb, stats, result, started, replay, pin)
    finally:
        if spool is not None:
            spool.close()


def validated_pin(result: LoadResult) -> Optional[Dict[str, str]]:
    """The object version the validation pass read (``result.source``), for the write pass to read
    the very bytes that were validated: a file replaced between the two passes is then either read
    as validated (a versioned bucket) or fails the load before anything unvalidated is written
    (``IfMatch`` on its ETag). None when the version cannot be named."""
    source = result.source
    if source is None or not (source.etag or source.version_id):
        return None
    return version_pin(source.version_id, source.etag or "")


def _validate_first(
    args: JobArgs, s3: Any, stats: LoadStats, result: LoadResult, started: dt.datetime, spool: RowSpool
) -> None:
    """The validation pass; over tolerance (or a malformed file), the figures it found and an empty
    key list are the load's, and it raises."""
    try:
        validate(args, s3, result, started, record=spool)
    except JobError:
        _store_key_list(KeyListWriter(args.write.keys.names), s3, args, result)  # empty: nothing written
        checked, result.validation_stats = result.validation_stats, None
        if checked is not None:  # over tolerance: report the validated figures, nothing written
            result.nothing_written = True
            stats.rows_read, stats.rows_rejected = checked.rows_read, checked.rows_rejected
            stats.rows_duplicate, stats.reject_reasons = checked.rows_duplicate, checked.reject_reasons
            stats.bytes_read = checked.bytes_read
        raise


def _write_pass(
    args: JobArgs,
    s3: Any,
    ddb: Any,
    stats: LoadStats,
    result: LoadResult,
    started: dt.datetime,
    replay: Optional[RowSpool],
    pin: Optional[Dict[str, str]],
) -> None:
    """Stream, build and write (replaying the validation pass's verdicts when given), then store the
    rejects and the key list, also when it fails."""
    rejects = RejectSink(args.delimiter, args.encoding, args.quote_char)
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
                args.write.keys,
                args.write.write_mode,
                args.write.max_write_rate or "none",
                result.id_source,
                args.write_concurrency,
            )
        batch.append(({"PutRequest": {"Item": item}}, line_number, row))
        if len(batch) == BATCH_SIZE:
            writer.submit(batch[:])
            batch.clear()

    winners = result.last_lines if args.on_conflict == ON_CONFLICT_KEEP_LAST else None
    try:
        stream_rows(
            args,
            s3,
            stats,
            result,
            started,
            rejects,
            submit,
            winners=winners,
            expected_keys=0 if replay is not None else distinct_keys(result),
            replay=replay,
            pin=pin,
        )
        failure = judge_checks(args, result, stats.rows_read)
        if failure:  # only without validate_first (else the validation pass failed the load)
            result.checks_error = f"{failure} (rows already written stay written: --validate_first false)"
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


def distinct_keys(result: LoadResult) -> int:
    """The distinct keys the validation pass found (0 without one): rows read, less the rejected and
    the duplicates. At most a few more get into the write pass's index (rows a ``unique`` check
    rejects after their key was seen), which then grows as it always did."""
    checked = result.validation or {}
    read, rejected, duplicate = (checked.get(k, 0) for k in ("rows_read", "rows_rejected", "rows_duplicate"))
    return max(0, read - rejected - duplicate)


def _store_rejects(rejects: RejectSink, s3: Any, args: JobArgs, result: LoadResult) -> None:
    if not rejects.count:
        return
    try:
        result.rejected_location = rejects.upload(s3, args.manifest_bucket, args.rejects_key)
    # An S3 error (a large file's managed transfer wraps it in S3UploadFailedError) is caught
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
PROBLEMS = ("rejects_error", "keys_error", "task_error", "checks_error")


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
        f"{nothing}rejects are in {result.rejected_location}{why_rejected(stats.reject_reasons)}"
    )


def why_rejected(reasons: Dict[str, int]) -> str:
    """The rejects a person must act on, said in words: conflicting duplicates and failed checks
    (other reasons read well in the rejects file). Empty when there are none."""
    said = []
    conflicts = reasons.get(R_CONFLICTING_DUPLICATE, 0)
    if conflicts:
        said.append(
            f"{conflicts} of them {R_CONFLICTING_DUPLICATE}: a key an earlier row has with other cells "
            "(--on_conflict keep_first or keep_last to load one of them, or name the real key)"
        )
    checks = sorted((r, n) for r, n in reasons.items() if r.startswith(R_CHECK_PREFIX))
    if checks:
        said.append("failed checks: " + ", ".join(f"{r} {n}" for r, n in checks))
    return "; " + "; ".join(said) if said else ""


def run(args: JobArgs, s3: Any, ddb: Any, engine: str = ENGINE_PYTHONSHELL) -> Manifest:
    """Load, judge the result, write the manifest (also on failure); return the manifest.
    ``engine``: what the manifest says ran the load (the inline engine calls this in-process)."""
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
    return finish_manifest(args, s3, stats, result, started, utc_now(), error, engine)
