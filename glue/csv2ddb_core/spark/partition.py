"""The work of one split, in the three passes of a parallel load (the Spark engine's tasks).

1. ``scan_split``: where the split really starts and ends (just after a ``\\n``), how many lines it
   has, and its exit state from each entry state (``splits.transition``).
2. ``digest_split``: build every record that starts in the split; emit each good row's dedupe
   digest with its line number (the driver finds the first occurrence of every key by line,
   across splits), and count rejects.
3. ``load_split``: build again, drop the rows the driver named duplicates, write the rest with the
   core's writer and retry policy, spool rejects and confirmed keys to per-split parts, and return
   the split's figures. Only the returned figures count: a task that died half-way (and was
   retried) contributes nothing but idempotent rewrites of the same items.

Python 3.9, standard library + boto3: the tasks run this from the core wheel.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
import zipimport
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Collection, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import boto3.exceptions
import botocore.exceptions

from csv2ddb_core.checks import RowChecks, judged_chunks
from csv2ddb_core.clients import make_clients
from csv2ddb_core.conflicts import conflict_reject, content_digest
from csv2ddb_core.contract import BATCH_SIZE, JobArgs, JobError, WriteRate
from csv2ddb_core.header import HeaderSpec
from csv2ddb_core.keylist import KeyListWriter
from csv2ddb_core.load import make_writer
from csv2ddb_core.manifest import peak_rss_mb
from csv2ddb_core.processed import SplitKeyList, load_date, run_prefix, split_key_list
from csv2ddb_core.rejects import RejectSink
from csv2ddb_core.rows import RowBuilder
from csv2ddb_core.source import open_text
from csv2ddb_core.spark.ranged import range_stream, read_range, read_until_line_start, version_pin
from csv2ddb_core.spark.splits import (
    QUOTED,
    START,
    Split,
    count_lines,
    range_codec,
    split_records,
    transition,
)
from csv2ddb_core.writer import BatchWriter, Entry

TASK_ERRORS = (
    JobError,
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.ClientError,
    boto3.exceptions.S3UploadFailedError,
    EOFError,
    zlib.error,
)
Fault = Callable[[int, int], None]  # (split index, rows read so far): a test's way to kill a task
# (split index, the task's DynamoDB client) -> the client the task's writer uses: a test's way to
# capture the exact requests the writer sends (tests/spark), without a table to read them back from.
Tap = Callable[[int, Any], Any]


@dataclass(frozen=True)
class LoadPlan:
    """What every task of one load needs; built once by the driver, shipped to the tasks."""

    args: JobArgs
    header: HeaderSpec
    size: int
    etag: str
    version_id: Optional[str]
    ingestion_timestamp: str
    rate_share: int = 1  # the write-rate cap is split evenly among this many concurrent tasks

    @property
    def pin(self) -> Dict[str, str]:
        return version_pin(self.version_id, self.etag)

    @property
    def parts_prefix(self) -> str:
        """Per-split rejects and key lists, merged by the driver into the load's artifacts."""
        return f"{self.args.manifest_prefix}{self.args.run_id}.parts/"

    def task_args(self) -> JobArgs:
        """The job arguments of one task: its share of the write-rate cap."""
        cap = self.args.write.max_write_rate
        if cap is None or self.rate_share <= 1:
            return self.args
        write = dataclasses.replace(
            self.args.write, max_write_rate=WriteRate(cap.per_second / self.rate_share, cap.unit)
        )
        return dataclasses.replace(self.args, write=write)


_CLIENTS: Dict[Tuple[str, int], Tuple[Any, Any]] = {}


def _keep_directory(self: Any) -> None:
    """``zipimporter.invalidate_caches`` as before Python 3.10: keep the directory read once."""


