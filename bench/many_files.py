"""``python -m bench.many_files``: many small files against one file of the same rows (issue 24).

One fresh emulator and one fresh local Airflow (PostgreSQL, scheduler, LocalExecutor) on free
loopback ports, the stack bootstrapped, then, side by side in one run:

- ``--files`` files x ``--rows`` rows under one prefix, loaded by ONE ``csv2ddb_load`` run, on each
  engine path a small file can take: ``auto`` (inline, in the worker) and ``pythonshell`` (Glue runs,
  grouped);
- the same rows as ONE file (the baseline), on the same two paths;
- the same number of files arriving as a burst of S3 events (S3 -> SQS -> trigger Lambda -> the burst
  dataset's DAG; ``auto``).

Each: wall seconds (the DAG runs' first start to last end; a burst: first upload to last end), CPU
seconds of every process the benchmark started (the machine is shared: wall seconds ride on others'
load, these do not) and the load average at its start and end, Glue job runs, Airflow task
instances, seconds per file, files verified. Writes
``docs/benchmarks-many-files.md`` (with the AWS cost projection per 1,000 files) and the figures as
JSON under ``.cache/bench/``. Everything it starts it stops (by process group), also on failure.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

from csv2ddb.bootstrap import create_stack, delete_stack
from csv2ddb.history import audit
from csv2ddb.settings import DAG_ID_LOAD, Settings, load_settings
from csv2ddb_dev.airflow_api import AirflowApi
from csv2ddb_dev.airflow_runner import start_airflow
from csv2ddb_dev.burst import (
    BURST_DAG_ID,
    BURST_PREFIX,
    all_keys_in_runs,
    deploy_burst_dataset,
    runs_seen,
    small_csv,
    upload,
    wait_for,
)
from csv2ddb_dev.emulator import start_emulator
from csv2ddb_dev.paths import REPO_ROOT

from bench.many_files_report import render

TIMEOUT = 7200.0
FILES_PREFIX = "raw/many/files/"
ONE_KEY = "raw/many/one/all.csv"
WARM_UP_KEY = "raw/many/warm-up.csv"
OUT_JSON = REPO_ROOT / ".cache" / "bench" / "many_files.json"
OUT_DOC = REPO_ROOT / "docs" / "benchmarks-many-files.md"
# One DAG run per scenario: (label, conf beside the table), each into its own table.
PREFIX_RUNS = (
    ("prefix, auto (inline)", {"prefix": FILES_PREFIX}),
    ("prefix, pythonshell (Glue groups)", {"prefix": FILES_PREFIX, "engine": "pythonshell"}),
    ("one file, auto", {"key": ONE_KEY}),
    ("one file, pythonshell (Glue)", {"key": ONE_KEY, "engine": "pythonshell"}),
)


def one_file(files: int, rows: int) -> bytes:
    """Every row of the ``files`` small files (same ids), under one header: the baseline."""
    bodies = [small_csv(i, rows).split(b"\n", 1) for i in range(files)]
    return bodies[0][0] + b"\n" + b"".join(body for _, body in bodies)


def total_entries(api: AirflowApi, dag_id: str, dag_run_id: str) -> int:
    q = urllib.parse.quote
    status, body = api.request(
        "GET", f"/api/v2/dags/{q(dag_id, safe='')}/dagRuns/{q(dag_run_id, safe='')}/taskInstances?limit=1"
    )
    if status != 200:
        raise RuntimeError(f"task instances of {dag_run_id}: HTTP {status} {body}")
    return int(body["total_entries"])


def task_seconds(api: AirflowApi, dag_id: str, dag_run_ids: list[str]) -> dict[str, dict[str, float]]:
    """Per task id (map indexes together): how many instances ran and their summed and longest
    durations, as Airflow records them: where a scenario's seconds went."""
    q = urllib.parse.quote
    out: dict[str, dict[str, float]] = {}
    for run_id in dag_run_ids:
        offset = 0
        while True:
            status, body = api.request(
                "GET",
                f"/api/v2/dags/{q(dag_id, safe='')}/dagRuns/{q(run_id, safe='')}/taskInstances"
                f"?limit=100&offset={offset}",
            )
            if status != 200:
                raise RuntimeError(f"task instances of {run_id}: HTTP {status} {body}")
            for ti in body["task_instances"]:
                if ti.get("duration") is None:
                    continue  # skipped: it never ran
                mine = out.setdefault(ti["task_id"], {"count": 0, "seconds": 0.0, "longest": 0.0})
                mine["count"] += 1
                mine["seconds"] = round(mine["seconds"] + float(ti["duration"]), 1)
                mine["longest"] = round(max(mine["longest"], float(ti["duration"])), 1)
            offset += len(body["task_instances"])
            if not body["task_instances"] or offset >= int(body["total_entries"]):
                break
    return out


