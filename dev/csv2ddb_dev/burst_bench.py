"""``python -m csv2ddb_dev.burst_bench``: a burst of small files through the real event path, measured.

A fresh emulator and a fresh local Airflow (PostgreSQL, scheduler, LocalExecutor) on free loopback
ports, the stack bootstrapped, then ``--files`` files of ``--rows`` rows uploaded at once under
``raw/``. Reported: files, DAG runs they became, Glue job runs, seconds from the first upload until
every file was in a run (and, with ``--load``, until every run finished), and which components are
alive at the end. Everything it starts it stops (by process group), also on failure.

``--load`` unpauses csv2ddb_load so the runs execute; that needs a load DAG that reads
``conf.objects`` (docs/events.md). Without it the runs are created and stay queued: the event path
alone is measured. The issue's goal: a burst of 1,000 events makes at most 20 DAG runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from csv2ddb.bootstrap import create_stack, delete_stack
from csv2ddb.settings import load_settings

from csv2ddb_dev.airflow_runner import start_airflow
from csv2ddb_dev.burst import (
    BURST_DAG_ID,
    BURST_PREFIX,
    all_keys_in_runs,
    deploy_burst_dataset,
    queue_depth,
    runs_seen,
    small_csv,
    upload,
    wait_for,
)
from csv2ddb_dev.emulator import start_emulator

TIMEOUT = 3600.0


def measure(files: int, rows: int, load: bool, workdir: Path) -> dict[str, Any]:
    emulator = start_emulator(workdir / "emulator")
    airflow = None
    env = emulator.client_env()
    os.environ.update(env)  # the bootstrap's and this script's boto3 clients: the emulator
    datasets = deploy_burst_dataset(workdir / "datasets")
    os.environ.update(datasets)  # the routing table the bootstrap publishes: the burst dataset
    settings = load_settings(env, prefix=f"bench{uuid.uuid4().hex[:6]}")
    try:
        airflow = start_airflow(
            workdir / "airflow", aws_env=env, extra_env={"CSV2DDB_PREFIX": settings.prefix, **datasets}
        )
        settings = dataclasses.replace(settings, airflow_api_url=airflow.url)
        create_stack(settings, env=airflow.trigger_secret_env())
        api = airflow.api()
        api.wait_for_dag(BURST_DAG_ID, timeout=300)
        if load:
            api.unpause_dag(BURST_DAG_ID)
        import boto3

        session = boto3.Session(region_name=settings.region)
        s3, sqs, glue = (session.client(n, endpoint_url=emulator.endpoint_url) for n in ("s3", "sqs", "glue"))
        queue_url = sqs.get_queue_url(QueueName=f"{settings.prefix}-events")["QueueUrl"]
        burst = [(f"{BURST_PREFIX}bench/part-{i:05d}.csv", small_csv(i, rows)) for i in range(files)]
        started = time.monotonic()
        upload_seconds = upload(s3, settings.bucket, burst)
        keys = {key for key, _ in burst}
        wait_for("every file in a DAG run", all_keys_in_runs(api, BURST_DAG_ID, keys), TIMEOUT)
        in_runs_seconds = time.monotonic() - started
        wait_for(
            "the events queue drained", lambda: True if queue_depth(sqs, queue_url) == 0 else None, TIMEOUT
        )
        seen = runs_seen(api, BURST_DAG_ID).from_events()
        finished_seconds = None
        if load:

            def all_finished() -> bool | None:
                states = [api.get_dag_run(BURST_DAG_ID, run_id)["state"] for run_id in seen.runs]
                return True if all(s in ("success", "failed") for s in states) else None

            wait_for("every run finished", all_finished, TIMEOUT, poll=5.0)
            finished_seconds = time.monotonic() - started
        glue_runs = len(glue.get_job_runs(JobName=settings.glue.job_name).get("JobRuns", []))
        alive = airflow.running() | {"emulator": emulator.is_healthy()}
        counts = seen.key_counts()
        return {
            "files": files,
            "rows_per_file": rows,
            "dag_runs": len(seen.runs),
            "files_per_run": sorted(len(r["conf"]["objects"]) for r in seen.runs.values()),
            "files_in_more_than_one_run": sorted(k for k, n in counts.items() if n > 1),
            "glue_job_runs": glue_runs,
            "upload_seconds": round(upload_seconds, 1),
            "seconds_until_every_file_in_a_run": round(in_runs_seconds, 1),
            "seconds_until_every_run_finished": None
            if finished_seconds is None
            else round(finished_seconds, 1),
            "runs_executed": load,
            "components_alive": alive,
        }
    finally:
        delete_stack(settings)
        if airflow is not None:
            airflow.stop()
        emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csv2ddb_dev.burst_bench", description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--load", action="store_true", help="unpause csv2ddb_load: the runs execute")
    parser.add_argument("--out", type=Path, help="also write the figures here (JSON)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="csv2ddb-burst-") as tmp:
        figures = measure(args.files, args.rows, args.load, Path(tmp))
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    ok = not figures["files_in_more_than_one_run"] and all(figures["components_alive"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
