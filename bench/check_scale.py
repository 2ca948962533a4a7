"""The count check against the table's size: one file loaded into an empty table, and into a table
that already holds 3x as many other items; each load then checked exactly as the DAG checks it
(``csv2ddb.load.counts.verify_load``, method ``keys``: the key list, parallel BatchGetItem).

The check reads the load's keys, never the table, so the two check times should be about equal:
the ratio (full ÷ empty) is the figure. Then the load is rolled back out of the fuller table
(``csv2ddb.history.rollback``, the DAG's and the CLI's code), timed, and every other item must stay.
Run by the harness as a child of the bench venv::

    python -m bench.check_scale RESULT_JSON KWARGS_JSON

Outside the clocks: the loads themselves (the Glue job script as Glue runs it); the filler is the
same rows 3 times over with a ``copy`` column (distinct ids), written as strings, which the
emulator stores for a third of the CPU of typed items.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from csv2ddb.history.rollback import roll_back
from csv2ddb.load.counts import BY_KEYS, verify_load
from csv2ddb.settings import load_settings
from csv2ddb.tables import audit_table_spec, ensure_table

from bench import ddb, job
from bench.make_big_file import write_copies
from bench.s3_inputs import BUCKET

FILL_COPIES = 3
FILL_THREADS = "16"


def filler_csv(source: Path, copies: int = FILL_COPIES) -> Path:
    """``copies`` × the source's rows, each with a ``copy`` column: distinct ids (cached)."""
    dest = source.with_name(f"{source.stem}.x{copies}.csv")
    if not dest.exists():
        write_copies(functools.partial(source.open, "rb"), dest, copies)
    return dest


def run_job(env: dict[str, str], key: str, table: str, run_id: str, *extra: str) -> dict[str, Any]:
    """The Glue job script on ``s3://BUCKET/key`` into ``table``; its manifest (it must succeed)."""
    argv = [sys.executable, str(job.JOB_PATH), "--source_bucket", BUCKET, "--source_key", key]
    argv += ["--table", table, "--run_id", run_id, *extra]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"job {run_id} failed ({done.returncode}): {done.stderr[-2000:]}")
    manifest = json.loads(done.stdout)
    if manifest["status"] != "succeeded":
        raise RuntimeError(f"job {run_id}: {manifest.get('error')}")
    return manifest


def timed_check(client: Any, s3: Any, manifest: dict[str, Any], key: str, threads: int) -> dict[str, Any]:
    """The DAG's own check of one load, timed."""
    load = {
        "run_id": manifest["run_id"],
        "bucket": BUCKET,
        "key": key,
        "source_uri": f"s3://{BUCKET}/{key}",
        "table": manifest["table"],
    }
    started = time.perf_counter()
    result = verify_load(manifest, load, client, "bench", s3=s3, method=BY_KEYS, workers=threads)
    seconds = time.perf_counter() - started
    if not result.ok:
        raise RuntimeError(f"check of {manifest['run_id']} failed: {result.as_dict()}")
    return {
        "seconds": round(seconds, 3),
        "keys": result.keys_checked,
        "keys_per_s": round(result.keys_checked / seconds),
    }


def timed_rollback(
    env: dict[str, str], client: Any, s3: Any, manifest: dict[str, Any], table: str, threads: int, tag: str
) -> dict[str, Any]:
    """Roll the load back out of the fuller table (``csv2ddb.history.rollback``, what the DAG and CLI run),
    timed; the other items must all stay."""
    settings = load_settings(env, prefix=f"bench{tag}", bucket=BUCKET, table=table)
    before = ddb.item_count(client, table)
    ensure_table(client, audit_table_spec(settings), delay_seconds=0.2)
    try:
        started = time.perf_counter()
        report = roll_back(
            s3, client, settings, manifest["run_id"], dag_run_id=f"bench-rollback-{tag}", workers=threads
        )
        seconds = time.perf_counter() - started
    finally:
        ddb.delete_table(client, settings.audit_table)
    after = ddb.item_count(client, table)
    if report.remaining or before - after != manifest["rows_written"]:
        raise RuntimeError(
            f"rollback left {report.remaining} items; table {before} -> {after}: {report.as_dict()}"
        )
    return {
        "seconds": round(seconds, 3),
        "deleted": report.deleted,
        "items_per_s": round(report.deleted / seconds),
        "table_items_before": before,
        "table_items_after": after,
    }


def run(env: dict[str, str], key: str, csv_path: str, threads: int = 8) -> dict[str, Any]:
    """Check the same load against an empty table and against a 3x-fuller one."""
    s3 = ddb.client(env, "s3")
    client = ddb.client(env, "dynamodb", max_pool=threads + 2)
    child_env = {**os.environ, **env}
    tag = uuid.uuid4().hex[:6]
    out: dict[str, Any] = {"threads": threads, "fill_copies": FILL_COPIES}

    empty = f"bench-check-empty-{tag}"
    ddb.create_table(client, empty)
    try:
        manifest = run_job(child_env, key, empty, f"check-empty-{tag}")
        out["empty"] = {
            "table_items": ddb.item_count(client, empty),
            **timed_check(client, s3, manifest, key, threads),
        }
    finally:
        ddb.delete_table(client, empty)

    filler = filler_csv(Path(csv_path))
    filler_key = f"check-scale/{filler.name}"
    ddb.upload(s3, filler, BUCKET, filler_key)
    full = f"bench-check-full-{tag}"
    ddb.create_table(client, full)
    try:
        fill_started = time.perf_counter()
        run_job(
            child_env, filler_key, full, f"check-fill-{tag}",
            "--type_map", json.dumps(job.ALL_STRINGS), "--write_concurrency", FILL_THREADS,
        )  # fmt: skip
        out["fill_seconds"] = round(time.perf_counter() - fill_started, 1)
        before = ddb.item_count(client, full)
        manifest = run_job(child_env, key, full, f"check-full-{tag}")
        out["full"] = {"table_items_before": before, "table_items": ddb.item_count(client, full)}
        out["full"] |= timed_check(client, s3, manifest, key, threads)
        out["rollback"] = timed_rollback(env, client, s3, manifest, full, threads, tag)
    finally:
        ddb.delete_table(client, full)
    out["ratio_full_to_empty"] = round(out["full"]["seconds"] / out["empty"]["seconds"], 3)
    return out


def main(argv: list[str]) -> int:
    out_path, kwargs_json = argv
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")
    env = {name: os.environ[name] for name in keys}
    Path(out_path).write_text(json.dumps(run(env, **json.loads(kwargs_json)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