def glue_run_count(glue: Any, settings: Settings) -> int:
    """Every run of the stack's Glue jobs (Python shell and Spark) so far."""
    count = 0
    for job in (settings.glue.job_name, settings.spark.job_name):
        request: dict[str, Any] = {"JobName": job, "MaxResults": 200}
        while True:
            page = glue.get_job_runs(**request)
            count += len(page.get("JobRuns", []))
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
    return count


def tree_cpu_seconds(emulator_pid: int | None = None) -> dict[str, float]:
    """CPU seconds (user + system, reaped children's included) of this process and every live process
    it started, split into the emulator's tree (``emulator_pid``: its server, its Lambda workers and
    Glue runs) and the rest (Airflow's components, their workers and tasks, its PostgreSQL, and this
    process). The machine is shared with other work, which stretches wall seconds but not these."""
    import psutil

    def used(proc: psutil.Process) -> float:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:  # ended between the listing and the read: its parent counts it
            return 0.0
        return t.user + t.system + t.children_user + t.children_system

    def tree(proc: psutil.Process) -> float:
        try:
            below = proc.children(recursive=True)
        except psutil.NoSuchProcess:
            return 0.0
        return used(proc) + sum(used(p) for p in below)

    me = psutil.Process()
    split = {"emulator": 0.0, "airflow": used(me)}
    for child in me.children():
        split["emulator" if child.pid == emulator_pid else "airflow"] += tree(child)
    return split


class Spent:
    """CPU seconds (:func:`tree_cpu_seconds`) and the load average over one scenario."""

    def __init__(self, emulator_pid: int | None) -> None:
        self.emulator_pid = emulator_pid
        self.cpu, self.load = tree_cpu_seconds(emulator_pid), os.getloadavg()[0]

    def figures(self) -> dict[str, Any]:
        now = tree_cpu_seconds(self.emulator_pid)
        split = {name: round(now[name] - self.cpu[name], 1) for name in now}
        return {
            "cpu_seconds": round(sum(split.values()), 1),
            "cpu_split": split,
            "load_average": [round(self.load, 1), round(os.getloadavg()[0], 1)],  # at start, at end
        }


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def verified(ddb: Any, settings: Settings, dag_run_ids: list[str]) -> tuple[int, set[str]]:
    """(verified records, engines they name) of these DAG runs, from the audit table."""
    records = [r for run in dag_run_ids for r in audit.records_of_dag_run(ddb, settings.audit_table, run)]
    ok = [r for r in records if r.get("status") == audit.STATUS_VERIFIED]
    return len(ok), {str(r.get("engine")) for r in ok}


def warm_up(api: AirflowApi, settings: Settings) -> None:
    """One small run on each path first, not measured: the stack's first task starts, DAG parse, table
    creation and first Glue run would otherwise be charged to whichever scenario runs first."""
    for n, engine in enumerate(("inline", "pythonshell")):
        run_id = f"manual__many-warm-up-{n}"
        conf = {"key": WARM_UP_KEY, "engine": engine, "table": f"{settings.prefix}-many-warm-up"}
        status, body = api.trigger_dag_run(DAG_ID_LOAD, run_id, conf)
        if status != 200:
            raise RuntimeError(f"trigger the warm-up: HTTP {status} {body}")
        api.wait_dag_run(DAG_ID_LOAD, run_id, timeout=TIMEOUT, poll=5.0)


