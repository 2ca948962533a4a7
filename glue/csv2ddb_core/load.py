"""One load: stream the object, build items, dedupe, write, judge, and write the manifest."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from typing import Any, Dict, List, Optional, Tuple

import boto3
import boto3.exceptions
import botocore.exceptions
from botocore.config import Config

from csv2ddb_core.contract import BATCH_SIZE, HASH_KEY, JobArgs, JobError
from csv2ddb_core.header import header_from
from csv2ddb_core.keylist import KeyListWriter
from csv2ddb_core.keys import DedupeIndex
from csv2ddb_core.manifest import LoadStats, build_manifest, iso, peak_rss_mb, utc_now
from csv2ddb_core.rejects import RejectSink
from csv2ddb_core.rows import RowBuilder
from csv2ddb_core.source import S3ObjectStream, read_records, text_stream
from csv2ddb_core.writer import BatchWriter, Entry, RetryPolicy

LOG = logging.getLogger("csv2ddb.load")


class Progress:
    """One log line every ``every`` seconds: rows, rows/s, % of the object's bytes read."""

    def __init__(self, stats: LoadStats, stream: S3ObjectStream, every: float = 5.0) -> None:
        self._stats = stats
        self._stream = stream
        self._every = every
        self._start = time.monotonic()
        self._next = self._start + every

    def maybe_log(self, writer: Optional[BatchWriter]) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._every
        self.log(writer, now)

    def log(self, writer: Optional[BatchWriter], now: Optional[float] = None) -> None:
        elapsed = max((now or time.monotonic()) - self._start, 1e-9)
        written = writer.written if writer else self._stats.rows_written
        pct = 100.0 * self._stream.pos / self._stream.size if self._stream.size else 100.0
        LOG.info(
            "progress: read %d rows, written %d (%.0f rows/s), rejected %d, duplicate %d, %.1f%% of bytes, "
            "peak RSS %.0f MB",
            self._stats.rows_read,
            written,
            written / elapsed,
            self._stats.rows_rejected,
            self._stats.rows_duplicate,
            pct,
            peak_rss_mb(),
        )


def check_table(ddb: Any, table: str) -> None:
    """Fail before reading anything when the table is missing or keyed differently."""
    try:
        desc = ddb.describe_table(TableName=table)["Table"]
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise JobError(f"DynamoDB table {table!r} does not exist") from exc
        raise
    schema = {k["KeyType"]: k["AttributeName"] for k in desc.get("KeySchema", [])}
    types = {a["AttributeName"]: a["AttributeType"] for a in desc.get("AttributeDefinitions", [])}
    if schema != {"HASH": HASH_KEY} or types.get(HASH_KEY) != "S":
        raise JobError(
            f"table {table!r} must have exactly one key, a string HASH key {HASH_KEY!r}; it has "
            f"{schema} with types {types}"
        )


def load(
    args: JobArgs, s3: Any, ddb: Any, stats: LoadStats, result: Dict[str, Any], started: dt.datetime
) -> None:
    """Stream, build, dedupe, write. Fills ``stats`` and ``result`` as it goes (also when it raises)."""
    check_table(ddb, args.table)
    stream = S3ObjectStream(s3, args.source_bucket, args.source_key)
    result["source"] = {
        "bucket": args.source_bucket,
        "key": args.source_key,
        "etag": stream.etag,
        "size": stream.size,
        "version_id": stream.version_id,
    }
    rejects = RejectSink(args.delimiter, args.encoding)
    keys = KeyListWriter((HASH_KEY,))
    writer: Optional[BatchWriter] = None
    progress = Progress(stats, stream)
    read = duplicate = 0
    try:
        records = read_records(text_stream(stream, args.encoding), args.delimiter)
        builder = RowBuilder(
            header_from(records, args),
            source_file=args.source_uri,
            run_id=args.run_id,
            ingestion_timestamp=iso(started),
            type_map=args.type_map,
            empty_cells=args.empty_cells,
            na_values=args.na_values,
        )
        result["id_source"] = builder.header.id_source
        LOG.info(
            "loading %s (%d bytes, etag %s) into %s: %d columns, id from %s, %d writer threads",
            args.source_uri,
            stream.size,
            stream.etag,
            args.table,
            builder.width,
            builder.header.id_source,
            args.write_concurrency,
        )
        writer = BatchWriter(
            ddb,
            args.table,
            args.write_concurrency,
            RetryPolicy(max_attempts=args.write_max_attempts),
            rejects,
            keys,
        )
        seen = DedupeIndex()
        build = builder.build
        add_seen = seen.add
        submit = writer.submit
        batch: List[Entry] = []
        for line_number, row in records:
            read += 1
            item, digest = build(row)
            if digest is None:
                rejects.add(line_number, item, row)
            elif add_seen(digest):
                batch.append(({"PutRequest": {"Item": item}}, line_number, row))
                if len(batch) == BATCH_SIZE:
                    submit(batch)
                    batch = []
            else:
                duplicate += 1
            if not read & 0x3FF:
                stats.rows_read, stats.rows_duplicate, stats.rows_rejected = read, duplicate, rejects.count
                progress.maybe_log(writer)
        if batch:
            submit(batch)
        writer.close()
        result["dedupe_index_mb"] = round(seen.nbytes / (1024 * 1024), 1)
    finally:
        stats.rows_read, stats.rows_duplicate = read, duplicate
        if writer is not None:
            writer.close(raise_error=False)  # after a failure: let queued batches finish or skip
            stats.rows_written = writer.written
            stats.write_retries = writer.retried_calls
        stats.rows_rejected = rejects.count
        stats.reject_reasons = dict(rejects.by_reason)
        stats.bytes_read = stream.pos
        progress.log(writer)
        if rejects.count:
            try:
                result["rejected_location"] = rejects.upload(s3, args.manifest_bucket, args.rejects_key)
            # upload_file wraps S3 errors in boto3's S3UploadFailedError (reliability finding F8):
            # caught here so the cleanup below still runs, and reported by run() as a failure,
            # since rejected rows whose reasons cannot be stored are not "rejected with a reason".
            except (
                botocore.exceptions.BotoCoreError,
                botocore.exceptions.ClientError,
                boto3.exceptions.S3UploadFailedError,
            ) as exc:
                LOG.error("could not upload the rejects file to %s: %s", args.rejects_key, exc)
                result["rejects_error"] = (
                    f"the {rejects.count} rejected row(s) could not be stored at "
                    f"s3://{args.manifest_bucket}/{args.rejects_key}: {exc}"
                )
        rejects.close()
        _store_key_list(keys, s3, args, result)
        stream.close()


