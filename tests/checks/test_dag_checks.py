"""Duplicates and checks through csv2ddb_load under dag.test(): real Airflow, the emulator, the
real Glue job script. A pizzaplace-like file (``id`` is the order) writes nothing by default and the
run's note names ``conflicting_duplicate``; a file far below its history writes nothing and says by
how much, against audit records seeded into the stack's audit table."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from csv2ddb.history.audit import Outcome, build_record, put_record
from csv2ddb.run_identity import RunStamp
from csv2ddb.settings import Settings
from csv2ddb_dev.emulator import Emulator

from tests.checks.pizza import pizzaplace_like
from tests.dags.test_load_dag_runs import audit_records, items_of_run, upload

pytestmark = [pytest.mark.emulator, pytest.mark.airflow]


def test_pizzaplace_like_file_writes_nothing_and_the_note_says_why(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    key = "raw/pizza/orders.csv"
    upload(s3, stack, key, pizzaplace_like(pizzas=600, orders=250))
    table = f"{stack.prefix}-pizza"
    conf = {"key": key, "table": table, "load_method": "batch"}
    run = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf))
    assert run.state == "failed", run.output[-6000:]
    (record,) = audit_records(ddb, stack, run.result["dag_run_id"])
    assert record["status"] == "failed"
    assert record["rows_read"] == 600
    assert record["rows_written"] == 0
    assert record["key_by_default"] is True
    assert record["on_conflict"] == "reject"
    assert record["duplicates_conflicting"] > 0
    assert "conflicting_duplicate" in record["error"]
    assert "nothing was written (validate_first)" in record["error"]
    assert items_of_run(ddb, table, record["run_id"]) == 0
    note = run.output[run.output.index("csv2ddb: 0/1 file(s) verified") :]
    assert "conflicting_duplicate" in note
    assert "only because of its name" in note
    # The job refused the file before its first write: the task fails without a retry (a retry
    # would read the same object version and fail the same way), so one Glue run, not three.
    glue = boto_session.client("glue", endpoint_url=emulator.endpoint_url)
    runs = glue.get_job_runs(JobName=stack.glue.job_name)["JobRuns"]
    assert [r["Arguments"].get("--run_id") for r in runs].count(record["run_id"]) == 1
    assert "so none is made" in run.output

    # The same file with keep_first loads one row per order, verified.
    conf = {**conf, "on_conflict": "keep_first"}
    run = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf))
    assert run.state == "success", run.output[-6000:]
    (record,) = audit_records(ddb, stack, run.result["dag_run_id"])
    assert record["status"] == "verified"
    assert (record["rows_written"], record["rows_duplicate"]) == (250, 350)
    assert record["duplicates_exact"] + record["duplicates_conflicting"] == 350


def seed_history(ddb: Any, settings: Settings, table: str, counts: list[int]) -> None:
    """Verified audit records of earlier loads into ``table`` (newest last)."""
    for i, rows in enumerate(counts):
        load = {
            "source_uri": f"s3://{settings.bucket}/raw/hist/day-{i}.csv",
            "run_id": f"hist-{i}",
            "table": table,
            "bucket": settings.bucket,
            "key": f"raw/hist/day-{i}.csv",
        }
        manifest = {"rows_read": rows, "rows_written": rows, "rows_rejected": 0, "rows_duplicate": 0}
        record = build_record(
            RunStamp("csv2ddb_load", f"seed-{i}", "manual", "test"),
            load,
            Outcome("verified", None, manifest, rows),
            "seed",
            None,
        )
        put_record(ddb, settings.audit_table, record)


def test_row_count_history_from_seeded_audit_records(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    table = f"{stack.prefix}-hist"
    seed_history(ddb, stack, table, [90, 100, 110, 100, 100])
    key = "raw/hist/today.csv"
    upload(s3, stack, key, b"code,v\n" + b"".join(f"c{i},{i}\n".encode() for i in range(40)))
    checks = {
        "columns": {"v": {"not_null": True, "between": {"min": 0}}},
        "file": {"row_count_history": {"last": 5, "within_pct": 30}},
    }
    conf = {"key": key, "table": table, "partition_key": "code", "checks": json.dumps(checks)}
    run = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf))
    assert run.state == "failed", run.output[-6000:]
    (record,) = audit_records(ddb, stack, run.result["dag_run_id"])
    assert record["rows_written"] == 0
    assert record["checks_passed"] is False
    expected = "row count 40 is 40 % of the median of the last 5 loads (100); allowed ±30 %"
    assert expected in record["checks_failed"]
    assert expected in record["error"]
    results = {r["check"]: r["status"] for r in json.loads(record["check_results"])}
    assert results == {"not_null:v": "passed", "between:v": "passed", "row_count_history": "failed"}
    assert "checks failed: row_count_history" in run.output
