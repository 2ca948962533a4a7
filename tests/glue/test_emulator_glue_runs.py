"""The emulator's Glue runs each of many simultaneous runs' script (``csv2ddb_dev.emulator``).

With object bodies in memory only, ministack copies a job's script to one shared temp path at every
run start; runs started in the same instant ran each other's half-written copy and reported
SUCCEEDED having done nothing: 9 and 11 of 50 on 2026-12-06, and a CI failure of two backfills
started side by side. The emulator now keeps bodies on disk (``S3_PERSIST=1``) and its Glue runs the
script from there. Every test and demo that loads through Glue relies on this.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from csv2ddb.settings import Settings

from tests.glue.pythonshell import create_pythonshell_job

pytestmark = pytest.mark.emulator

RUNS = 30
FINAL_STATES = ("SUCCEEDED", "FAILED", "ERROR", "TIMEOUT", "STOPPED")


def marker_script(out: Path) -> bytes:
    """A script long enough that a torn copy of it is likely to be run; it leaves one file per run,
    named by the run's ``--tag`` (ministack hands a Python-shell run its arguments as variables)."""
    padding = "# a line that makes the script long enough to be caught half-written\n" * 2000
    return (
        f"import os, pathlib\n{padding}pathlib.Path({str(out)!r}, os.environ['tag']).write_text('ran')\n"
    ).encode()


def test_simultaneous_runs_of_one_job_each_run_its_script(
    boto_session: boto3.Session, stack_settings: Settings, tmp_path: Path
) -> None:
    s3, glue = boto_session.client("s3"), boto_session.client("glue")
    bucket, job = f"{stack_settings.prefix}-glue-runs", f"{stack_settings.prefix}-marker"
    out = tmp_path / "ran"
    out.mkdir()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="scripts/marker.py", Body=marker_script(out))
    create_pythonshell_job(
        glue, job, f"s3://{bucket}/scripts/marker.py", ExecutionProperty={"MaxConcurrentRuns": RUNS}
    )
    try:
        with ThreadPoolExecutor(RUNS) as pool:
            run_ids = list(
                pool.map(
                    lambda i: glue.start_job_run(JobName=job, Arguments={"--tag": f"run-{i}"})["JobRunId"],
                    range(RUNS),
                )
            )
        deadline = time.monotonic() + 300
        while True:
            states = [glue.get_job_run(JobName=job, RunId=r)["JobRun"]["JobRunState"] for r in run_ids]
            if all(state in FINAL_STATES for state in states) or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        assert Counter(states) == {"SUCCEEDED": RUNS}
        assert sorted(p.name for p in out.iterdir()) == sorted(f"run-{i}" for i in range(RUNS))
    finally:
        glue.delete_job(JobName=job)
