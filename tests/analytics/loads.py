"""A load's write side, as the Python shell does it, for the analytics tests: the real
BatchWriter into the emulator's table, with the processed zone's key-list tee, then its upload."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from csv2ddb_core import processed
from csv2ddb_core.clients import make_clients
from csv2ddb_core.contract import JobArgs, Reject
from csv2ddb_core.options import parse_job_args
from csv2ddb_core.rejects import RejectSink
from csv2ddb_core.writer import BatchWriter, RetryPolicy


def job_args(bucket: str, table: str, run_id: str, key: str = "raw/x.csv") -> JobArgs:
    argv = ["--source_bucket", bucket, "--source_key", key, "--table", table, "--run_id", run_id]
    return parse_job_args(argv, env={})


def write_load(
    args: JobArgs,
    items: Sequence[dict[str, Any]],
    rejects: Sequence[tuple[int, str, str, list[str]]] = (),
    date: str = "2026-12-05",
) -> dict[str, Any]:
    """Write ``items`` and store ``rejects`` (line, reason, detail, cells) as a load would; the
    manifest-like dict the analytics step reads (``rows_*`` and ``processed``)."""
    s3, ddb = make_clients(args)
    sink = RejectSink(",", "utf-8")
    for line, reason, detail, cells in rejects:
        sink.add(line, Reject(reason, detail), cells)
    if sink.count:
        sink.upload(s3, args.manifest_bucket, args.rejects_key)
    zone = processed.ProcessedZone(args, processed.ProcessedOptions(True), date)
    keys = processed.ProcessedKeyList(zone, sink)
    writer = BatchWriter(ddb, args.table, 4, RetryPolicy(), sink, keys)
    for start in range(0, len(items), 25):
        chunk = items[start : start + 25]
        writer.submit([({"PutRequest": {"Item": item}}, start + i + 2, []) for i, item in enumerate(chunk)])
    writer.close()
    keys.upload(s3, args.manifest_bucket, args.keys_key)
    keys.close()
    sink.close()
    return {
        "run_id": args.run_id,
        "table": args.table,
        "rows_read": len(items) + len(rejects),
        "rows_written": writer.written,
        "rows_rejected": len(rejects),
        "rows_duplicate": 0,
        "seconds": 1.5,
        "rows_per_second": writer.written / 1.5,
        "processed": keys.outcome,
    }
