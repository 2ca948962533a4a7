"""Run the benchmark: every contender loads the same file into a fresh table of one emulator.

    python -m bench.run --quick     # a 20k-row slice of flights: a few minutes, for debugging
    python -m bench.run             # the 336,776-row flights file; writes docs/benchmarks.md
    python -m bench.run --big       # also the 5.6 M-row file, for our loader and the ceiling

One ministack serves the whole run, so the ratios (contender ÷ ceiling) are taken on the same
server, the same file and the same minute: on a shared 2-core machine the ratios are the figures
that count, the absolute rows/s move with the load average (recorded per contender).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from csv2ddb_dev.emulator import EMULATOR_VENV, LOCAL_CREDENTIALS, Emulator, start_emulator
from csv2ddb_dev.paths import REPO_ROOT

from bench import data, ddb, job, report
from bench.measure import (
    ChildResult,
    load_average,
    machine_facts,
    process_cpu_seconds,
    process_rss_mb,
    run_child,
)

QUICK_ROWS = 20_000
DEFAULT_THREADS = (4, 8, 16)
JOB_DEFAULT_CONCURRENCY = 8
BUCKET = "csv2ddb-bench"
AIRFLOW_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"  # the DAG contender needs Airflow
VERIFY_SAMPLE = 2_000  # keys looked up per table, besides the exact item count


class Harness:
    """One emulator, one bucket, and a fresh table per measured contender."""

    server = "ministack"

    def __init__(self, emulator: Emulator, run_dir: Path) -> None:
        self.server_pid = emulator.pid
        self.run_dir = run_dir
        self.env = emulator.client_env()
        self.ddb = ddb.client(self.env, "dynamodb")
        self.s3 = ddb.client(self.env, "s3")
        self.results: list[dict[str, Any]] = []
        self.expected_ids: dict[str, list[str]] = {}
        self._n = 0
        ddb.ensure_bucket(self.s3, BUCKET)

    def prepare_table(self, table: str) -> None:
        ddb.create_table(self.ddb, table)

    def count(self, table: str, dataset: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The table's live item count, and a sample of the expected keys looked up one by one.

        ``ItemCount`` is exact and live on ministack; the sample (fixed seed, ``VERIFY_SAMPLE``
        keys by BatchGetItem) checks that those items are the file's, not just their number.
        All keys would be stronger, but on this loaded 2-core machine 3,368 BatchGetItem calls
        took over 5 minutes per table.
        """
        ids = self.expected_ids[dataset["name"]]
        sample = random.Random(7).sample(ids, min(VERIFY_SAMPLE, len(ids)))
        present = ddb.present_keys(self.ddb, table, sample)
        total = ddb.item_count(self.ddb, table)
        detail = {"table_item_count": total, "sample_keys": len(sample), "sample_present": present}
        return (total if present == len(sample) else -present), detail

    def drop(self, table: str) -> None:
        """Drop a contender's table once counted, so the emulator's memory does not pile up."""
        if table in self.ddb.list_tables().get("TableNames", []):
            ddb.delete_table(self.ddb, table)

    def upload(self, path: Path, key: str) -> None:
        ddb.upload(self.s3, path, BUCKET, key)

    def child_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env, "PYTHONPATH": str(REPO_ROOT)}
        for leak in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            env.pop(leak, None)
        return env

    def _table(self, contender: str) -> str:
        self._n += 1
        return f"bench-{contender.replace('_', '-')}-{self._n}-{uuid.uuid4().hex[:6]}"

    def measure(
        self,
        contender: str,
        label: str,
        dataset: dict[str, Any],
        argv: list[str],
        table: str | None,
        create_table: bool = True,
        result_path: Path | None = None,
        **meta: Any,
    ) -> dict[str, Any]:
        """Run one contender child; record its cost, the emulator's cost and the exact item count."""
        if table and create_table:
            self.prepare_table(table)
        pid = self.server_pid
        load_before = load_average()
        emu_cpu0, emu_rss0 = process_cpu_seconds(pid), process_rss_mb(pid)
        print(f"[bench] {label} on {dataset['name']} ...", flush=True)
        job_sha = job.job_sha256()  # the glue job may change between contenders of one long run
        child = run_child(
            argv, self.child_env(), self.run_dir / f"{self._n:02d}-{contender}.log", cwd=REPO_ROOT
        )
        emu_cpu1, emu_rss1 = process_cpu_seconds(pid), process_rss_mb(pid)
        load_after = load_average()
        if child.returncode != 0:
            print(f"[bench]   FAILED (exit {child.returncode}):\n{child.stdout_tail}", flush=True)
        inner: dict[str, Any] = {}
        if result_path is not None and result_path.exists():
            inner = json.loads(result_path.read_text())
        count, count_detail = None, {}
        if table and child.returncode == 0:
            count, count_detail = self.count(table, dataset)
        if table:
            self.drop(table)
        record = self._record(contender, label, dataset, child, inner, count, meta)
        if record["verified"] and count_detail.get("table_item_count", count) != count:
            record["verified"] = False  # the expected keys are there, but so are other items
        record["server"] = self.server
        record["job_sha256"] = job_sha
        record["count_detail"] = count_detail
        record.update(
            emulator_cpu_s=round(emu_cpu1 - emu_cpu0, 2),  # the server's: ministack or the sink
            emulator_rss_mb_before=round(emu_rss0),
            emulator_rss_mb_after=round(emu_rss1),
            load_before=[round(x, 2) for x in load_before],
            load_after=[round(x, 2) for x in load_after],
        )
        wall = record["wall_s"] or 0
        record["emulator_cores"] = round(record["emulator_cpu_s"] / wall, 2) if wall else None
        self.results.append(record)
        print(f"[bench]   {report.one_line(record)}", flush=True)
        # Every finished contender is on disk at once: a run cut short still leaves its figures.
        with open(self.run_dir / "records.jsonl", "a") as partial:
            partial.write(json.dumps(record, default=str) + "\n")
        return record

    def manifest(self, run_id: str) -> dict[str, Any] | None:
        key = f"manifests/{run_id}.json"
        try:
            body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(body)

    @staticmethod
    def _record(
        contender: str,
        label: str,
        dataset: dict[str, Any],
        child: ChildResult,
        inner: dict[str, Any],
        count: int | None,
        meta: dict[str, Any],
    ) -> dict[str, Any]:
        """Wall/CPU of the timed phase when the child reports one, else of the whole process."""
        ok = child.returncode == 0
        wall = inner.get("phase_wall_s", child.wall_s) if ok else None
        cpu = inner.get("phase_cpu_s", child.cpu_s) if ok else None
        rows = dataset["rows"]
        expected = meta.pop("expected_items", rows)
        # "typed" (numbers as N, the loader's default) or "strings" (every column S, as the peers
        # write): the emulator's CPU per item differs, so each is compared with its own ceiling.
        meta.setdefault("item_types", "typed")
        writes = contender != "transform_only"
        return {
            "contender": contender,
            "label": label,
            "dataset": dataset["name"],
            "rows": rows,
            "ok": ok,
            "exit_code": child.returncode,
            "wall_s": round(wall, 3) if wall is not None else None,
            "process_wall_s": round(child.wall_s, 3),
            "rows_per_s": round(rows / wall, 1) if ok and wall else None,
            "client_cpu_s": round(cpu, 2) if cpu is not None else None,
            "client_cpu_s_per_m_rows": round(cpu / rows * 1e6, 1) if cpu is not None else None,
            "process_cpu_s": round(child.cpu_s, 2),
            "peak_rss_mb": round(child.max_rss_mb, 1),
            "expected_items": expected if writes else None,
            "verified_count": count,
            "verified": (count == expected) if writes else None,
            "error": None if ok else child.stdout_tail[-2000:],
            **meta,
            "inner": inner,
        }

    # --- contenders ---------------------------------------------------------------------------

    def worker_argv(self, name: str, out: Path, **kwargs: Any) -> list[str]:
        return [sys.executable, "-m", "bench.worker", name, str(out), json.dumps(kwargs)]

    def transform_only(self, dataset: dict[str, Any]) -> dict[str, Any]:
        out = self.run_dir / f"transform-{dataset['name']}.json"
        argv = self.worker_argv("transform_only", out, csv_path=str(dataset["path"]))
        return self.measure("transform_only", "csv2ddb transform only", dataset, argv, None, result_path=out)

    def ceiling(self, dataset: dict[str, Any], threads: int, strings: bool = False) -> dict[str, Any]:
        kind = " (every column a string)" if strings else ""
        label = f"ceiling: pre-built BatchWriteItem{kind}, {threads} threads"
        worker_kwargs = {"threads": threads, "strings": strings}
        item_types = "strings" if strings else "typed"
        return self._in_worker("ceiling", label, dataset, dataset["path"], threads, item_types, worker_kwargs)

    def glue_job(self, dataset: dict[str, Any], concurrency: int, strings: bool = False) -> dict[str, Any]:
        """The job script run directly; ``strings``: with ``--type_map {"*": "S"}``, as the peers write."""
        table = self._table("csv2ddb")
        job_args = dict(dataset["job_args"])
        if strings:
            job_args["type_map"] = json.dumps(job.ALL_STRINGS)
        run_id = f"bench-{uuid.uuid4().hex[:12]}"
        argv = [
            sys.executable,
            str(job.JOB_PATH),
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
        label = f"csv2ddb Glue job (direct), write_concurrency {concurrency}{kind}"
        record = self.measure(
            "csv2ddb_job",
            label,
            dataset,
            argv,
            table,
            threads=concurrency,
            expected_items=dataset["items"],
            item_types="strings" if strings else "typed",
        )
        record["manifest"] = self.manifest(run_id)
        return record

    def _in_worker(
        self,
        contender: str,
        label: str,
        dataset: dict[str, Any],
        csv_path: Path,
        threads: int | None,
        item_types: str,
        worker_kwargs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A contender of bench/contenders.py in a ``bench.worker`` child, into a fresh table."""
        table = self._table(contender)
        out = self.run_dir / f"{contender}-{item_types}-{dataset['name']}-{threads}.json"
        argv = self.worker_argv(contender, out, csv_path=str(csv_path), table=table, **(worker_kwargs or {}))
        return self.measure(
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

    def awswrangler(self, dataset: dict[str, Any]) -> dict[str, Any]:
        label = "awswrangler wr.dynamodb.put_csv"
        return self._in_worker(
            "awswrangler", label, dataset, dataset["with_id_path"], os.cpu_count(), "strings"
        )

    def batch_writer(self, dataset: dict[str, Any]) -> dict[str, Any]:
        label = "boto3 Table.batch_writer(), one loop"
        return self._in_worker("batch_writer", label, dataset, dataset["with_id_path"], 1, "strings")

    def dag(self, dataset: dict[str, Any]) -> dict[str, Any]:
        """The same file once through the whole csv2ddb_load DAG (``dag.test()``; see bench/dag_run.py).

        Runs in the Airflow virtualenv; the DAG's table is the stack's own (bootstrapped by the
        child before its clock starts), so it is not created here.
        """
        prefix = f"bdag{uuid.uuid4().hex[:8]}"
        out = self.run_dir / f"dag-{dataset['name']}.json"
        kwargs = {"prefix": prefix, "csv_path": str(dataset["path"]), "work_dir": str(self.run_dir / prefix)}
        argv = [str(AIRFLOW_PYTHON), "-m", "bench.dag_run", str(out), json.dumps(kwargs)]
        record = self.measure(
            "csv2ddb_dag",
            "csv2ddb_load DAG (dag.test): ensure table, Glue job, exact count, audit",
            dataset,
            argv,
            f"{prefix}-items",
            create_table=False,
            result_path=out,
            threads=JOB_DEFAULT_CONCURRENCY,
            expected_items=dataset["items"],
        )
        return record

    def import_table(self, dataset: dict[str, Any]) -> dict[str, Any]:
        table = self._table("import")
        prefix = f"import/{dataset['name']}/"
        self.upload(dataset["with_id_path"], prefix + "data.csv")
        out = self.run_dir / f"import-{dataset['name']}.json"
        argv = self.worker_argv("import_table", out, bucket=BUCKET, prefix=prefix, table=table)
        record = self.measure(
            "import_table",
            "DynamoDB ImportTable from S3",
            dataset,
            argv,
            table,
            create_table=False,
            result_path=out,
            expected_items=dataset["items"],
            item_types="strings",
        )
        inner = record["inner"]
        # Reconcile the import's own counters with the source, as a user of ImportTable must.
        record["reconciled"] = (
            inner.get("import_status") == "COMPLETED"
            and inner.get("imported_item_count") == dataset["rows"]
            and inner.get("error_count") == 0
        )
        record["verified"] = bool(record["verified"]) and record["reconciled"]
        return record


def prepare_dataset(name: str, path: Path, harness: Harness, peers: bool) -> dict[str, Any]:
    """Count the rows and the distinct items, upload the file, and write the peers' id'd copy."""
    rows = data.count_rows(path)
    key = f"raw/bench/{path.name}"
    print(f"[bench] uploading {path.name} ({rows:,} rows) to s3://{BUCKET}/{key}", flush=True)
    harness.upload(path, key)
    dataset: dict[str, Any] = {
        "name": name,
        "path": path,
        "rows": rows,
        "key": key,
        "bytes": path.stat().st_size,
        "job_args": {},
    }
    if peers:
        dataset["with_id_path"] = data.with_id_csv(path)
        ids = data.distinct_ids(dataset["with_id_path"])
        harness.expected_ids[name] = ids
        dataset["items"] = len(ids)
    else:
        dataset["items"] = rows  # the big file's keys are distinct by construction
    return dataset


def versions() -> dict[str, str]:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    ministack = subprocess.run(
        [
            str(EMULATOR_VENV / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('ministack'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {
        "python": platform.python_version(),
        "boto3": version("boto3"),
        "botocore": version("botocore"),
        "ministack": ministack,
        "awswrangler": version("awswrangler"),
        "pandas": version("pandas"),
    }


def idle_emulator_cpu(emulator: Emulator, seconds: float = 3.0) -> float:
    """CPU the emulator burns per second while nobody talks to it (its background threads)."""
    cpu0 = process_cpu_seconds(emulator.pid)
    time.sleep(seconds)
    return round((process_cpu_seconds(emulator.pid) - cpu0) / seconds, 3)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"first {QUICK_ROWS:,} flights rows only")
    parser.add_argument("--big", action="store_true", help="add the 5.6 M-row file (our loader + ceiling)")
    parser.add_argument("--rows", type=int, default=None, help="flights rows to use (default: all, or quick)")
    parser.add_argument(
        "--threads", default=",".join(map(str, DEFAULT_THREADS)), help="ceiling thread counts to sweep"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma list of contenders to run (default all): " + ",".join(ALL_CONTENDERS),
    )
    parser.add_argument(
        "--big-only",
        action="store_true",
        help="only the sink part of --big (flights and the big file; job and ceiling), no emulator",
    )
    parser.add_argument(
        "--big-threads", type=int, default=JOB_DEFAULT_CONCURRENCY, help="threads for --big-only (default 8)"
    )
    parser.add_argument("--write-docs", action="store_true", help="write docs/ even in --quick mode")
    parser.add_argument("--no-docs", action="store_true", help="never write docs/ (results JSON only)")
    return parser.parse_args(argv)


ALL_CONTENDERS = (
    "transform_only",
    "ceiling",
    "csv2ddb_job",
    "batch_writer",
    "awswrangler",
    "import_table",
    "csv2ddb_dag",
)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = args.rows or (QUICK_ROWS if args.quick else None)
    only = set(filter(None, args.only.split(","))) or set(ALL_CONTENDERS)
    unknown = only - set(ALL_CONTENDERS)
    if unknown:
        raise SystemExit(f"unknown contender(s): {sorted(unknown)}")
    threads = [int(t) for t in args.threads.split(",") if t]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = data.CACHE_DIR / f"run-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    flights = data.flights_csv(rows)
    big_path = data.big_csv() if (args.big or args.big_only) else None

    meta: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "mode": "quick"
        if args.quick
        else ("big only" if args.big_only else ("full+big" if args.big else "full")),
        "machine": machine_facts(),
        "versions": versions(),
        "job": {"path": str(job.JOB_PATH.relative_to(REPO_ROOT)), "sha256": job.job_sha256()},
        "load_average_start": [round(x, 2) for x in load_average()],
        "emulator_idle_cores": None,
    }
    name = "flights" if rows is None else f"flights-{rows}"
    results: list[dict[str, Any]] = []
    best_threads = args.big_threads
    if args.big_only:
        datasets = [
            {"name": name, "path": flights, "rows": data.count_rows(flights), "bytes": flights.stat().st_size}
        ]
        datasets[0]["items"] = datasets[0]["rows"]  # flights rows are distinct (checked by the full run)
        base_env = {**LOCAL_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}
    else:
        emulator = start_emulator(run_dir / "emulator")
        try:
            harness = Harness(emulator, run_dir)
            meta["emulator_idle_cores"] = idle_emulator_cpu(emulator)
            datasets = [prepare_dataset(name, flights, harness, True)]
            best_threads = run_contenders(harness, datasets[0], only, threads)
        finally:
            emulator.stop()
        results += harness.results
        base_env = harness.env
    if big_path is not None:
        from bench.big import run_big  # here: bench.big imports this module

        results += run_big(run_dir, base_env, datasets[0], big_path, best_threads, only)
        datasets.append({"name": "big (sink)", "path": big_path, "rows": data.count_rows(big_path)})
        datasets[-1]["bytes"] = big_path.stat().st_size
    meta["load_average_end"] = [round(x, 2) for x in load_average()]
    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta["datasets"] = [
        {k: (str(v.relative_to(REPO_ROOT)) if isinstance(v, Path) else v) for k, v in d.items()}
        for d in datasets
    ]

    doc = report.build(meta, results)
    out_json = data.CACHE_DIR / f"results-{stamp}.json"
    out_json.write_text(json.dumps(doc, indent=2, default=str))
    print(f"[bench] results: {out_json.relative_to(REPO_ROOT)}")
    write_docs = (args.write_docs or not (args.quick or args.big_only)) and not args.no_docs
    md_path, png_path = report.write(doc, docs=write_docs, cache_dir=data.CACHE_DIR)
    print(f"[bench] table: {md_path.relative_to(REPO_ROOT)}  chart: {png_path.relative_to(REPO_ROOT)}")
    print(report.markdown_table(doc))
    failed = [r["label"] for r in results if not r["ok"]]
    return 1 if failed else 0


def run_contenders(harness: Harness, flights: dict[str, Any], only: set[str], threads: list[int]) -> int:
    """The order: no-write transform first, then the ceiling sweeps, then the loaders.

    Two item shapes, each with its own ceiling sweep: typed (the loader's default: numbers as N)
    and every column a string (what the peers write; the emulator stores those for less CPU, so
    the like-for-like comparison with the peers is the loader with ``--type_map {"*": "S"}``).
    Returns the typed ceiling's best thread count (the job also runs with it, and the big run
    uses it).
    """
    if "transform_only" in only:
        harness.transform_only(flights)
    best_threads = JOB_DEFAULT_CONCURRENCY
    if "ceiling" in only:
        sweep = [harness.ceiling(flights, t) for t in threads]
        good = [r for r in sweep if r["ok"] and r["verified"]]
        if good:
            best_threads = max(good, key=lambda r: r["rows_per_s"])["threads"]
        for t in threads:
            harness.ceiling(flights, t, strings=True)
    if "csv2ddb_job" in only:
        harness.glue_job(flights, JOB_DEFAULT_CONCURRENCY)
        if best_threads != JOB_DEFAULT_CONCURRENCY:
            harness.glue_job(flights, best_threads)
        harness.glue_job(flights, JOB_DEFAULT_CONCURRENCY, strings=True)
    if "batch_writer" in only:
        harness.batch_writer(flights)
    if "awswrangler" in only:
        harness.awswrangler(flights)
    if "import_table" in only:
        harness.import_table(flights)
    if "csv2ddb_dag" in only:  # last: it bootstraps a whole stack on the emulator
        harness.dag(flights)
    return best_threads


if __name__ == "__main__":
    sys.exit(main())