def keep_zip_directories() -> None:
    """Make ``importlib.invalidate_caches()`` cheap again in this (Spark worker) process.

    PySpark's worker calls it before every task; on Python 3.10 and 3.11 that re-reads the central
    directory of every zip on ``sys.path``, and PySpark puts its own pyspark.zip and py4j's zip
    there: about 70 ms of CPU per task, more than a small split's whole work (cpython#103200, fixed
    in 3.12; SPARK-54744). Those zips do not change while a worker lives, so their importers keep
    the directory they read, as on every Python before 3.10. Every pass calls this first: the
    first task of a worker process pays once, its later tasks not at all.
    """
    if sys.version_info[:2] in ((3, 10), (3, 11)):
        zipimport.zipimporter.invalidate_caches = _keep_directory  # type: ignore[method-assign]


def clients_for(args: JobArgs) -> Tuple[Any, Any]:
    """The (S3, DynamoDB) clients of this worker process, made once: a worker runs many tasks one
    after another, and making clients costs a fraction of a second of CPU each time."""
    key = (os.environ.get("AWS_ENDPOINT_URL", ""), args.write_concurrency)
    if key not in _CLIENTS:
        _CLIENTS[key] = make_clients(args)
    return _CLIENTS[key]


def builder_for(plan: LoadPlan) -> RowBuilder:
    """The row builder every engine uses, with the same options as the Python shell's."""
    args = plan.args
    return RowBuilder(
        plan.header,
        source_file=args.source_uri,
        run_id=args.run_id,
        ingestion_timestamp=plan.ingestion_timestamp,
        type_map=args.type_map,
        empty_cells=args.empty_cells,
        na_values=args.na_values,
        ttl=args.write.ttl,
        version_column=args.write.version_column,
    )


def checks_for(plan: LoadPlan) -> Optional[RowChecks]:
    """The load's column checks (None when it declares none). A task judges the stateless ones on
    each row before the dedupe; ``unique`` needs the whole file: pass 2 hands each row's value
    digests to the driver, which names the repeating lines to pass 3."""
    if not plan.args.checks:
        return None
    checks = RowChecks(plan.args.checks, plan.header.row_names, plan.args.na_values)
    return None if checks.empty else checks


def split_text(s3: Any, plan: LoadPlan, split: Split) -> io.TextIOWrapper:
    """The split's text from its first byte to the end of the object (read lazily)."""
    args = plan.args
    stream = range_stream(s3, args.source_bucket, args.source_key, plan.pin, split.start, plan.size)
    if split.whole_object:
        return open_text(stream, args.encoding)[0]
    codec = range_codec(args.encoding)
    raw = io.BufferedReader(stream, buffer_size=1 << 20)
    return io.TextIOWrapper(raw, encoding=codec, errors="surrogateescape", newline="")


# --- pass 1 -----------------------------------------------------------------------------------


def scan_split(plan: LoadPlan, index: int, nominal: Sequence[int]) -> Dict[str, Any]:
    """Pass 1 for split ``index`` of the ``nominal`` starts (``nominal[0]`` = first data byte)."""
    keep_zip_directories()
    args = plan.args
    s3, _ = clients_for(args)
    where = (s3, args.source_bucket, args.source_key, plan.pin)
    start = nominal[0] if index == 0 else read_until_line_start(*where, nominal[index], plan.size)
    last = index + 1 == len(nominal)
    end = plan.size if last else read_until_line_start(*where, nominal[index + 1], plan.size)
    if end <= start:
        return {"index": index, "start": start, "end": start, "lines": 0, "exits": [START, QUOTED]}
    data = read_range(*where, start, end)
    codec = range_codec(args.encoding)
    exits = []
    for entry in (START, QUOTED):
        text = io.TextIOWrapper(io.BytesIO(data), encoding=codec, errors="surrogateescape", newline="")
        exits.append(transition(text, args.delimiter, entry, end == plan.size, args.quote_char))
    return {
        "index": index,
        "start": start,
        "end": end,
        "lines": count_lines(data, end == plan.size),
        "exits": exits,
    }


# --- pass 2 -----------------------------------------------------------------------------------


NO_CONTENT = b""


