"""A person's path through the Airflow UI, in a real browser, against the real local stack.

Log in; trigger csv2ddb_load from the form with only an object key and see the run succeed;
backfill a date range from the same dialog; open the Loads page from the nav, find the load with
its figures, filter to it, download the CSV, the manifest and the rejects; check the charts'
drawn elements; and check that neither the page nor its API answers without a session.

The tests run in file order and share the runs the form started (``SHARED``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import time
import urllib.parse
from collections import defaultdict
from typing import Any

import pytest
from csv2ddb.history import audit
from csv2ddb.settings import DAG_ID_LOAD
from csv2ddb.ui.analytics_view import analytics_of
from playwright.sync_api import Page, expect

from tests.ui.conftest import ARTIFACTS, STACK_TOLERANCE, UiStack, log_in

pytestmark = [pytest.mark.airflow, pytest.mark.emulator]

FORM_KEY = "raw/ui/form-load.csv"
# 6 rows: one in-file duplicate (id 3), one ragged row (id 4) -> read 6 = written 4 + rejected 1 + dup 1
FORM_CSV = b"id,carrier,delay\n1,AA,5\n2,UA,\n3,DL,7\n3,DL,7\n4,B6,1,extra\n5,WN,2\n"
BACKFILL_DAYS = {
    "2024-03-04": b"id,carrier\n10,AA\n11,UA\n",
    "2024-03-05": b"id,carrier\n12,DL\n13,B6\n14,WN\n",
}
RUN_TIMEOUT = 420.0
VIEWPORT = {"width": 1600, "height": 1000}
SHARED: dict[str, Any] = {}


def _shared(name: str) -> Any:
    if name not in SHARED:
        pytest.fail(
            f"needs {name!r} from test_trigger_form_loads_a_key_and_backfills_a_date_range (run it first)"
        )
    return SHARED[name]


def _wait_success(stack: UiStack, run_id: str) -> dict[str, Any]:
    run = stack.api().wait_dag_run(DAG_ID_LOAD, run_id, timeout=RUN_TIMEOUT)
    if run["state"] != "success":
        pytest.fail(f"run ended {run['state']}; {stack.api().run_report(DAG_ID_LOAD, run_id)}")
    return run


def _set_backfill_date(page: Page, index: int, day: str) -> None:
    """Airflow's date-time picker: a popover with a date and a time field."""
    page.get_by_role("dialog").get_by_test_id("datetime-input").nth(index).click()
    popover = page.locator("[data-scope=popover][data-part=content][data-state=open]")
    popover.get_by_placeholder("YYYY/MM/DD").fill(day.replace("-", "/"))
    popover.get_by_placeholder("HH:mm").fill("00:00")
    page.keyboard.press("Escape")
    expect(popover).to_have_count(0)


def test_page_and_api_refuse_requests_without_a_session(ui_stack: UiStack, browser: Any) -> None:
    for path in (
        "/csv2ddb/api/loads",
        "/csv2ddb/api/loads.csv",
        "/csv2ddb/api/summary",
        "/csv2ddb/api/object?key=manifests/x.json",
        "/csv2ddb/static/loads.js",
    ):
        status, _, body = ui_stack.get(path)
        assert status == 401, (path, status, body[:200])
        assert b"rows" not in body
        status, _, body = ui_stack.get(path, token="not-a-jwt")
        assert status in (401, 403), (path, status, body[:200])
    status, headers, body = ui_stack.get("/csv2ddb/loads")
    assert status == 303, (status, body[:200])
    assert headers["location"].startswith("/auth/login?next="), headers
    assert b"<table" not in body
    # A browser without a session lands on Airflow's login, not on the page.
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{ui_stack.url}/csv2ddb/loads")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert "/auth/login" in page.url
        assert page.locator("#loads").count() == 0
    finally:
        context.close()


