"""The processed zone in the Python shell's way, against the emulator: the key-list tee receives
exactly what the real BatchWriter confirmed, and the Parquet in S3 equals the table's items by value."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
from csv2ddb_core import processed
from csv2ddb_core.clients import make_clients
from csv2ddb_core.options import parse_job_args

from tests.analytics.conftest import Place
from tests.analytics.loads import job_args, write_load


def _plain(cell: dict[str, Any]) -> Any:
    """A low-level DynamoDB cell as the value the zone's Parquet should hold."""
    ((kind, value),) = cell.items()
    if kind == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)
    return None if kind == "NULL" else value


def _read_parquet(s3: Any, location: str) -> list[dict[str, Any]]:
    bucket, _, prefix = location[5:].partition("/")
    rows: list[dict[str, Any]] = []
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        rows.extend(pq.read_table(io.BytesIO(body)).to_pylist())
    return rows


def test_the_zone_holds_exactly_the_confirmed_items(place: Place) -> None:
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    args = job_args(place.bucket, place.table, run_id)
    items = [
        {
            "id": {"S": f"k{i}"},
            "qty": {"N": str(i)},
            "price": {"N": f"{i}.25"},
            "flag": {"BOOL": i % 2 == 0},
            "load_run_id": {"S": run_id},
            **({"note": {"S": "only some rows"}} if i % 3 == 0 else {}),
        }
        for i in range(1000)
    ]
    manifest = write_load(args, items, [(7, "ragged_row", "3 cells, header has 4", ["a", "b", "c"])])
    s3, _ = make_clients(args)
    out = manifest["processed"]
    assert out is not None
    assert out["error"] is None, out
    assert out["rows"] == manifest["rows_written"] == 1000
    assert out["location"] == f"s3://{place.bucket}/processed/{place.table}/load_date=2026-12-05/{run_id}/"
    assert out["bytes"] > 0
    assert out["files"] == 1
    assert dict(out["columns"]) == {
        "id": "string",
        "qty": "bigint",
        "price": "double",
        "flag": "boolean",
        "load_run_id": "string",
        "note": "string",
    }
    table_rows = {
        item["id"]["S"]: {name: _plain(cell) for name, cell in item.items()} for item in place.scan()
    }
    parquet_rows = {
        row["id"]: {k: v for k, v in row.items() if v is not None}
        for row in _read_parquet(s3, out["location"])
    }
    assert parquet_rows == table_rows
    assert out["rejects"]["rows"] == 1
    (reject,) = _read_parquet(s3, out["rejects"]["location"])
    assert reject == {
        "line_number": 7,
        "reason": "ragged_row",
        "detail": "3 cells, header has 4",
        "raw_row": "a,b,c",
        "load_run_id": run_id,
        "source_file": f"s3://{place.bucket}/raw/x.csv",
    }


def test_a_zone_that_cannot_be_stored_is_reported_not_raised(place: Place) -> None:
    """No write permission (here: a bucket that does not exist) leaves the load alone and says why."""
    args = parse_job_args(
        ["--source_bucket", place.bucket, "--source_key", "k", "--table", place.table, "--run_id", "r1"],
        env={},
    )
    s3, _ = make_clients(args)
    zone = processed.ProcessedZone(args, processed.ProcessedOptions(True), "2026-12-05")
    parts = processed.ParquetParts()
    parts.add([{"id": {"S": "a"}}])
    broken = processed.ProcessedZone(
        parse_job_args(
            ["--source_bucket", "no-such-bucket-x", "--source_key", "k", "--table", "t", "--run_id", "r1"],
            env={},
        ),
        zone.options,
        zone.date,
    )
    out = broken.finish(s3, parts, 0)
    assert "NoSuchBucket" in (out["error"] or "")
