"""What checks and the conflict policy cost, measured on this machine (docs/checks.md):

1. flights (336,776 rows): the validation pass (``csv2ddb_core.load.validate``: stream from S3, build,
   dedupe, judge; no writes) with ten column checks ÷ the same pass without checks, alternated in
   one process (``--runs`` each, three by default; medians), against the emulator's S3.
2. a pizzaplace-like file (49,574 rows, ``id`` = the order): whole loads into the emulator's
   DynamoDB under each ``--on_conflict`` policy: figures, seconds, peak RSS.
3. ``unique`` on 5.7 M distinct values (the size of the 5.7 M-row file): the index's memory.

    .venv/bin/python -m tests.checks.measure [--runs N] [--skip-flights] [--skip-pizza] [--skip-unique]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
from csv2ddb_core.checks import RowChecks
from csv2ddb_core.clients import make_clients
from csv2ddb_core.keys import key_digest
from csv2ddb_core.load import run, validate
from csv2ddb_core.manifest import LoadResult, utc_now
from csv2ddb_core.options import parse_job_args
from csv2ddb_dev.datasets import write_flights_csv
from csv2ddb_dev.emulator import start_emulator

from tests.checks.pizza import pizzaplace_like

CARRIERS = ["9E", "AA", "AS", "B6", "DL", "EV", "F9", "FL", "HA", "MQ", "OO", "UA", "US", "VX", "WN", "YV"]
TEN_CHECKS = {
    "columns": {
        "year": {"not_null": True},
        "month": {"between": {"min": 1, "max": 12}},
        "day": {"between": {"min": 1, "max": 31}},
        "carrier": {"accepted_values": CARRIERS},
        "origin": {"accepted_values": ["EWR", "JFK", "LGA"]},
        "dest": {"matches": "^[A-Z]{3}$"},
        "tailnum": {"max_length": 6},
        "distance": {"between": {"min": 0, "max": 5000}},
        "time_hour": {"matches": r"^\d{4}-\d{2}-\d{2}T"},
        "flight": {"not_null": True},
    }
}


def argv(bucket: str, key: str, table: str, **extra: str) -> list[str]:
    out = [
        "--source_bucket",
        bucket,
        "--source_key",
        key,
        "--table",
        table,
        "--run_id",
        f"m-{uuid.uuid4().hex[:8]}",
    ]
    for name, value in extra.items():
        out += [f"--{name}", value]
    return out


def validation_seconds(bucket: str, key: str, **extra: str) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, this process's CPU seconds, figures) of one validation pass. The CPU time is
    the job's own work (the emulator's S3 is another process): on a machine shared with other
    test runs it is the steadier measure of what checks add."""
    args = parse_job_args(argv(bucket, key, "unused", **extra), env={})
    s3, _ = make_clients(args)
    result = LoadResult()
    began, cpu = time.perf_counter(), time.process_time()
    validate(args, s3, result, utc_now())
    return time.perf_counter() - began, time.process_time() - cpu, result.validation or {}


def flights_ratio(s3: Any, bucket: str, workdir: Path, runs: int = 3) -> dict[str, Any]:
    path = write_flights_csv(workdir / "flights.csv")
    s3.upload_file(str(path), bucket, "raw/flights.csv")
    checks = json.dumps(TEN_CHECKS)
    without: list[tuple[float, float]] = []
    with_checks: list[tuple[float, float]] = []
    for _ in range(runs):
        wall, cpu, figures = validation_seconds(bucket, "raw/flights.csv")
        without.append((wall, cpu))
        wall, cpu, checked = validation_seconds(
            bucket, "raw/flights.csv", checks=checks, reject_tolerance="1.0"
        )
        with_checks.append((wall, cpu))
    assert figures["rows_read"] == checked["rows_read"] == 336_776, (figures, checked)

    def ratio(i: int) -> float:
        return round(
            statistics.median(x[i] for x in with_checks) / statistics.median(x[i] for x in without), 3
        )

    return {
        "rows": figures["rows_read"],
        "rejected_by_checks": checked["rows_rejected"],
        "without_wall_cpu_s": [(round(w, 2), round(c, 2)) for w, c in without],
        "with_ten_checks_wall_cpu_s": [(round(w, 2), round(c, 2)) for w, c in with_checks],
        "ratio_wall": ratio(0),
        "ratio_cpu": ratio(1),
        "load_average_at_end": [round(x, 1) for x in os.getloadavg()],  # 1, 5, 15 minutes
    }


def pizza_figures(s3: Any, ddb: Any, bucket: str) -> list[dict[str, Any]]:
    s3.put_object(Bucket=bucket, Key="raw/pizzaplace.csv", Body=pizzaplace_like())
    out = []
    for policy in ("reject", "keep_first", "keep_last"):
        table = f"pizza-{policy.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        args = parse_job_args(argv(bucket, "raw/pizzaplace.csv", table, on_conflict=policy), env={})
        job_s3, job_ddb = make_clients(args)
        m = run(args, job_s3, job_ddb).to_dict()
        out.append(
            {
                "on_conflict": policy,
                "status": m["status"],
                "figures": [m["rows_read"], m["rows_written"], m["rows_rejected"], m["rows_duplicate"]],
                "duplicates": m["duplicates"],
                "key_by_default": m["key_by_default"],
                "nothing_written": m["nothing_written"],
                "seconds": m["seconds"],
                "peak_rss_mb": m["peak_rss_mb"],
                "error": (m["error"] or "")[:300] or None,
            }
        )
    return out


def unique_memory(values: int = 5_700_000) -> dict[str, Any]:
    """The ``unique`` index of one column holding ``values`` distinct values (what the 5.7 M-row
    file's unique column costs): 16-byte digests in one open-addressing table."""
    checks = RowChecks({"columns": {"v": {"unique": True}}}, ["v"])
    began = time.perf_counter()
    for i in range(values):
        assert checks.unique_failing([str(i)]) is None
    assert checks.unique_failing(["42"]) is not None
    return {
        "values": values,
        "index_mb": checks.unique_index_mb,
        "seconds": round(time.perf_counter() - began, 1),
        "digest_of_a_value_bytes": len(key_digest("x")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-pizza", action="store_true")
    parser.add_argument("--skip-unique", action="store_true")
    parser.add_argument("--skip-flights", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="flights passes with and without checks")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        emulator = start_emulator(Path(tmp) / "ministack")
        try:
            env = emulator.client_env()
            os.environ.update(env)
            session = boto3.Session(
                aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                region_name=env["AWS_DEFAULT_REGION"],
            )
            s3 = session.client("s3", endpoint_url=emulator.endpoint_url)
            ddb = session.client("dynamodb", endpoint_url=emulator.endpoint_url)
            bucket = f"measure-{uuid.uuid4().hex[:8]}"
            s3.create_bucket(Bucket=bucket)
            report: dict[str, Any] = {}
            if not opts.skip_flights:
                report["flights_ten_checks"] = flights_ratio(s3, bucket, Path(tmp), opts.runs)
                print(json.dumps(report, indent=2), flush=True)
            if not opts.skip_pizza:
                report["pizzaplace_like"] = pizza_figures(s3, ddb, bucket)
                print(json.dumps(report["pizzaplace_like"], indent=2), flush=True)
        finally:
            emulator.stop()
    if not opts.skip_unique:
        report["unique_5_7m"] = unique_memory()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
