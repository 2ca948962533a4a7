"""The in-process contenders, each run by ``python -m bench.worker`` in its own child process.

A child per contender keeps CPU seconds and peak RSS separate (the harness reads them with
``wait4``). Each function times only its load phase and returns what it did; anything it needs
beforehand (the ceiling's pre-built items) is built before the clock starts.
"""

from __future__ import annotations

import csv
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bench import ddb, job
from bench.measure import run_script, self_cpu_seconds

BATCH = 25  # BatchWriteItem's maximum


class _Phase:
    """Wall and CPU seconds (all threads of this process) of one timed block."""

    def __enter__(self) -> _Phase:
        self.cpu0, self.t0 = self_cpu_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self.t0
        self.cpu_s = self_cpu_seconds() - self.cpu0


def _result(phase: _Phase, rows: int, **extra: Any) -> dict[str, Any]:
    return {"rows": rows, "phase_wall_s": phase.wall_s, "phase_cpu_s": phase.cpu_s, **extra}


# --- (2) the ceiling: pre-built items, concurrent BatchWriteItem, no parsing ------------------


class PreEncodedBodies:
    """botocore ``before-call`` hook: send a BatchWriteItem body encoded before the clock started.

    The ceiling must cost the client as little as a Python client can: its bodies are JSON
    encoded up front, so during the timed phase the client only signs and sends (botocore still
    builds, signs and sends the HTTP request exactly as for any call). Thread-local, so one
    shared client serves every thread.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def set(self, body: bytes) -> None:
        self._local.body = body

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        body = getattr(self._local, "body", None)
        if body is None:
            raise RuntimeError("BatchWriteItem without a pre-encoded body")
        params["body"] = body
        self._local.body = None


def encode_batches(table: str, items: Iterable[dict[str, Any]]) -> tuple[list[bytes], int]:
    """The wire bodies of every 25-item BatchWriteItem, encoded once, outside the clock.

    Consumes ``items`` batch by batch, so only the encoded bytes are kept (items as dicts would
    take several times more memory). Returns (bodies, item count).
    """
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    bodies: list[bytes] = []
    count = 0
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, BATCH)):
        count += len(batch)
        bodies.append(
            encode({"RequestItems": {table: [{"PutRequest": {"Item": it}} for it in batch]}}).encode()
        )
    return bodies, count


def push_bodies(client: Any, table: str, bodies: Sequence[bytes], threads: int) -> None:
    """Send pre-encoded BatchWriteItem bodies from ``threads`` threads sharing one client.

    Batches are taken from a shared counter (``next`` on ``itertools.count`` is atomic under the
    GIL). The emulator never throttles; should it ever leave UnprocessedItems, that is an error
    here (a ceiling that re-sends would not be a ceiling), raised in the main thread.
    """
    hook = PreEncodedBodies()
    client.meta.events.register("before-call.dynamodb.BatchWriteItem", hook)
    counter = itertools.count()
    errors: list[Exception] = []

    def worker() -> None:
        try:
            while not errors:
                index = next(counter)
                if index >= len(bodies):
                    return
                hook.set(bodies[index])
                reply = client.batch_write_item(RequestItems={table: []})
                if reply.get("UnprocessedItems"):
                    raise RuntimeError(f"batch {index}: the emulator left UnprocessedItems")
        except Exception as exc:  # noqa: BLE001 (handed to the main thread, which re-raises it)
            errors.append(exc)

    pool = [threading.Thread(target=worker, name=f"ceiling-{i}") for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]


def ceiling(
    env: dict[str, str], csv_path: str, table: str, threads: int, strings: bool = False
) -> dict[str, Any]:
    """Build every item with the job's own row functions and encode every body, then time the writes.

    ``strings``: items as the job writes them with ``--type_map {"*": "S"}`` (every column a
    string, as the peers write them): the emulator stores those for far less CPU than typed
    numbers, so string-item contenders are measured against this ceiling.
    """
    t0 = time.perf_counter()
    bodies, rows = encode_batches(
        table, job.build_items(Path(csv_path), job.ALL_STRINGS if strings else None)
    )
    prebuild_s = time.perf_counter() - t0
    client = ddb.client(env, "dynamodb", max_pool=threads + 2, fast=True)
    with _Phase() as phase:
        push_bodies(client, table, bodies, threads)
    return _result(phase, rows, threads=threads, strings=strings, prebuild_s=prebuild_s)


# --- (3) awswrangler ---------------------------------------------------------------------------


def awswrangler_put_csv(env: dict[str, str], csv_path: str, table: str) -> dict[str, Any]:
    """``wr.dynamodb.put_csv`` with its defaults (threads = os.cpu_count()), every column read as text.

    Its defaults cannot load this file: pandas reads a numeric column with gaps (``dep_time``) as
    float64, and boto3's serializer refuses floats ("Float types are not supported. Use Decimal
    types instead"). ``dtype=str`` is the one-argument fix a user would reach for; gaps are still
    dropped (``dropna``), the rest is written as strings.
    """
    import awswrangler as wr

    wr.config.dynamodb_endpoint_url = env["AWS_ENDPOINT_URL"]
    session = ddb.session(env)
    rows = _count_rows(Path(csv_path))
    with _Phase() as phase:
        wr.dynamodb.put_csv(path=csv_path, table_name=table, boto3_session=session, dtype=str)
    return _result(phase, rows)


# --- (4) boto3 Table.batch_writer() in one loop (the seeds' approach) -------------------------


def boto3_batch_writer(env: dict[str, str], csv_path: str, table: str) -> dict[str, Any]:
    """csv.DictReader → ``batch_writer().put_item`` on one thread; every value a string.

    Empty cells are left off the item (DynamoDB would accept empty strings; leaving them off
    gives the same attribute set as the other contenders).
    """
    resource = ddb.session(env).resource("dynamodb", endpoint_url=env["AWS_ENDPOINT_URL"])
    rows = 0
    with (
        _Phase() as phase,
        open(csv_path, newline="", encoding="utf-8") as handle,
        resource.Table(table).batch_writer() as writer,
    ):
        for row in csv.DictReader(handle):
            writer.put_item(Item={k: v for k, v in row.items() if v != ""})
            rows += 1
    return _result(phase, rows)


# --- (5) DynamoDB ImportTable from S3 ----------------------------------------------------------


def _import_into_new_table(
    client: Any, bucket: str, prefix: str, table: str, **formats: Any
) -> dict[str, Any]:
    """ImportTable of ``s3://bucket/prefix`` into a new table keyed like the bench's tables,
    waited for; its description."""
    reply = client.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": prefix},
        TableCreationParameters={
            "TableName": table,
            "KeySchema": [{"AttributeName": ddb.HASH_KEY, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": ddb.HASH_KEY, "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
        **formats,
    )
    return ddb.wait_import(client, reply["ImportTableDescription"]["ImportArn"])


def import_table(env: dict[str, str], bucket: str, prefix: str, table: str) -> dict[str, Any]:
    """ImportTable (CSV, header line) into a new table; waits for the import to finish."""
    client = ddb.client(env, "dynamodb")
    with _Phase() as phase:
        csv_format = {"InputFormat": "CSV", "InputFormatOptions": {"Csv": {"Delimiter": ","}}}
        desc = _import_into_new_table(
            client, bucket, prefix, table, InputCompressionType="NONE", **csv_format
        )
    return _result(
        phase,
        int(desc.get("ImportedItemCount", 0)),
        import_status=desc["ImportStatus"],
        processed_item_count=int(desc.get("ProcessedItemCount", 0)),
        imported_item_count=int(desc.get("ImportedItemCount", 0)),
        error_count=int(desc.get("ErrorCount", 0)),
        failure=desc.get("FailureMessage"),
    )


# --- (5b) our import path: the job stages typed DynamoDB JSON, then ImportTable, reconciled ---


def csv2ddb_import(
    env: dict[str, str], bucket: str, key: str, table: str, run_id: str, job_args: dict[str, str]
) -> dict[str, Any]:
    """What the DAG's import path does for a first load: the job (``--load_method import``)
    stages gzip'd DynamoDB JSON, ImportTable creates the table from it, and the import's counters
    must equal the manifest's ``rows_written`` with no errors. Timed in two parts."""
    import resource
    import subprocess
    import sys

    client = ddb.client(env, "dynamodb")
    s3 = ddb.client(env, "s3")
    argv = [sys.executable, str(job.JOB_PATH), "--source_bucket", bucket, "--source_key", key]
    argv += ["--table", table, "--run_id", run_id, "--load_method", "import"]
    argv += [arg for k, v in job_args.items() for arg in (f"--{k}", v)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with _Phase() as staging:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    job_cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=f"manifests/{run_id}.json")["Body"].read())
    location = manifest["staging"]["location"]
    prefix = location.split("/", 3)[3]
    staged = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    with _Phase() as importing:
        desc = _import_into_new_table(
            client, bucket, prefix, table, InputFormat="DYNAMODB_JSON", InputCompressionType="GZIP"
        )
    imported = int(desc.get("ImportedItemCount", 0))
    return {
        "rows": manifest["rows_read"],
        "phase_wall_s": staging.wall_s + importing.wall_s,
        "phase_cpu_s": job_cpu_s + staging.cpu_s + importing.cpu_s,  # the job is a child process
        "staging_cpu_s": round(job_cpu_s, 2),
        "staging_s": round(staging.wall_s, 2),
        "import_s": round(importing.wall_s, 2),
        "staged_bytes": sum(o["Size"] for o in staged),
        "staged_parts": len(staged),
        "rows_written": manifest["rows_written"],
        "import_status": desc["ImportStatus"],
        "imported_item_count": imported,
        "error_count": int(desc.get("ErrorCount", 0)),
        "reconciled": desc["ImportStatus"] == "COMPLETED"
        and imported == manifest["rows_written"]
        and int(desc.get("ErrorCount", 0)) == 0,
    }


