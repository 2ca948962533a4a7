"""The 5.7 M-row run: our loader and the ceiling against the null sink (see bench/sink.py for why).

Both files (flights and the big one) are loaded against the same sink by the same two
contenders, so "rows/s at 336 k vs at 5.7 M" compares like with like, and the job's peak RSS on
the big file answers the memory target with the real script.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from csv2ddb_dev.emulator import stop_process_group
from csv2ddb_dev.paths import REPO_ROOT, free_port

from bench import data, launch
from bench.harness import Harness, prepare_dataset
from bench.s3_inputs import BUCKET, source_key

HOST = "127.0.0.1"


class Sink:
    """The sink server as a child process in its own process group (stopped by PID)."""

    def __init__(self, files: dict[str, Path], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        argv = [sys.executable, "-m", "bench.sink", "--port", str(self.port)]
        for key, path in files.items():
            argv += ["--serve", f"{BUCKET}/{key}={path}"]
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the sink exited with {self.proc.returncode}; see {log_path}")
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the sink did not answer on {self.url} within 30 s")

    def call(self, path: str, method: str = "GET") -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, data=b"" if method == "POST" else None
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        return self.call("/_sink/stats")

    def stop(self) -> None:
        stop_process_group(self.proc.pid)


class SinkHarness(Harness):
    """Same measurements as ``Harness``; the server is the sink and the count is its distinct ids."""

    server = "sink"

    def __init__(self, sink: Sink, base_env: dict[str, str], run_dir: Path, files: dict[str, Path]) -> None:
        env = {**base_env, "AWS_ENDPOINT_URL": sink.url, "CSV2DDB_ENDPOINT_URL": sink.url}
        super().__init__(sink.proc.pid, env, run_dir, first_log=100)  # log numbers after the emulator's
        self.sink = sink
        self._files = files

    def prepare_table(self, table: str) -> None:
        self.sink.call("/_sink/reset", method="POST")

    def count(self, table: str, dataset: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        stats = self.sink.stats()
        return int(stats["distinct_ids"]), stats

    def drop(self, table: str) -> None:
        """Nothing kept: the sink forgets the ids at the next reset."""

    def upload(self, path: Path, key: str) -> None:
        if self._files.get(key) != path:
            raise ValueError(f"the sink was not started to serve {key} from {path}")


def run_big(
    run_dir: Path,
    base_env: dict[str, str],
    flights: dict[str, Any],
    big_path: Path,
    threads: int,
    only: set[str],
) -> list[dict[str, Any]]:
    """Flights and the big file, each loaded by our job and pushed by the ceiling, on one sink.

    (The transform-only rate is measured on flights with the emulator run; on the big file it
    would only add minutes to an already long run.)"""
    files = {source_key(flights["path"]): flights["path"], source_key(big_path): big_path}
    sink = Sink(files, run_dir / "sink.log")
    try:
        harness = SinkHarness(sink, base_env, run_dir, files)
        small = prepare_dataset(data.FLIGHTS_ON_SINK, flights["path"], harness, peers=False)
        small["items"] = flights["items"]
        large = prepare_dataset(data.BIG_ON_SINK, big_path, harness, peers=False)
        large["items"] = data.count_rows(big_path)  # distinct by construction (the copy column)
        for dataset in (small, large):
            if "csv2ddb_job" in only:
                launch.glue_job(harness, dataset, threads)
            if "csv2ddb_job_pre21" in only and dataset is small:  # the big file's "before": 15 more minutes
                launch.glue_job_pre21(harness, dataset, threads)
            if "ceiling" in only:
                launch.ceiling(harness, dataset, threads)
    finally:
        sink.stop()
    return harness.results
