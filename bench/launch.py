"""How the harness starts each contender: its child's command, table, label and item shape.

In-process contenders (bench/contenders.py) run in a ``bench.worker`` child; the Glue job runs as
its own script with the arguments Glue gives it; the DAG runs in the Airflow virtualenv. Each
child is measured alone by ``Harness.measure``, against whichever server the harness talks to.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

from csv2ddb_dev.paths import REPO_ROOT

from bench import job
from bench.harness import Harness
from bench.measure import run_child
from bench.record import ENGINE_NAMES, STRINGS, TYPED, ZONE_CONTENDERS
from bench.s3_inputs import BUCKET

JOB_DEFAULT_CONCURRENCY = 8
AIRFLOW_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"  # the DAG contender needs Airflow
# Each engine's interpreter: the bench's own for the Python shell (as the csv2ddb_job rows), the
# project venv for Spark (pyspark lives there, beside Airflow, not in .venv-bench).
ENGINE_PYTHON = {"pythonshell": Path(sys.executable), "spark": AIRFLOW_PYTHON}
SPARK_LOCAL_CORES = 2  # the machine's cores: bench.spark_engine's fastest Spark


def worker_argv(name: str, out: Path, **kwargs: Any) -> list[str]:
    """A ``bench.worker`` child that runs contender ``name`` and writes its result to ``out``."""
    return [sys.executable, "-m", "bench.worker", name, str(out), json.dumps(kwargs)]


def transform_only(harness: Harness, dataset: dict[str, Any]) -> dict[str, Any]:
    """The job's row pipeline with no writes: what parsing, typing and hashing cost alone."""
    out = harness.run_dir / f"transform-{dataset['name']}.json"
    argv = worker_argv("transform_only", out, csv_path=str(dataset["path"]))
    return harness.measure("transform_only", "csv2ddb transform only", dataset, argv, None, result_path=out)


def ceiling(harness: Harness, dataset: dict[str, Any], threads: int, strings: bool = False) -> dict[str, Any]:
    """The loader's own items, pre-built and pre-encoded, pushed at ``threads``: the server's limit."""
    kind = " (every column a string)" if strings else ""
    label = f"ceiling: pre-built BatchWriteItem{kind}, {threads} threads"
    worker_kwargs = {"threads": threads, "strings": strings}
    item_types = STRINGS if strings else TYPED
    return _in_worker(harness, "ceiling", label, dataset, dataset["path"], threads, item_types, worker_kwargs)


# The last commit before the load core became a package (issue 10): its one-file job is the
# "before" of the loader-vs-ceiling ratio, run in the same benchmark as today's job.
ROUND1_COMMIT = "0633102"