def test_trigger_form_loads_a_key_and_backfills_a_date_range(ui_stack: UiStack, browser: Any) -> None:
    s3 = ui_stack.s3()
    bucket = ui_stack.settings.bucket
    s3.put_object(Bucket=bucket, Key=FORM_KEY, Body=FORM_CSV)
    for day, body in BACKFILL_DAYS.items():
        s3.put_object(Bucket=bucket, Key=f"raw/dt={day}/part-1.csv", Body=body)
    page = browser.new_page(viewport=VIEWPORT)
    try:
        log_in(page, ui_stack)
        page.goto(f"{ui_stack.url}/dags/{DAG_ID_LOAD}")
        page.get_by_role("button", name="Trigger Dag").click()
        dialog = page.get_by_role("dialog")
        form = dialog.get_by_test_id("config-form")
        expect(dialog.locator("#element_key")).to_be_visible()
        # Nothing is required: with every field left at its default the button is enabled.
        submit = dialog.get_by_role("button", name="Trigger", exact=True)
        expect(submit).to_be_enabled()
        assert form.locator("[data-required]").count() == 0, "the form marks fields required"
        # The S3-event fields are out of the way: in a closed section.
        expect(dialog.locator("#element_etag")).to_be_hidden()
        # Sections explain themselves: the Checks section holds the tolerance and a count-check choice.
        dialog.get_by_role("button", name="Checks (optional)").click()
        expect(dialog.locator("#element_reject_tolerance")).to_have_value(STACK_TOLERANCE)
        expect(dialog.get_by_text("Count check", exact=True)).to_be_visible()
        assert form.locator("[data-required]").count() == 0
        dialog.get_by_role("button", name="Run Parameters").click()  # one section open at a time
        dialog.locator("#element_key").fill(FORM_KEY)
        page.screenshot(path=str(ARTIFACTS / "01-trigger-form.png"))
        expect(submit).to_be_enabled()
        submit.click()
        page.wait_for_url(re.compile(rf"/dags/{DAG_ID_LOAD}/runs/"))
        run_id = urllib.parse.unquote(page.url.rsplit("/runs/", 1)[1].split("?")[0])
        SHARED["form_run_id"] = run_id

        # The Backfill choice of the same dialog, for a two-day range. The load just triggered
        # runs its Glue job now, on the same 2 cores as the api-server: the page may take a while.
        page.goto(f"{ui_stack.url}/dags/{DAG_ID_LOAD}", timeout=120_000)
        page.get_by_role("button", name="Trigger Dag").click(timeout=120_000)
        dialog.get_by_text("Backfill", exact=True).click()
        days = sorted(BACKFILL_DAYS)
        _set_backfill_date(page, 0, days[0])
        _set_backfill_date(page, 1, days[-1])
        dialog.locator("input[name=max_active_runs]").fill(str(len(days)))
        expect(dialog.get_by_text(f"{len(days)} runs will be triggered")).to_be_visible(timeout=20_000)
        page.screenshot(path=str(ARTIFACTS / "02-backfill-form.png"))
        run_backfill = dialog.get_by_role("button", name="Run Backfill")
        expect(run_backfill).to_be_enabled()
        run_backfill.click()
        expect(dialog).to_be_hidden(timeout=20_000)

        api = ui_stack.api()
        run = _wait_success(ui_stack, run_id)
        assert run["conf"]["key"] == FORM_KEY
        assert not run["conf"].get("prefix")
        assert run["triggering_user_name"] == ui_stack.airflow.credentials()[0]
        deadline = time.monotonic() + 60
        backfill_runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline and len(backfill_runs) < len(days):
            backfill_runs = [r for r in api.list_dag_runs(DAG_ID_LOAD) if r["run_type"] == "backfill"]
            time.sleep(2)
        assert len(backfill_runs) == len(days), backfill_runs
        for backfill_run in backfill_runs:
            _wait_success(ui_stack, backfill_run["dag_run_id"])
        SHARED["backfill_run_ids"] = sorted(r["dag_run_id"] for r in backfill_runs)

        page.goto(f"{ui_stack.url}/dags/{DAG_ID_LOAD}/runs/{urllib.parse.quote(run_id, safe='')}")
        expect(page.get_by_text("Success").first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "03-run-succeeded.png"))
    finally:
        page.close()


