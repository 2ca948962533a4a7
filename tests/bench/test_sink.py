"""The null sink of the 5.7 M-row run: it must answer the job's calls and count honestly.

A real local server (``python -m bench.sink`` on a loopback port, stopped by PID); the client is
real botocore. Nothing here needs the emulator: the sink stands in for it where ministack cannot
hold the items (see bench/sink.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from csv2ddb_dev.emulator import LOCAL_CREDENTIALS

from bench import ddb
from bench.big import Sink
from bench.s3_inputs import BUCKET, source_key
from bench.sink import put_ids

KEY = source_key(Path("tiny.csv"))
BODY = b"a,b\n" + b"".join(f"{i},x{i}\n".encode() for i in range(1000))


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    source = tmp_path / "tiny.csv"
    source.write_bytes(BODY)
    server = Sink({KEY: source}, tmp_path / "sink.log")  # served under the bench bucket
    try:
        yield server
    finally:
        server.stop()


def _env(sink: Sink) -> dict[str, str]:
    return {**LOCAL_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": sink.url}


def _put(item_id: str) -> dict[str, object]:
    return {"PutRequest": {"Item": {"id": {"S": item_id}, "n": {"N": "1"}}}}


def test_sink_counts_items_and_distinct_ids(sink: Sink) -> None:
    client = ddb.client(_env(sink), "dynamodb", fast=True)
    first = [_put(f"k{i}") for i in range(25)]
    second = [_put(f"k{i}") for i in range(20, 30)]  # 5 ids again

    replies = [client.batch_write_item(RequestItems={"t": batch}) for batch in (first, second)]

    assert all(reply["UnprocessedItems"] == {} for reply in replies)
    assert sink.stats() == {"items": 35, "distinct_ids": 30, "requests": 2}
    assert client.describe_table(TableName="t")["Table"]["TableStatus"] == "ACTIVE"
    sink.call("/_sink/reset", method="POST")
    assert sink.stats() == {"items": 0, "distinct_ids": 0, "requests": 0}


def test_sink_serves_its_file_with_ranges_and_keeps_puts(sink: Sink) -> None:
    s3 = ddb.client(_env(sink), "s3")

    whole = s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    tail = s3.get_object(Bucket=BUCKET, Key=KEY, Range="bytes=4-")["Body"].read()
    s3.put_object(Bucket=BUCKET, Key="manifests/r.json", Body=b"{}")

    assert whole == BODY
    assert tail == BODY[4:]
    assert s3.get_object(Bucket=BUCKET, Key="manifests/r.json")["Body"].read() == b"{}"
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=BUCKET, Key="raw/bench/missing.csv")


def test_sink_keeps_multipart_uploads_and_deletes(sink: Sink, tmp_path: Path) -> None:
    """A 5.7 M-row load's key list is over boto3's 8 MB multipart threshold, and the Spark engine
    reads its tasks' key-list parts back, then deletes them: the sink must do all three as S3 does
    (boto3's upload_file, as the job calls it), or the run fails at its very end."""
    s3 = ddb.client(_env(sink), "s3")
    big = tmp_path / "keys.jsonl.gz"
    body = bytes(range(256)) * (9 << 12)  # 9 MB: two parts
    big.write_bytes(body)

    s3.upload_file(str(big), BUCKET, "manifests/r.keys.jsonl.gz")

    assert s3.get_object(Bucket=BUCKET, Key="manifests/r.keys.jsonl.gz")["Body"].read() == body
    s3.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": "manifests/r.keys.jsonl.gz"}], "Quiet": True}
    )
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=BUCKET, Key="manifests/r.keys.jsonl.gz")


def _parsed_ids(body: bytes) -> list[bytes]:
    """What the sink read before it had a fast path: every PutRequest item's id, by ``json``."""
    request = json.loads(body)
    return [
        w["PutRequest"]["Item"]["id"]["S"].encode() for ws in request["RequestItems"].values() for w in ws
    ]


@pytest.mark.parametrize(
    "items",
    [
        [{"id": {"S": "a1"}, "n": {"N": "1"}}, {"n": {"N": "2"}, "id": {"S": "b2"}}],
        [{"id": {"S": "caf\u00e9 \u2603"}}, {"id": {"S": 'q"uote\\back'}}, {"id": {"S": "tab\t"}}],
        [{"id": {"S": "x"}, "m": {"M": {"id": {"S": "nested"}}}}],  # a nested id: not an item's
        [{"id": {"S": "x"}, 'a"id': {"S": "y"}}, {"id": {"S": "z"}}],  # a quote in a name
        [{"id": {"S": "x"}, "l": {"L": [{"S": "id"}, {"S": '"id": {"S": "w"}'}]}}],
        [{"id": {"S": "x"}, "PutRequest": {"S": "p"}}, {"id": {"S": "y"}}],
    ],
)
def test_put_ids_reads_exactly_the_ids_json_reads(items: list[dict[str, Any]]) -> None:
    """The fast path (ids by pattern) or its fallback (the whole body by ``json``) gives exactly the
    ids ``json`` gives, for bodies as botocore writes them (``", "``), as the job writes them
    (compact), and with ``\\u`` escapes."""
    request = {"RequestItems": {"t": [{"PutRequest": {"Item": item}} for item in items]}}
    for body in (
        json.dumps(request).encode(),
        json.dumps(request, separators=(",", ":"), ensure_ascii=False).encode(),
        json.dumps(request, ensure_ascii=True).encode(),
    ):
        assert put_ids(body) == _parsed_ids(body)


def test_put_ids_reads_a_plain_body_without_parsing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path is taken for items as the job sends them (else the test above proves little)."""
    items = [{"PutRequest": {"Item": {"id": {"S": f"k{i}"}, "n": {"N": "1"}}}} for i in range(25)]
    body = json.dumps({"RequestItems": {"t": items}}, separators=(",", ":")).encode()
    monkeypatch.setattr("bench.sink.json.loads", None)
    assert put_ids(body) == [f"k{i}".encode() for i in range(25)]
