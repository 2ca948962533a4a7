"""Profile csv2ddb's Glue job on a real load (all threads, CPU only) and name the hot spots.

    python -m bench.profile [--rows 50000 | --file flights | --file big] [--server emulator|sink]
                            [--write-concurrency 8] [--tree OTHER_WORKTREE]

Loads the file with the job script run directly under ``py-spy`` (it samples every thread: the
writer threads are where requests are encoded and sent), against its own emulator or the null
sink (``bench/sink.py``: the client's CPU alone, on any file size), and prints where the client's
CPU goes per phase of the load, then per function, self and inclusive, as % of the samples on a
CPU, and the job's own CPU seconds per million rows. The raw collapsed stacks stay in
``.cache/bench/`` for a flame graph.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from csv2ddb_dev.emulator import start_emulator
from csv2ddb_dev.paths import REPO_ROOT

from bench import data, ddb, job
from bench.big import Sink
from bench.s3_inputs import BUCKET, source_key

SINK_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}

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
# csv2ddb_core/load.py, writer.py
PER_ROW = ("load.py:load", "load.py:_write_pass", "writer.py:BatchWriter._worker")
# Where a sample's CPU goes: the first rule whose function is on its stack names its phase.
PHASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("validation pass (parse + build + dedupe, no writes)", ("load.py:validate",)),
    ("key list (JSON lines, gzip)", ("keylist.py:KeyListWriter.add", "keylist.py:key_line")),
    ("progress log", ("progress.py:Progress.log",)),
    ("dedupe index", ("keys.py:DedupeIndex.add",)),
    (
        "build items (type cells, hash ids)",
        ("rows.py:RowBuilder._build", "rows.py:RowBuilder._build_carried", "rows.py:RowBuilder._finish"),
    ),
    ("encode request bodies (json)", ("writer.py:BatchWriter._encode_body", "encoder.py:JSONEncoder.encode")),
    (
        "HTTP send/receive (urllib3 or the job's sender, http.client)",
        ("connectionpool.py:HTTPConnectionPool.urlopen", "sender.py:KeepAliveSender.__call__"),
    ),
    ("botocore: serialize, sign, events, parse", ("client.py:BaseClient._make_api_call",)),
    ("read + parse CSV", ("source.py:read_records", "source.py:S3ObjectStream.readinto")),
    ("writer threads: batching, retry bookkeeping", ("writer.py:BatchWriter._worker",)),
    ("row loop, batching, queue hand-off", ("load.py:stream_rows", "load.py:load", "load.py:_write_pass")),
    ("start-up: imports, clients, table check", ("<frozen importlib._bootstrap>:_find_and_load",)),
)
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
    for stack, count in samples(collapsed):
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


def samples(collapsed: Path) -> Iterator[tuple[str, int]]:
    """(stack, samples) per line of py-spy's collapsed output. A line without a count is skipped: a
    frame name py-spy read torn while the GIL holder changed it (seen: a string with a newline)."""
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            yield stack, int(count_text)


def phases(collapsed: Path) -> list[tuple[str, int]]:
    """Samples on a CPU per phase of the load (``PHASES``; the rest is "other"), largest first."""
    counts: collections.Counter[str] = collections.Counter()
    for stack, count in samples(collapsed):
        names = [_frame_name(f) for f in stack.split(";") if not f.startswith(("thread", "process"))]
        if not names or names[-1] in WAITING_LEAVES:
            continue
        on_stack = set(names)
        phase = next((name for name, marks in PHASES if on_stack.intersection(marks)), "other")
        counts[phase] += count
    return counts.most_common()


def phase_table(collapsed: Path, cpu_s_per_m_rows: float) -> str:
    """The phases as a Markdown table: % of samples and the CPU-s per M rows that share is."""
    rows = phases(collapsed)
    total = sum(c for _, c in rows) or 1
    lines = ["| phase | share of client CPU | CPU-s per M rows |", "|---|--:|--:|"]
    lines += [f"| {name} | {c / total:.1%} | {c / total * cpu_s_per_m_rows:.1f} |" for name, c in rows]
    return "\n".join(lines)


def profiled_run(
    argv_job: list[str], env: dict[str, str], raw: Path, rate: int, log_path: Path, gil: bool = False
) -> float:
    """Run the job, py-spy attached to it by pid, and return the job's own CPU seconds (user + system,
    all threads, from ``wait4``): py-spy's sampling runs in its own process and is not counted.
    ``gil``: sample only the thread holding the GIL (py-spy ``--gil``), so a writer thread waiting
    for the GIL is not charged to the frame it resumes in; C code that releases the GIL (socket
    I/O, zlib, large hashes) then drops out of the picture."""
    spy = Path(sys.executable).parent / "py-spy"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv_job, env=env, stdout=log, stderr=subprocess.STDOUT)
        spy_argv = [str(spy), "record", "--pid", str(proc.pid), "--format", "raw", "--rate", str(rate)]
        sampler = subprocess.Popen(
            [*spy_argv, "--threads", "--nonblocking", *(["--gil"] if gil else []), "-o", str(raw)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.wait(timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"the job failed (rc {proc.returncode}); see {log_path}")
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="a flights slice (without --file)")
    parser.add_argument("--file", choices=("flights", "big"), help="all of flights, or the 5.7 M-row file")
    parser.add_argument("--server", choices=("emulator", "sink"), default="emulator")
    parser.add_argument("--write-concurrency", type=int, default=8)
    parser.add_argument("--rate", type=int, default=250, help="samples per second")
    parser.add_argument("--job-arg", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    parser.add_argument(
        "--tree", type=Path, help="profile another source tree's job script (a git worktree: before/after)"
    )
    parser.add_argument("--gil", action="store_true", help="sample only the thread holding the GIL")
    args = parser.parse_args(argv)
    script = args.tree.resolve() / "glue" / job.JOB_PATH.name if args.tree else job.JOB_PATH

    stamp = datetime.now(UTC).strftime(data.RUN_STAMP)
    run_dir = data.CACHE_DIR / f"profile-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    path = {"flights": lambda: data.flights_csv(None), "big": data.big_csv}.get(
        args.file or "", lambda: data.flights_csv(args.rows)
    )()
    rows = data.count_rows(path)
    bucket, key, table = BUCKET, source_key(path), f"profile-{uuid.uuid4().hex[:8]}"
    raw = run_dir / "job.collapsed.txt"
    argv_job = [
        sys.executable,
        str(script),
        *("--source_bucket", bucket, "--source_key", key, "--table", table),
        *("--run_id", f"profile-{stamp}", "--write_concurrency", str(args.write_concurrency)),
    ]
    for name, value in args.job_arg:
        argv_job += [f"--{name}", value]
    load_before = os.getloadavg()
    if args.server == "sink":
        sink = Sink({key: path}, run_dir / "sink.log")
        try:
            env = {**os.environ, **SINK_CREDENTIALS, "AWS_ENDPOINT_URL": sink.url}
            cpu = profiled_run(argv_job, env, raw, args.rate, run_dir / "job.log", args.gil)
            count = int(sink.stats()["distinct_ids"])
        finally:
            sink.stop()
    else:
        emulator = start_emulator(run_dir / "emulator")
        try:
            env = emulator.client_env()
            s3, dynamodb = ddb.client(env, "s3"), ddb.client(env, "dynamodb")
            ddb.ensure_bucket(s3, bucket)
            ddb.upload(s3, path, bucket, key)
            ddb.create_table(dynamodb, table)
            cpu = profiled_run(argv_job, {**os.environ, **env}, raw, args.rate, run_dir / "job.log", args.gil)
            count = ddb.exact_count(dynamodb, table)
        finally:
            emulator.stop()
    per_m = cpu / rows * 1e6
    print(
        f"{path.name} into the {args.server}: {count:,} items of {rows:,} rows; job CPU {cpu:.1f} s = "
        f"{per_m:.1f} CPU-s per M rows; load average {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}; "
        f"raw stacks: {raw.relative_to(REPO_ROOT)}"
    )
    print("\nwhere the CPU goes, per phase:\n" + phase_table(raw, per_m))
    print("\n" + summarize(raw))
    return 0


if __name__ == "__main__":
    sys.exit(main())
