"""The Spark engine's processed zone, in real Spark local mode against the emulator: several
splits whose parts disagree on a column's type are widened to one schema, and the zone's rows
equal the table's items by value, ``rows_written`` of them."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from types import ModuleType
from typing import Any

import pyarrow.parquet as pq
from csv2ddb_core.args import parse_job_args
from csv2ddb_core.clients import make_clients

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
