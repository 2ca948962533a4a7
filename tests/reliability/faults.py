"""Helpers for the fault tests: a bucket + items table on some emulator, job processes, exact scans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from csv2ddb.settings import Settings, load_settings
from csv2ddb.tables import items_table_spec
from csv2ddb_dev.emulator import Emulator, stop_process_group

from tests.glue.conftest import JOB_PATH, BucketTable

# A run a fault interrupts writes through a HoldingProxy (tests/holding_proxy.py) that lets its first
# HELD_AFTER WRITE_CALLs (one writer thread) reach the emulator and holds the next one: the fault
# lands at a point the test knows, whatever the machine's speed. (Before: a --max_write_rate cap made
# the load slower than the fault, a bet on the test process not stalling.)
HELD_AFTER = 4
WRITE_CALL = "BatchWriteItem"


def numbered_csv(rows: int, tag: str) -> bytes:
    """``id,name,amount`` rows with ids ``<tag>-<n>``: easy to list exactly."""
    lines = ["id,name,amount", *(f"{tag}-{i},item {i},{i}.5" for i in range(rows))]
    return ("\n".join(lines) + "\n").encode()


def ids_of(tag: str, rows: int) -> set[str]:
    return {f"{tag}-{i}" for i in range(rows)}


@dataclass
class Place(BucketTable):
    """A bucket and one items table on an emulator (its own unique prefix)."""

    emulator: Emulator
    settings: Settings

    @classmethod
    def create(cls, emulator: Emulator) -> Place:
        place = cls(emulator, load_settings(emulator.client_env(), prefix=f"rf{uuid.uuid4().hex[:8]}"))
        place.s3.create_bucket(Bucket=place.bucket)
        spec = items_table_spec(place.settings, place.table)
        place.ddb.create_table(
            TableName=spec.name,
            KeySchema=spec.key_schema(),
            AttributeDefinitions=spec.attribute_definitions(),
            BillingMode="PAY_PER_REQUEST",
        )
        return place

    def client(self, service: str) -> Any:
        env = self.emulator.client_env()
        return boto3.client(
            service,
            endpoint_url=self.emulator.endpoint_url,
            region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def ddb(self) -> Any:
        return self.client("dynamodb")

    def items(self) -> dict[str, dict[str, Any]]:
        """Every item, by id: a consistent, paginated Scan (exact, unlike ItemCount)."""
        out: dict[str, dict[str, Any]] = {}
        pages = self.ddb.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True)
        for page in pages:
            out.update({item["id"]["S"]: item for item in page["Items"]})
        return out

    def has_items(self) -> bool:
        return bool(self.ddb.scan(TableName=self.table, Limit=1)["Items"])

    def manifest(self, run_id: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=f"manifests/{run_id}.json")["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(body)

    def start_job(
        self, argv: list[str], log: Path, overrides: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """The job script as Glue runs it: its own process (and process group), ``--name value`` args;
        ``overrides`` change its environment (a proxy's endpoint). Its temporary files go beside its
        log, under the test's own directory: a job killed by a test cannot remove them itself."""
        env = {**os.environ, **self.emulator.client_env(), "TMPDIR": str(log.parent), **(overrides or {})}
        for leak in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            env.pop(leak, None)
        with open(log, "wb") as out:
            return subprocess.Popen(
                [sys.executable, str(JOB_PATH), *argv],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def run_job(self, argv: list[str], log: Path, timeout: float = 300) -> tuple[int, dict[str, Any]]:
        """Run to the end; (exit code, the manifest the job printed)."""
        proc = self.start_job(argv, log)
        try:
            rc = proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                stop_process_group(proc.pid)
        return rc, printed_manifest(log)


def printed_manifest(log: Path) -> dict[str, Any]:
    """The manifest JSON the job prints on stdout (between its log lines)."""
    text = log.read_text(errors="replace")
    start = text.find("\n{")
    end = text.rfind("\n}")
    assert start >= 0, f"no manifest printed; log tail:\n{text[-3000:]}"
    assert end >= 0, f"no manifest printed; log tail:\n{text[-3000:]}"
    return json.loads(text[start + 1 : end + 2])


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(interval)
