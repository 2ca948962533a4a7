"""Fixtures for the analytics tests: a bucket and an items table on the emulator (real S3,
DynamoDB, Glue Data Catalog, Athena on DuckDB, CloudWatch and SNS: the session's emulator of
tests/conftest.py runs Athena and CloudWatch for this suite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from csv2ddb.settings import Settings


@dataclass
class Place:
    """A stack's bucket and items table (HASH ``id`` S), and clients for them."""

    settings: Settings
    session: boto3.Session

    @property
    def bucket(self) -> str:
        return self.settings.bucket

    @property
    def table(self) -> str:
        return self.settings.table

    def client(self, name: str) -> Any:
        return self.session.client(name)

    def scan(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.client("dynamodb").get_paginator("scan").paginate(TableName=self.table):
            items.extend(page["Items"])
        return items


@pytest.fixture
def place(stack_settings: Settings, boto_session: boto3.Session) -> Iterator[Place]:
    s3, ddb = boto_session.client("s3"), boto_session.client("dynamodb")
    s3.create_bucket(Bucket=stack_settings.bucket)
    ddb.create_table(
        TableName=stack_settings.table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=stack_settings.table)
    try:
        yield Place(stack_settings.with_load(processed=True), boto_session)  # the analytics side on
    finally:
        ddb.delete_table(TableName=stack_settings.table)


@pytest.fixture
def airflow_aws(
    emulator: Any,
    aws_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The provider's hooks in this process reach the emulator through the aws_default connection
    (read from the environment: no Airflow database is needed for that)."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    connection = {
        "conn_type": "aws",
        "login": "test",
        "password": "test",
        "extra": {"region_name": emulator.region, "endpoint_url": emulator.endpoint_url},
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
