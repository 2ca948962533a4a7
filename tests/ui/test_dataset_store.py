"""Datasets on the Loads page, against the real emulator's DynamoDB: the dataset filter read through
the sparse ``by_dataset`` index, one listing over several load DAGs (csv2ddb_load and the dataset
DAGs, each its own ``by_time`` partition) merged in order without gaps, and the per-dataset overview
(last load, status, freshness, rows per day, a dataset with no load yet, unrouted files).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from csv2ddb import tables
from csv2ddb.datasets.registry import ENV_DIR
from csv2ddb.history import audit
from csv2ddb.settings import DAG_ID_LOAD, Settings
from csv2ddb.tables import AUDIT_BY_DATASET, AUDIT_BY_TIME, TableSpec, audit_table_spec
from csv2ddb.ui import overview

pytestmark = pytest.mark.emulator
DAY = date(2026, 3, 10)
WEATHER, FLIGHTS = "csv2ddb_load__weather", "csv2ddb_load__flights"


def record(i: int, *, dag_id: str, minute: int, status: str = "verified", rows: int = 10) -> dict[str, Any]:
    """One load record; a dataset DAG's records carry their dataset, csv2ddb_load's do not."""
    dataset = dag_id.removeprefix("csv2ddb_load__") if dag_id != DAG_ID_LOAD else None
    rec = {
        "dag_run_id": f"manual__{dag_id}__{i:04d}",
        "source": f"s3://b/raw/{dataset or 'adhoc'}/f{i:04d}.csv",
        "source_key": f"raw/{dataset or 'adhoc'}/f{i:04d}.csv",
        "dag_id": dag_id,
        "run_id": f"run{i}",
        "status": status,
        "table": f"t-{dataset or 'items'}",
        "rows_read": rows,
        "rows_written": rows,
        "recorded_at": f"2026-03-{10 + minute // 1440:02d}T{(minute // 60) % 24:02d}:{minute % 60:02d}:00Z",
    }
    if dataset:
        rec["dataset"] = dataset
    return rec


@pytest.fixture
def audit_table(stack_settings: Settings, boto_session: Any) -> Iterator[tuple[Any, TableSpec]]:
    client = boto_session.client("dynamodb")
    spec = audit_table_spec(stack_settings)
    tables.ensure_table(client, spec)
    try:
        yield client, spec
    finally:
        client.delete_table(TableName=spec.name)


def put_all(client: Any, table: str, records: list[dict[str, Any]]) -> None:
    for rec in records:
        audit.put_record(client, table, rec)


def walk_merged(
    client: Any, table: str, flt: audit.RecordFilter, dag_ids: list[str], limit: int
) -> list[list[dict[str, Any]]]:
    pages, cursors = [], None
    while True:
        page = audit.query_merged_page(client, table, flt, dag_ids=dag_ids, limit=limit, cursors=cursors)
        pages.append(page.records)
        cursors = page.cursors
        if cursors is None:
            return pages
        assert len(pages) < 100, "the walk does not end"


def test_dataset_filter_reads_only_that_dataset_through_its_index(audit_table: tuple[Any, TableSpec]) -> None:
    client, spec = audit_table
    records = [record(i, dag_id=DAG_ID_LOAD, minute=i) for i in range(40)]
    records += [record(100 + i, dag_id=WEATHER, minute=2 * i + 1) for i in range(6)]
    records += [record(200 + i, dag_id=FLIGHTS, minute=3 * i) for i in range(5)]
    put_all(client, spec.name, records)
    flt = audit.RecordFilter(date_from=DAY, date_to=DAY, dataset="weather")
    assert flt.index is AUDIT_BY_DATASET
    dag_ids = [DAG_ID_LOAD, WEATHER, FLIGHTS]
    page = audit.query_merged_page(client, spec.name, flt, dag_ids=dag_ids, limit=50)
    assert [r["dag_run_id"] for r in page.records] == [
        f"manual__{WEATHER}__{100 + i:04d}" for i in reversed(range(6))
    ]
    assert page.items_read == 6  # the dataset's partition only: nothing of the 45 others is read
    assert page.cursors is None
    # with the status too, the dataset index still serves it; the status is a filter on it
    failed_free = dataclasses.replace(flt, status="verified")
    assert failed_free.index is AUDIT_BY_DATASET
    # a user who may not read the weather DAG gets nothing of it, though its index partition holds it
    hidden = audit.query_merged_page(client, spec.name, flt, dag_ids=[DAG_ID_LOAD, FLIGHTS], limit=50)
    assert hidden.records == []


def test_all_load_dags_merge_newest_first_across_pages_without_gaps(
    audit_table: tuple[Any, TableSpec],
) -> None:
    client, spec = audit_table
    records = [record(i, dag_id=DAG_ID_LOAD, minute=i) for i in range(40)]
    records += [record(100 + i, dag_id=WEATHER, minute=2 * i + 1) for i in range(25)]
    records += [record(200 + i, dag_id=FLIGHTS, minute=7 * i) for i in range(12)]
    records += [record(300 + i, dag_id="csv2ddb_rollback", minute=i) for i in range(3)]  # not a load DAG
    put_all(client, spec.name, records)
    flt = audit.RecordFilter(date_from=DAY, date_to=DAY)
    assert flt.index is AUDIT_BY_TIME
    assert flt.by_dag
    loads = [r for r in records if r["dag_id"] != "csv2ddb_rollback"]
    pages = walk_merged(client, spec.name, flt, [DAG_ID_LOAD, WEATHER, FLIGHTS], limit=10)
    shown = [r for p in pages for r in p]
    assert all(len(p) <= 10 for p in pages)
    assert sorted(r["dag_run_id"] for r in shown) == sorted(r["dag_run_id"] for r in loads)  # each once
    assert [r["recorded_at"] for r in shown] == sorted((r["recorded_at"] for r in loads), reverse=True)
    # the CSV export's and the chart's stream: the same records, the same order
    streamed = list(
        audit.query_merged_records(
            client, spec.name, flt, dag_ids=[DAG_ID_LOAD, WEATHER, FLIGHTS], projection=("status",)
        )
    )
    assert len(streamed) == len(loads)
    assert [r["recorded_at"] for r in streamed] == sorted((r["recorded_at"] for r in loads), reverse=True)
    # a file prefix (by_file, also one partition per DAG) lists in file order across the DAGs
    by_file = dataclasses.replace(flt, source_prefix="s3://b/raw/")
    files = [
        r["source"] for p in walk_merged(client, spec.name, by_file, [DAG_ID_LOAD, WEATHER], 7) for r in p
    ]
    assert files == sorted(r["source"] for r in loads if r["dag_id"] in (DAG_ID_LOAD, WEATHER))


def test_overview_gives_last_load_status_freshness_and_rows_per_day(
    audit_table: tuple[Any, TableSpec],
    stack_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, spec = audit_table
    folder = tmp_path / "datasets"
    folder.mkdir()
    for name in ("weather", "flights"):
        (folder / f"{name}.yaml").write_text(
            f"files: {{prefix: raw/{name}/}}\ntable: {{name: '{{prefix}}-{name}', partition_key: 'id:S'}}\n"
        )
    (folder / "broken.yaml").write_text("files: {prefix: raw/broken/}\ntable: {name: x}\nbogus: 1\n")
    monkeypatch.setenv(ENV_DIR, str(folder))
    records = [
        record(1, dag_id=WEATHER, minute=60, rows=100),  # 01:00 verified
        record(2, dag_id=WEATHER, minute=120, status="failed", rows=0),  # 02:00 failed: the last load
        record(3, dag_id=WEATHER, minute=1440 + 30, rows=7),  # the next day, 00:30, verified
        record(4, dag_id=WEATHER, minute=1440 + 90, status="failed", rows=0),  # next day 01:30: last
        record(5, dag_id=DAG_ID_LOAD, minute=200),  # ad hoc: in no dataset's figures
    ]
    unrouted = [
        {
            "dag_run_id": f"s3__unrouted__{i}",
            "source": f"s3://b/raw/orders/o{i}.csv",
            "status": overview.STATUS_UNROUTED,
            "reason": "no dataset claims raw/orders/",
            "recorded_at": f"2026-03-10T0{i}:00:00Z",
        }
        for i in range(3)
    ]
    put_all(client, spec.name, records + unrouted)
    now = datetime(2026, 3, 11, 2, 30, tzinfo=UTC)
    found = overview.overview(
        client,
        stack_settings,
        date_from=DAY,
        date_to=date(2026, 3, 11),
        now=now,
        readable=frozenset({DAG_ID_LOAD, WEATHER, FLIGHTS}),
        run_link=lambda r: f"/dags/{r['dag_id']}/runs/{r['dag_run_id']}",
    )
    by_name = {d["name"]: d for d in found["datasets"]}
    assert list(by_name) == ["flights", "weather"]
    weather = by_name["weather"]
    assert weather["last_load"]["dag_run_id"] == f"manual__{WEATHER}__0004"
    assert weather["last_load"]["status"] == "failed"
    assert weather["last_load"]["run"] == f"/dags/{WEATHER}/runs/manual__{WEATHER}__0004"
    assert weather["last_verified_at"] == "2026-03-11T00:30:00Z"
    assert weather["freshness_seconds"] == 2 * 3600  # 00:30 -> 02:30
    assert weather["rows_per_day"] == [
        {"day": "2026-03-10", "rows_written": 100, "loads": 2},
        {"day": "2026-03-11", "rows_written": 7, "loads": 2},
    ]
    assert weather["rows_written"] == 107
    assert weather["loads"] == 4
    flights = by_name["flights"]  # no load yet
    assert flights["last_load"] is None
    assert flights["freshness_seconds"] is None
    assert flights["verified_search_complete"] is True
    assert flights["rows_per_day"] == []
    assert [(e["file"], e["where"]) for e in found["errors"]] == [("broken.yaml", "(top level)")]
    assert found["unrouted"]["count"] == 3
    assert [u["source"] for u in found["unrouted"]["recent"]] == [
        "s3://b/raw/orders/o2.csv",
        "s3://b/raw/orders/o1.csv",
        "s3://b/raw/orders/o0.csv",
    ]
    assert found["unrouted"]["recent"][0]["reason"] == "no dataset claims raw/orders/"
    # a dataset whose DAG this user may not read is left out
    narrow = overview.overview(
        client,
        stack_settings,
        date_from=DAY,
        date_to=DAY,
        now=now,
        readable=frozenset({DAG_ID_LOAD, FLIGHTS}),
        run_link=lambda r: "",
    )
    assert [d["name"] for d in narrow["datasets"]] == ["flights"]
