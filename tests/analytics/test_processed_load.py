"""A whole Python-shell load (the core's ``run``, real clients, the emulator) with the processed
zone on and off: the manifest records the zone, and the Parquet equals the table by value."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
from csv2ddb_core.clients import make_clients
from csv2ddb_core.load import run
from csv2ddb_core.options import parse_job_args

from tests.analytics.conftest import Place

CSV = (
    "id,qty,price,flag,note\n"
    "a,1,1.5,x,hello\n"
    "b,2,2.25,y,\n"
    "c,3\n"  # ragged: rejected
    "a,1,1.5,x,hello\n"  # duplicate
    "d,x7,3,z,NA\n"  # qty mixes numbers and text: a string column, noted
)


def _plain(cell: dict[str, Any]) -> Any:
    ((kind, value),) = cell.items()
    return value if kind != "N" else Decimal(value)


def load(place: Place, processed: str) -> dict[str, Any]:
    key = f"raw/{uuid.uuid4().hex[:6]}.csv"
    s3 = place.client("s3")
    s3.put_object(Bucket=place.bucket, Key=key, Body=CSV.encode())
    argv = ["--source_bucket", place.bucket, "--source_key", key, "--table", place.table]
    argv += ["--run_id", f"r-{uuid.uuid4().hex[:8]}", "--reject_tolerance", "5", "--processed", processed]
    args = parse_job_args(argv, env={})
    return run(args, *make_clients(args)).to_dict(with_location=True)


def test_a_load_with_the_zone_on_lands_its_items_and_rejects_as_parquet(place: Place) -> None:
    manifest = load(place, "true")
    assert manifest["status"] == "succeeded", manifest["error"]
    zone = manifest["processed"]
    assert zone["error"] is None
    assert zone["rows"] == manifest["rows_written"] == 3
    assert zone["rejects"]["rows"] == manifest["rows_rejected"] == 1
    assert zone["coerced"] == {"qty": "cells of kinds N,S: stored as string"}
    assert zone["location"].endswith(f"/load_date={zone['load_date']}/{manifest['run_id']}/")
    s3 = place.client("s3")
    bucket, _, prefix = zone["location"][5:].partition("/")
    (obj,) = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    assert obj["Size"] == zone["bytes"]
    rows = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())).to_pylist()
    table = {i["id"]["S"]: {k: _plain(v) for k, v in i.items()} for i in place.scan()}
    for row in rows:
        want = table[row["id"]]
        got = {k: v for k, v in row.items() if v is not None}
        assert got.keys() == want.keys()
        for name, value in got.items():  # numbers compared by value (qty became text, price double)
            assert value == want[name] or Decimal(str(value)) == Decimal(str(want[name])), (name, value)


def test_with_the_zone_off_nothing_is_written_and_the_manifest_says_nothing(place: Place) -> None:
    manifest = load(place, "false")
    assert manifest["status"] == "succeeded", manifest["error"]
    assert "processed" not in manifest
    assert place.client("s3").list_objects_v2(Bucket=place.bucket, Prefix="processed/")["KeyCount"] == 0
