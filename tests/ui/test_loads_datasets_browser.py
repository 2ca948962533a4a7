"""Datasets in the Airflow UI, in a real browser against the real local stack (issue 25).

Two dataset DAGs' trigger forms (``csv2ddb_load__weather`` and ``csv2ddb_load__planes``, whose files
are ``;``-delimited Latin-1) ask for no table, key or CSV option; each loads a file of its dataset
with only its object key, both runs going at once, each into its own table. The Loads page then
shows each load under its dataset, the dataset filter narrows the table to one, and the
per-dataset overview shows each dataset's last load, status and freshness (a dataset with no load
yet as such) and the unrouted files. The tests run in file order and share the runs (``SHARED``).
"""

from __future__ import annotations

import csv
import io
import re
import urllib.parse
from datetime import UTC, datetime
from typing import Any

import pytest
from csv2ddb.history import audit
from csv2ddb.settings import DAG_ID_LOAD
from csv2ddb_core.routing import STATUS_UNROUTED
from playwright.sync_api import Page, expect

from tests.ui.conftest import ARTIFACTS, UiStack, log_in

pytestmark = [pytest.mark.airflow, pytest.mark.emulator]

WEATHER_DAG = "csv2ddb_load__weather"
WEATHER_KEY = "raw/weather/ui-weather.csv"
# The weather dataset: key origin + time_hour, "NA" for a missing reading.
WEATHER_CSV = (
    b"origin,year,month,day,hour,temp,time_hour\n"
    b"EWR,2013,1,1,1,39.02,2013-01-01 06:00:00\n"
    b"EWR,2013,1,1,2,NA,2013-01-01 07:00:00\n"
    b"JFK,2013,1,1,1,39.92,2013-01-01 06:00:00\n"
)
# What a dataset file fixes, so its form must not ask for it (the generic form does).
FIXED_FIELDS = (
    "bucket",
    "table",
    "partition_key",
    "sort_key",
    "write_mode",
    "delimiter",
    "encoding",
    "engine",
)
PLANES_DAG = "csv2ddb_load__planes"
PLANES_KEY = "raw/planes/ui-planes.csv"
# The planes dataset (dags/datasets/planes.yaml): key tailnum, ';'-delimited Latin-1, seats checked.
PLANES_CSV = (
    "tailnum;year;type;manufacturer;model;engines;seats;speed;engine\n"
    "N10156;2004;Fixed wing multi engine;EMBRAER;EMB-145XR;2;55;NA;Turbo-fan\n"
    "N201AA;1959;Fixed wing single engine;CESSNA;150;1;2;90;Reciprocating\n"
    "N3ÉTÉ;1998;Fixed wing multi engine;AÉROSPATIALE;ATR-72;2;70;NA;Turbo-prop\n"
).encode("latin-1")
RUN_TIMEOUT = 420.0
VIEWPORT = {"width": 1600, "height": 1100}
SHARED: dict[str, Any] = {}


def _form_fields(page: Page) -> set[str]:
    """Every field the open trigger dialog's form has, section by section (each opened in turn)."""
    dialog = page.get_by_role("dialog")
    form = dialog.get_by_test_id("config-form")
    expect(dialog.locator("#element_key")).to_be_visible()
    triggers = form.locator("button[aria-expanded]")  # the sections' headers
    names: set[str] = set()
    for i in range(triggers.count()):
        trigger = triggers.nth(i)
        if trigger.get_attribute("aria-expanded") != "true":
            trigger.click()
            expect(trigger).to_have_attribute("aria-expanded", "true")
        names |= {
            (element.get_attribute("id") or "").removeprefix("element_")
            for element in form.locator("[id^=element_]").all()
            if element.is_visible()
        }
    return names


def _trigger_through_form(page: Page, stack: UiStack, dag_id: str, key: str, shot: str) -> str:
    """Open the dataset DAG's trigger form, check it asks nothing the dataset fixes, type only the
    object key and submit: the new run's id."""
    stack.api().wait_for_dag(dag_id, timeout=180)
    page.goto(f"{stack.url}/dags/{dag_id}")
    page.get_by_role("button", name="Trigger Dag").click()
    dialog = page.get_by_role("dialog")
    fields = _form_fields(page)
    assert {"key", "prefix"} <= fields, fields
    assert not fields & set(FIXED_FIELDS), f"the {dag_id} form asks for {sorted(fields & set(FIXED_FIELDS))}"
    form = dialog.get_by_test_id("config-form")
    for name in FIXED_FIELDS:  # not even in a closed section
        assert form.locator(f"#element_{name}").count() == 0, name
    assert form.locator("[data-required]").count() == 0
    first_section = dialog.get_by_role("button", name="Run Parameters")
    if first_section.get_attribute("aria-expanded") != "true":
        first_section.click()
    dialog.locator("#element_key").fill(key)
    page.screenshot(path=str(ARTIFACTS / shot))
    submit = dialog.get_by_role("button", name="Trigger", exact=True)
    expect(submit).to_be_enabled()
    submit.click()
    page.wait_for_url(re.compile(rf"/dags/{dag_id}/runs/"))
    return urllib.parse.unquote(page.url.rsplit("/runs/", 1)[1].split("?")[0])


