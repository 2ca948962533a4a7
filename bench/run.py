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
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from csv2ddb_dev.emulator import LOCAL_CREDENTIALS, Emulator, start_emulator
from csv2ddb_dev.paths import REPO_ROOT

from bench import crossover, data, facts, launch
from bench.big import run_big
from bench.harness import Harness, on_emulator, prepare_dataset
from bench.measure import load_average, process_cpu_seconds
from bench.record import ZONE_CONTENDERS
from bench.report import baseline, document, output, result_tables

QUICK_ROWS = 20_000
DEFAULT_THREADS = (4, 8, 16)


def idle_emulator_cpu(emulator: Emulator, seconds: float = 3.0) -> float:
    """CPU the emulator burns per second while nobody talks to it (its background threads)."""
    cpu0 = process_cpu_seconds(emulator.pid)
    time.sleep(seconds)
    return round((process_cpu_seconds(emulator.pid) - cpu0) / seconds, 3)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line of ``python -m bench.run``."""
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
        "--big-threads",
        type=int,
        default=launch.JOB_DEFAULT_CONCURRENCY,
        help=f"threads for --big-only (default {launch.JOB_DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--zone-rounds",
        type=int,
        default=1,
        help="off/on pairs per engine for the processed zone's cost (ABBA order; default 1)",
    )
    parser.add_argument("--write-docs", action="store_true", help="write docs/ even in --quick mode")
    parser.add_argument("--no-docs", action="store_true", help="never write docs/ (results JSON only)")
    return parser.parse_args(argv)


ALL_CONTENDERS = (
    "transform_only",
    "ceiling",
    "csv2ddb_job",
    "csv2ddb_job_pre21",
    "csv2ddb_job_before",
    "batch_writer",
    "awswrangler",
    "import_table",
    "csv2ddb_import",
    *ZONE_CONTENDERS.values(),  # the processed zone's cost, per engine: the job with it off, then on
    "csv2ddb_dag",
    "check_scale",  # not a loader: the count check against the table's size
    "import_crossover",  # not a loader: import vs batch at a few sizes (bench/crossover.py)
)


def main(argv: list[str] | None = None) -> int:
    """One run: the contenders on one emulator (and, with --big, on the sink), then the results
    JSON and the page; exit 1 when a contender failed."""
    args = parse_args(argv)
    rows = args.rows or (QUICK_ROWS if args.quick else None)
    only = set(filter(None, args.only.split(","))) or set(ALL_CONTENDERS)
    unknown = only - set(ALL_CONTENDERS)
    if unknown:
        raise SystemExit(f"unknown contender(s): {sorted(unknown)}")
    threads = [int(t) for t in args.threads.split(",") if t]
    stamp = datetime.now(UTC).strftime(data.RUN_STAMP)
    run_dir = data.CACHE_DIR / f"{data.RUN_PREFIX}{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    flights = data.flights_csv(rows)
    big_path = data.big_csv() if (args.big or args.big_only) else None

    meta: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "mode": "quick"
        if args.quick
        else ("big only" if args.big_only else ("full+big" if args.big else "full")),
        "machine": facts.machine_facts(),
        "versions": facts.versions(),
        "job": facts.job_facts(),
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
            harness = on_emulator(emulator, run_dir)
            meta["emulator_idle_cores"] = idle_emulator_cpu(emulator)
            datasets = [prepare_dataset(name, flights, harness, True)]
            best_threads = run_contenders(harness, datasets[0], only, threads, args.zone_rounds)
        finally:
            emulator.stop()
        results += harness.results
        base_env = harness.env
    if big_path is not None:
        results += run_big(run_dir, base_env, datasets[0], big_path, best_threads, only)
        datasets.append({"name": data.BIG_ON_SINK, "path": big_path, "rows": data.count_rows(big_path)})
        datasets[-1]["bytes"] = big_path.stat().st_size
    if not args.big_only:
        meta["check_scale"] = harness.extras.get("check_scale")
        meta["import_crossover"] = harness.extras.get("import_crossover")
        # The DAG row of the last run before this one (docs/, else the newest cached run): "before".
        meta["dag_before"] = baseline.previous_dag(name)
    meta["load_average_end"] = [round(x, 2) for x in load_average()]
    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta["datasets"] = [
        {k: (str(v.relative_to(REPO_ROOT)) if isinstance(v, Path) else v) for k, v in d.items()}
        for d in datasets
    ]

    doc = document.build(meta, results)
    out_json = data.CACHE_DIR / f"results-{stamp}.json"
    out_json.write_text(json.dumps(doc, indent=2, default=str))
    print(f"[bench] results: {out_json.relative_to(REPO_ROOT)}")
    write_docs = (args.write_docs or not (args.quick or args.big_only)) and not args.no_docs
    md_path, png_path = output.write(doc, docs=write_docs, cache_dir=data.CACHE_DIR)
    print(f"[bench] table: {md_path.relative_to(REPO_ROOT)}  chart: {png_path.relative_to(REPO_ROOT)}")
    print(result_tables.markdown_table(doc))
    failed = [r["label"] for r in results if not r["ok"]]
    if (meta.get("check_scale") or {}).get("ok") is False:
        failed.append("count check vs table size")
    if (meta.get("import_crossover") or {}).get("ok") is False:
        failed.append("import crossover")
    return 1 if failed else 0


def run_contenders(
    harness: Harness, flights: dict[str, Any], only: set[str], threads: list[int], zone_rounds: int = 1
) -> int:
    """The order: no-write transform first, then the ceiling sweeps, then the loaders.

    Two item shapes, each with its own ceiling sweep: typed (the loader's default: numbers as N)
    and every column a string (what the peers write; the emulator stores those for less CPU, so
    the like-for-like comparison with the peers is the loader with ``--type_map {"*": "S"}``).
    ``zone_rounds``: off/on pairs per engine for the processed zone's cost.
    Returns the typed ceiling's best thread count (the job also runs with it, and the big run
    uses it).
    """
    if "transform_only" in only:
        launch.transform_only(harness, flights)
    best_threads = launch.JOB_DEFAULT_CONCURRENCY
    if "ceiling" in only:
        sweep = [launch.ceiling(harness, flights, t) for t in threads]
        good = [r for r in sweep if r["ok"] and r["verified"]]
        if good:
            best_threads = max(good, key=lambda r: r["rows_per_s"])["threads"]
        for t in threads:
            launch.ceiling(harness, flights, t, strings=True)
    if "csv2ddb_job" in only:
        launch.glue_job(harness, flights, launch.JOB_DEFAULT_CONCURRENCY)
        if best_threads != launch.JOB_DEFAULT_CONCURRENCY:
            launch.glue_job(harness, flights, best_threads)
        launch.glue_job(harness, flights, launch.JOB_DEFAULT_CONCURRENCY, strings=True)
    if "csv2ddb_job_pre21" in only:
        launch.glue_job_pre21(harness, flights, launch.JOB_DEFAULT_CONCURRENCY)
    if "csv2ddb_job_before" in only:
        before = launch.round1_job(harness.run_dir)
        launch.glue_job(harness, flights, launch.JOB_DEFAULT_CONCURRENCY, script=before)
    if "batch_writer" in only:
        launch.batch_writer(harness, flights)
    if "awswrangler" in only:
        launch.awswrangler(harness, flights)
    if "import_table" in only:
        launch.import_table(harness, flights)
    if "csv2ddb_import" in only:
        launch.csv2ddb_import(harness, flights)
    for engine, contender in ZONE_CONTENDERS.items():
        if contender in only:
            launch.processed_zone(harness, flights, engine, zone_rounds)
    if "csv2ddb_dag" in only:  # it bootstraps a whole stack on the emulator
        launch.dag(harness, flights)
    if "check_scale" in only:
        harness.extras["check_scale"] = launch.check_scale(harness, flights)
    if "import_crossover" in only:
        harness.extras["import_crossover"] = crossover.measure(harness)
    return best_threads


if __name__ == "__main__":
    sys.exit(main())
