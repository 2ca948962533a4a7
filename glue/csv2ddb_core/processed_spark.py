"""The processed zone in the Spark engine: one more pass over the load's splits, after the write
pass, building each split's rows again and writing the ones that were written as Parquet parts.

Why a pass of its own and not Spark's DataFrame writer: the items are built by the core's
``RowBuilder`` in Python; handing every row to the JVM to let Spark write it costs more than
building it. Each task writes its split's parts with the same ``ParquetParts`` the Python shell
uses (the same column rule), uploads them under the run's prefix, and returns their schemas; the
driver widens the parts whose types differ from the load's (``processed.unify``).

Which rows: a split's rows that are neither rejects (a bad row, a failed column check, a conflicting
duplicate, a repeated unique value) nor duplicates, i.e. what the write pass handed its writer.
When the load skipped rows (a conditional write mode) or DynamoDB refused some, the tasks also keep
only the keys of the load's key list, so the zone holds exactly ``rows_written`` rows, as in the
Python shell.

No pyspark import: the driver function takes the SparkContext and the DataFrame of unwritten lines
the Spark script already has (``glue/csv2ddb_spark_job.py`` holds all pyspark code).
"""

from __future__ import annotations

import gzip
import os
import time
from typing import Any, Collection, Dict, FrozenSet, List, Mapping, Optional, Sequence

from csv2ddb_core.contract import R_DYNAMODB_REJECTED
from csv2ddb_core.keylist import key_line, parse_s3_uri
from csv2ddb_core.partition import (
    LoadPlan,
    builder_for,
    checks_for,
    clients_for,
    keep_zip_directories,
    split_text,
)
from csv2ddb_core.processed import (
    LOG,
    ParquetParts,
    catalog_columns,
    clear_prefix,
    conform_file,
    items_prefix,
    load_date,
    options_of,
    rejects_parquet,
    unify,
)
from csv2ddb_core.splits import Split, split_records

BATCH = 4096


def _written_keys(s3: Any, keys_location: str) -> FrozenSet[str]:
    """The key lines of the load's key list (only read when some rows were not written)."""
    bucket, key = parse_s3_uri(keys_location)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return frozenset(gzip.decompress(body).decode("utf-8", "surrogatepass").splitlines())


def zone_split(
    plan: LoadPlan, split: Split, unwritten: Collection[int], prefix: str, keys_location: Optional[str]
) -> Dict[str, Any]:
    """One task: the split's written rows as Parquet parts under ``prefix``; their figures.
    ``unwritten``: the lines the driver named duplicates, conflicting or repeating a unique value;
    a row failing a stateless column check is judged here again, as in the write pass."""
    keep_zip_directories()
    args = plan.args
    s3, _ = clients_for(args)
    written = _written_keys(s3, keys_location) if keys_location else None
    names = args.keys.names
    build = builder_for(plan).build
    checks = checks_for(plan)
    failing = checks.failing if checks is not None and checks.has_stateless else None
    parts = ParquetParts(stem=f"split-{split.index:05d}")
    try:
        batch: List[Mapping[str, Any]] = []
        for line, row in split_records(split_text(s3, plan, split), args.delimiter, split, args.quote_char):
            item, digest = build(row)
            if digest is None or line in unwritten or (failing is not None and failing(row) is not None):
                continue
            if written is not None and key_line(item, names) not in written:
                continue
            batch.append(item)
            if len(batch) == BATCH:
                parts.add(batch)
                batch = []
        parts.add(batch)
        local = parts.close()
        out: Dict[str, Any] = {"index": split.index, "rows": 0, "bytes": 0, "parts": [], "notes": parts.notes}
        for number, part in enumerate(local):
            key = f"{prefix}part-{split.index:05d}-{number:03d}.parquet"
            s3.upload_file(part.path, args.manifest_bucket, key)
            out["parts"].append({"key": key, "rows": part.rows, "schema": part.schema})
            out["rows"] += part.rows
            out["bytes"] += os.path.getsize(part.path)
        return out
    finally:
        parts.discard()


def _widen(s3: Any, bucket: str, parts: Sequence[Mapping[str, Any]], schema: Any) -> int:
    """Rewrite (in the driver) the parts whose types differ from the load's; their new bytes."""
    import tempfile

    delta = 0
    for part in parts:
        if part["schema"].equals(schema):
            continue
        with tempfile.TemporaryDirectory(prefix="csv2ddb-widen-") as tmp:
            path = os.path.join(tmp, "part.parquet")
            s3.download_file(bucket, part["key"], path)
            before = os.path.getsize(path)
            conform_file(path, schema)
            s3.upload_file(path, bucket, part["key"])
            delta += os.path.getsize(path) - before
    return delta


def spark_zone(
    sc: Any,
    plan: LoadPlan,
    live: Sequence[Split],
    unwritten: Any,
    rows_rejected: int,
    reject_reasons: Mapping[str, int],
    rows_skipped: int,
    keys_location: Optional[str],
) -> Optional[Dict[str, Any]]:
    """The Spark load's processed zone (the manifest's ``processed``); None when it is off.
    A failure is reported in ``error``, never raised: the DynamoDB load is judged without it."""
    args = plan.args
    options = options_of(args)
    if not options.enabled:
        return None
    began = time.monotonic()
    date = load_date(plan.ingestion_timestamp)
    prefix = items_prefix(options.prefix, args.table, date, args.run_id)
    out: Dict[str, Any] = {"load_date": date, "error": None}
    try:
        s3, _ = clients_for(args)
        clear_prefix(s3, args.manifest_bucket, prefix)
        exact = rows_skipped == 0 and not reject_reasons.get(R_DYNAMODB_REJECTED)
        filter_by = None if exact else keys_location
        position = {s.index: i for i, s in enumerate(live)}
        specs = sc.parallelize([(s.index, (0, s)) for s in live], max(1, len(live)))
        dups = unwritten.rdd.map(lambda r: (r[0], (1, r[1])))

        def run(values: Any) -> Dict[str, Any]:
            split = next(v for tag, v in values if tag == 0)
            return zone_split(plan, split, {v for tag, v in values if tag == 1}, prefix, filter_by)

        grouped = specs.union(dups).groupByKey(max(1, len(live)), partitionFunc=lambda k: position[k])
        results = sorted(grouped.map(lambda kv: run(kv[1])).collect(), key=lambda r: r["index"])
        parts = [p for r in results for p in r["parts"]]
        notes: Dict[str, str] = {}
        for r in results:
            notes.update(r["notes"])
        schema = unify([p["schema"] for p in parts], notes)
        size = sum(r["bytes"] for r in results) + _widen(s3, args.manifest_bucket, parts, schema)
        out.update(
            location=f"s3://{args.manifest_bucket}/{prefix}",
            rows=sum(r["rows"] for r in results),
            bytes=size,
            files=len(parts),
            columns=catalog_columns(schema),
            coerced=notes,
        )
        if rows_rejected:
            out["rejects"] = rejects_parquet(s3, args, date)
    except Exception as exc:  # noqa: BLE001 - the zone never fails the table load: reported instead
        LOG.exception("the processed zone could not be written")
        out["error"] = f"the processed zone could not be written: {type(exc).__name__}: {str(exc)[:1000]}"
    out["seconds"] = round(time.monotonic() - began, 3)
    return out