def _store_key_list(keys: KeyListWriter, s3: Any, args: JobArgs, result: Dict[str, Any]) -> None:
    """Upload the key list, also after a failure (a rollback needs the keys that were written)."""
    try:
        result.update(keys.upload(s3, args.manifest_bucket, args.keys_key))
    except (
        botocore.exceptions.BotoCoreError,
        botocore.exceptions.ClientError,
        boto3.exceptions.S3UploadFailedError,
    ) as exc:
        LOG.error("could not upload the key list to %s: %s", args.keys_key, exc)
        result["keys_error"] = (
            f"the key list could not be stored at s3://{args.manifest_bucket}/{args.keys_key}: {exc}"
        )
    finally:
        keys.close()


def make_clients(args: JobArgs) -> Tuple[Any, Any]:
    """One S3 client and ONE shared DynamoDB client (botocore clients are thread-safe).

    Retries are ours (bounded, jittered), so botocore's are switched off for DynamoDB; parameter
    validation is off because we build the low-level items ourselves and it costs CPU per item.
    ``AWS_ENDPOINT_URL`` is read explicitly because Glue's older botocore ignores it; it is only set
    for the local emulator.
    """
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    session = boto3.session.Session()
    s3 = session.client(
        "s3", endpoint_url=endpoint, config=Config(retries={"max_attempts": 5, "mode": "standard"})
    )
    ddb = session.client(
        "dynamodb",
        endpoint_url=endpoint,
        config=Config(
            max_pool_connections=max(10, args.write_concurrency + 2),
            retries={"total_max_attempts": 1, "mode": "standard"},
            parameter_validation=False,
            tcp_keepalive=True,
        ),
    )
    return s3, ddb


def run(args: JobArgs, s3: Any, ddb: Any) -> Dict[str, Any]:
    """Load, judge the result, write the manifest (also on failure); return the manifest."""
    started = utc_now()
    stats = LoadStats()
    result: Dict[str, Any] = {"rejected_location": None}
    error: Optional[str] = None
    try:
        load(args, s3, ddb, stats, result, started)
        for problem in ("rejects_error", "keys_error"):
            if result.get(problem):
                raise JobError(result[problem])
        if stats.rows_unconfirmed != 0:
            raise JobError(
                f"accounting identity violated: rows_read {stats.rows_read} != written {stats.rows_written} "
                f"+ rejected {stats.rows_rejected} + duplicate {stats.rows_duplicate}"
            )
        if args.tolerance.exceeded(stats.rows_rejected, stats.rows_read):
            raise JobError(
                f"{stats.rows_rejected} row(s) rejected, above the tolerance {args.tolerance.text!r} "
                f"(at most {args.tolerance.allowed(stats.rows_read)} of {stats.rows_read} rows read); "
                f"rejects are in {result.get('rejected_location')}"
            )
    except JobError as exc:
        error = str(exc)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        error = f"AWS error: {exc}"
    except Exception as exc:
        LOG.exception("unexpected error")
        error = f"internal error: {type(exc).__name__}: {exc}"
    finished = utc_now()
    if error and stats.rows_unconfirmed:
        error += f" ({stats.rows_unconfirmed} row(s) read but not confirmed written)"
    manifest = build_manifest(args, stats, result, started, finished, error)
    uri = f"s3://{args.manifest_bucket}/{args.manifest_key}"
    try:
        s3.put_object(
            Bucket=args.manifest_bucket,
            Key=args.manifest_key,
            Body=json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"),
            ContentType="application/json",
        )
        manifest["manifest_location"] = uri
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        LOG.error("could not write the manifest to %s: %s", uri, exc)
        manifest["manifest_location"] = None
        if not manifest["error"]:
            manifest["status"] = "failed"
            manifest["error"] = f"could not write the manifest to {uri}: {exc}"
    return manifest
