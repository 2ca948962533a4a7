"""The Spark engine's processed zone, in real Spark local mode against the emulator: several
splits whose parts disagree on a column's type are widened to one schema, the zone's rows equal
the table's items by value, ``rows_written`` of them (not the rows a conditional write skipped),
and only the committed tasks' parts stay under the run's prefix."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import pyarrow.parquet as pq
import pytest
from csv2ddb_core import processed
from csv2ddb_core.clients import make_clients
from csv2ddb_core.options import parse_job_args

from tests.analytics.conftest import Place


def _rows(s3: Any, location: str) -> list[dict[str, Any]]:
    bucket, _, prefix = location[5:].partition("/")
    out: list[dict[str, Any]] = []
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        out += pq.read_table(
            io.BytesIO(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
        ).to_pylist()
    return out


def test_the_spark_zone_equals_the_table_and_widens_parts(
    place: Place, spark: Any, spark_job: ModuleType
) -> None:
    lines = ["id,qty,code"]
    lines += [f"k{i},{i},{i}" for i in range(300)]  # the first splits: qty and code are integers
    lines += [f"m{i},{i}.5,c{i}" for i in range(300)]  # the last ones: qty has decimals, code text
    lines += ["bad,1", "k1,1,1"]  # a ragged row (rejected) and a duplicate key
    key = f"raw/{uuid.uuid4().hex[:6]}.csv"
    place.client("s3").put_object(Bucket=place.bucket, Key=key, Body=("\n".join(lines) + "\n").encode())
    argv = ["--source_bucket", place.bucket, "--source_key", key, "--table", place.table]
    argv += ["--run_id", f"s-{uuid.uuid4().hex[:8]}", "--reject_tolerance", "1", "--processed", "true"]
    args = parse_job_args(argv, env={})
    opts = spark_job.spark_options(["--split_bytes", "2000"], {})
    s3, ddb = make_clients(args)
    manifest = spark_job.run_load(spark, args, opts, s3, ddb).to_dict(with_location=True)
    assert manifest["status"] == "succeeded", manifest["error"]
    assert manifest["spark"]["splits"] > 3
    zone = manifest["processed"]
    assert zone["error"] is None, zone
    assert zone["rows"] == manifest["rows_written"] == 600
    assert dict(zone["columns"])["qty"] == "double"
    assert dict(zone["columns"])["code"] == "string"
    assert "code" in zone["coerced"]
    assert zone["rejects"]["rows"] == 1
    table = {i["id"]["S"]: i for i in place.scan()}
    rows = _rows(s3, zone["location"])
    assert len(rows) == 600
    for row in rows:
        item = table[row["id"]]
        assert Decimal(str(row["qty"])) == Decimal(item["qty"]["N"])
        assert row["code"] == item["code"].get("S", item["code"].get("N"))
        assert row["load_run_id"] == args.run_id


def _load(
    place: Place, spark: Any, spark_job: ModuleType, lines: list[str], run_id: str, *extra: str
) -> tuple[dict[str, Any], Any]:
    """One Spark load of ``lines`` with the zone on, in small splits; (its manifest, an S3 client)."""
    key = f"raw/{uuid.uuid4().hex[:6]}.csv"
    place.client("s3").put_object(Bucket=place.bucket, Key=key, Body=("\n".join(lines) + "\n").encode())
    argv = ["--source_bucket", place.bucket, "--source_key", key, "--table", place.table]
    argv += ["--run_id", run_id, "--processed", "true", *extra]
    args = parse_job_args(argv, env={})
    s3, ddb = make_clients(args)
    opts = spark_job.spark_options(["--split_bytes", "2000"], {})
    return spark_job.run_load(spark, args, opts, s3, ddb).to_dict(with_location=True), s3


def test_the_spark_zone_keeps_only_committed_parts_of_its_run(
    place: Place, spark: Any, spark_job: ModuleType
) -> None:
    """An earlier attempt of the same run left parts under its prefix (one a split's real name):
    the driver keeps only what the committed tasks wrote."""
    run_id = f"s-{uuid.uuid4().hex[:8]}"
    date = processed.load_date(datetime.now(UTC).isoformat())
    prefix = processed.items_prefix(processed.PROCESSED_PREFIX, place.table, date, run_id)
    s3 = place.client("s3")
    for stray in ("part-00000-007.parquet", "part-00099-000.parquet"):
        s3.put_object(Bucket=place.bucket, Key=prefix + stray, Body=b"not parquet")
    lines = ["id,qty"] + [f"k{i},{i}" for i in range(400)]
    manifest, s3 = _load(place, spark, spark_job, lines, run_id)
    zone = manifest["processed"]
    if zone["load_date"] != date:
        pytest.skip("the load started after midnight UTC: its prefix is not the one prepared")
    assert manifest["status"] == "succeeded", manifest["error"]
    assert zone["error"] is None, zone
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=place.bucket, Prefix=prefix)["Contents"]]
    assert len(keys) == zone["files"] > 1
    assert not {prefix + "part-00000-007.parquet", prefix + "part-00099-000.parquet"} & set(keys)
    assert sorted(row["id"] for row in _rows(s3, zone["location"])) == sorted(f"k{i}" for i in range(400))


def test_the_spark_zone_holds_the_written_rows_not_the_skipped(
    place: Place, spark: Any, spark_job: ModuleType
) -> None:
    """``--write_mode insert`` over keys already in the table: the zone holds the rows written."""
    ddb = place.client("dynamodb")
    for i in range(0, 400, 4):
        ddb.put_item(TableName=place.table, Item={"id": {"S": f"k{i}"}, "qty": {"N": "-1"}})
    lines = ["id,qty"] + [f"k{i},{i}" for i in range(400)]
    run_id = f"s-{uuid.uuid4().hex[:8]}"
    manifest, s3 = _load(place, spark, spark_job, lines, run_id, "--write_mode", "insert")
    assert manifest["status"] == "succeeded", manifest["error"]
    assert (manifest["rows_written"], manifest["rows_skipped"]) == (300, 100)
    zone = manifest["processed"]
    assert zone["error"] is None, zone
    assert zone["rows"] == 300
    rows = _rows(s3, zone["location"])
    assert sorted(row["id"] for row in rows) == sorted(f"k{i}" for i in range(400) if i % 4)
