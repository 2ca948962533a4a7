"""``python -m bench.many_files_profile``: where one group of small files spends its time, in process.

One fresh emulator and a bootstrapped stack (analytics on, as the product's default), ``--files``
small files under one prefix planned as one ``csv2ddb_load`` run would plan them, then, timed in
this process (no scheduler, no task runner): the inline load of the group
(``csv2ddb.load.inline.load_group``) and its bulk verify (``csv2ddb.load.steps.verify_files``: count
checks, the analytics step, audit records). ``--profile`` writes a cProfile of each to
``.cache/bench/`` and prints the top functions. The A/B harness for the per-file costs of issue 24;
what it cannot show is Airflow's own share (task start, log forwarding), which only a real task
has.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

from csv2ddb_dev.burst import small_csv, upload
from csv2ddb_dev.emulator import start_emulator
from csv2ddb_dev.paths import REPO_ROOT

T = TypeVar("T")
OUT = REPO_ROOT / ".cache" / "bench"
PREFIX = "raw/profile/"


def timed(
    name: str, fn: Callable[[], T], profile: bool, emulator_pid: int | None = None
) -> tuple[T, float, dict[str, float]]:
    """Run ``fn`` once; its seconds, the CPU seconds it cost (this process, and the emulator's tree:
    wall seconds on a shared machine are noise, these are not), and with ``profile`` its cProfile (top
    25 by cumulative time; the profiler's own overhead is in the CPU seconds then)."""
    from bench.many_files import tree_cpu_seconds

    prof = cProfile.Profile() if profile else None
    cpu_before = tree_cpu_seconds(emulator_pid)
    started = time.monotonic()
    if prof is not None:
        prof.enable()
    try:
        result = fn()
    finally:
        if prof is not None:
            prof.disable()
    seconds = time.monotonic() - started
    cpu_after = tree_cpu_seconds(emulator_pid)
    cpu = {side: round(cpu_after[side] - cpu_before[side], 2) for side in cpu_after}
    if prof is not None:
        OUT.mkdir(parents=True, exist_ok=True)
        prof.dump_stats(str(OUT / f"profile-{name}.prof"))
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    return result, seconds, cpu


def plan_group(settings: Any, files: int) -> dict[str, Any]:
    """The run's plans for the prefix, grouped as ``resolve_inputs`` groups them (one group)."""
    from csv2ddb.load import groups, steps

    dag_run_id = f"manual__profile-{uuid.uuid4().hex[:6]}"
    request = steps.plan({"prefix": PREFIX, "engine": "inline"}, "manual", None, settings)
    loads = steps.prepare(request, dag_run_id, settings)
    grouped = groups.group_loads(loads, dag_run_id, settings)
    if len(grouped) != 1 or len(groups.files_of(grouped[0])) != files:
        raise RuntimeError(f"expected one group of {files} files, got {[len(g['files']) for g in grouped]}")
    return {**grouped[0], "dag_run_id": dag_run_id}


def measure(files: int, rows: int, workdir: Path, profile: bool) -> dict[str, Any]:
    emulator = start_emulator(workdir / "emulator")
    try:
        env = emulator.client_env()
        os.environ.update(env)
        connection = {
            "conn_type": "aws",
            "login": env["AWS_ACCESS_KEY_ID"],
            "password": env["AWS_SECRET_ACCESS_KEY"],
            "extra": {"region_name": emulator.region, "endpoint_url": emulator.endpoint_url},
        }
        os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(connection)
        os.environ["CSV2DDB_PREFIX"] = f"prof{uuid.uuid4().hex[:6]}"
        from csv2ddb.bootstrap import create_stack
        from csv2ddb.load import inline, steps
        from csv2ddb.settings import load_settings

        settings = load_settings()
        create_stack(settings)
        import boto3

        s3 = boto3.Session(region_name=settings.region).client("s3", endpoint_url=emulator.endpoint_url)
        upload(s3, settings.bucket, [(f"{PREFIX}part-{i:05d}.csv", small_csv(i, rows)) for i in range(files)])
        group = plan_group(settings, files)
        outcomes, load_s, load_cpu = timed(
            "inline", lambda: inline.load_group(group, settings), profile, emulator.pid
        )
        ti = SimpleNamespace(dag_id="csv2ddb_load", run_id=group["dag_run_id"], map_index=0)
        dag_run = SimpleNamespace(run_type="manual", triggering_user_name="profile", logical_date=None)
        loads = group["files"]
        verified, verify_s, verify_cpu = timed(
            "verify",
            lambda: steps.verify_files(loads, settings, ti, dag_run, None, None),
            profile,
            emulator.pid,
        )
        statuses = [rec["status"] for _, rec in verified]
        analytics = [rec.get("analytics_status") for _, rec in verified]
        return {
            "files": files,
            "rows_per_file": rows,
            "inline_load_seconds": round(load_s, 2),
            "inline_load_cpu_seconds": load_cpu,
            "inline_failed": sum(1 for o in outcomes if not o.ok),
            "verify_seconds": round(verify_s, 2),
            "verify_cpu_seconds": verify_cpu,
            "verified": statuses.count("verified"),
            "analytics": {s: analytics.count(s) for s in set(analytics)},
        }
    finally:
        emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.many_files_profile", description=__doc__)
    parser.add_argument("--files", type=int, default=64, help="files in the group (default 64)")
    parser.add_argument("--rows", type=int, default=50, help="rows per file (default 50)")
    parser.add_argument("--profile", action="store_true", help="cProfile both steps")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="csv2ddb-profile-") as tmp:
        figures = measure(args.files, args.rows, Path(tmp), args.profile)
    print(json.dumps(figures))
    return 0 if figures["verified"] == args.files else 1


if __name__ == "__main__":
    sys.exit(main())