def _verified_record(stack: UiStack, dag_id: str, run_id: str, key: str, dataset: str) -> dict[str, Any]:
    """The run's one audit record, verified, of its dataset and table, with only the key typed."""
    run = stack.api().wait_dag_run(dag_id, run_id, timeout=RUN_TIMEOUT)
    if run["state"] != "success":
        pytest.fail(f"run ended {run['state']}; {stack.api().run_report(dag_id, run_id)}")
    given = {name: value for name, value in run["conf"].items() if value not in (None, "")}
    assert set(given) <= {"key", "reject_tolerance", "count_method"}, given  # nothing but the key typed
    assert given["key"] == key
    records = [r for r in _audit_truth(stack) if r["dag_run_id"] == run_id and r.get("dag_id") == dag_id]
    assert len(records) == 1, records
    assert records[0]["dataset"] == dataset
    assert records[0]["status"] == audit.STATUS_VERIFIED, records[0]
    assert records[0]["table"] == f"{stack.settings.prefix}-{dataset}"
    return records[0]


def test_two_dataset_forms_ask_only_what_their_datasets_do_not_fix(ui_stack: UiStack, browser: Any) -> None:
    s3 = ui_stack.s3()
    s3.put_object(Bucket=ui_stack.settings.bucket, Key=WEATHER_KEY, Body=WEATHER_CSV)
    s3.put_object(Bucket=ui_stack.settings.bucket, Key=PLANES_KEY, Body=PLANES_CSV)
    page = browser.new_page(viewport=VIEWPORT)
    try:
        log_in(page, ui_stack)
        # The generic form, read the same way, has the fields: the check below can see them.
        page.goto(f"{ui_stack.url}/dags/{DAG_ID_LOAD}")
        page.get_by_role("button", name="Trigger Dag").click()
        generic = _form_fields(page)
        assert {"key", "prefix", "table", "partition_key", "delimiter"} <= generic, generic
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_have_count(0)

        weather_run = _trigger_through_form(
            page, ui_stack, WEATHER_DAG, WEATHER_KEY, "07-dataset-trigger-form.png"
        )
        planes_run = _trigger_through_form(
            page, ui_stack, PLANES_DAG, PLANES_KEY, "07b-planes-trigger-form.png"
        )
    finally:
        page.close()

    SHARED["weather"] = _verified_record(ui_stack, WEATHER_DAG, weather_run, WEATHER_KEY, "weather")
    planes = _verified_record(ui_stack, PLANES_DAG, planes_run, PLANES_KEY, "planes")
    assert planes["rows_written"] == 3
    item = ui_stack.dynamodb().get_item(TableName=planes["table"], Key={"tailnum": {"S": "N3ÉTÉ"}})["Item"]
    assert (item["manufacturer"], item["year"]) == (
        {"S": "AÉROSPATIALE"},
        {"S": "1998"},
    )  # Latin-1, year typed S
    SHARED["planes"] = planes


def _audit_truth(stack: UiStack) -> list[dict[str, Any]]:
    return list(audit.scan_records(stack.dynamodb(), stack.settings.audit_table))


def _seed_adhoc_and_unrouted(stack: UiStack) -> tuple[dict[str, Any], dict[str, Any]]:
    """An ad-hoc load of csv2ddb_load (no dataset) and a file no dataset claims, recorded now: what
    the dataset filter must leave out, and what the overview must count."""
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    bucket = stack.settings.bucket
    adhoc = {
        "dag_run_id": "manual__ui-datasets-adhoc",
        "source": f"s3://{bucket}/raw/adhoc/one.csv",
        "source_key": "raw/adhoc/one.csv",
        "dag_id": DAG_ID_LOAD,
        "run_id": "ui-datasets-adhoc",
        "run_type": "manual",
        "triggered_by": "someone",
        "status": audit.STATUS_VERIFIED,
        "table": stack.settings.table,
        "rows_read": 2,
        "rows_written": 2,
        "recorded_at": now,
    }
    unrouted = {
        "dag_run_id": "s3__ui-datasets-unrouted",
        "source": f"s3://{bucket}/raw/orders/o1.csv",
        "source_key": "raw/orders/o1.csv",
        "status": STATUS_UNROUTED,
        "reason": "no dataset claims raw/orders/o1.csv",
        "recorded_at": now,
    }
    for record in (adhoc, unrouted):
        audit.put_record(stack.dynamodb(), stack.settings.audit_table, record)
    return adhoc, unrouted


