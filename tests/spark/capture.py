"""A tap (``csv2ddb_core.spark.partition.Tap``) that captures every BatchWriteItem request a Spark task's
writer sends, byte for byte, instead of sending it.

Why: the flights test needs the item set of 336,776 rows; round-tripping them through the emulator
(writing, then reading every key back) costs minutes on two shared cores, while the question is
only *which items the Spark engine writes*. The tap gives each task a DynamoDB client of its own
(same endpoint, credentials and config as the task's) with a ``before-send`` handler: botocore has
built, pre-encoded and signed the request when it fires, so what is recorded is exactly the HTTP
body DynamoDB would receive. It answers as DynamoDB answers a fully processed batch
(``{"UnprocessedItems": {}}``); every other operation goes to the emulator as usual.

The bodies are appended to one file per task attempt in a shared directory (tasks run in Spark's
Python workers, other processes); :func:`captured_items` reads them back. Shipped to the workers
by value (``register_pickle_by_value``), so they need not import the test package.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PROCESSED = b'{"UnprocessedItems":{}}'


class _Raw:
    """The ``raw`` of a botocore AWSResponse: what ``.content`` streams."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class CaptureWrites:
    """The tap: ``(split index, the task's DynamoDB client) -> a capturing client``."""

    def __init__(self, directory: Path) -> None:
        self.directory = str(directory)

    def __call__(self, split: int, ddb: Any) -> Any:
        import boto3
        from botocore.awsrequest import AWSResponse
        from botocore.config import Config

        meta = ddb.meta
        # As csv2ddb_core.clients.make_clients: no parameter validation (the writer passes an empty
        # RequestItems list and swaps in the body it encoded itself); meta.config does not say so.
        config = meta.config.merge(Config(parameter_validation=False))
        client = boto3.session.Session().client(
            "dynamodb", endpoint_url=meta.endpoint_url, region_name=meta.region_name, config=config
        )
        path = os.path.join(self.directory, f"split-{split:05d}-{os.getpid()}-{uuid.uuid4().hex}.jsonl")
        lock = threading.Lock()

        def send(request: Any, **_: Any) -> Any:
            body = request.body if isinstance(request.body, bytes) else request.body.encode("utf-8")
            assert b"\n" not in body  # JSON escapes a newline inside a string: one request a line
            with lock, open(path, "ab") as out:
                out.write(body + b"\n")
            headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": uuid.uuid4().hex}
            return AWSResponse(request.url, 200, headers, _Raw(PROCESSED))

        client.meta.events.register("before-send.dynamodb.BatchWriteItem", send)
        return client


def captured_items(directory: Path, table: str) -> Iterator[dict[str, Any]]:
    """Every item of every captured BatchWriteItem request to ``table`` (PutRequests only); a body
    that is not JSON fails here, as DynamoDB would refuse it."""
    for path in sorted(directory.glob("split-*.jsonl")):
        with path.open("rb") as lines:
            for line in lines:
                request = json.loads(line)
                assert set(request["RequestItems"]) == {table}, list(request["RequestItems"])
                for entry in request["RequestItems"][table]:
                    assert set(entry) == {"PutRequest"}, entry
                    yield entry["PutRequest"]["Item"]
