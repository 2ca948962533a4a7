"""The audit table's indexes and the Loads page's queries, against the real emulator.

Pagination must walk a date range newest first with no record twice or missing, each page read
by Query on an index (``by_time``, or ``by_status`` when a status is asked for), never a Scan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from csv2ddb import tables
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.dynamodb_tables import audit_table
from csv2ddb.history import audit
from csv2ddb.settings import DAG_ID_LOAD, Settings
from csv2ddb.tables import (
    AUDIT_BY_DATASET,
    AUDIT_BY_FILE,
    AUDIT_BY_STATUS,
    AUDIT_BY_TABLE,
    AUDIT_BY_TIME,
    TableSpec,
    audit_table_spec,
)

pytestmark = pytest.mark.emulator
DAY = date(2026, 3, 10)


def seed_record(
    i: int, *, day: int, status: str = audit.STATUS_VERIFIED, table: str = "t-items"
) -> dict[str, Any]:
    return {
        "dag_run_id": f"manual__2026-03-{day:02d}T00:00:{i % 60:02d}+00:00__{i}",
        "source": f"s3://b/raw/{'big' if i % 2 else 'small'}/f{i:04d}.csv",
        "source_key": f"raw/{'big' if i % 2 else 'small'}/f{i:04d}.csv",
        "dag_id": DAG_ID_LOAD,
        "run_id": f"run{i}",
        "status": status,
        "table": table,
        "rows_read": i,
        "rows_written": i,
        "rows_rejected": 0,
        "rows_duplicate": 0,
        "recorded_at": f"2026-03-{day:02d}T{(i // 60) % 24:02d}:{i % 60:02d}:00Z",
    }


@pytest.fixture
def audit_spec(stack_settings: Settings, boto_session: Any) -> Iterator[tuple[Any, TableSpec]]:
    client = boto_session.client("dynamodb")
    spec = audit_table_spec(stack_settings)
    tables.ensure_table(client, spec)
    try:
        yield client, spec
    finally:
        client.delete_table(TableName=spec.name)


def put_all(client: Any, table: str, records: list[dict[str, Any]]) -> None:
    for record in records:
        audit.put_record(client, table, record)


def walk(client: Any, table: str, flt: audit.RecordFilter, limit: int) -> list[list[dict[str, Any]]]:
    pages, key = [], None
    while True:
        page = audit.query_page(client, table, flt, dag_id=DAG_ID_LOAD, limit=limit, start_key=key)
        pages.append(page.records)
        assert page.items_read <= 2000
        key = page.next_key
        if key is None:
            return pages


def test_audit_table_is_created_with_both_indexes(audit_spec: tuple[Any, TableSpec]) -> None:
    client, spec = audit_spec
    description = client.describe_table(TableName=spec.name)["Table"]
    indexes = {g["IndexName"]: g for g in description["GlobalSecondaryIndexes"]}
    assert set(indexes) == {
        AUDIT_BY_TIME.name,
        AUDIT_BY_STATUS.name,
        AUDIT_BY_TABLE.name,
        AUDIT_BY_FILE.name,
        AUDIT_BY_DATASET.name,
    }
    assert indexes["by_dataset"]["KeySchema"] == [
        {"AttributeName": "dataset", "KeyType": "HASH"},
        {"AttributeName": "recorded_at", "KeyType": "RANGE"},
    ]
    assert indexes["by_time"]["KeySchema"] == [
        {"AttributeName": "dag_id", "KeyType": "HASH"},
        {"AttributeName": "recorded_at", "KeyType": "RANGE"},
    ]
    assert indexes["by_file"]["KeySchema"] == [
        {"AttributeName": "dag_id", "KeyType": "HASH"},
        {"AttributeName": "source", "KeyType": "RANGE"},
    ]
    assert all(g["Projection"] == {"ProjectionType": "ALL"} for g in indexes.values())
    assert tables.index_drift(spec, description) == []


def test_pages_walk_a_date_range_newest_first_without_gaps(audit_spec: tuple[Any, TableSpec]) -> None:
    client, spec = audit_spec
    records = [seed_record(i, day=10) for i in range(120)] + [seed_record(500 + i, day=12) for i in range(5)]
    put_all(client, spec.name, records)
    flt = audit.RecordFilter(date_from=DAY, date_to=DAY)
    pages = walk(client, spec.name, flt, limit=50)
    assert [len(p) for p in pages] == [50, 50, 20]
    seen = [r["recorded_at"] + r["dag_run_id"] for p in pages for r in p]
    assert len(set(seen)) == 120
    assert [r["recorded_at"] for p in pages for r in p] == sorted(
        (r["recorded_at"] for r in records[:120]), reverse=True
    )
    # one page reads exactly its rows: a key condition, not a scan of the table
    first = audit.query_page(client, spec.name, flt, dag_id=DAG_ID_LOAD, limit=50)
    assert first.items_read == 50


def test_each_filter_is_served_by_its_index(audit_spec: tuple[Any, TableSpec]) -> None:
    client, spec = audit_spec
    records = [seed_record(i, day=10, status="failed" if i % 10 == 0 else "verified") for i in range(60)]
    records += [seed_record(100 + i, day=10, table="other-items") for i in range(7)]
    put_all(client, spec.name, records)
    base = audit.RecordFilter(date_from=DAY, date_to=DAY)

    def ids(flt: audit.RecordFilter, limit: int) -> list[str]:
        return sorted(r["dag_run_id"] for page in walk(client, spec.name, flt, limit) for r in page)

    def first_read(flt: audit.RecordFilter) -> int:
        return audit.query_page(client, spec.name, flt, dag_id=DAG_ID_LOAD, limit=50).items_read

    failed = dataclasses.replace(base, status="failed")
    assert failed.index is AUDIT_BY_STATUS
    assert ids(failed, 4) == sorted(r["dag_run_id"] for r in records if r["status"] == "failed")
    assert first_read(failed) == 6  # only the failed ones are read: the index's partition

    other = dataclasses.replace(base, table="other-items")
    assert other.index is AUDIT_BY_TABLE
    assert ids(other, 3) == sorted(r["dag_run_id"] for r in records[60:])
    assert first_read(other) == 7

    big = dataclasses.replace(base, source_prefix="s3://b/raw/big/")
    assert big.index is AUDIT_BY_FILE
    want = sorted(r["dag_run_id"] for r in records if "/big/" in r["source"])
    assert ids(big, 7) == want
    assert first_read(big) == len(want)  # begins_with on the index's sort key: no other file read
    in_order = [
        r["source"] for r in audit.query_page(client, spec.name, big, dag_id=DAG_ID_LOAD, limit=50).records
    ]
    assert in_order == sorted(in_order)

    # several filters: the index serves one, a filter expression the others
    both = dataclasses.replace(
        base, status="verified", table="other-items", source_prefix="s3://b/raw/small/"
    )
    assert ids(both, 2) == sorted(
        r["dag_run_id"] for r in records[60:] if "/small/" in r["source"] and r["status"] == "verified"
    )

    outside = audit.RecordFilter(date_from=date(2026, 3, 11), date_to=date(2026, 3, 31))
    assert walk(client, spec.name, outside, limit=10) == [[]]
    assert ids(dataclasses.replace(big, date_from=date(2026, 3, 11), date_to=date(2026, 3, 31)), 10) == []


def test_records_read_through_query_records_with_a_projection(audit_spec: tuple[Any, TableSpec]) -> None:
    client, spec = audit_spec
    put_all(client, spec.name, [seed_record(i, day=10) for i in range(30)])
    got = list(
        audit.query_records(
            client,
            spec.name,
            audit.RecordFilter(date_from=DAY, date_to=DAY),
            dag_id=DAG_ID_LOAD,
            projection=("recorded_at", "status", "rows_written"),
        )
    )
    assert len(got) == 30
    assert set(got[0]) == {"recorded_at", "status", "rows_written"}


def test_bootstrap_adds_missing_indexes_to_an_existing_audit_table(
    stack_settings: Settings, boto_session: Any
) -> None:
    """A stack created before the indexes existed: status reports the drift, create repairs it."""
    client = boto_session.client("dynamodb")
    spec = audit_table_spec(stack_settings)
    bare = dataclasses.replace(spec, indexes=())
    tables.ensure_table(client, bare, tags=stack_settings.tags)
    try:
        audit.put_record(client, spec.name, seed_record(1, day=10))
        resource = audit_table(StackContext(stack_settings))
        observed = resource.observe()
        for name in ("by_time", "by_status", "by_table", "by_file", "by_dataset"):
            assert f"index {name} missing" in observed.drift
        resource.repair(observed)
        assert resource.observe().drift == ()
        # the record written before the index existed is found through it
        page = audit.query_page(
            client, spec.name, audit.RecordFilter(date_from=DAY, date_to=DAY), dag_id=DAG_ID_LOAD, limit=5
        )
        assert len(page.records) == 1
    finally:
        client.delete_table(TableName=spec.name)


def test_bootstrap_adds_the_dataset_index_to_a_stack_of_four_indexes(
    stack_settings: Settings, boto_session: Any
) -> None:
    """A stack bootstrapped before datasets (four indexes, dataset records already written): the
    audit table's resource reports by_dataset missing, adds it, and the old records are found."""
    client = boto_session.client("dynamodb")
    spec = audit_table_spec(stack_settings)
    before = dataclasses.replace(spec, indexes=tuple(i for i in spec.indexes if i is not AUDIT_BY_DATASET))
    tables.ensure_table(client, before, tags=stack_settings.tags)
    try:
        audit.put_record(client, spec.name, {**seed_record(1, day=10), "dataset": "weather"})
        resource = audit_table(StackContext(stack_settings))
        observed = resource.observe()
        assert observed.drift == ("index by_dataset missing",)
        resource.repair(observed)
        assert resource.observe().drift == ()
        flt = audit.RecordFilter(date_from=DAY, date_to=DAY, dataset="weather")
        assert flt.index is AUDIT_BY_DATASET
        page = audit.query_page(client, spec.name, flt, dag_id=DAG_ID_LOAD, limit=5)
        assert [r["dataset"] for r in page.records] == ["weather"]
    finally:
        client.delete_table(TableName=spec.name)


def test_an_index_with_other_keys_is_refused(stack_settings: Settings, boto_session: Any) -> None:
    client = boto_session.client("dynamodb")
    spec = audit_table_spec(stack_settings)
    wrong = dataclasses.replace(
        spec, indexes=(tables.IndexSpec("by_time", hash_key="status", range_key="source"),)
    )
    tables.ensure_table(client, wrong)
    try:
        with pytest.raises(tables.TableSchemaMismatch, match="index by_time has keys"):
            tables.ensure_table(client, spec)
    finally:
        client.delete_table(TableName=spec.name)
