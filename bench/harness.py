"""Measure one contender: run its child against the server, count what it left, keep the record.

The server is one ministack for a whole run (``on_emulator``) or the null sink of the big run
(``bench.big.SinkHarness``); how each contender's child is started is in ``bench.launch``.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path
from typing import Any

from csv2ddb_dev.emulator import Emulator
from csv2ddb_dev.paths import REPO_ROOT

from bench import data, ddb, job, record
from bench.measure import load_average, process_cpu_seconds, process_rss_mb, run_child
from bench.s3_inputs import BUCKET, source_key

VERIFY_SAMPLE = 2_000  # keys looked up per table, besides the exact item count


class Harness:
    """One server, one bucket, and a fresh table per measured contender."""

    server = "ministack"

    def __init__(self, server_pid: int, env: dict[str, str], run_dir: Path, first_log: int = 0) -> None:
        self.server_pid = server_pid
        self.run_dir = run_dir
        self.env = env
        self.ddb = ddb.client(self.env, "dynamodb")
        self.s3 = ddb.client(self.env, "s3")
        self.results: list[dict[str, Any]] = []
        self.extras: dict[str, Any] = {}  # figures that are not a loader's record (check_scale)
        self.expected_ids: dict[str, list[str]] = {}
        self._n = first_log  # numbers the contenders' log files and tables

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
        # The checkout first; a caller's own PYTHONPATH (e.g. a worktree's packages) is kept after it.
        path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, **self.env, "PYTHONPATH": path}
        for leak in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            env.pop(leak, None)
        return env

    def new_table(self, contender: str) -> str:
        """A table name no earlier contender of this run used."""
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
        rec = record.make(contender, label, dataset, child, inner, count, meta)
        if rec["verified"] and count_detail.get("table_item_count", count) != count:
            rec["verified"] = False  # the expected keys are there, but so are other items
        rec["server"] = self.server
        rec["job_sha256"] = job_sha
        rec["count_detail"] = count_detail
        rec.update(
            emulator_cpu_s=round(emu_cpu1 - emu_cpu0, 2),  # the server's: ministack or the sink
            emulator_rss_mb_before=round(emu_rss0),
            emulator_rss_mb_after=round(emu_rss1),
            load_before=[round(x, 2) for x in load_before],
            load_after=[round(x, 2) for x in load_after],
        )
        wall = rec["wall_s"] or 0
        rec["emulator_cores"] = round(rec["emulator_cpu_s"] / wall, 2) if wall else None
        self.results.append(rec)
        print(f"[bench]   {record.one_line(rec)}", flush=True)
        # Every finished contender is on disk at once: a run cut short still leaves its figures.
        with open(self.run_dir / "records.jsonl", "a") as partial:
            partial.write(json.dumps(rec, default=str) + "\n")
        return rec

    def manifest(self, run_id: str) -> dict[str, Any] | None:
        """The manifest a job run wrote, or None when it wrote none."""
        key = f"manifests/{run_id}.json"
        try:
            body = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(body)


def on_emulator(emulator: Emulator, run_dir: Path) -> Harness:
    """A harness on a running ministack, its bucket created."""
    harness = Harness(emulator.pid, emulator.client_env(), run_dir)
    ddb.ensure_bucket(harness.s3, BUCKET)
    return harness


def prepare_dataset(name: str, path: Path, harness: Harness, peers: bool) -> dict[str, Any]:
    """Count the rows and the distinct items, upload the file, and write the peers' id'd copy."""
    rows = data.count_rows(path)
    key = source_key(path)
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
