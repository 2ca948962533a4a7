"""Side by side: the job script of two source trees, alternated, against one null sink.

    python -m bench.ab --base /work/wt-cpu-base [--rows 100000 | --file flights|big] [--repeat 3]
                       [--write-concurrency 8] [--job-arg NAME VALUE ...] [--base-arg NAME VALUE ...]
                       [--this-only]

On a shared machine only figures taken in one run, alternating, can be compared (the load moves
the CPU seconds of one load by up to 3x between runs). Each round runs the base tree's
``glue/csv2ddb_load_job.py`` and this tree's, in alternating order, each as its own process
against the same sink (``bench/sink.py``: no emulator CPU), and takes the job's own CPU seconds
(user + system, all threads) from ``wait4``. The script's directory comes first on ``sys.path``,
so each tree's script imports its own ``csv2ddb_core``. The sink's distinct id count checks every
load wrote every row; it prints the 1-minute load average before and after each load.

``--base-arg`` adds job arguments to the base side only: with ``--base .`` (this tree on both sides)
it prices one option, e.g. ``--base-arg validate_first false`` gives the validation pass's cost as
this / base (both passes against a single pass). ``--this-only --file big`` is the Python shell's
CPU per M rows and peak RSS on the 5.7 M-row file (the sink's distinct ids checked as always).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from csv2ddb_dev.paths import REPO_ROOT

from bench import data
from bench.big import Sink
from bench.profile import SINK_CREDENTIALS
from bench.s3_inputs import BUCKET, source_key


def one_load(script: Path, key: str, sink: Sink, concurrency: int, extra: list[str], log: Path) -> dict:
    """One job run; its CPU seconds, wall seconds, peak RSS and the items the sink counted."""
    sink.call("/_sink/reset", method="POST")
    stamp = uuid.uuid4().hex[:8]
    argv = [
        sys.executable,
        str(script),
        *("--source_bucket", BUCKET, "--source_key", key, "--table", f"ab-{stamp}"),
        *("--run_id", f"ab-{stamp}", "--write_concurrency", str(concurrency)),
        *extra,
    ]
    env = {**os.environ, **SINK_CREDENTIALS, "AWS_ENDPOINT_URL": sink.url}
    env.pop("PYTHONPATH", None)
    load0 = os.getloadavg()[0]
    wall0 = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - wall0
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise RuntimeError(f"{script} failed (rc {rc}); see {log}")
    return {
        "cpu": usage.ru_utime + usage.ru_stime,
        "wall": wall,
        "rss_mb": usage.ru_maxrss / 1024,
        "ids": int(sink.stats()["distinct_ids"]),
        "load": (load0, os.getloadavg()[0]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the other source tree (a git worktree)")
    parser.add_argument("--this", type=Path, default=REPO_ROOT, help="this side's tree (default: this one)")
    parser.add_argument("--rows", type=int, default=100_000, help="a flights slice")
    parser.add_argument(
        "--file", choices=("flights", "big"), help="all of flights, or the 5.7 M-row file (not a slice)"
    )
    parser.add_argument(
        "--this-only", action="store_true", help="load with this side only (its CPU and peak RSS, no ratio)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-concurrency", type=int, default=8)
    parser.add_argument("--job-arg", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    parser.add_argument("--base-arg", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    args = parser.parse_args(argv)

    script = Path("glue") / "csv2ddb_load_job.py"
    trees = {"base": args.base.resolve() / script, "this": args.this.resolve() / script}
    path = {"flights": lambda: data.flights_csv(None), "big": data.big_csv}.get(
        args.file or "", lambda: data.flights_csv(args.rows)
    )()
    rows = data.count_rows(path)
    key = source_key(path)
    extra = [item for name, value in args.job_arg for item in (f"--{name}", value)]
    base_only = [item for name, value in args.base_arg for item in (f"--{name}", value)]
    extras = {"this": extra, "base": extra + base_only}
    run_dir = data.CACHE_DIR / f"ab-{datetime.now(UTC).strftime(data.RUN_STAMP)}"
    run_dir.mkdir(parents=True, exist_ok=True)
    sink = Sink({key: path}, run_dir / "sink.log")
    per_m: dict[str, list[float]] = {"base": [], "this": []}
    try:
        for round_no in range(args.repeat):
            order = ("base", "this") if round_no % 2 == 0 else ("this", "base")
            if args.this_only:
                order = ("this",)
            for name in order:
                log = run_dir / f"{name}.log"
                got = one_load(trees[name], key, sink, args.write_concurrency, extras[name], log)
                if got["ids"] != rows:
                    raise RuntimeError(f"{name}: the sink counted {got['ids']} ids for {rows} rows")
                cpu_m = got["cpu"] / rows * 1e6
                per_m[name].append(cpu_m)
                print(
                    f"round {round_no + 1} {name:4}: {got['cpu']:6.2f} CPU-s = {cpu_m:6.1f} per M rows, "
                    f"wall {got['wall']:5.1f} s, peak RSS {got['rss_mb']:.0f} MB, "
                    f"load {got['load'][0]:.2f}->{got['load'][1]:.2f}",
                    flush=True,
                )
    finally:
        sink.stop()
    if args.this_only:
        print(f"{path.name} ({rows:,} rows): median {statistics.median(per_m['this']):.1f} CPU-s per M rows")
        return 0
    base, this = statistics.median(per_m["base"]), statistics.median(per_m["this"])
    pairs = ", ".join(f"{t / b:.2f}" for b, t in zip(per_m["base"], per_m["this"], strict=True))
    print(f"this / base per round (the two loads of one round ran back to back): {pairs}")
    print(
        f"{path.name} ({rows:,} rows), {args.write_concurrency} threads, null sink, {args.repeat} rounds: "
        f"median base {base:.1f}, this {this:.1f} CPU-s per M rows; this / base = {this / base:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
