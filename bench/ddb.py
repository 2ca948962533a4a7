"""The few DynamoDB/S3 operations the harness does itself: fresh tables, exact counts, cleanup.

Counts are exact (a paginated ``Scan`` with ``Select=COUNT``), never ``ItemCount``: a contender
is only "verified" when the table holds exactly the items it was meant to write.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

HASH_KEY = "id"


def session(env: dict[str, str]) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def client(env: dict[str, str], service: str, max_pool: int = 10, fast: bool = False) -> Any:
    """A client on the emulator. ``fast``: no botocore retries and no parameter validation, the
    cheapest client-side path (the ceiling's, and the same settings the Glue job uses)."""
    if fast:
        cfg = Config(
            max_pool_connections=max_pool,
            retries={"total_max_attempts": 1, "mode": "standard"},
            parameter_validation=False,
            tcp_keepalive=True,
        )
    else:
        cfg = Config(max_pool_connections=max_pool, retries={"max_attempts": 10, "mode": "standard"})
    return session(env).client(service, endpoint_url=env["AWS_ENDPOINT_URL"], config=cfg)


def create_table(ddb: Any, name: str) -> None:
    """An on-demand table with the items' key schema (HASH ``id`` S), waited until ACTIVE."""
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": HASH_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": HASH_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})


def delete_table(ddb: Any, name: str) -> None:
    """Drop a contender's table once counted, so the emulator's memory does not pile up."""
    ddb.delete_table(TableName=name)


def exact_count(ddb: Any, name: str) -> int:
    """Items in the table right now, counted by a full paginated Scan (Select=COUNT)."""
    total = 0
    kwargs: dict[str, Any] = {"TableName": name, "Select": "COUNT"}
    while True:
        page = ddb.scan(**kwargs)
        total += page["Count"]
        last = page.get("LastEvaluatedKey")
        if not last:
            return total
        kwargs["ExclusiveStartKey"] = last


def item_count(ddb: Any, name: str) -> int:
    """``ItemCount`` from DescribeTable. On AWS it lags by hours; ministack updates it on every
    write (services/dynamodb.py ``_set_item``), so against the emulator it is the live count."""
    return int(ddb.describe_table(TableName=name)["Table"]["ItemCount"])


def present_keys(ddb: Any, name: str, ids: Sequence[str], threads: int = 4) -> int:
    """How many of ``ids`` are in the table: BatchGetItem by key, 100 at a time, key only.

    Why not a Scan COUNT: ministack sorts the whole table for every 1 MB Scan page, so counting
    336 k items by Scan takes many minutes; key lookups are O(1) each and check item identity,
    not just a number.
    """
    chunks = [ids[i : i + 100] for i in range(0, len(ids), 100)]

    def found(chunk: Sequence[str]) -> int:
        request = {
            name: {
                "Keys": [{HASH_KEY: {"S": key}} for key in chunk],
                "ProjectionExpression": "#k",
                "ExpressionAttributeNames": {"#k": HASH_KEY},
            }
        }
        total = 0
        for _attempt in range(20):
            reply = ddb.batch_get_item(RequestItems=request)
            total += len(reply.get("Responses", {}).get(name, []))
            request = reply.get("UnprocessedKeys") or {}
            if not request:
                return total
            time.sleep(0.1)
        raise RuntimeError(f"BatchGetItem on {name}: keys still unprocessed after 20 attempts")

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(found, chunks))


def sample_item(ddb: Any, name: str) -> dict[str, Any] | None:
    items = ddb.scan(TableName=name, Limit=1).get("Items") or []
    return items[0] if items else None


def ensure_bucket(s3: Any, bucket: str) -> None:
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)


def upload(s3: Any, path: Path, bucket: str, key: str) -> None:
    s3.upload_file(str(path), bucket, key)


def wait_import(ddb: Any, import_arn: str, timeout_s: float = 7200.0) -> dict[str, Any]:
    """Poll DescribeImport until the import leaves IN_PROGRESS; return its description."""
    deadline = time.monotonic() + timeout_s
    while True:
        desc = ddb.describe_import(ImportArn=import_arn)["ImportTableDescription"]
        if desc["ImportStatus"] not in ("IN_PROGRESS",):
            return desc
        if time.monotonic() > deadline:
            raise TimeoutError(f"import {import_arn} still IN_PROGRESS after {timeout_s:.0f}s")
        time.sleep(0.2)