def round1_job(run_dir: Path) -> Path:
    """The round-1 job script, taken from git history into the run's directory."""
    script = run_dir / f"csv2ddb_load_job-{ROUND1_COMMIT}.py"
    shown = subprocess.run(
        ["git", "show", f"{ROUND1_COMMIT}:glue/csv2ddb_load_job.py"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    )
    script.write_bytes(shown.stdout)
    return script


# The load core before issue 21's CPU work (the typed manifest is its only change since): its
# glue/ folder, script and core, is the "before" of the client CPU per row, run in the same benchmark.
PRE21_COMMIT = "f4bda77"


def job_at(run_dir: Path, commit: str) -> Path:
    """The job script of ``commit`` with its own load core beside it, from git history into the run's
    directory. Python puts a script's folder first on ``sys.path``, so that script imports its own
    ``csv2ddb_core``, not the installed one."""
    dest = run_dir / f"glue-{commit}"
    if not dest.exists():
        archive = subprocess.run(
            ["git", "archive", commit, "glue"], cwd=REPO_ROOT, capture_output=True, check=True
        )
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(dest, filter="data")
    return dest / "glue" / "csv2ddb_load_job.py"


def glue_job_pre21(harness: Harness, dataset: dict[str, Any], concurrency: int) -> dict[str, Any]:
    """The job as it was before issue 21 (``PRE21_COMMIT``), as contender ``csv2ddb_job_pre21``."""
    script = job_at(harness.run_dir, PRE21_COMMIT)
    label = f"csv2ddb Glue job before issue 21 ({PRE21_COMMIT}), write_concurrency {concurrency}"
    return glue_job(harness, dataset, concurrency, script=script, contender="csv2ddb_job_pre21", label=label)


def glue_job(
    harness: Harness,
    dataset: dict[str, Any],
    concurrency: int,
    strings: bool = False,
    script: Path | None = None,
    contender: str = "",
    label: str = "",
) -> dict[str, Any]:
    """The job script run directly; ``strings``: with ``--type_map {"*": "S"}``, as the peers write;
    ``script``: another version of the job (the round-1 one), as contender ``csv2ddb_job_before``
    unless ``contender`` and ``label`` name it."""
    table = harness.new_table("csv2ddb")
    job_args = dict(dataset["job_args"])
    if strings:
        job_args["type_map"] = json.dumps(job.ALL_STRINGS)
    run_id = f"bench-{uuid.uuid4().hex[:12]}"
    argv = [
        sys.executable,
        str(script or job.JOB_PATH),
        "--source_bucket",
        BUCKET,
        "--source_key",
        dataset["key"],
        "--table",
        table,
        "--run_id",
        run_id,
        "--write_concurrency",
        str(concurrency),
        *[arg for k, v in job_args.items() for arg in (f"--{k}", v)],
    ]
    kind = ", every column a string" if strings else ""
    if not label:
        label = f"csv2ddb Glue job (direct), write_concurrency {concurrency}{kind}"
        if script is not None:
            label = f"csv2ddb Glue job before the load core ({ROUND1_COMMIT}), write_concurrency"
            label += f" {concurrency}"
    if not contender:
        contender = "csv2ddb_job_before" if script is not None else "csv2ddb_job"
    record = harness.measure(
        contender,
        label,
        dataset,
        argv,
        table,
        threads=concurrency,
        expected_items=dataset["items"],
        item_types=STRINGS if strings else TYPED,
    )
    record["manifest"] = harness.manifest(run_id)
    return record


def _in_worker(
    harness: Harness,
    contender: str,
    label: str,
    dataset: dict[str, Any],
    csv_path: Path,
    threads: int | None,
    item_types: str,
    worker_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A contender of bench/contenders.py in a ``bench.worker`` child, into a fresh table."""
    table = harness.new_table(contender)
    out = harness.run_dir / f"{contender}-{item_types}-{dataset['name']}-{threads}.json"
    argv = worker_argv(contender, out, csv_path=str(csv_path), table=table, **(worker_kwargs or {}))
    return harness.measure(
        contender,
        label,
        dataset,
        argv,
        table,
        result_path=out,
        threads=threads,
        expected_items=dataset["items"],
        item_types=item_types,
    )


def awswrangler(harness: Harness, dataset: dict[str, Any]) -> dict[str, Any]:
    """A peer: awswrangler's ``put_csv`` on the file with the loader's ids."""
    label = "awswrangler wr.dynamodb.put_csv"
    return _in_worker(
        harness, "awswrangler", label, dataset, dataset["with_id_path"], os.cpu_count(), STRINGS
    )


def batch_writer(harness: Harness, dataset: dict[str, Any]) -> dict[str, Any]:
    """A peer: boto3's ``batch_writer`` in one loop, on the file with the loader's ids."""
    label = "boto3 Table.batch_writer(), one loop"
    return _in_worker(harness, "batch_writer", label, dataset, dataset["with_id_path"], 1, STRINGS)


def dag(harness: Harness, dataset: dict[str, Any]) -> dict[str, Any]:
    """The same file once through the whole csv2ddb_load DAG (``dag.test()``; see bench/dag_run.py).

    Runs in the Airflow virtualenv; the DAG's table is the stack's own (bootstrapped by the
    child before its clock starts), so it is not created here.
    """
    prefix = f"bdag{uuid.uuid4().hex[:8]}"
    out = harness.run_dir / f"dag-{dataset['name']}.json"
    kwargs = {"prefix": prefix, "csv_path": str(dataset["path"]), "work_dir": str(harness.run_dir / prefix)}
    argv = [str(AIRFLOW_PYTHON), "-m", "bench.dag_run", str(out), json.dumps(kwargs)]
    return harness.measure(
        "csv2ddb_dag",
        "csv2ddb_load DAG (dag.test, load_method batch): ensure table, Glue job, key-list count check, audit",
        dataset,
        argv,
        f"{prefix}-items",
        create_table=False,
        result_path=out,
        threads=JOB_DEFAULT_CONCURRENCY,
        expected_items=dataset["items"],
    )


def import_table(harness: Harness, dataset: dict[str, Any]) -> dict[str, Any]:
    """ImportTable from S3, its own counters reconciled with the source, as a user of it must."""
    table = harness.new_table("import")
    prefix = f"import/{dataset['name']}/"
    harness.upload(dataset["with_id_path"], prefix + "data.csv")
    out = harness.run_dir / f"import-{dataset['name']}.json"
    argv = worker_argv("import_table", out, bucket=BUCKET, prefix=prefix, table=table)
    record = harness.measure(
        "import_table",
        "DynamoDB ImportTable from S3",
        dataset,
        argv,
        table,
        create_table=False,
        result_path=out,
        expected_items=dataset["items"],
        item_types=STRINGS,
    )
    inner = record["inner"]
    record["reconciled"] = (
        inner.get("import_status") == "COMPLETED"
        and inner.get("imported_item_count") == dataset["rows"]
        and inner.get("error_count") == 0
    )
    record["verified"] = bool(record["verified"]) and record["reconciled"]
    return record


def csv2ddb_import(harness: Harness, dataset: dict[str, Any]) -> dict[str, Any]:
    """Our import path on a first load: the job stages typed DynamoDB JSON, ImportTable creates
    the table, its counters reconciled exactly with the manifest (what the DAG's import step does)."""
    table = harness.new_table("csv2ddb-import")
    out = harness.run_dir / f"csv2ddb-import-{dataset['name']}.json"
    run_id = f"bench-{uuid.uuid4().hex[:12]}"
    kwargs = {"bucket": BUCKET, "key": dataset["key"], "table": table, "run_id": run_id}
    argv = worker_argv("csv2ddb_import", out, job_args=dict(dataset["job_args"]), **kwargs)
    record = harness.measure(
        "csv2ddb_import",
        "csv2ddb import path: job stages DynamoDB JSON (gzip), ImportTable, reconciled",
        dataset,
        argv,
        table,
        create_table=False,
        result_path=out,
        expected_items=dataset["items"],
        item_types=TYPED,
    )
    record["reconciled"] = bool(record["inner"].get("reconciled"))
    record["verified"] = bool(record["verified"]) and record["reconciled"]
    record["manifest"] = harness.manifest(run_id)
    return record


def processed_zone(
    harness: Harness, dataset: dict[str, Any], engine: str, rounds: int = 1
) -> list[dict[str, Any]]:
    """The processed zone's cost for ``engine``: the same file loaded by its job with
    ``--processed false`` and with ``--processed true``, same arguments, each into a fresh table
    of the same settings, one right after the other; ``rounds`` pairs, in ABBA order (off, on, then
    on, off), so a drift in the machine's load weighs on both sides alike."""
    records = []
    for number in range(rounds):
        order = (False, True) if number % 2 == 0 else (True, False)
        records += [_zone_load(harness, dataset, engine, processed, number) for processed in order]
    return records


def _zone_load(
    harness: Harness, dataset: dict[str, Any], engine: str, processed: bool, number: int
) -> dict[str, Any]:
    """One load of the pair (``contenders.processed_zone_load`` in a worker child), then verified:
    the table's items as every row's, and the zone as ``zone_verified`` says."""
    contender = ZONE_CONTENDERS[engine]
    table = harness.new_table(contender)
    state = "on" if processed else "off"
    out = harness.run_dir / f"{contender}-{dataset['name']}-{number}-{state}.json"
    job_args = dict(dataset["job_args"])
    threads = None
    if engine == "pythonshell":  # as the csv2ddb_job rows; Spark keeps its own per-task writers
        threads = JOB_DEFAULT_CONCURRENCY
        job_args["write_concurrency"] = str(threads)
    kwargs = {
        "engine": engine,
        "python": str(ENGINE_PYTHON[engine]),
        "bucket": BUCKET,
        "key": dataset["key"],
        "table": table,
        "run_id": f"bench-{uuid.uuid4().hex[:12]}",
        "processed": processed,
        "job_args": job_args,
        "spark_cores": SPARK_LOCAL_CORES,
    }
    where = f" (local[{SPARK_LOCAL_CORES}])" if engine == "spark" else ""
    record = harness.measure(
        contender,
        f"csv2ddb {ENGINE_NAMES[engine]} job{where}, processed zone {state}",
        dataset,
        worker_argv("processed_zone_load", out, **kwargs),
        table,
        result_path=out,
        threads=threads,
        expected_items=dataset["items"],
        item_types=TYPED,
        engine=engine,
        processed=processed,
        zone_round=number,
    )
    record["zone_verified"] = zone_verified(record)
    record["verified"] = bool(record["verified"]) and record["zone_verified"]
    return record


def zone_verified(record: dict[str, Any]) -> bool:
    """Zone on: no error, and the Parquet read back holds ``rows_written`` rows, all of this run.
    Zone off: no ``processed`` in the manifest and no file under the table's processed prefix."""
    inner = record.get("inner") or {}
    if not record["ok"] or inner.get("status") != "succeeded":
        return False
    zone = inner.get("zone")
    if not record["processed"]:
        return zone is None and inner.get("parquet_files") == 0
    written = inner.get("rows_written")
    return (
        zone is not None
        and zone.get("error") is None
        and zone.get("rows") == written
        and inner.get("parquet_rows") == inner.get("parquet_rows_of_run") == written
    )


def check_scale(harness: Harness, dataset: dict[str, Any]) -> dict[str, Any]:
    """The count check of the same load into an empty table and into a 3x-fuller one
    (``bench/check_scale.py``); not a loader, so it is kept beside the records, not among them."""
    out = harness.run_dir / f"check-scale-{dataset['name']}.json"
    argv = [sys.executable, "-m", "bench.check_scale", str(out)]
    argv.append(json.dumps({"key": dataset["key"], "csv_path": str(dataset["path"])}))
    print(f"[bench] count check vs table size on {dataset['name']} ...", flush=True)
    child = run_child(argv, harness.child_env(), harness.run_dir / "check-scale.log", cwd=REPO_ROOT)
    if child.returncode != 0 or not out.exists():
        print(f"[bench]   FAILED (exit {child.returncode}):\n{child.stdout_tail}", flush=True)
        return {"ok": False, "dataset": dataset["name"], "error": child.stdout_tail[-2000:]}
    result = {"ok": True, "dataset": dataset["name"], "rows": dataset["rows"], **json.loads(out.read_text())}
    empty, full = result["empty"], result["full"]
    print(
        f"[bench]   check {empty['seconds']:.2f}s on an empty table, {full['seconds']:.2f}s beside "
        f"{full['table_items_before']:,} items: ratio {result['ratio_full_to_empty']:.2f}",
        flush=True,
    )
    return result