def _audit_truth(stack: UiStack) -> list[dict[str, Any]]:
    """Ground truth straight from the audit table (not through the page's API)."""
    return list(audit.scan_records(stack.dynamodb(), stack.settings.audit_table))


def _shown(value: Any) -> str:
    return "—" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _download(page: Page, link: Any) -> bytes:
    with page.expect_download() as info:
        link.click()
    path = info.value.path()
    assert path is not None
    with open(path, "rb") as fh:
        return fh.read()


CHECKS_PREFIX = "raw/ui/checks/"
# What two loads' manifests said about their data (docs/checks.md), made into audit records by the
# DAG's own audit.quality_fields: one passed its checks, one failed a row and a file check.
CHECKED_LOADS = {
    "passed": {
        "status": audit.STATUS_VERIFIED,
        "duplicates": {"on_conflict": "keep_first", "exact": 0, "conflicting": 3},
        "checks": {
            "passed": True,
            "failed": [],
            "results": [
                {"check": "not_null:price", "kind": "row", "status": "passed", "rows_failing": 0},
                {
                    "check": "row_count",
                    "kind": "file",
                    "status": "passed",
                    "detail": "row count 9 is within 1..any",
                },
            ],
        },
    },
    "failed": {
        "status": audit.STATUS_FAILED,
        "duplicates": {"on_conflict": "reject", "exact": 1, "conflicting": 2},
        "key_by_default": True,
        "checks": {
            "passed": False,
            "failed": ["between:amount", "row_count_history"],
            "results": [
                {"check": "between:amount", "kind": "row", "status": "failed", "rows_failing": 2},
                {
                    "check": "row_count_history",
                    "kind": "file",
                    "status": "failed",
                    "detail": "row count 4,120 is 48 % of the median of the last 7 loads (8,530); "
                    "allowed ±30 %",
                },
            ],
        },
    },
}