def digest_split(plan: LoadPlan, split: Split) -> Iterator[Tuple[int, int, bytes, bytes, Any]]:
    """Pass 2: ``(split, line, key digest, content digest, unique values)`` per good row (the
    content digest only for a key taken from a column: it tells exact from conflicting duplicates;
    the value digests of its ``unique`` columns, or None), then ``(split, -1, summary JSON, b"",
    None)``. Rows failing a stateless column check are rejects here already."""
    keep_zip_directories()
    s3, _ = clients_for(plan.args)
    builder = builder_for(plan)
    # Only each row's verdict and digest are needed here (as in the Python shell's validation pass):
    # no item, and on auto-typed columns no cell typed. Pass 3 builds the items it writes.
    build = builder.verdict
    checks = checks_for(plan)
    values = checks.unique_values if checks is not None and checks.has_unique else None
    content = builder.header.id_index is not None
    read = rejected = 0
    reasons: Dict[str, int] = {}
    error: Optional[str] = None
    try:
        records = split_records(split_text(s3, plan, split), plan.args.delimiter, split, plan.args.quote_char)
        for chunk, failing in judged_chunks(records, checks):  # failing: None for a passing chunk
            for line, row in chunk:
                read += 1
                reject, digest = build(row)  # (Reject, None) or (None, digest)
                if digest is not None and failing is not None:
                    failed = failing(row)
                    if failed is not None:
                        reject, digest = failed, None
                if reject is not None:
                    rejected += 1
                    reasons[reject.reason] = reasons.get(reject.reason, 0) + 1
                elif digest is not None:
                    unique = values(row) if values is not None else None
                    yield split.index, line, digest, content_digest(row) if content else NO_CONTENT, unique
    except TASK_ERRORS as exc:
        error = _error_text(exc)
    summary = {"read": read, "rejected": rejected, "reasons": reasons, "error": error}
    yield split.index, -1, json.dumps(summary).encode(), NO_CONTENT, None


# --- pass 3 -----------------------------------------------------------------------------------


@dataclass
class SplitResult:
    """One split's committed figures and the parts it stored."""

    index: int
    read: int = 0
    written: int = 0
    rejected: int = 0
    duplicate: int = 0
    marked_duplicates: int = 0  # the lines the driver named duplicates (all of them, also on error)
    skipped: int = 0
    write_retries: int = 0
    bytes_read: int = 0
    reject_reasons: Dict[str, int] = dataclasses.field(default_factory=dict)
    rejects_key: Optional[str] = None
    keys_key: Optional[str] = None
    keys_count: int = 0
    error: Optional[str] = None
    peak_rss_mb: float = 0.0
    check_failures: Dict[str, int] = dataclasses.field(default_factory=dict)
    zone: Optional[Dict[str, Any]] = None  # the split's processed-zone parts (``SplitKeyList.store``)


def load_split(
    plan: LoadPlan,
    split: Split,
    duplicates: Collection[int],
    write: bool = True,
    fault: Optional[Fault] = None,
    tap: Optional[Tap] = None,
    conflicts: Optional[Mapping[int, int]] = None,
    unique: Optional[Mapping[int, Sequence[int]]] = None,
) -> SplitResult:
    """Pass 3: write the split's rows (all but ``duplicates``, by line); return its figures.

    ``conflicts``: lines the driver rejects as conflicting duplicates, with the line of their key's
    first row; ``unique``: lines repeating an earlier kept row's value, with the positions of their
    failing ``unique`` checks. ``write=False`` only sorts rows (the validation failed): rejects are
    still stored.
    """
    keep_zip_directories()
    args = plan.args
    s3, ddb = clients_for(args)
    if tap is not None:
        ddb = tap(split.index, ddb)
    out = SplitResult(split.index, marked_duplicates=len(duplicates))
    rejects = RejectSink(args.delimiter, args.encoding, args.quote_char)
    keys = split_key_list(args, split.index)  # teed into the split's Parquet parts when the zone is on
    builder = builder_for(plan)
    writer: Optional[BatchWriter] = None
    if write:
        writer = make_writer(plan.task_args(), s3, ddb, rejects, keys, list(builder.names))
    try:
        _sort_rows(
            split_text(s3, plan, split), plan, split, duplicates, builder, rejects, writer, out, fault,
            conflicts or {}, unique or {},
        )  # fmt: skip
    except TASK_ERRORS as exc:
        out.error = _error_text(exc)
    finally:
        if writer is not None:
            writer.close(raise_error=False)
            out.written, out.skipped, out.write_retries = writer.written, writer.skipped, writer.retried_calls
            if writer.error is not None and out.error is None:
                out.error = _error_text(writer.error)
        out.rejected, out.reject_reasons = rejects.count, dict(rejects.by_reason)
        out.bytes_read = split.end - split.start
        _store_parts(s3, plan, split, rejects, keys, out)
        out.peak_rss_mb = peak_rss_mb()
    return out