def prefix_runs(
    api: AirflowApi, glue: Any, ddb: Any, settings: Settings, files: int, emulator_pid: int
) -> list[dict[str, Any]]:
    """The four one-run scenarios, one after the other (each has the machine to itself)."""
    warm_up(api, settings)
    results = []
    for n, (label, conf) in enumerate(PREFIX_RUNS):
        run_id = f"manual__many-{n}-{uuid.uuid4().hex[:6]}"
        before = glue_run_count(glue, settings)
        spent = Spent(emulator_pid)
        status, body = api.trigger_dag_run(
            DAG_ID_LOAD, run_id, {**conf, "table": f"{settings.prefix}-many-{n}"}
        )
        if status != 200:
            raise RuntimeError(f"trigger {label}: HTTP {status} {body}")
        run = api.wait_dag_run(DAG_ID_LOAD, run_id, timeout=TIMEOUT, poll=5.0)
        used = spent.figures()
        count, engines = verified(ddb, settings, [run_id])
        n_files = files if "prefix" in conf else 1
        wall = (when(run["end_date"]) - when(run["start_date"])).total_seconds()
        results.append(
            {
                "scenario": label,
                "state": run["state"],
                "files": n_files,
                "dag_runs": 1,
                "wall_seconds": round(wall, 1),
                "glue_job_runs": glue_run_count(glue, settings) - before,
                "task_instances": total_entries(api, DAG_ID_LOAD, run_id),
                "seconds_per_file": round(wall / n_files, 3),
                "files_verified": count,
                "engines": sorted(engines),
                "task_seconds": task_seconds(api, DAG_ID_LOAD, [run_id]),
                **used,
            }
        )
        print(json.dumps(results[-1]), flush=True)
    return results


def burst_run(
    api: AirflowApi,
    s3: Any,
    glue: Any,
    ddb: Any,
    settings: Settings,
    files: int,
    rows: int,
    emulator_pid: int,
) -> dict[str, Any]:
    """The same number of files as a burst of S3 events into the burst dataset's DAG."""
    api.unpause_dag(BURST_DAG_ID)
    before = glue_run_count(glue, settings)
    burst = [(f"{BURST_PREFIX}many/part-{i:05d}.csv", small_csv(i, rows)) for i in range(files)]
    started = dt.datetime.now(dt.UTC)
    spent = Spent(emulator_pid)
    upload_seconds = upload(s3, settings.bucket, burst)
    landed = dt.datetime.now(dt.UTC)  # the last file is in the bucket: the burst has happened
    seen = wait_for(
        "every file in a DAG run", all_keys_in_runs(api, BURST_DAG_ID, {k for k, _ in burst}), TIMEOUT
    )
    ids = list(seen.from_events().runs)

    def finished() -> list[dict[str, Any]] | None:
        runs = [api.get_dag_run(BURST_DAG_ID, run_id) for run_id in ids]
        return runs if all(r["state"] in ("success", "failed") for r in runs) else None

    runs = wait_for("every burst run finished", finished, TIMEOUT, poll=5.0)
    used = spent.figures()
    # Wall seconds as the baseline's: from the files being there to the loads' end. The baseline's
    # one file is uploaded before its run is triggered, so its upload is not in its figure; a burst's
    # 1,000 PUTs from this client are not either. What the event path adds after the last file landed
    # (S3 -> SQS, the trigger Lambda's collection window, the DAG runs' creation and queueing) is.
    ended = max(when(r["end_date"]) for r in runs)
    wall = (ended - landed).total_seconds()
    count, engines = verified(ddb, settings, ids)
    seen = runs_seen(api, BURST_DAG_ID).from_events()
    return {
        "scenario": "burst of S3 events, auto",
        "state": "success" if all(r["state"] == "success" for r in runs) else "failed",
        "files": files,
        "dag_runs": len(ids),
        "wall_seconds": round(wall, 1),
        "wall_from_first_upload": round((ended - started).total_seconds(), 1),
        "upload_seconds": round(upload_seconds, 1),
        "first_run_start_after_upload": round(
            (min(when(r["start_date"]) for r in runs) - landed).total_seconds(), 1
        ),
        "runs": sorted(
            (
                {
                    "files": len((r.get("conf") or {}).get("objects", [])),
                    "start_after_upload": round((when(r["start_date"]) - landed).total_seconds(), 1),
                    "end_after_upload": round((when(r["end_date"]) - landed).total_seconds(), 1),
                }
                for r in runs
            ),
            key=lambda r: r["start_after_upload"],
        ),
        "glue_job_runs": glue_run_count(glue, settings) - before,
        "task_instances": sum(total_entries(api, BURST_DAG_ID, run_id) for run_id in ids),
        "seconds_per_file": round(wall / files, 3),
        "files_verified": count,
        "engines": sorted(engines),
        "files_in_more_than_one_run": sorted(k for k, c in seen.key_counts().items() if c > 1),
        "task_seconds": task_seconds(api, BURST_DAG_ID, ids),
        **used,
    }


