"""The Loads page stays per file and links a file's group run (issue 24), in a real browser against
the real local stack.

A prefix of three small files triggered through the REST API is one group (loaded inline, in the
scheduler's worker: the local stack keeps ``CSV2DDB_INLINE_MAX_BYTES`` at its default); the page
shows three rows, each with its own figures and a "group of 3" link to the group's load step in
Airflow's UI, which opens the run's mapped instances of that step. The unit tests pin the row's
shape: a file loaded alone has no group link.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from csv2ddb.settings import DAG_ID_LOAD, load_settings
from csv2ddb.ui import table_rows
from playwright.sync_api import expect

from tests.ui.conftest import ARTIFACTS, UiStack, log_in

PREFIX = "raw/ui-group/"
FILES = {f"{PREFIX}g{n}.csv": f"id,v\ng{n}-a,1\ng{n}-b,2\ng{n}-c,{n}\n".encode() for n in range(3)}
RUN_ID = "manual__ui-group-link"
RUN_TIMEOUT = 420.0
VIEWPORT = {"width": 1600, "height": 1000}
SETTINGS = load_settings({}, prefix="unit")
RECORD = {
    "dag_id": DAG_ID_LOAD,
    "dag_run_id": "manual__x",
    "source": "s3://unit-data/raw/a.csv",
    "source_key": "raw/a.csv",
    "run_id": "manual__x__a",
    "status": "verified",
}


def test_a_file_of_a_group_links_the_group_s_load_step_and_one_loaded_alone_does_not() -> None:
    grouped = table_rows.present({**RECORD, "group_id": "g__group_1", "group_files": 3}, SETTINGS, "/b", "")
    assert (grouped["group_id"], grouped["group_files"]) == ("g__group_1", 3)
    assert grouped["links"]["group"] == "/b/dags/csv2ddb_load/runs/manual__x/tasks/load_file.run_glue/mapped"
    alone = table_rows.present({**RECORD, "group_id": "g__group_2", "group_files": 1}, SETTINGS, "/b", "")
    assert alone["links"]["group"] is None  # a group of one is the file's own load: the run link says it
    older = table_rows.present(RECORD, SETTINGS, "/b", "")  # a record from before groups
    assert (older["group_id"], older["links"]["group"]) == (None, None)
    text = "".join(table_rows.csv_lines([{**RECORD, "group_id": "g__group_1", "group_files": 3}]))
    (row,) = csv.DictReader(io.StringIO(text))
    assert (row["group_id"], row["group_files"]) == ("g__group_1", "3")


@pytest.mark.airflow
@pytest.mark.emulator
def test_the_loads_page_shows_each_file_of_a_group_with_a_link_to_the_group_run(
    ui_stack: UiStack, browser: Any
) -> None:
    s3 = ui_stack.s3()
    for key, body in FILES.items():
        s3.put_object(Bucket=ui_stack.settings.bucket, Key=key, Body=body)
    api = ui_stack.api()
    api.unpause_dag(DAG_ID_LOAD)
    status, body = api.trigger_dag_run(DAG_ID_LOAD, RUN_ID, {"prefix": PREFIX})
    assert status == 200, body
    run = api.wait_dag_run(DAG_ID_LOAD, RUN_ID, timeout=RUN_TIMEOUT)
    assert run["state"] == "success", api.run_report(DAG_ID_LOAD, RUN_ID)
    load_steps = [
        t for t in api.list_task_instances(DAG_ID_LOAD, RUN_ID) if t["task_id"] == "load_file.run_glue"
    ]
    assert len(load_steps) == 1  # one group: one load step for the three files

    page = browser.new_page(viewport=VIEWPORT)
    try:
        log_in(page, ui_stack)
        page.get_by_role("link", name="Loads").click()
        frame = page.frame_locator("iframe[title='Loads']")
        frame.locator("body[data-state=ready]").wait_for(timeout=60_000)
        rows = frame.locator(f"#loads tbody tr[data-run-id='{RUN_ID}']")
        expect(rows).to_have_count(3)  # the page stays per file
        for n in range(3):
            row = frame.locator(
                f"#loads tbody tr[data-source='s3://{ui_stack.settings.bucket}/{PREFIX}g{n}.csv']"
            )
            expect(row.locator(".status")).to_have_text("verified")
            expect(row.locator("td.rows_written")).to_have_text("3")
            expect(row.locator("td.engine")).to_have_text("inline")
            expect(row.locator("td.run .group a")).to_have_text("group of 3")
        group_ids = {rows.nth(n).locator("td.run .group a").get_attribute("data-group-id") for n in range(3)}
        assert None not in group_ids, group_ids
        assert len(group_ids) == 1, group_ids  # one group id for the three files
        page.screenshot(path=str(ARTIFACTS / "12-loads-group-link.png"), full_page=True)

        rows.first.locator("td.run .group a").click()  # opens in Airflow's own UI (the top window)
        page.wait_for_url(f"**/dags/{DAG_ID_LOAD}/runs/{RUN_ID}/tasks/load_file.run_glue/mapped**")
        # Airflow's list of the step's mapped instances: one, the group's, succeeded (its tab label
        # says "[0]" on Airflow 3.3, the list itself is right).
        expect(page.get_by_role("heading", name="1 Task Instance")).to_be_visible(timeout=60_000)
        expect(page.get_by_role("row").filter(has_text="Success")).to_have_count(1, timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "13-group-run-in-airflow.png"), full_page=True)
    finally:
        page.close()
