"""The Loads page's API with 10,000 audit records: no full Scan per page view (asserted), and its
response times (measured and written down, not asserted: a timing bound is a flaky test).

Seeds 10,000 records (30 days, three tables, a few failures) into the real stack's audit table in
the emulator, then times the page's requests through the real api-server (JWT, plugin app, the
audit table's indexes). Timings go to ``.cache/artifacts/ui/loads-10k-timings.json``.
Runs after test_loads_browser.py (file order), on the same stack.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from csv2ddb.history import audit
from csv2ddb.settings import DAG_ID_LOAD
from playwright.sync_api import expect

from tests.ui.conftest import ARTIFACTS, UiStack, log_in

pytestmark = [pytest.mark.airflow, pytest.mark.emulator, pytest.mark.scale]

RECORDS = 10_000
TABLES = ("orders-items", "flights-items", "events-items")
SAMPLES = 7
# The per-day chart reads all 10,000 records per request (seconds each on 2 shared cores): its
# median is taken of fewer requests, which keeps the suite short.
CHART_SAMPLES = 3


def seed(stack: UiStack, now: datetime) -> None:
    client = stack.dynamodb()
    batch: list[dict[str, Any]] = []
    for i in range(RECORDS):
        when = now - timedelta(seconds=int(i * 29 * 86400 / RECORDS))
        status = audit.STATUS_FAILED if i % 50 == 0 else audit.STATUS_VERIFIED
        table = TABLES[i % len(TABLES)]
        record = {
            "dag_run_id": f"seed__{i:05d}",
            "source": f"s3://{stack.settings.bucket}/raw/seed/{table}/part-{i:05d}.csv",
            "source_key": f"raw/seed/{table}/part-{i:05d}.csv",
            "dag_id": DAG_ID_LOAD,
            "run_id": f"seed__{i:05d}__part",
            "run_type": "scheduled",
            "triggered_by": "scheduler",
            "table": table,
            "status": status,
            "rows_read": 1000 + i % 97,
            "rows_written": 1000 + i % 97 - (i % 3),
            "rows_rejected": i % 3,
            "rows_duplicate": 0,
            "load_seconds": 1.5,
            "rows_per_second": 600.0 + i % 400,
            "recorded_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        batch.append({"PutRequest": {"Item": audit.to_item(record)}})
        if len(batch) == 25:
            _write(client, stack.settings.audit_table, batch)
            batch = []
    if batch:
        _write(client, stack.settings.audit_table, batch)


def _write(client: Any, table: str, batch: list[dict[str, Any]]) -> None:
    pending = {table: batch}
    for _ in range(10):
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        if not pending:
            return
        time.sleep(0.2)
    raise AssertionError(f"unprocessed items left after retries: {len(pending[table])}")


def timed(stack: UiStack, path: str, token: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    status, _, body = stack.get(path, token)
    seconds = time.perf_counter() - started
    assert status == 200, (path, status, body[:300])
    return seconds, body


def sample(stack: UiStack, path: str, token: str, samples: int = SAMPLES) -> dict[str, Any]:
    runs = [timed(stack, path, token) for _ in range(samples)]
    seconds = sorted(s for s, _ in runs)
    return {
        "path": path,
        "median_s": round(statistics.median(seconds), 4),
        "max_s": round(seconds[-1], 4),
        "body": json.loads(runs[-1][1]) if path.split("?")[0].endswith(("loads", "summary")) else None,
    }


def page_in_browser(stack: UiStack, browser: Any) -> dict[str, float]:
    """Seconds from opening the Loads page (signed in) until its table, then its charts, are drawn."""
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    try:
        log_in(page, stack)
        started = time.perf_counter()
        page.goto(f"{stack.url}/plugin/csv2ddb-loads")
        frame = page.frame_locator("iframe[title='Loads']")
        frame.locator("body[data-table=ready]").wait_for(timeout=60_000)
        table = time.perf_counter() - started
        frame.locator("body[data-state=ready]").wait_for(timeout=60_000)
        charts = time.perf_counter() - started
        assert frame.locator("#loads tbody tr").count() == 50
        assert frame.locator("#chart-daily rect.bar").count() >= 30  # a bar per day and status
        page.screenshot(path=str(ARTIFACTS / "06-loads-10k.png"))
        # Paging: Older -> the next 50, all older than this page; Newer -> back.
        first = frame.locator("#loads tbody td.when").all_inner_texts()
        frame.locator("#next").click()
        expect(frame.locator("#page-no")).to_have_text("page 2", timeout=60_000)  # a busy machine
        frame.locator("body[data-state=ready]").wait_for()
        second = frame.locator("#loads tbody td.when").all_inner_texts()
        assert len(second) == 50
        assert max(second) <= min(first)
        frame.locator("#prev").click()
        expect(frame.locator("#page-no")).to_have_text("page 1", timeout=60_000)  # a busy machine
        frame.locator("body[data-state=ready]").wait_for()
        assert frame.locator("#loads tbody td.when").all_inner_texts() == first
        return {"table_drawn_s": round(table, 3), "charts_drawn_s": round(charts, 3)}
    finally:
        page.close()


def test_page_api_with_10000_audit_records(ui_stack: UiStack, token: str, browser: Any) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    seed(ui_stack, now)
    seed_seconds = time.perf_counter() - started

    first = sample(ui_stack, "/csv2ddb/api/loads?limit=50", token)
    page = first["body"]
    assert len(page["rows"]) == 50
    assert page["query"]["index"] == "by_time"
    # 50 of the 10,000 read: at most a page per load-DAG partition (csv2ddb_load and each dataset
    # DAG's, merged by time; the dataset DAGs hold the few loads of the other browser tests)
    assert 50 <= page["query"]["items_read"] <= 50 * page["query"]["partitions"]
    assert [r["recorded_at"] for r in page["rows"]] == sorted(
        (r["recorded_at"] for r in page["rows"]), reverse=True
    )

    # the fifth page, through the cursors
    path = "/csv2ddb/api/loads?limit=50"
    cursor = page["next_cursor"]
    for _ in range(3):
        _, body = timed(ui_stack, f"{path}&cursor={cursor}", token)
        cursor = json.loads(body)["next_cursor"]
    fifth = sample(ui_stack, f"{path}&cursor={cursor}", token)
    assert 50 <= fifth["body"]["query"]["items_read"] <= 50 * fifth["body"]["query"]["partitions"]

    failed = sample(ui_stack, "/csv2ddb/api/loads?limit=50&status=failed", token)
    assert failed["body"]["query"]["index"] == "by_status"
    assert {r["status"] for r in failed["body"]["rows"]} == {"failed"}

    one_table = sample(ui_stack, f"/csv2ddb/api/loads?limit=50&table={TABLES[1]}", token)
    assert {r["table"] for r in one_table["body"]["rows"]} == {TABLES[1]}
    assert len(one_table["body"]["rows"]) == 50
    assert one_table["body"]["query"] == {**one_table["body"]["query"], "index": "by_table", "items_read": 50}

    prefix = sample(ui_stack, f"/csv2ddb/api/loads?limit=50&file=raw/seed/{TABLES[2]}/part-09", token)
    assert all(r["file"].startswith(f"raw/seed/{TABLES[2]}/part-09") for r in prefix["body"]["rows"])
    assert len(prefix["body"]["rows"]) == 50
    assert prefix["body"]["query"]["index"] == "by_file"
    # begins_with on the index key: one Query chunk (the date range is a filter there, so the
    # page reads a chunk of 100 and keeps the first 50), not the 10,000 records
    assert prefix["body"]["query"]["items_read"] <= 100

    summary = sample(ui_stack, "/csv2ddb/api/summary", token, CHART_SAMPLES)
    assert summary["body"]["records"] >= RECORDS
    assert not summary["body"]["truncated"]

    export_seconds, body = timed(ui_stack, "/csv2ddb/api/loads.csv", token)
    assert body.count(b"\r\n") >= RECORDS + 1

    in_browser = page_in_browser(ui_stack, browser)

    results = {
        "records": RECORDS,
        "page_in_browser": in_browser,
        "seed_seconds": round(seed_seconds, 2),
        "samples_per_request": SAMPLES,
        "samples_of_the_chart": CHART_SAMPLES,
        "first_page": {k: v for k, v in first.items() if k != "body"},
        "fifth_page": {k: v for k, v in fifth.items() if k != "body"},
        "status_failed": {k: v for k, v in failed.items() if k != "body"},
        "one_table": {k: v for k, v in one_table.items() if k != "body"},
        "file_prefix": {k: v for k, v in prefix.items() if k != "body"},
        "summary_chart": {k: v for k, v in summary.items() if k != "body"},
        "csv_export_all_s": round(export_seconds, 3),
        "items_read": {
            "first_page": page["query"]["items_read"],
            "status_failed": failed["body"]["query"]["items_read"],
            "one_table": one_table["body"]["query"]["items_read"],
            "file_prefix": prefix["body"]["query"]["items_read"],
        },
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "loads-10k-timings.json").write_text(json.dumps(results, indent=2) + "\n")
    # The response times are measured and written down, never asserted: on a shared machine a
    # timing bound fails on load, not on the code. What keeps a page cheap is asserted above: each
    # request reads an index page of about 50 items, never the whole table.
    print(json.dumps(results, indent=2))