def _download(page: Page, link: Any) -> bytes:
    with page.expect_download() as info:
        link.click()
    path = info.value.path()
    assert path is not None
    with open(path, "rb") as fh:
        return fh.read()


def test_loads_page_overview_and_dataset_filter(ui_stack: UiStack, browser: Any) -> None:
    if not {"weather", "planes"} <= set(SHARED):
        pytest.fail("needs the loads of test_two_dataset_forms_ask_only_what_their_datasets_do_not_fix")
    weather = SHARED["weather"]
    adhoc, unrouted = _seed_adhoc_and_unrouted(ui_stack)
    page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
    try:
        log_in(page, ui_stack)
        page.get_by_role("link", name="Loads").click()
        frame = page.frame_locator("iframe[title='Loads']")
        frame.locator("body[data-state=ready][data-overview=ready]").wait_for(timeout=60_000)
        opened = datetime.now(UTC)

        # The overview: weather's last load, its status and freshness; the others have none yet.
        row = frame.locator("#datasets tbody tr[data-dataset=weather]")
        expect(row).to_have_count(1)
        expect(row.locator("td.last")).to_have_text(weather["recorded_at"])
        expect(row.locator(".status")).to_have_text("verified")
        expect(row.locator("td.table")).to_have_text(weather["table"])
        seconds = int(row.locator("td.freshness").get_attribute("data-seconds") or "-1")
        loaded = datetime.fromisoformat(weather["recorded_at"].replace("Z", "+00:00"))
        assert 0 <= seconds <= (opened - loaded).total_seconds() + 1, seconds
        assert row.locator("td.freshness").inner_text().strip()
        assert int(row.locator("td.rows").inner_text().replace(",", "")) == weather["rows_written"]
        expect(row.locator("svg.spark rect.bar")).to_have_count(1)  # one day of rows
        planes = frame.locator("#datasets tbody tr[data-dataset=planes]")
        expect(planes.locator(".status")).to_have_text("verified")
        expect(planes.locator("td.table")).to_have_text(SHARED["planes"]["table"])
        flights = frame.locator("#datasets tbody tr[data-dataset=flights]")
        expect(flights.locator("td.last")).to_have_text("no load yet")
        expect(flights.locator("td.freshness")).to_have_text("never verified")
        unrouted_box = frame.locator("#unrouted")
        expect(unrouted_box).to_have_attribute("data-count", "1")
        expect(unrouted_box).to_contain_text(unrouted["source"])
        expect(unrouted_box).to_contain_text(unrouted["reason"])

        # Unfiltered, the table holds both the dataset's load and the ad-hoc one, and says who.
        weather_row = frame.locator(f"#loads tbody tr[data-run-id='{weather['dag_run_id']}']")
        expect(weather_row.locator("td.dataset")).to_have_text("weather")
        expect(weather_row.locator("td.by")).to_have_text(ui_stack.airflow.credentials()[0])
        expect(weather_row.locator("td.uploaded")).to_have_text("—")  # a form run: no uploader
        expect(
            frame.locator(f"#loads tbody tr[data-run-id='{adhoc['dag_run_id']}'] td.dataset")
        ).to_have_text("—")
        frame.locator("#overview").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "08-loads-datasets.png"))

        # The dataset filter (here: the dataset's name in the overview) narrows the table to it.
        frame.locator("#datasets tbody tr[data-dataset=weather] td.name a").click()
        page.wait_for_url(re.compile(r"/plugin/csv2ddb-loads/csv2ddb/loads\?.*dataset=weather"))
        frame.locator("body[data-state=ready]").wait_for()
        expect(frame.locator("#f-dataset")).to_have_value("weather")
        want = sorted(r["dag_run_id"] for r in _audit_truth(ui_stack) if r.get("dataset") == "weather")
        rows = frame.locator("#loads tbody tr")
        expect(rows).to_have_count(len(want))
        assert sorted(r.get_attribute("data-run-id") for r in rows.all()) == want
        assert set(frame.locator("#loads tbody td.dataset").all_inner_texts()) == {"weather"}
        expect(frame.locator("#query-info")).to_contain_text("index by_dataset")
        page.screenshot(path=str(ARTIFACTS / "09-loads-dataset-filtered.png"))

        # The export of the filtered view names the dataset and who, for every row.
        exported = list(csv.DictReader(io.StringIO(_download(page, frame.locator("#export")).decode())))
        assert sorted(r["dag_run_id"] for r in exported) == want
        assert {r["dataset"] for r in exported} == {"weather"}
        mine = next(r for r in exported if r["dag_run_id"] == weather["dag_run_id"])
        assert (mine["triggered_by"], mine["uploaded_by"]) == (ui_stack.airflow.credentials()[0], "")
    finally:
        page.close()