# --- (6) our loader's transform only: parse, type, hash, dedupe; no writes ---------------------


def transform_only(env: dict[str, str], csv_path: str) -> dict[str, Any]:
    """The job's own row pipeline over the whole file, items built and dropped, nothing sent."""
    with _Phase() as phase:
        stats = job.transform(Path(csv_path))
    return _result(phase, stats["rows_read"], **stats)


# --- (7) the processed zone's cost: the job with the zone off, then on -------------------------


def processed_zone_load(
    env: dict[str, str],
    engine: str,
    python: str,
    bucket: str,
    key: str,
    table: str,
    run_id: str,
    processed: bool,
    job_args: dict[str, str],
    spark_cores: int,
) -> dict[str, Any]:
    """One load by ``engine``'s job script, run as a process as Glue runs it, with
    ``--processed true|false``: its wall and process-tree CPU (a Spark job's JVM and Python workers
    included, ``TreeCpu``), its manifest's own seconds and zone figures, and the zone read back.

    Read back, because the manifest's ``processed.rows`` is the job's own claim: the parts under the
    zone's location are counted with pyarrow (rows of this run's ``load_run_id``), then deleted so
    the emulator's memory does not pile up. With the zone off, nothing may be under the table's
    processed prefix.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from csv2ddb_core.processed import PROCESSED_PREFIX, clear_prefix, table_root

    argv = job.engine_argv(python, engine, bucket, key, table, run_id, spark_cores)
    argv += ["--processed", "true" if processed else "false"]
    argv += [arg for k, v in job_args.items() for arg in (f"--{k}", v)]
    run = run_script(argv)  # its log: the worker's stderr
    if run.returncode != 0:
        raise RuntimeError(f"{engine} job exited {run.returncode} (its log is above)")
    out, cpu, wall = run.out, run.cpu_s, run.wall_s
    manifest = json.loads(out)
    zone = manifest.get("processed")
    s3 = ddb.client(env, "s3")
    if zone and zone.get("location"):
        zone_bucket, _, prefix = zone["location"].removeprefix("s3://").partition("/")
    else:
        zone_bucket, prefix = bucket, table_root(PROCESSED_PREFIX, table)
    listed = s3.list_objects_v2(Bucket=zone_bucket, Prefix=prefix).get("Contents", [])
    parquet_rows = run_rows = 0
    for obj in listed:
        body = s3.get_object(Bucket=zone_bucket, Key=obj["Key"])["Body"].read()
        runs = pq.read_table(pa.BufferReader(body), columns=["load_run_id"]).column("load_run_id")
        parquet_rows += len(runs)
        run_rows += int(pc.sum(pc.equal(runs, run_id)).as_py() or 0)
    clear_prefix(s3, zone_bucket, prefix)
    return {
        "rows": manifest["rows_read"],
        "phase_wall_s": wall,
        "phase_cpu_s": cpu,
        "job_peak_rss_mb": manifest.get("peak_rss_mb"),  # the job's own (Spark: the driver's)
        "status": manifest["status"],
        "rows_written": manifest["rows_written"],
        "load_s": manifest["seconds"],
        "zone": zone,
        "parquet_files": len(listed),
        "parquet_rows": parquet_rows,
        "parquet_rows_of_run": run_rows,
        "spark": manifest.get("spark"),
    }


def _count_rows(path: Path) -> int:
    with open(path, newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


CONTENDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "ceiling": ceiling,
    "awswrangler": awswrangler_put_csv,
    "batch_writer": boto3_batch_writer,
    "import_table": import_table,
    "csv2ddb_import": csv2ddb_import,
    "transform_only": transform_only,
    "processed_zone_load": processed_zone_load,
}
