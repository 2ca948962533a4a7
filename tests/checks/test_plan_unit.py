"""The DAG side of checks and the conflict policy, without a scheduler: the trigger form's fields,
planning (the core's validator, at plan time), the file plan's job arguments and its XCom shape,
the audit record's quality fields and the run's note."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from csv2ddb.history.audit import Outcome, build_record, check_failures_text
from csv2ddb.load.file_plan import FilePlan, SourceObject
from csv2ddb.load.trigger_form import InvalidLoadRequest, load_params, plan_request
from csv2ddb.run_identity import RunStamp
from csv2ddb.run_notes import format_note
from csv2ddb.settings import load_settings
from csv2ddb.ui.table_rows import checks_of
from csv2ddb_core.contract import WriteOptions
from csv2ddb_core.options import key_schema_from

SETTINGS = load_settings({}, prefix="unit")
CHECKS = {"columns": {"price": {"between": {"min": 0}}}, "file": {"row_count": {"min": 1}}}


def test_the_form_has_a_checks_section_of_optional_strings() -> None:
    params = load_params(SETTINGS)
    for name in ("checks", "on_conflict"):
        assert params[name]["type"] == ["null", "string"]
        assert params[name]["section"].startswith("Checks")
        assert params[name]["default"] is None
    assert params["on_conflict"]["enum"] == [None, "reject", "keep_first", "keep_last"]


def test_planning_validates_checks_with_the_core_validator() -> None:
    request = plan_request(
        {"key": "raw/x.csv", "checks": json.dumps(CHECKS), "on_conflict": "keep_last"},
        "manual",
        None,
        SETTINGS,
    )
    assert json.loads(request.checks) == CHECKS
    assert request.on_conflict == "keep_last"
    as_object = plan_request({"key": "raw/x.csv", "checks": CHECKS}, "manual", None, SETTINGS)
    assert as_object.checks == request.checks  # conf may carry the object itself
    assert plan_request({"key": "raw/x.csv"}, "manual", None, SETTINGS).checks == ""
    bad = {"columns": {"price": {"between": {"min": 5, "max": 1}}}}
    with pytest.raises(InvalidLoadRequest, match="check between on column 'price': min 5 is greater"):
        plan_request({"key": "raw/x.csv", "checks": json.dumps(bad)}, "manual", None, SETTINGS)
    with pytest.raises(InvalidLoadRequest, match="--on_conflict must be one of"):
        plan_request({"key": "raw/x.csv", "on_conflict": "newest"}, "manual", None, SETTINGS)


def plan(**fields: object) -> FilePlan:
    base = FilePlan(
        source=SourceObject("b", "raw/x.csv", "e", 10),
        table="t",
        run_id="r",
        reject_tolerance="0",
        write=WriteOptions(),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_the_plan_passes_checks_and_policy_to_the_job_and_round_trips() -> None:
    text = json.dumps(CHECKS, sort_keys=True, separators=(",", ":"))
    one = plan(checks=text, on_conflict="keep_first")
    args = one.job_arguments()
    assert args["--checks"] == text
    assert args["--on_conflict"] == "keep_first"
    assert args["--partition_key"] == "id:S"
    assert FilePlan.from_xcom(one.to_xcom()) == one
    assert "--checks" not in plan().job_arguments()
    assert "--on_conflict" not in plan().job_arguments()


def test_a_default_key_nobody_named_is_not_passed_so_the_manifest_can_say_so() -> None:
    unnamed = plan(write=WriteOptions(key_given=False))
    assert "--partition_key" not in unnamed.job_arguments()
    named = plan(write=WriteOptions(keys=key_schema_from("order:S"), key_given=False))
    assert named.job_arguments()["--partition_key"] == "order:S"
    assert FilePlan.from_xcom(unnamed.to_xcom()).write.key_given is False


MANIFEST = {
    "rows_read": 10,
    "rows_written": 0,
    "rows_rejected": 3,
    "rows_duplicate": 1,
    "duplicates": {"on_conflict": "reject", "exact": 1, "conflicting": 2},
    "key_by_default": True,
    "checks": {
        "passed": False,
        "failed": ["between:price", "row_count_history"],
        "results": [
            {"check": "between:price", "kind": "row", "status": "failed", "rows_failing": 1},
            {"check": "row_count_history", "kind": "file", "status": "failed",
             "detail": "row count 10 is 10 %", "allowed": [50.0, 150.0]},
        ],
    },
}  # fmt: skip


def test_the_audit_record_note_and_page_carry_the_quality_fields() -> None:
    load = {"source_uri": "s3://b/raw/x.csv", "run_id": "r", "table": "t", "bucket": "b", "key": "raw/x.csv"}
    record = build_record(
        RunStamp("csv2ddb_load", "d", "manual", "me"),
        load,
        Outcome(
            "failed",
            "Glue job failed: 3 row(s) rejected ...; 2 of them conflicting_duplicate: ...",
            MANIFEST,
            None,
        ),
        "j",
        None,
    )
    assert record["duplicates_conflicting"] == 2
    assert record["duplicates_exact"] == 1
    assert record["on_conflict"] == "reject"
    assert record["key_by_default"] is True
    assert record["checks_passed"] is False
    assert record["checks_failed"] == "between:price (1 rows); row_count_history: row count 10 is 10 %"
    assert json.loads(record["check_results"]) == MANIFEST["checks"]["results"]  # type: ignore[index]
    assert check_failures_text(MANIFEST["checks"]) == record["checks_failed"]  # type: ignore[arg-type]
    note = format_note([{**record, "source_key": "raw/x.csv"}], expected=1)
    assert "conflicting_duplicate" in note
    assert "checks failed: between:price (1 rows)" in note
    assert "2 conflicting duplicate(s) (on_conflict reject), 1 exact" in note
    assert "only because of its name" in note
    shown = checks_of(record)
    assert shown is not None
    assert shown["passed"] is False
    assert shown["results"][0]["rows_failing"] == 1
    assert checks_of({"status": "verified"}) is None
