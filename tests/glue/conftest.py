"""Fixtures for the Glue job tests: the job script's path, and a bucket + table on the emulator."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from csv2ddb.settings import Settings
from csv2ddb.tables import items_table_spec
from csv2ddb_core.clients import make_clients
from csv2ddb_core.load import run
from csv2ddb_core.options import parse_job_args

JOB_PATH = Path(__file__).resolve().parents[2] / "glue" / "csv2ddb_load_job.py"


@pytest.fixture(scope="session")
def job_path() -> Path:
    return JOB_PATH


class BucketTable:
    """A stack's bucket and items table, and the job's argv for them.

    One base for ``LoadTarget`` here and ``Place`` in tests/reliability/faults.py, so both suites
    upload and address the job the same way. Subclasses provide ``settings`` and an ``s3`` client.
    """

    settings: Settings
    s3: Any

    @property
    def bucket(self) -> str:
        return self.settings.bucket

    @property
    def table(self) -> str:
        return self.settings.table

    def put(self, key: str, body: bytes) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return key

    def job_argv(self, key: str, run_id: str | None = None, **extra: str) -> list[str]:
        """The job's ``--name value`` args to load ``key`` into the table (a fresh run id if none)."""
        argv = [
            "--source_bucket", self.bucket, "--source_key", key,
            "--table", self.table, "--run_id", run_id or f"run-{uuid.uuid4().hex[:12]}",
        ]  # fmt: skip
        for name, value in extra.items():
            argv += [f"--{name}", value]
        return argv


@dataclass
class LoadTarget(BucketTable):
    """A bucket and an items table on the emulator, with helpers to run the job against them."""

    settings: Settings
    s3: Any
    ddb: Any

    def run(self, key: str, run_id: str | None = None, **extra: str) -> dict[str, Any]:
        """Run the job in-process (its real clients, pointed at the emulator by AWS_ENDPOINT_URL)."""
        args = parse_job_args(self.job_argv(key, run_id, **extra), env={})
        s3, ddb = make_clients(args)
        return run(args, s3, ddb).to_dict(with_location=True)  # the JSON the job prints

    def scan_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.ddb.get_paginator("scan").paginate(TableName=self.table):
            items.extend(page["Items"])
        return items

    def count_items(self) -> int:
        """Exact count (paginated Scan with Select=COUNT), not the lagging ItemCount."""
        pages = self.ddb.get_paginator("scan").paginate(TableName=self.table, Select="COUNT")
        return sum(page["Count"] for page in pages)

    def get_object(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()


@pytest.fixture
def make_table(boto_session: boto3.Session) -> Iterator[Callable[[Settings, str], None]]:
    """Create items tables (HASH id S, on-demand); delete them at the end of the test."""
    ddb = boto_session.client("dynamodb")
    created: list[str] = []

    def create(settings: Settings, name: str) -> None:
        spec = items_table_spec(settings, name)
        ddb.create_table(
            TableName=spec.name,
            KeySchema=spec.key_schema(),
            AttributeDefinitions=spec.attribute_definitions(),
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.get_waiter("table_exists").wait(TableName=spec.name)
        created.append(spec.name)

    yield create
    for name in created:
        ddb.delete_table(TableName=name)


@pytest.fixture
def target(
    stack_settings: Settings,
    boto_session: boto3.Session,
    make_table: Callable[[Settings, str], None],
) -> LoadTarget:
    s3 = boto_session.client("s3")
    s3.create_bucket(Bucket=stack_settings.bucket)
    make_table(stack_settings, stack_settings.table)
    return LoadTarget(stack_settings, s3, boto_session.client("dynamodb"))
