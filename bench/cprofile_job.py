"""cProfile the load job in-process, every thread, against the null sink (``bench/sink.py``).

    python -m bench.cprofile_job [--rows 50000 | --file flights] [--write-concurrency 8] [--top 30]
                                 [--job-arg NAME VALUE ...]

The deterministic counterpart of ``bench.profile`` (py-spy): py-spy charges a writer thread's wait
for the GIL to the frame it resumes in (socket sends, ``os.urandom``, hashing), cProfile charges
only the Python and C calls themselves, and in each thread's own CPU time (``time.thread_time``:
a wait for a lock, the GIL or a socket costs nothing). Each thread gets its own ``cProfile.Profile`` (through
``threading.setprofile``), merged at the end. cProfile's own overhead inflates every call, so the
figures are shares, not rates; the job's CPU seconds without the profiler come from
``bench.profile`` or ``bench.run``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench import data
from bench.big import Sink
from bench.profile import SINK_CREDENTIALS
from bench.s3_inputs import BUCKET, source_key


def main(argv: list[str] | None = None) -> int:
    description = __doc__.split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="python -m bench.cprofile_job", description=description)
    parser.add_argument("--rows", type=int, default=50_000, help="a flights slice (without --file)")
    parser.add_argument("--file", choices=("flights", "big"), help="all of flights, or the 5.7 M-row file")
    parser.add_argument("--write-concurrency", type=int, default=8)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    parser.add_argument("--job-arg", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    args = parser.parse_args(argv)

    stamp = datetime.now(UTC).strftime(data.RUN_STAMP)
    run_dir = data.CACHE_DIR / f"cprofile-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    path = {"flights": lambda: data.flights_csv(None), "big": data.big_csv}.get(
        args.file or "", lambda: data.flights_csv(args.rows)
    )()
    rows = data.count_rows(path)
    key = source_key(path)
    argv_job = [
        *("--source_bucket", BUCKET, "--source_key", key, "--table", f"cprofile-{uuid.uuid4().hex[:8]}"),
        *("--run_id", f"cprofile-{stamp}", "--write_concurrency", str(args.write_concurrency)),
    ]
    for name, value in args.job_arg:
        argv_job += [f"--{name}", value]

    from csv2ddb_core.cli import main as job_main  # after the path set-up above

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_thread_profile(*_: Any) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        profile.enable()

    sink = Sink({key: path}, run_dir / "sink.log")
    try:
        env = {**os.environ, **SINK_CREDENTIALS, "AWS_ENDPOINT_URL": sink.url}
        os.environ.update(env)
        main_profile = cProfile.Profile(time.thread_time)
        threading.setprofile(start_thread_profile)
        cpu0, wall0 = time.process_time(), time.monotonic()
        main_profile.enable()
        rc = job_main(argv_job, env)
        main_profile.disable()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        threading.setprofile(None)
        count = int(sink.stats()["distinct_ids"])
    finally:
        sink.stop()
    stats = pstats.Stats(main_profile, stream=io.StringIO())
    for profile in profiles:
        profile.disable()
        profile.create_stats()
        stats.add(profile)
    stats.dump_stats(str(run_dir / "job.pstats"))
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats(args.sort).print_stats(args.top)
    print(
        f"{path.name}: rc {rc}, {count:,} items of {rows:,} rows; "
        f"under cProfile {cpu:.1f} CPU-s, {wall:.1f} s wall "
        f"({cpu / rows * 1e6:.0f} CPU-s per M rows with the profiler's overhead); {len(profiles)} threads; "
        f"stats: {run_dir / 'job.pstats'}"
    )
    print(out.getvalue())
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
