"""The processed zone in the Spark engine: the driver's part, after the write pass.

Each write task tees its key list into its split's Parquet parts (``processed.SplitKeyList``, the
same ``ParquetParts`` and column rule as the Python shell), so the zone holds exactly the items
DynamoDB confirmed, ``rows_written`` of them, whatever the write mode; the task uploads its parts
beside its key list. Why not a pass of its own after the writes (as before): that pass read, parsed
and built every row again while the cores had nothing else to do, where the tee converts the items
the writers already hold, while they wait for DynamoDB. Why not Spark's DataFrame writer: the items
are built by the core's ``RowBuilder`` in Python; handing every row to the JVM costs more than
building it.

The driver then takes the parts of the committed task results only: anything else under the run's
prefix (a failed task attempt's parts, an earlier attempt of the same run) is deleted, and the
parts whose types differ from the load's are widened (``processed.unify``).

No pyspark import: the Spark script (``glue/csv2ddb_spark_job.py``) hands over its committed
results.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any, Dict, Mapping, Optional, Sequence

from csv2ddb_core.processed import (
    LOG,
    catalog_columns,
    conform_file,
    load_date,
    options_of,
    rejects_parquet,
    run_prefix,
    unify,
)
from csv2ddb_core.spark.partition import LoadPlan, SplitResult, clients_for


def _widen(s3: Any, bucket: str, parts: Sequence[Mapping[str, Any]], schema: Any) -> int:
    """Rewrite (in the driver) the parts whose types differ from the load's; their new bytes."""
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


def _drop_strays(s3: Any, bucket: str, prefix: str, keep: Sequence[str]) -> int:
    """Delete what is under the run's prefix but no committed task wrote; how many."""
    kept = set(keep)
    strays = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        strays += [{"Key": o["Key"]} for o in page.get("Contents", []) if o["Key"] not in kept]
    for start in range(0, len(strays), 1000):  # DeleteObjects takes 1,000 keys a call
        s3.delete_objects(Bucket=bucket, Delete={"Objects": strays[start : start + 1000], "Quiet": True})
    return len(strays)


def spark_zone(
    plan: LoadPlan, results: Sequence[SplitResult], rows_rejected: int
) -> Optional[Dict[str, Any]]:
    """The Spark load's processed zone (the manifest's ``processed``) from the committed results of
    its write pass; None when it is off. A failure is reported in ``error``, never raised: the
    DynamoDB load is judged without it. ``seconds``: the driver's part here, plus every task's
    (its converter thread's CPU and its upload), summed over the tasks."""
    args = plan.args
    if not options_of(args).enabled:
        return None
    began = time.monotonic()
    date = load_date(plan.ingestion_timestamp)
    prefix = run_prefix(args, date)
    out: Dict[str, Any] = {"load_date": date, "error": None}
    committed = sorted(results, key=lambda r: r.index)
    zones = [r.zone or {"error": f"split {r.index}: no zone parts"} for r in committed]
    tasks_seconds = sum(float(z.get("seconds") or 0.0) for z in zones)
    try:
        s3, _ = clients_for(args)
        failed = [z["error"] for z in zones if z.get("error")]
        if failed:
            raise RuntimeError(f"{len(failed)} split(s) could not write their parts; the first: {failed[0]}")
        parts = [p for z in zones for p in z["parts"]]
        notes: Dict[str, str] = {}
        for z in zones:
            notes.update(z["notes"])
        _drop_strays(s3, args.manifest_bucket, prefix, [p["key"] for p in parts])
        schema = unify([p["schema"] for p in parts], notes)
        size = sum(z["bytes"] for z in zones) + _widen(s3, args.manifest_bucket, parts, schema)
        out.update(
            location=f"s3://{args.manifest_bucket}/{prefix}",
            rows=sum(z["rows"] for z in zones),
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
    out["seconds"] = round(tasks_seconds + time.monotonic() - began, 3)
    return out
