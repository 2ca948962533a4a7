"""The driver side of a parallel load, without the engine: check, read the header, plan the
splits, and judge the figures the tasks committed.

The engine (``glue/csv2ddb_spark_job.py``) only runs the three passes of ``partition`` over the
splits planned here and hands their results back. What decides *what* is loaded is here; *whether
the load succeeded* is the Python shell's own rule (``load.judge``), on the summed figures.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from csv2ddb_core.conflicts import key_by_default
from csv2ddb_core.contract import ENGINE_SPARK, JobArgs, Manifest, SourceObject
from csv2ddb_core.header import header_from
from csv2ddb_core.load import start_checks
from csv2ddb_core.manifest import LoadResult, LoadStats, finish_manifest, iso
from csv2ddb_core.source import S3ObjectStream, open_text
from csv2ddb_core.spark.partition import LoadPlan, SplitResult, builder_for
from csv2ddb_core.spark.ranged import range_stream, version_pin
from csv2ddb_core.spark.splits import (
    BROKEN,
    Split,
    entry_states,
    line_end_offset,
    record_lines,
    split_records,
    splittable,
)

LOG = logging.getLogger("csv2ddb.load")
ENGINE = ENGINE_SPARK
NO_LINE_LIMIT = 1 << 62


def prepare(s3: Any, args: JobArgs, started: dt.datetime, result: LoadResult) -> LoadPlan:
    """Read the object's version and check the header before any task starts (nothing written)."""
    head = s3.head_object(Bucket=args.source_bucket, Key=args.source_key)
    size = int(head.get("ContentLength", 0))
    etag = str(head.get("ETag", "")).strip('"')
    version_id = head.get("VersionId") or None
    result.source = SourceObject(args.source_bucket, args.source_key, etag, size, version_id)
    pin = version_pin(version_id, etag)
    head_stream = range_stream(s3, args.source_bucket, args.source_key, pin, 0, size)
    text, result.compression = open_text(head_stream, args.encoding)
    try:
        whole = Split(-1, 0, size, 1, NO_LINE_LIMIT)
        header = header_from(split_records(text, args.delimiter, whole, args.quote_char), args)
    finally:
        text.close()
    plan = LoadPlan(args, header, size, etag, version_id, iso(started))
    builder = builder_for(plan)  # refuses a --type_map/--ttl_column/--version_column the header lacks
    result.id_source = header.id_source
    result.columns = list(builder.names)
    result.key_by_default = key_by_default(args.write.key_given, header.id_index)
    start_checks(args, header, result)  # a bad declaration or a missing required column: here
    return plan


def _stream(s3: Any, plan: LoadPlan, start: int) -> S3ObjectStream:
    a = plan.args
    return range_stream(s3, a.source_bucket, a.source_key, plan.pin, start, plan.size)


def data_start(s3: Any, plan: LoadPlan, compression: Optional[str]) -> Tuple[Optional[int], int]:
    """(byte offset of the first data line, lines before it), or (None, 0) when the object cannot
    be split (compressed, or an encoding whose line ends are not single bytes): one split then."""
    args = plan.args
    if compression not in (None, "none") or not splittable(args.encoding, args.delimiter, args.quote_char):
        return None, 0
    if not args.header:
        return 0, 0
    text = open_text(_stream(s3, plan, 0), args.encoding)[0]
    lines = record_lines(text, args.delimiter, args.quote_char)
    text.close()
    reader = io.BufferedReader(_stream(s3, plan, 0), buffer_size=1 << 16)
    chunks: Iterator[bytes] = iter(lambda: reader.read(1 << 16), b"")
    offset = line_end_offset(chunks, lines)
    reader.close()
    return offset, lines


def assemble(scans: Sequence[Mapping[str, Any]], header_lines: int) -> List[Split]:
    """Splits from pass 1's scans: line numbers by prefix sums, entry states by composition."""
    scans = sorted(scans, key=lambda s: s["index"])
    states = entry_states([tuple(s["exits"]) for s in scans])
    splits: List[Split] = []
    first = header_lines + 1
    for scan, state in zip(scans, states):
        last = first + scan["lines"] - 1
        splits.append(Split(scan["index"], scan["start"], scan["end"], first, last, state))
        first = last + 1
    return splits


def whole_object_split(plan: LoadPlan) -> Split:
    return Split(0, 0, plan.size, 1, NO_LINE_LIMIT, whole_object=True, has_header=plan.args.header)


def loadable(splits: Sequence[Split]) -> List[Split]:
    return [s for s in splits if s.entry != BROKEN]


# --- judging -----------------------------------------------------------------------------------


def sum_results(results: Sequence[SplitResult], stats: LoadStats) -> None:
    """The load's figures: the sum of the committed task results, nothing else."""
    for r in results:
        stats.rows_read += r.read
        stats.rows_written += r.written
        stats.rows_rejected += r.rejected
        stats.rows_duplicate += r.duplicate
        stats.rows_skipped += r.skipped
        stats.write_retries += r.write_retries
        stats.bytes_read += r.bytes_read
        for reason, count in r.reject_reasons.items():
            stats.reject_reasons[reason] = stats.reject_reasons.get(reason, 0) + count


def finish(
    args: JobArgs,
    s3: Any,
    stats: LoadStats,
    result: LoadResult,
    started: dt.datetime,
    finished: dt.datetime,
    error: Optional[str],
    engine: Mapping[str, Any],
) -> Manifest:
    """The manifest (the Python shell's fields, this engine's name and its settings), stored in S3."""
    return finish_manifest(args, s3, stats, result, started, finished, error, ENGINE, {"spark": dict(engine)})


def first_error(summaries: Sequence[Mapping[str, Any]]) -> Optional[Tuple[int, str]]:
    """(split index, message) of the first split (in file order) whose parse failed in pass 2."""
    for s in sorted(summaries, key=lambda s: s["index"]):
        if s.get("error"):
            return s["index"], str(s["error"])
    return None


def summaries_from(rows: Sequence[Sequence[Any]]) -> List[Dict[str, Any]]:
    """Pass 2's per-split summaries from its ``(split, -1, summary JSON, b"")`` rows."""
    return [{"index": row[0], **json.loads(row[2])} for row in rows]