def _sort_rows(
    text: io.TextIOWrapper,
    plan: LoadPlan,
    split: Split,
    duplicates: Collection[int],
    builder: RowBuilder,
    rejects: RejectSink,
    writer: Optional[BatchWriter],
    out: SplitResult,
    fault: Optional[Fault],
    conflicts: Mapping[int, int],
    unique: Mapping[int, Sequence[int]],
) -> None:
    """Each record of the split: rejected, a duplicate, or batched to the writer (25 a call)."""
    build = builder.build
    checks = checks_for(plan)
    batch: List[Entry] = []
    records = split_records(text, plan.args.delimiter, split, plan.args.quote_char)
    for chunk, failing in judged_chunks(records, checks):  # failing: None for a passing chunk
        for line, row in chunk:
            out.read += 1
            if fault is not None:
                fault(split.index, out.read)
            item, digest = build(row)
            if digest is not None and failing is not None:
                failed = failing(row)
                if failed is not None:
                    item, digest = failed, None
            if digest is None:
                rejects.add(line, item, row)
            elif line in conflicts:
                rejects.add(line, conflict_reject(conflicts[line]), row)
            elif line in unique and checks is not None:
                rejects.add(line, checks.unique_reject(unique[line]), row)
            elif line in duplicates:
                out.duplicate += 1
            elif writer is not None:
                batch.append(({"PutRequest": {"Item": item}}, line, row))
                if len(batch) == BATCH_SIZE:
                    writer.submit(batch)
                    batch = []
    if batch and writer is not None:
        writer.submit(batch)
    if checks is not None:
        out.check_failures = dict(checks.failures)
    if writer is not None:
        writer.close()


def _store_parts(
    s3: Any, plan: LoadPlan, split: Split, rejects: RejectSink, keys: KeyListWriter, out: SplitResult
) -> None:
    """Upload the split's rejects and key list, and its processed-zone parts when the zone is on
    (each overwritten as a whole by a retried task)."""
    bucket, prefix = plan.args.manifest_bucket, plan.parts_prefix
    try:
        if rejects.count:
            out.rejects_key = f"{prefix}rejects-{split.index:05d}.csv"
            rejects.upload(s3, bucket, out.rejects_key)
        out.keys_key = f"{prefix}keys-{split.index:05d}.jsonl.gz"
        out.keys_count = keys.upload(s3, bucket, out.keys_key)["keys_count"]
        if isinstance(keys, SplitKeyList):
            zone_prefix = run_prefix(plan.args, load_date(plan.ingestion_timestamp))
            out.zone = keys.store(s3, bucket, zone_prefix)
    except TASK_ERRORS as exc:
        out.error = out.error or f"the parts of split {split.index} could not be stored: {_error_text(exc)}"
    finally:
        rejects.close()
        keys.close()


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, JobError):
        return str(exc)
    if isinstance(exc, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)):
        return f"AWS error: {exc}"
    return f"{type(exc).__name__}: {exc}"
