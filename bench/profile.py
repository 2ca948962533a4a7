"""Profile csv2ddb's Glue job on a real load (all threads, CPU only) and name the hot spots.

    python -m bench.profile [--rows 50000] [--write-concurrency 8]

Starts its own emulator, loads the flights slice with the job run directly under ``py-spy``
(it samples every thread: the writer threads are where requests are encoded and sent), and
prints the functions that take the client's CPU, self and inclusive, as % of the samples on a
CPU. The raw collapsed stacks stay in ``.cache/bench/`` for a flame graph.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from csv2ddb_dev.emulator import start_emulator
from csv2ddb_dev.paths import REPO_ROOT

from bench import data, ddb, job
from bench.bucket import BUCKET, source_key

# Leaf frames where a thread waits rather than computes (py-spy's idle and GIL detection both
# count a thread blocked in recv() as active on Python 3.11): left out of the CPU shares.
WAITING_LEAVES = frozenset(
    {
        "socket.py:SocketIO.readinto",
        "threading.py:Condition.wait",
        "threading.py:Thread._wait_for_tstate_lock",
        "wait.py:poll_wait_for_socket.<locals>.do_poll",
        "queue.py:Queue.get",
        "queue.py:Queue.put",
        "threading.py:Event.wait",
    }
)
PER_ROW = ("load.py:load", "writer.py:BatchWriter._worker")  # csv2ddb_core/load.py, writer.py
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    """``func (path/to/file.py:123)`` → ``file.py:func`` (lines merged per function)."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    return f"{Path(match['file']).name}:{match['func']}"


def summarize(collapsed: Path, top: int = 25, within: tuple[str, ...] = ()) -> str:
    """Self and inclusive % per function from py-spy's raw (collapsed) output.

    ``within``: keep only stacks through one of these functions (e.g. the job's per-row loop and
    its writer threads, leaving out interpreter start, imports and client creation).
    """
    self_counts: collections.Counter[str] = collections.Counter()
    incl_counts: collections.Counter[str] = collections.Counter()
    thread_counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0].split(" ")[1].strip('"') if frames[0].startswith("thread") else "?"
        names = [_frame_name(f) for f in frames if not f.startswith(("thread", "process"))]
        if not names or names[-1] in WAITING_LEAVES:
            continue
        if within and not any(name in within for name in names):
            continue
        total += count
        thread_counts[thread.rstrip("0123456789-")] += count
        self_counts[names[-1]] += count
        for name in set(names):
            incl_counts[name] += count
    lines = [f"{total} samples on CPU (waiting leaves left out: {', '.join(sorted(WAITING_LEAVES))})"]
    lines.append("by thread: " + ", ".join(f"{t} {c / total:.0%}" for t, c in thread_counts.most_common()))
    lines.append(f"\nself time, top {top}:")
    lines += [f"  {c / total:6.1%}  {name}" for name, c in self_counts.most_common(top)]
    lines.append(f"\ninclusive time, top {top}:")
    lines += [f"  {c / total:6.1%}  {name}" for name, c in incl_counts.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--write-concurrency", type=int, default=8)
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    args = parser.parse_args(argv)

    stamp = datetime.now(UTC).strftime(data.RUN_STAMP)
    run_dir = data.CACHE_DIR / f"profile-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    path = data.flights_csv(args.rows)
    emulator = start_emulator(run_dir / "emulator")
    try:
        env = emulator.client_env()
        s3, dynamodb = ddb.client(env, "s3"), ddb.client(env, "dynamodb")
        bucket, key, table = BUCKET, source_key(path), f"profile-{uuid.uuid4().hex[:8]}"
        ddb.ensure_bucket(s3, bucket)
        ddb.upload(s3, path, bucket, key)
        ddb.create_table(dynamodb, table)
        raw = run_dir / "job.collapsed.txt"
        spy = Path(sys.executable).parent / "py-spy"
        argv_job = [
            sys.executable,
            str(job.JOB_PATH),
            *("--source_bucket", bucket, "--source_key", key, "--table", table),
            *("--run_id", f"profile-{stamp}", "--write_concurrency", str(args.write_concurrency)),
        ]
        cmd = [
            str(spy),
            "record",
            "--format",
            "raw",
            "--rate",
            str(args.rate),
            "--threads",
            "-o",
            str(raw),
            "--",
        ]
        with open(run_dir / "job.log", "wb") as log:
            subprocess.run(
                cmd + argv_job, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, check=True
            )
        count = ddb.exact_count(dynamodb, table)
    finally:
        emulator.stop()
    print(
        f"loaded {count:,} items of {data.count_rows(path):,} rows; raw stacks: {raw.relative_to(REPO_ROOT)}"
    )
    print(summarize(raw))
    print("\n--- per-row work only (the load loop and the writer threads; no start-up) ---")
    print(summarize(raw, within=PER_ROW))
    return 0


if __name__ == "__main__":
    sys.exit(main())
