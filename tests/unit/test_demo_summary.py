"""The demo's per-dataset summary says which load method ran and why (issue 24: a small first load
into a new table is batch-written, and the audit record says it was below the import threshold)."""

from __future__ import annotations

import pytest
from csv2ddb_dev.demo import print_summary
from csv2ddb_dev.timings import host_gauge_ms

RUN = {"dag_run_id": "s3__abc__flights.csv", "state": "success"}
RECORD = {
    "source": "s3://b/raw/flights/flights.csv",
    "status": "verified",
    "rows_read": 336_776,
    "rows_written": 336_776,
    "items_counted": 336_776,
}


def test_a_batch_first_load_prints_its_method_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    said = "batch: 29.6 MiB below the import threshold 64.0 MiB"
    record = {**RECORD, "load_method": "batch", "load_method_reason": said}
    assert print_summary("csv2ddb_flights", RUN, [record], "http://ui") is True
    lines = capsys.readouterr().out.splitlines()
    assert "   load method    : batch" in lines
    assert f"     because      : {said}" in lines
    assert not any("ImportTable" in line or "items imported" in line for line in lines)


def test_an_import_prints_its_arn_and_a_record_without_a_reason_leaves_that_line_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    record = {**RECORD, "load_method": "import", "import_arn": "arn:aws:dynamodb:x", "imported_count": 3}
    assert print_summary("csv2ddb_flights", RUN, [record], "http://ui") is True
    out = capsys.readouterr().out
    assert "   ImportTable    : arn:aws:dynamodb:x" in out
    assert "because" not in out  # an older record, from before the reason existed


def test_the_host_gauge_times_its_statement() -> None:
    """The demo prints the gauge beside its seconds: it must grow with the work it times."""
    assert 0 < host_gauge_ms("sum(range(10))") < host_gauge_ms()
