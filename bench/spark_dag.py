"""All 336,776 flights through the local ``csv2ddb_load`` DAG with ``engine=spark``, verified.

    .venv/bin/python -m bench.spark_dag [--keep]

What runs: a fresh emulator on a free loopback port (csv2ddb_dev.emulator), the csv2ddb stack
bootstrapped on it and the flights file uploaded (bench.dag_run.prepare: its trigger Lambda is a
no-op, so the upload starts no second run), then one ``dag.test()`` of csv2ddb_load with conf
``engine: spark`` and ``load_method: batch``: ensure table, the guarded GlueJobOperator, the
emulator runs glue/csv2ddb_spark_job.py as a process (local[2,4] Spark), the key-list count check
against the table, the audit record. The run passes only when the audit record says ``verified``
with 336,776 items counted.

Printed and written to ``.cache/bench/spark_dag.json``: the verified count, the DAG run's wall
seconds, the Glue job's seconds (the job run as Glue reports it, StartedOn to CompletedOn, which
includes starting Spark; and the load itself, from its manifest), rows/s of each, the manifest's
Spark figures (splits, seconds per pass) and the task durations. Run in the project venv (it has
Airflow). Takes several minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from csv2ddb_dev.datasets import FLIGHTS_ROWS, write_flights_csv
from csv2ddb_dev.emulator import start_emulator
from csv2ddb_dev.paths import REPO_ROOT

from bench.dag_run import DAG_ID, airflow_home_env, check_of, manifest_of, prepare, task_durations
from bench.measure import self_cpu_seconds

OUT = REPO_ROOT / ".cache" / "bench" / "spark_dag.json"
CONF = {"engine": "spark", "load_method": "batch"}  # a new table would otherwise be imported


def run_spark_dag(work: Path, csv_path: Path) -> dict[str, Any]:
    """Bootstrap, upload, then time one dag.test() of csv2ddb_load with engine=spark."""
    home = work / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    endpoint, region = os.environ["AWS_ENDPOINT_URL"], os.environ["AWS_DEFAULT_REGION"]
    os.environ.update(airflow_home_env(home, endpoint, region))
    os.environ["CSV2DDB_PREFIX"] = f"sdag{uuid.uuid4().hex[:8]}"
    from csv2ddb.aws import client
    from csv2ddb.history import audit
    from csv2ddb.settings import load_settings

    settings = load_settings()
    key = f"{settings.raw_prefix}bench/{csv_path.name}"
    t0 = time.perf_counter()
    prepare(settings, csv_path, key, work)
    prepare_s = time.perf_counter() - t0

    from airflow.configuration import conf
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=conf.get("core", "dags_folder"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    cpu0, wall0 = self_cpu_seconds(), time.perf_counter()
    dag_run = bag.get_dag(DAG_ID).test(run_conf={"bucket": settings.bucket, "key": key, **CONF})
    dag_s, dag_cpu_s = time.perf_counter() - wall0, self_cpu_seconds() - cpu0
    tasks = task_durations(dag_run)
    if str(dag_run.state) != "success":
        raise RuntimeError(f"DAG run {dag_run.run_id} ended {dag_run.state}: {tasks}")

    manifest = manifest_of(settings, dag_run.run_id, key)
    check = check_of(settings, dag_run.run_id)
    (record,) = audit.records_of_dag_run(client(settings, "dynamodb"), settings.audit_table, dag_run.run_id)
    glue_run_s = check["glue_run_s"]
    return {
        "rows": FLIGHTS_ROWS,
        "verified": record.get("status") == "verified" and record.get("items_counted") == FLIGHTS_ROWS,
        "audit_status": record.get("status"),
        "items_counted": record.get("items_counted"),
        "rows_read": manifest["rows_read"],
        "rows_written": manifest["rows_written"],
        "engine": manifest.get("engine"),
        "dag_run_id": dag_run.run_id,
        "dag_run_s": round(dag_s, 2),
        "dag_rows_per_s": round(FLIGHTS_ROWS / dag_s, 1),
        "dag_process_cpu_s": round(dag_cpu_s, 2),
        "glue_run_s": glue_run_s,
        "glue_rows_per_s": round(FLIGHTS_ROWS / glue_run_s, 1) if glue_run_s else None,
        "load_s": manifest["seconds"],
        "load_rows_per_s": manifest.get("rows_per_second"),
        "spark": manifest.get("spark"),
        "peak_rss_mb": manifest.get("peak_rss_mb"),
        "count_method": check.get("count_method"),
        "check_s": check.get("check_s"),
        "keys_checked": check.get("keys_checked"),
        "prepare_s": round(prepare_s, 2),
        "tasks": tasks,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spark_dag", description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the work directory (emulator state, logs)")
    parser.add_argument("--out", type=Path, default=OUT)
    opts = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="spark-dag-", dir=REPO_ROOT / ".cache"))
    emulator = start_emulator(work / "ministack")
    try:
        os.environ.update(emulator.client_env())
        for leak in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            os.environ.pop(leak, None)
        result = run_spark_dag(work, write_flights_csv(work / "flights.csv"))
    finally:
        emulator.stop()
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(
        f"engine=spark via csv2ddb_load: {result['items_counted']:,} items counted "
        f"({'VERIFIED' if result['verified'] else 'NOT VERIFIED: ' + str(result['audit_status'])}); "
        f"DAG run {result['dag_run_s']:.1f} s ({result['dag_rows_per_s']:,.0f} rows/s); "
        f"Glue job run {result['glue_run_s'] or 0:.1f} s ({result['glue_rows_per_s'] or 0:,.0f} rows/s); "
        f"load {result['load_s']:.1f} s ({result['load_rows_per_s'] or 0:,.0f} rows/s); "
        f"Spark passes {result['spark'] and result['spark'].get('seconds')}; written to {opts.out}"
    )
    return 0 if result["verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