def measure(files: int, rows: int, workdir: Path) -> dict[str, Any]:
    emulator = start_emulator(workdir / "emulator")
    airflow = None
    env = emulator.client_env()
    os.environ.update(env)  # the bootstrap's and this script's boto3 clients: the emulator
    datasets = deploy_burst_dataset(workdir / "datasets")
    os.environ.update(datasets)
    settings = load_settings(env, prefix=f"many{uuid.uuid4().hex[:6]}")
    started = time.monotonic()
    try:
        airflow = start_airflow(
            workdir / "airflow", aws_env=env, extra_env={"CSV2DDB_PREFIX": settings.prefix, **datasets}
        )
        settings = dataclasses.replace(settings, airflow_api_url=airflow.url)
        create_stack(settings, env=airflow.trigger_secret_env())
        api = airflow.api()
        api.wait_for_dag(DAG_ID_LOAD, timeout=300)
        api.wait_for_dag(BURST_DAG_ID, timeout=300)
        import boto3

        session = boto3.Session(region_name=settings.region)
        s3, glue, ddb = (
            session.client(n, endpoint_url=emulator.endpoint_url) for n in ("s3", "glue", "dynamodb")
        )
        # The prefix files must not start event runs of their own: no notification while they land.
        s3.put_bucket_notification_configuration(Bucket=settings.bucket, NotificationConfiguration={})
        upload(
            s3,
            settings.bucket,
            [(f"{FILES_PREFIX}part-{i:05d}.csv", small_csv(i, rows)) for i in range(files)],
        )
        s3.put_object(Bucket=settings.bucket, Key=ONE_KEY, Body=one_file(files, rows))
        s3.put_object(Bucket=settings.bucket, Key=WARM_UP_KEY, Body=small_csv(files + 1, rows))
        api.unpause_dag(DAG_ID_LOAD)
        results = prefix_runs(api, glue, ddb, settings, files, emulator.pid)
        create_stack(settings, env=airflow.trigger_secret_env())  # repairs the notification
        results.append(burst_run(api, s3, glue, ddb, settings, files, rows, emulator.pid))
        print(json.dumps(results[-1]), flush=True)
        alive = airflow.running() | {"emulator": emulator.is_healthy()}
        return {
            "files": files,
            "rows_per_file": rows,
            "one_file_bytes": len(one_file(files, rows)),
            "inline_max_bytes": settings.load.inline_max_bytes,
            "group_max_files": settings.load.group_max_files,
            "inline_group_max_files": settings.load.inline_group_max_files,
            "results": results,
            "components_alive": alive,
            "bench_seconds": round(time.monotonic() - started, 1),
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "load_average": os.getloadavg(),
        }
    finally:
        delete_stack(settings)
        if airflow is not None:
            airflow.stop()
        emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.many_files", description=__doc__)
    parser.add_argument("--files", type=int, default=1000, help="files per scenario (default 1,000)")
    parser.add_argument("--rows", type=int, default=50, help="rows per file (default 50)")
    parser.add_argument("--doc", type=Path, default=OUT_DOC, help="the page to write")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="csv2ddb-many-") as tmp:
        figures = measure(args.files, args.rows, Path(tmp))
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps(figures, indent=2) + "\n")
    args.doc.write_text(render(figures))
    print(f"wrote {args.doc} and {OUT_JSON}")
    return 0 if all(r["files_verified"] == r["files"] for r in figures["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
