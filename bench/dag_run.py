"""The DAG contender: the same file loaded once through the whole ``csv2ddb_load`` DAG.

Run by the harness in the Airflow virtualenv (the bench venv has no Airflow)::

    .venv/bin/python -m bench.dag_run RESULT_JSON KWARGS_JSON

Before the clock: a migrated SQLite Airflow home, the csv2ddb stack bootstrapped on the bench's
emulator under its own prefix (its trigger Lambda swapped for a no-op, so the upload does not
start a second run), and the file uploaded to ``raw/``. Timed: ``dag.test()`` of csv2ddb_load for
that object, in this process: ensure table, the Glue job run by the emulator (the same script),
the count check (the load's key list), the audit record. Wall time minus the Glue job's seconds is
the orchestration overhead; the per-task durations say where it goes. Two job figures: the load
itself (its manifest's seconds) and the Glue job run as Glue reports it (StartedOn to CompletedOn,
which includes starting the job's process); the issue's target divides by the latter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.measure import self_cpu_seconds

DAG_ID = "csv2ddb_load"
DAG_LOAD_METHOD = "batch"
# The contender measures the Glue job through the DAG: named, so `auto` does not load a small
# slice inline (CSV2DDB_INLINE_MAX_BYTES) and leave no Glue run to time.
DAG_ENGINE = "pythonshell"
NOOP_HANDLER = 'def handler(event, context):\n    return {"records": len(event.get("Records", []))}\n'


def airflow_home_env(home: Path, endpoint_url: str, region: str) -> dict[str, str]:
    """Variables that must be set before Airflow is imported: its home, DAGs and aws_default."""
    from csv2ddb_dev.airflow_runner import aws_connection_uri
    from csv2ddb_dev.paths import REPO_ROOT

    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW_CONN_AWS_DEFAULT": aws_connection_uri(endpoint_url, region),
    }


def prepare(settings: Any, csv_path: Path, key: str, work_dir: Path) -> None:
    """Migrate the Airflow DB, bootstrap the stack, upload the file (all outside the clock)."""
    from csv2ddb.aws import client
    from csv2ddb.bootstrap import Sources, create_stack

    migrate = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        capture_output=True,
        text=True,
        check=False,
    )
    if migrate.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{migrate.stdout[-2000:]}\n{migrate.stderr[-2000:]}")
    lambda_dir = work_dir / "noop-lambda"
    lambda_dir.mkdir(parents=True, exist_ok=True)
    (lambda_dir / "trigger_dag.py").write_text(NOOP_HANDLER)
    create_stack(settings, sources=Sources(lambda_dir=lambda_dir))
    client(settings, "s3").upload_file(str(csv_path), settings.bucket, key)


def task_durations(dag_run: Any) -> dict[str, dict[str, Any]]:
    tasks = {}
    for ti in dag_run.get_task_instances():
        name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        seconds = (ti.end_date - ti.start_date).total_seconds() if ti.start_date and ti.end_date else None
        tasks[name] = {"state": str(ti.state), "seconds": round(seconds, 2) if seconds is not None else None}
    return tasks


def manifest_of(settings: Any, dag_run_id: str, key: str) -> dict[str, Any]:
    """The Glue job's manifest for this DAG run and file (named by the load's run id)."""
    from csv2ddb.aws import client
    from csv2ddb_core.contract import load_run_id

    manifest_key = f"{settings.manifests_prefix}{load_run_id(dag_run_id, settings.bucket, key)}.json"
    body = client(settings, "s3").get_object(Bucket=settings.bucket, Key=manifest_key)["Body"].read()
    return json.loads(body)


def run_dag(prefix: str, csv_path: str, work_dir: str) -> dict[str, Any]:
    """Prepare, then time one dag.test() run of csv2ddb_load for the uploaded file."""
    work = Path(work_dir)
    home = work / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.update(airflow_home_env(home, os.environ["AWS_ENDPOINT_URL"], region))
    os.environ["CSV2DDB_PREFIX"] = prefix
    # The batch path (Glue job BatchWriteItem -> count check), the one the "before" row measured:
    # into a new table the default "auto" would stage and ImportTable instead (bench.modes).
    os.environ.setdefault("CSV2DDB_LOAD_METHOD", DAG_LOAD_METHOD)
    from csv2ddb.settings import load_settings

    settings = load_settings()
    key = f"{settings.raw_prefix}bench/{Path(csv_path).name}"
    t0 = time.perf_counter()
    prepare(settings, Path(csv_path), key, work)
    prepare_s = time.perf_counter() - t0

    from airflow.configuration import conf
    from airflow.dag_processing.dagbag import DagBag

    cpu0, wall0 = self_cpu_seconds(), time.perf_counter()
    bag = DagBag(dag_folder=conf.get("core", "dags_folder"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag_run = bag.get_dag(DAG_ID).test(run_conf={"bucket": settings.bucket, "key": key, "engine": DAG_ENGINE})
    wall, cpu = time.perf_counter() - wall0, self_cpu_seconds() - cpu0

    tasks = task_durations(dag_run)
    if str(dag_run.state) != "success":
        raise RuntimeError(f"DAG run {dag_run.run_id} ended {dag_run.state}: {tasks}")
    manifest = manifest_of(settings, dag_run.run_id, key)
    glue_s = manifest["seconds"]
    check = check_of(settings, dag_run.run_id)
    return {
        "rows": manifest["rows_read"],
        "phase_wall_s": wall,
        "phase_cpu_s": cpu,
        "prepare_s": round(prepare_s, 2),
        "dag_run_id": dag_run.run_id,
        "dag_state": str(dag_run.state),
        "table": settings.table,
        "tasks": tasks,
        "glue_job_s": glue_s,
        "glue_rows_per_s": manifest.get("rows_per_second"),
        "glue_peak_rss_mb": manifest.get("peak_rss_mb"),
        "orchestration_s": round(wall - glue_s, 2),
        **check,
        "dag_to_glue_run": round(wall / check["glue_run_s"], 3) if check.get("glue_run_s") else None,
        "manifest": manifest,
    }


def check_of(settings: Any, dag_run_id: str) -> dict[str, Any]:
    """The run's audit record figures of its count check, and its Glue job run's own seconds."""
    from csv2ddb.aws import client
    from csv2ddb.history import audit

    (record,) = audit.records_of_dag_run(client(settings, "dynamodb"), settings.audit_table, dag_run_id)
    run = client(settings, "glue").get_job_run(
        JobName=record["glue_job_name"], RunId=record["glue_job_run_id"]
    )
    started, completed = run["JobRun"].get("StartedOn"), run["JobRun"].get("CompletedOn")
    return {
        "count_method": record.get("count_method"),
        "check_s": record.get("check_seconds"),
        "keys_checked": record.get("keys_checked"),
        "glue_run_s": (completed - started).total_seconds() if started and completed else None,
    }


def main(argv: list[str]) -> int:
    out_path, kwargs_json = argv
    result = run_dag(**json.loads(kwargs_json))
    Path(out_path).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