def _checks_are_shown_and_exported(stack: UiStack, page: Page, frame: Any) -> None:
    """Two checked loads, seeded under their own prefix: the table says which passed and which
    failed and why, exact and conflicting duplicates and the key warning; the export carries them."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for name, manifest in CHECKED_LOADS.items():
        record = {
            "dag_run_id": f"manual__ui-checks-{name}",
            "source": f"s3://{stack.settings.bucket}/{CHECKS_PREFIX}{name}.csv",
            "source_key": f"{CHECKS_PREFIX}{name}.csv",
            "dag_id": DAG_ID_LOAD,
            "run_id": f"ui-checks-{name}",
            "status": manifest["status"],
            "table": stack.settings.table,
            "rows_read": 9,
            "rows_written": 0 if name == "failed" else 6,
            "rows_per_second": 100.0,
            "recorded_at": now,
            **audit.quality_fields(manifest),
        }
        audit.put_record(stack.dynamodb(), stack.settings.audit_table, record)
    frame.locator("#f-file").fill(CHECKS_PREFIX)
    frame.locator("#apply").click()
    page.wait_for_url(re.compile(r"file=raw%2Fui%2Fchecks"))
    frame.locator("body[data-state=ready]").wait_for()
    expect(frame.locator("#loads tbody tr")).to_have_count(2)

    passed = frame.locator("#loads tbody tr[data-run-id='manual__ui-checks-passed']")
    expect(passed.locator("td.checks")).to_have_text("passed 2 check(s)")
    expect(passed.locator("td.checks")).to_have_attribute("data-passed", "true")
    expect(passed.locator("td.dups .dup-counts")).to_have_text("0 exact · 3 conflicting (keep_first)")
    expect(passed.locator("td.dups .key-warning")).to_have_count(0)

    failed = frame.locator("#loads tbody tr[data-run-id='manual__ui-checks-failed']")
    expect(failed.locator("td.checks .check")).to_have_text("failed")
    expect(failed.locator("td.checks .failed-check")).to_have_text(
        ["between:amount (2 rows)", "row_count_history"]
    )
    history = failed.locator("td.checks .failed-check").nth(1)
    assert "48 % of the median of the last 7 loads" in (history.get_attribute("title") or "")
    expect(failed.locator("td.dups .dup-counts")).to_have_text("1 exact · 2 conflicting (reject)")
    expect(failed.locator("td.dups .key-warning")).to_be_visible()
    failed.scroll_into_view_if_needed()
    # The table is wider than the window: show its right end (status, checks, duplicates, files).
    frame.locator(".table-wrap").evaluate("wrap => { wrap.scrollLeft = wrap.scrollWidth; }")
    page.screenshot(path=str(ARTIFACTS / "10-loads-checks.png"))

    exported = {
        r["dag_run_id"]: r
        for r in csv.DictReader(io.StringIO(_download(page, frame.locator("#export")).decode()))
    }
    assert set(exported) == {"manual__ui-checks-passed", "manual__ui-checks-failed"}
    columns = (
        "checks_passed",
        "checks_failed",
        "duplicates_exact",
        "duplicates_conflicting",
        "on_conflict",
        "key_by_default",
    )
    assert tuple(exported["manual__ui-checks-passed"][c] for c in columns) == (
        "True",
        "",
        "0",
        "3",
        "keep_first",
        "",
    )
    assert tuple(exported["manual__ui-checks-failed"][c] for c in columns) == (
        "False",
        "between:amount (2 rows); row_count_history: row count 4,120 is 48 % of the median of the last 7 "
        "loads (8,530); allowed ±30 %",
        "1",
        "2",
        "reject",
        "True",
    )


def test_loads_page_finds_filters_exports_and_charts_the_load(ui_stack: UiStack, browser: Any) -> None:
    run_id = _shared("form_run_id")
    backfill_run_ids = _shared("backfill_run_ids")
    records = _audit_truth(ui_stack)
    mine = [r for r in records if r["dag_run_id"] == run_id]
    assert len(mine) == 1, records
    record = mine[0]
    assert (
        record["rows_read"],
        record["rows_written"],
        record["rows_rejected"],
        record["rows_duplicate"],
    ) == (
        6,
        4,
        1,
        1,
    ), record
    assert record["reject_tolerance"] == STACK_TOLERANCE
    assert {r["dag_run_id"] for r in records} >= {run_id, *backfill_run_ids}
    source = f"s3://{ui_stack.settings.bucket}/{FORM_KEY}"

    page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
    try:
        log_in(page, ui_stack)
        page.get_by_role("link", name="Loads").click()
        expect(page).to_have_url(re.compile(r"/plugin/csv2ddb-loads"))
        frame = page.frame_locator("iframe[title='Loads']")
        frame.locator("body[data-state=ready]").wait_for(timeout=30_000)

        # The load, with its figures.
        row = frame.locator(f"#loads tbody tr[data-run-id='{run_id}']")
        expect(row).to_have_count(1)
        assert row.get_attribute("data-source") == source
        cells = {
            name: row.locator(f"td.{name}").inner_text()
            for name in ("rows_read", "rows_written", "rows_rejected", "rows_duplicate", "rows_skipped")
        }
        # Skipped, engine and method come from newer jobs only: "—" when the record lacks them.
        assert cells == {
            "rows_read": "6",
            "rows_written": "4",
            "rows_rejected": "1",
            "rows_duplicate": "1",
            "rows_skipped": _shown(record.get("rows_skipped")),
        }
        assert row.locator("td.file").inner_text() == FORM_KEY
        assert row.locator("td.table").inner_text() == ui_stack.settings.table
        assert row.locator("td.by").inner_text() == ui_stack.airflow.credentials()[0]
        assert row.locator("td.when").inner_text() == record["recorded_at"]
        assert row.locator(".status").inner_text() == "verified"
        assert row.locator("td.engine").inner_text() == _shown(record.get("engine"))
        assert row.locator("td.method").inner_text() == _shown(record.get("load_method"))
        assert row.locator("td.run a").inner_text() == run_id
        # Its data, as the job judged it: id 3 twice with the same cells (an exact duplicate), the
        # key the column "id" only for its name (the form named none), no checks declared.
        assert (record.get("duplicates_exact"), record.get("duplicates_conflicting")) == (1, 0), record
        assert record.get("key_by_default") is True, record
        expect(row.locator("td.dups .dup-counts")).to_have_text("1 exact · 0 conflicting")
        expect(row.locator("td.dups .key-warning")).to_have_text("key 'id' by name")
        expect(row.locator("td.checks")).to_have_text("—")
        for backfill_run_id in backfill_run_ids:
            expect(frame.locator(f"#loads tbody tr[data-run-id='{backfill_run_id}']")).to_have_count(1)

        # The charts' drawn elements, against the audit table itself.
        written: dict[tuple[str, str], int] = defaultdict(int)
        for r in records:
            written[(r["recorded_at"][:10], r["status"])] += int(r.get("rows_written") or 0)
        daily = frame.locator("#chart-daily rect.bar")
        drawn = {
            (bar.get_attribute("data-day"), bar.get_attribute("data-status")): int(
                bar.get_attribute("data-rows")
            )
            for bar in daily.all()
        }
        assert drawn == dict(written)
        assert all(float(bar.get_attribute("height")) > 0 for bar in daily.all())
        reject_bar = frame.locator(f"#chart-rejects rect.bar[data-run-id='{run_id}']")
        expect(reject_bar).to_have_count(1)
        assert float(reject_bar.get_attribute("data-value")) == pytest.approx(1 / 6, abs=1e-6)
        assert float(reject_bar.get_attribute("height")) > 10  # the only load with rejects: the tallest bar
        speed_bar = frame.locator(f"#chart-speed rect.bar[data-run-id='{run_id}']")
        expect(speed_bar).to_have_count(1)
        assert float(speed_bar.get_attribute("data-value")) == pytest.approx(record["rows_per_second"])
        assert frame.locator("#chart-speed rect.bar").count() == len(records)
        frame.locator("#loads").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "04-loads-page.png"))

        _checks_are_shown_and_exported(ui_stack, page, frame)

        # Filter to it by file prefix: the page reloads at an address carrying the filter, and
        # Airflow's UI mirrors it in its own address (a filtered view can be shared).
        frame.locator("#f-file").fill("raw/ui/form")
        frame.locator("#apply").click()
        page.wait_for_url(re.compile(r"/plugin/csv2ddb-loads/csv2ddb/loads\?.*file=raw%2Fui%2Fform"))
        frame.locator("body[data-state=ready]").wait_for()
        expect(frame.locator("#loads tbody tr")).to_have_count(1)
        expect(frame.locator(f"#loads tbody tr[data-run-id='{run_id}']")).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / "05-loads-filtered.png"))
        row = frame.locator(f"#loads tbody tr[data-run-id='{run_id}']")

        # The CSV export of exactly the filtered rows.
        exported = list(csv.DictReader(io.StringIO(_download(page, frame.locator("#export")).decode())))
        assert len(exported) == 1
        assert exported[0]["dag_run_id"] == run_id
        assert exported[0]["source"] == source
        assert (exported[0]["rows_read"], exported[0]["rows_written"], exported[0]["rows_rejected"]) == (
            "6",
            "4",
            "1",
        )
        assert exported[0]["status"] == "verified"
        assert exported[0]["engine"] == str(record.get("engine") or "")

        # The manifest and the rejects, through the page's links.
        manifest = json.loads(_download(page, row.locator("a.manifest")))
        assert manifest["run_id"] == record["run_id"]
        assert manifest["rows_read"] == 6
        rejects = _download(page, row.locator("a.rejects")).decode()
        assert "ragged_row" in rejects
        assert "4,B6,1,extra" in rejects

        frame.locator("#f-status").select_option("failed")
        frame.locator("#apply").click()
        page.wait_for_url(re.compile(r"status=failed"))
        frame.locator("body[data-state=ready]").wait_for()
        expect(frame.locator("#loads tbody td.empty")).to_have_text("No loads match these filters.")

        # Bad input reaches the person as a message, not a blank page.
        frame.locator("#f-from").fill("2026-12-31")
        frame.locator("#f-to").fill("2020-01-01")
        frame.locator("#apply").click()
        page.wait_for_url(re.compile(r"from=2026-12-31"))
        frame.locator("body[data-state=error]").wait_for()
        expect(frame.locator("#message")).to_contain_text("is after")

        # The DAG-run link opens the run in Airflow's own UI (not inside the frame).
        frame.locator("#reset").click()
        page.wait_for_url(re.compile(r"/csv2ddb/loads$"))
        frame.locator("body[data-state=ready]").wait_for()
        frame.locator(f"#loads tbody tr[data-run-id='{run_id}'] td.run a").click()
        page.wait_for_url(re.compile(rf"/dags/{DAG_ID_LOAD}/runs/"))
        assert urllib.parse.unquote(page.url.rsplit("/runs/", 1)[1]) == run_id
        expect(page.locator("iframe[title='Loads']")).to_have_count(0)
    finally:
        page.close()


ANALYTICS_PREFIX = "raw/ui/analytics/"


def _seed_analytics_loads(stack: UiStack) -> dict[str, dict[str, Any]]:
    """Two verified loads as the verify step records them (csv2ddb.analytics.step's fields): one
    reconciled by Athena with its Parquet partition, one whose processed zone was off."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    settings = stack.settings
    seeded: dict[str, dict[str, Any]] = {}
    for name, written in (("reconciled", 40), ("off", 12)):
        seeded[name] = {
            "dag_run_id": f"manual__ui-analytics-{name}",
            "source": f"s3://{settings.bucket}/{ANALYTICS_PREFIX}{name}.csv",
            "source_key": f"{ANALYTICS_PREFIX}{name}.csv",
            "dag_id": DAG_ID_LOAD,
            "run_id": f"ui-analytics-{name}",
            "status": audit.STATUS_VERIFIED,
            "table": settings.table,
            "rows_read": written,
            "rows_written": written,
            "recorded_at": now,
            "analytics_status": name,
        }
    seeded["reconciled"].update(
        processed_location=f"s3://{settings.bucket}/processed/{settings.table}/load_date={now[:10]}/"
        "ui-analytics-reconciled/",
        processed_rows=40,
        processed_bytes=5123,
        partition="created",
        catalog_table=settings.table.replace("-", "_"),
        athena_count=40,
        athena_matches=True,
        athena_query_id="5b1c0f3e-7a0d-4a55-9d0e-1c2b3a4d5e6f",
        athena_seconds=1.2,
    )
    for record in seeded.values():
        audit.put_record(stack.dynamodb(), settings.audit_table, record)
    return seeded


def _as_on_aws(stack: UiStack, seeded: dict[str, dict[str, Any]]) -> Any:
    """A route handler giving the page the analytics of real AWS (console addresses): the emulator
    has no console, so only this shows that the page's console links open outside Airflow's frame."""
    on_aws = dataclasses.replace(stack.settings, endpoint_url=None)
    by_run = {r["dag_run_id"]: r for r in seeded.values()}

    def handle(route: Any) -> None:
        body = route.fetch().json()
        for row in body["rows"]:
            if row["dag_run_id"] in by_run:
                row["analytics"] = analytics_of(by_run[row["dag_run_id"]], on_aws)
        route.fulfill(json=body)

    return handle


def test_loads_page_shows_a_load_s_parquet_partition_and_athena_count(
    ui_stack: UiStack, browser: Any
) -> None:
    """Each load's processed zone beside its files: a reconciled load's Parquet partition and
    Athena count (as text on the emulator, console links on AWS), a load with the zone off says so."""
    seeded = _seed_analytics_loads(ui_stack)
    reconciled = seeded["reconciled"]
    page = browser.new_page(viewport=VIEWPORT)
    try:
        log_in(page, ui_stack)
        page.get_by_role("link", name="Loads").click()
        frame = page.frame_locator("iframe[title='Loads']")
        frame.locator("body[data-state=ready]").wait_for()
        frame.locator("#f-file").fill(ANALYTICS_PREFIX)
        frame.locator("#apply").click()
        page.wait_for_url(re.compile(r"file=raw%2Fui%2Fanalytics"))
        frame.locator("body[data-state=ready]").wait_for()
        expect(frame.locator("#loads tbody tr")).to_have_count(2)

        cell = frame.locator("#loads tbody tr[data-run-id='manual__ui-analytics-reconciled'] td.analytics")
        expect(cell).to_have_attribute("data-status", "reconciled")
        expect(cell.locator(".zone-status")).to_have_text("reconciled")
        expect(cell.locator(".athena-count")).to_have_text("Athena 40 = 40 written")
        expect(cell.locator(".partition")).to_have_text(f"Parquet {reconciled['processed_location']}")
        expect(cell.locator(".athena-query")).to_have_text(f"query {reconciled['athena_query_id']}")
        # The emulator has no console: the uri and the query id are text, never a dead link.
        expect(cell.locator("a")).to_have_count(0)

        off = frame.locator("#loads tbody tr[data-run-id='manual__ui-analytics-off'] td.analytics")
        expect(off).to_have_attribute("data-status", "off")
        expect(off.locator(".zone-status")).to_have_text("processed zone off")
        expect(off.locator(".partition, .athena-query, .athena-count")).to_have_count(0)
        cell.scroll_into_view_if_needed()
        frame.locator(".table-wrap").evaluate("wrap => { wrap.scrollLeft = wrap.scrollWidth; }")
        page.screenshot(path=str(ARTIFACTS / "11-loads-analytics.png"))

        # On real AWS the same cell links the console; Airflow's frame may not open windows itself
        # (its sandbox has no allow-popups), so the page opens them from the top window.
        page.route(re.compile(r"/csv2ddb/api/loads\?"), _as_on_aws(ui_stack, seeded))
        page.context.route(
            re.compile(r"^https://[^/]*console\.aws\.amazon\.com/"), lambda r: r.fulfill(body="console")
        )
        page.reload()
        frame.locator("body[data-state=ready]").wait_for()
        on_aws = analytics_of(reconciled, dataclasses.replace(ui_stack.settings, endpoint_url=None))
        for part, address in (
            (".partition a", on_aws["partition_console"]),
            (".athena-query a", on_aws["athena_console"]),
        ):
            expect(cell.locator(part)).to_have_attribute("href", address)
            with page.context.expect_page() as opened:
                cell.locator(part).click()
            assert opened.value.url == address
            opened.value.close()
        assert urllib.parse.urlparse(page.url).path == "/plugin/csv2ddb-loads/csv2ddb/loads"  # Airflow stays
    finally:
        page.close()


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("from=2026-02-30", 422, "from"),
        ("to=yesterday", 422, "to"),
        ("status=done", 422, "verified"),
        ("limit=201", 422, "200"),
        ("limit=0", 422, "limit"),
        ("table=a%20b", 422, "table"),
        ("dataset=Weather", 422, "dataset"),
        ("dataset=a-b", 422, "dataset"),
        ("from=2026-03-02&to=2026-03-01", 400, "after"),
        ("from=2020-01-01&to=2026-01-01", 400, "366"),
        ("cursor=bm90LWEtY3Vyc29y", 400, "cursor"),
    ],
)
def test_api_refuses_bad_query_parameters_with_a_message(
    ui_stack: UiStack, token: str, query: str, status: int, message: str
) -> None:
    code, body = ui_stack.get_json(f"/csv2ddb/api/loads?{query}", token)
    assert code == status, body
    assert message in json.dumps(body["detail"]), body


@pytest.mark.parametrize(
    ("key", "status"),
    [
        ("raw/ui/form-load.csv", 400),  # the raw data is not served
        ("scripts/csv2ddb_load_job.py", 400),
        ("manifests/../raw/ui/form-load.csv", 400),
        ("/manifests/x.json", 400),
        ("manifests/", 400),
        ("manifests/no-such-run.json", 404),
    ],
)
def test_object_route_serves_only_manifests_and_rejects(
    ui_stack: UiStack, token: str, key: str, status: int
) -> None:
    code, body = ui_stack.get_json(f"/csv2ddb/api/object?{urllib.parse.urlencode({'key': key})}", token)
    assert code == status, body
    assert body["detail"]
