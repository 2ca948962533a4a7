"""The Loads page's pure parts: query-string rules, cursors, rows, CSV, chart figures, object policy."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from csv2ddb import consoles
from csv2ddb.history import audit
from csv2ddb.settings import load_settings
from csv2ddb.tables import AUDIT_BY_DATASET, AUDIT_BY_FILE, AUDIT_BY_STATUS, AUDIT_BY_TABLE, AUDIT_BY_TIME
from csv2ddb.ui import charts, filters, objects, overview, table_rows
from fastapi import HTTPException

SETTINGS = load_settings({}, prefix="unit")
TODAY = date(2026, 12, 1)
RECORD = {
    "dag_run_id": "manual__2026-12-01T10:00:00+00:00",
    "source": "s3://unit-data/raw/a b.csv",
    "source_key": "raw/a b.csv",
    "dag_id": "csv2ddb_load",
    "run_id": "manual__2026-12-01T10_00_00_00_00__a_b.csv__0123456789abcdef",
    "status": "verified",
    "table": "unit-items",
    "rows_read": 10,
    "rows_written": 7,
    "rows_rejected": 2,
    "rows_duplicate": 1,
    "rejected_location": "s3://unit-data/rejected/manual__x/rejects.csv",
    "recorded_at": "2026-12-01T10:01:02Z",
}


def test_default_range_is_the_last_30_days() -> None:
    flt = filters.record_filter(None, None, None, None, None, "unit-data", today=TODAY)
    assert (flt.date_from, flt.date_to) == (date(2026, 11, 2), TODAY)
    assert flt.index is AUDIT_BY_TIME


@pytest.mark.parametrize(
    ("date_from", "date_to", "message"),
    [(date(2026, 3, 2), date(2026, 3, 1), "is after"), (date(2025, 1, 1), date(2026, 1, 2), "at most 366")],
)
def test_bad_ranges_are_400_with_a_message(date_from: date, date_to: date, message: str) -> None:
    with pytest.raises(HTTPException) as info:
        filters.record_filter(date_from, date_to, None, None, None, "unit-data")
    assert info.value.status_code == 400
    assert message in info.value.detail


def test_a_status_is_served_by_its_own_index_partition() -> None:
    flt = filters.record_filter(TODAY, TODAY, "failed", "unit-items", None, "unit-data", today=TODAY)
    kwargs = flt.query_kwargs("csv2ddb_load")
    assert kwargs["IndexName"] == AUDIT_BY_STATUS.name
    assert kwargs["KeyConditionExpression"] == "#p = :p AND #k BETWEEN :from AND :to"
    assert kwargs["ExpressionAttributeValues"][":p"] == {"S": "failed"}
    assert kwargs["ExpressionAttributeValues"][":from"] == {"S": "2026-12-01T00:00:00Z"}
    assert kwargs["ExpressionAttributeValues"][":to"] == {"S": "2026-12-01T23:59:59Z"}
    assert kwargs["ScanIndexForward"] is False  # newest first
    # status partitions hold every DAG's records; the table is narrowed by a filter
    assert kwargs["FilterExpression"] == "#dag_id = :dag_id AND #table = :table"


@pytest.mark.parametrize(
    ("status", "table", "file", "index"),
    [
        (None, None, None, AUDIT_BY_TIME),
        ("verified", None, None, AUDIT_BY_STATUS),
        ("failed", "t", None, AUDIT_BY_STATUS),
        ("verified", "t", None, AUDIT_BY_TABLE),
        (None, "t", None, AUDIT_BY_TABLE),
        ("failed", "t", "raw/a", AUDIT_BY_FILE),
    ],
)
def test_the_most_selective_filter_picks_the_index(
    status: str | None, table: str | None, file: str | None, index: object
) -> None:
    assert filters.record_filter(TODAY, TODAY, status, table, file, "unit-data").index is index


def test_a_file_prefix_is_a_key_condition_on_the_source() -> None:
    flt = filters.record_filter(TODAY, TODAY, None, None, "raw/a", "unit-data")
    assert flt.source_prefix == "s3://unit-data/raw/a"
    kwargs = flt.query_kwargs("csv2ddb_load")
    assert kwargs["IndexName"] == AUDIT_BY_FILE.name
    assert kwargs["KeyConditionExpression"] == "#p = :p AND begins_with(#k, :pfx)"
    assert kwargs["ExpressionAttributeValues"][":pfx"] == {"S": "s3://unit-data/raw/a"}
    assert kwargs["FilterExpression"] == "#at BETWEEN :from AND :to"
    assert kwargs["ScanIndexForward"] is True  # by file
    other_bucket = filters.record_filter(TODAY, TODAY, None, None, "s3://other/raw/", "unit-data")
    assert other_bucket.source_prefix == "s3://other/raw/"


def test_cursor_round_trip_and_refusals() -> None:
    flt = filters.record_filter(None, None, None, None, None, "unit-data", today=TODAY)
    key = audit.start_key_of(RECORD, flt)
    assert set(key) == {"dag_run_id", "source", "dag_id", "recorded_at"}
    dags = {"csv2ddb_load", "csv2ddb_load__weather"}
    # one start key per DAG partition still open (None: that DAG from its first record)
    cursors = {"csv2ddb_load": key, "csv2ddb_load__weather": None}
    assert filters.decode_cursor(filters.encode_cursor(cursors), flt, dags) == cursors
    other_index = filters.record_filter(None, None, "failed", None, None, "unit-data", today=TODAY)
    unreadable = {"csv2ddb_load__secret": key}  # a cursor cannot reach a DAG the user may not read
    for token, against in (
        ("%%%", flt),
        ("bm90LWpzb24", flt),
        (filters.encode_cursor(cursors), other_index),
        (filters.encode_cursor({"csv2ddb_load": {"dag_id": {"S": "x"}}}), flt),
        (filters.encode_cursor(unreadable), flt),
    ):
        with pytest.raises(HTTPException) as info:
            filters.decode_cursor(token, against, dags)
        assert info.value.status_code == 400
        assert "cursor" in info.value.detail
    # an index not split by DAG has one partition: the DAGs are a filter there
    status_key = audit.start_key_of(RECORD, other_index)
    single = {audit.ALL: status_key}
    assert filters.decode_cursor(filters.encode_cursor(single), other_index, dags) == single


def test_a_dataset_is_served_by_the_dataset_index_with_the_dags_as_a_filter() -> None:
    flt = filters.record_filter(TODAY, TODAY, "verified", "t", None, "unit-data", dataset="weather")
    assert flt.index is AUDIT_BY_DATASET
    assert not flt.by_dag
    kwargs = flt.query_kwargs(("csv2ddb_load", "csv2ddb_load__weather"))
    assert kwargs["IndexName"] == "by_dataset"
    assert kwargs["ExpressionAttributeValues"][":p"] == {"S": "weather"}
    assert kwargs["FilterExpression"] == (
        "#dag_id IN (:dag0, :dag1) AND #status = :status AND #table = :table"
    )
    assert flt.narrows
    # a rare status or a file prefix still wins: their partitions are smaller than a dataset's
    assert (
        filters.record_filter(TODAY, TODAY, "failed", None, None, "b", dataset="weather").index
        is AUDIT_BY_STATUS
    )
    assert (
        filters.record_filter(TODAY, TODAY, None, None, "raw/w", "b", dataset="weather").index
        is AUDIT_BY_FILE
    )
    # an index keyed by DAG id reads one DAG per Query
    with pytest.raises(ValueError, match="one DAG per Query"):
        filters.record_filter(TODAY, TODAY, None, None, None, "b").query_kwargs(("a", "b"))
    assert audit.partitions_of(filters.record_filter(TODAY, TODAY, None, None, None, "b"), ["y", "x"]) == [
        "x",
        "y",
    ]
    assert audit.partitions_of(flt, ["y", "x"]) == [audit.ALL]


def test_row_shows_what_the_record_has_and_none_for_what_it_lacks() -> None:
    row = table_rows.present(RECORD, SETTINGS, "/base", "/base/csv2ddb")
    assert (row["rows_skipped"], row["engine"], row["load_method"]) == (None, None, None)
    assert row["reject_rate"] == 0.2
    assert row["links"]["run"] == "/base/dags/csv2ddb_load/runs/manual__2026-12-01T10%3A00%3A00%2B00%3A00"
    assert row["links"]["manifest"] == (
        "/base/csv2ddb/api/object?key=manifests%2F" + RECORD["run_id"] + ".json"
    )
    assert row["links"]["rejects"] == "/base/csv2ddb/api/object?key=rejected%2Fmanual__x%2Frejects.csv"
    newer = table_rows.present(
        {**RECORD, "rows_skipped": 3, "engine": "spark", "load_method": "import"}, SETTINGS, "", ""
    )
    assert (newer["rows_skipped"], newer["engine"], newer["load_method"]) == (3, "spark", "import")
    elsewhere = table_rows.present(
        {**RECORD, "rejected_location": "s3://other/rejected/x.csv"}, SETTINGS, "", ""
    )
    assert elsewhere["links"]["rejects"] is None  # another bucket's objects are not served


def test_csv_export_has_a_header_and_defuses_formulas() -> None:
    hostile = {**RECORD, "source_key": "=HYPERLINK(1)", "error": "+cmd", "source": "@x"}
    text = "".join(table_rows.csv_lines([RECORD, hostile]))
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == list(table_rows.CSV_COLUMNS)
    assert parsed[0]["rows_written"] == "7"
    assert parsed[0]["engine"] == ""
    assert parsed[1]["source"] == "'@x"
    assert parsed[1]["error"] == "'+cmd"
    assert "".join(table_rows.csv_lines([])) == ",".join(table_rows.CSV_COLUMNS) + "\r\n"


def test_daily_totals_by_day_and_status_with_a_cap() -> None:
    records = [
        {"recorded_at": "2026-12-01T01:00:00Z", "status": "verified", "rows_written": 5, "rows_rejected": 1},
        {"recorded_at": "2026-12-01T02:00:00Z", "status": "verified", "rows_written": 7},
        {"recorded_at": "2026-12-01T03:00:00Z", "status": "failed", "rows_written": None},
        {"recorded_at": "2026-12-02T03:00:00Z", "status": "verified", "rows_written": 1},
    ]
    totals = charts.daily_totals(records)
    assert totals["days"] == [
        {"day": "2026-12-01", "status": "failed", "loads": 1, "rows_written": 0, "rows_rejected": 0},
        {"day": "2026-12-01", "status": "verified", "loads": 2, "rows_written": 12, "rows_rejected": 1},
        {"day": "2026-12-02", "status": "verified", "loads": 1, "rows_written": 1, "rows_rejected": 0},
    ]
    assert (totals["records"], totals["truncated"]) == (4, False)
    capped = charts.daily_totals(records, max_records=2)
    assert (capped["records"], capped["truncated"]) == (2, True)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "raw/x.csv",
        "scripts/job.py",
        "manifests/",
        "rejected/",
        "/manifests/x.json",
        "manifests/../raw/x.csv",
        "manifests\\x",
        "m" * 1025,
    ],
)
def test_object_policy_refuses_everything_but_manifests_and_rejects(key: str) -> None:
    with pytest.raises(objects.ObjectRefused):
        objects.served_object(key, SETTINGS)


def test_object_policy_serves_manifests_and_rejects_of_the_stack_bucket() -> None:
    manifest = objects.served_object("manifests/run1.json", SETTINGS)
    assert (manifest.bucket, manifest.media_type, manifest.filename) == (
        "unit-data",
        "application/json",
        "run1.json",
    )
    rejects = objects.served_object("rejected/run1/rejects.csv", SETTINGS)
    assert (rejects.media_type, rejects.filename) == ("text/csv", "run1__rejects.csv")


def test_the_plugin_file_stays_cheap_to_import() -> None:
    """Every task process imports every plugin (Airflow's macros integration): the page's app, FastAPI
    and Airflow's API security must load only in the api-server, on the first request."""
    plugins = Path(__file__).resolve().parents[2] / "plugins"
    heavy = ("csv2ddb.ui.app", "airflow.api_fastapi.core_api.security")
    code = (
        f"import sys; sys.path.insert(0, {str(plugins)!r}); import csv2ddb_ui_plugin as p; "
        f"heavy = [m for m in {heavy!r} if m in sys.modules]; "
        "print(heavy, p.Csv2ddbUiPlugin.fastapi_apps[0]['url_prefix'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split("\n")[-2] == "[] /csv2ddb", done.stdout + done.stderr


def test_the_rows_and_the_export_say_which_dataset_and_who_uploaded() -> None:
    event_load = {
        **RECORD,
        "dag_id": "csv2ddb_load__weather",
        "dataset": "weather",
        "triggered_by": "csv2ddb-trigger",
        "uploaded_by": "arn:aws:iam::123456789012:user/alice",
    }
    row = table_rows.present(event_load, SETTINGS, "", "/csv2ddb")
    assert (row["dataset"], row["triggered_by"], row["uploaded_by"]) == (
        "weather",
        "csv2ddb-trigger",
        "arn:aws:iam::123456789012:user/alice",
    )
    assert row["links"]["run"].startswith("/dags/csv2ddb_load__weather/runs/")
    adhoc = table_rows.present(RECORD, SETTINGS, "", "/csv2ddb")
    assert (adhoc["dataset"], adhoc["uploaded_by"]) == (None, None)  # absent, never invented
    lines = list(csv.DictReader(io.StringIO("".join(table_rows.csv_lines([event_load, RECORD])))))
    assert [(r["dataset"], r["triggered_by"], r["uploaded_by"]) for r in lines] == [
        ("weather", "csv2ddb-trigger", "arn:aws:iam::123456789012:user/alice"),
        ("", "", ""),
    ]


def test_freshness_and_rows_per_day() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert overview.freshness_seconds("2026-12-01T11:58:30Z", now) == 90
    assert overview.freshness_seconds(None, now) is None
    assert overview.freshness_seconds("2026-12-01T12:00:05Z", now) == 0  # a clock ahead: never negative
    totals = charts.daily_totals(
        [
            {"recorded_at": "2026-12-01T01:00:00Z", "status": "verified", "rows_written": 5},
            {"recorded_at": "2026-12-01T02:00:00Z", "status": "failed"},
            {"recorded_at": "2026-11-30T02:00:00Z", "status": "verified", "rows_written": 3},
        ]
    )
    assert overview.rows_per_day(totals) == [
        {"day": "2026-11-30", "rows_written": 3, "loads": 1},
        {"day": "2026-12-01", "rows_written": 5, "loads": 2},
    ]


def test_the_rows_and_the_export_carry_checks_duplicates_and_a_key_taken_by_name() -> None:
    manifest = {
        "duplicates": {"on_conflict": "reject", "exact": 1, "conflicting": 2},
        "key_by_default": True,
        "checks": {
            "passed": False,
            "failed": ["between:amount", "row_count"],
            "results": [
                {"check": "between:amount", "kind": "row", "status": "failed", "rows_failing": 2},
                {"check": "not_null:id", "kind": "row", "status": "passed", "rows_failing": 0},
                {
                    "check": "row_count",
                    "kind": "file",
                    "status": "failed",
                    "detail": "row count 3 is below the minimum 5",
                },
            ],
        },
    }
    checked = {**RECORD, **audit.quality_fields(manifest)}
    row = table_rows.present(checked, SETTINGS, "", "/csv2ddb")
    assert row["checks"]["passed"] is False
    assert [r["check"] for r in row["checks"]["results"] if r["status"] == "failed"] == [
        "between:amount",
        "row_count",
    ]
    assert row["checks"]["failed"] == "between:amount (2 rows); row_count: row count 3 is below the minimum 5"
    assert (row["duplicates_exact"], row["duplicates_conflicting"], row["on_conflict"]) == (1, 2, "reject")
    assert row["key_by_default"] is True
    plain = table_rows.present(RECORD, SETTINGS, "", "/csv2ddb")  # a record without them: nothing invented
    assert (plain["checks"], plain["duplicates_exact"], plain["on_conflict"], plain["key_by_default"]) == (
        None,
        None,
        None,
        False,
    )
    lines = list(csv.DictReader(io.StringIO("".join(table_rows.csv_lines([checked, RECORD])))))
    names = (
        "checks_passed",
        "checks_failed",
        "duplicates_exact",
        "duplicates_conflicting",
        "on_conflict",
        "key_by_default",
    )
    assert [tuple(line[n] for n in names) for line in lines] == [
        ("False", row["checks"]["failed"], "1", "2", "reject", "True"),
        ("", "", "", "", "", ""),
    ]


# --- the processed zone and the Athena reconciliation of a load (docs/analytics.md) -----------------
PARTITION = "s3://unit-data/processed/unit-items/load_date=2026-12-01/run-1/"
RECONCILED = {
    **RECORD,
    "analytics_status": "reconciled",
    "processed_location": PARTITION,
    "processed_rows": 7,
    "processed_bytes": 2048,
    "partition": "created",
    "catalog_table": "unit_items",
    "athena_count": 7,
    "athena_matches": True,
    "athena_query_id": "0f4e-query/1",
    "athena_seconds": 1.5,
}


def test_a_reconciled_load_links_its_partition_and_query_to_the_console_on_aws() -> None:
    assert SETTINGS.endpoint_url is None  # real AWS: the console has something to open
    shown = table_rows.present(RECONCILED, SETTINGS, "", "/csv2ddb")["analytics"]
    assert (shown["status"], shown["label"], shown["error"]) == ("reconciled", "reconciled", None)
    assert shown["athena_text"] == "7 = 7 written"
    assert (shown["athena_count"], shown["athena_query_id"], shown["athena_seconds"]) == (
        7,
        "0f4e-query/1",
        1.5,
    )
    assert (shown["partition"], shown["partition_state"], shown["catalog_table"]) == (
        PARTITION,
        "created",
        "unit_items",
    )
    assert (shown["processed_rows"], shown["processed_bytes"]) == (7, 2048)
    assert shown["partition_console"] == (
        "https://us-east-1.console.aws.amazon.com/s3/buckets/unit-data?region=us-east-1"
        "&prefix=processed%2Funit-items%2Fload_date%3D2026-12-01%2Frun-1%2F&showversions=false"
    )
    assert shown["athena_console"] == (
        "https://us-east-1.console.aws.amazon.com/athena/home?region=us-east-1"
        "#/query-editor/history/0f4e-query%2F1"
    )


def test_with_the_emulator_the_partition_and_query_are_text_not_console_links() -> None:
    local = load_settings({}, prefix="unit", endpoint_url="http://127.0.0.1:4566")
    shown = table_rows.present(RECONCILED, local, "", "/csv2ddb")["analytics"]
    assert (shown["partition"], shown["athena_query_id"]) == (PARTITION, "0f4e-query/1")
    assert (shown["partition_console"], shown["athena_console"]) == (None, None)


@pytest.mark.parametrize(
    ("fields", "label", "athena_text"),
    [
        ({"analytics_status": "off"}, "processed zone off", None),
        ({}, "no processed zone", None),  # the stack's side off, or a record from before it
        ({"analytics_status": "skipped"}, "not reconciled", None),
        (
            {"analytics_status": "count_mismatch", "athena_count": 6, "analytics_error": "Athena counted 6"},
            "count mismatch",
            "6 ≠ 7 written",
        ),
        ({"analytics_status": "failed", "analytics_error": "CatalogError: qty"}, "analytics failed", None),
        ({"analytics_status": "later"}, "later", None),  # a status this page does not know: as it is
    ],
)
def test_a_load_without_a_reconciliation_says_why(
    fields: dict[str, object], label: str, athena_text: str | None
) -> None:
    shown = table_rows.present({**RECORD, **fields}, SETTINGS, "", "/csv2ddb")["analytics"]
    assert shown["label"] == label
    assert shown["note"]  # the hover says why, never blank
    assert shown["athena_text"] == athena_text
    assert shown["error"] == fields.get("analytics_error")
    # Nothing invented: no partition, no query, no console address for what the record lacks.
    assert (shown["partition"], shown["partition_console"], shown["athena_console"]) == (None, None, None)


def test_the_page_script_reads_exactly_what_the_api_gives() -> None:
    """loads.js's analytics cell reads only keys ``analytics_of`` returns (the API and the JS agree)."""
    from csv2ddb.ui.analytics_view import analytics_of

    script = (Path(table_rows.__file__).parent / "static" / "loads.js").read_text()
    body = script.split("function analyticsCell(tr, a) {", 1)[1].split("\n}\n", 1)[0]
    read = set(re.findall(r"\ba\.([a-z_]+)", body))
    assert read, "analyticsCell not found in loads.js"
    assert read <= set(analytics_of(RECORD, SETTINGS)), read - set(analytics_of(RECORD, SETTINGS))


def test_the_export_carries_the_zone_and_the_athena_count() -> None:
    lines = list(csv.DictReader(io.StringIO("".join(table_rows.csv_lines([RECONCILED, RECORD])))))
    names = ("analytics_status", "processed_location", "processed_bytes", "athena_count", "athena_query_id")
    assert [tuple(line[n] for n in names) for line in lines] == [
        ("reconciled", PARTITION, "2048", "7", "0f4e-query/1"),
        ("", "", "", "", ""),
    ]


@pytest.mark.parametrize(
    ("region", "base"),
    [
        ("eu-west-1", "https://eu-west-1.console.aws.amazon.com"),
        ("cn-north-1", "https://cn-north-1.console.amazonaws.cn"),
        ("us-gov-west-1", "https://us-gov-west-1.console.amazonaws-us-gov.com"),
    ],
)
def test_console_addresses_follow_the_region_s_partition(region: str, base: str) -> None:
    assert consoles.console_base(region) == base
    assert consoles.athena_query_url(region, "q").startswith(f"{base}/athena/home?region={region}#")
    assert (
        consoles.s3_prefix_url(region, "s3://b/p/")
        == f"{base}/s3/buckets/b?region={region}&prefix=p%2F&showversions=false"
    )
    assert consoles.s3_prefix_url(region, "https://b/p/") is None  # not an S3 uri: no address
    assert (
        consoles.cloudwatch_dashboard_url(region, "x-loads")
        == f"{base}/cloudwatch/home?region={region}#dashboards:name=x-loads"
    )
