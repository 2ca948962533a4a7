"""Checks through the Python shell's load on the emulator (batch and import path), and the one
validator of a declaration: a bad one fails before any row is read, naming the check and field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from csv2ddb_core.checks import CHECKS_SCHEMA, ChecksError, file_results, parse_checks, with_history
from csv2ddb_core.contract import identity_problem
from csv2ddb_core.options import parse_job_args

from tests.checks.test_both_engines import CHECKED, CHECKS
from tests.glue.conftest import LoadTarget

pytestmark = pytest.mark.emulator


@pytest.mark.parametrize(
    ("checks", "message"),
    [
        ({"columns": {"a": {"distinct": True}}}, "unknown rule 'distinct' on column 'a'"),
        (
            {"columns": {"a": {"between": {"min": 5, "max": 1}}}},
            "check between on column 'a': min 5 is greater",
        ),
        (
            {"columns": {"a": {"between": {"min": "2024-02-01", "max": "2024-01-01"}}}},
            "min '2024-02-01' is greater",
        ),
        ({"columns": {"a": {"between": {"min": 1, "max": "2024-01-01"}}}}, "are not of one kind"),
        ({"columns": {"a": {"between": {"min": "soon"}}}}, "min must be a number or an ISO date"),
        (
            {"columns": {"a": {"between": {"min": "0001-01-01T00:00:00+05:00"}}}},
            "min must be a number or an ISO date",
        ),
        ({"columns": {"a": {"matches": "(unclosed"}}}, "check matches on column 'a': the regular expression"),
        ({"columns": {"a": {"max_length": -1}}}, "check max_length on column 'a': give a whole number"),
        ({"columns": {"a": {"accepted_values": [1, 2]}}}, "check accepted_values on column 'a'"),
        ({"columns": {"a": {"not_null": "yes"}}}, "check not_null on column 'a': give true or false"),
        ({"file": {"row_count": {"min": 9, "max": 1}}}, "check row_count: min 9 is greater than max 1"),
        ({"file": {"row_count_history": {"within_pct": 0}}}, "within_pct must be a number > 0"),
        ({"file": {"rows": {}}}, "unknown file rule 'rows'"),
        ({"tests": {}}, "unknown section(s) ['tests']"),
    ],
)
def test_a_bad_declaration_names_the_check_and_the_field(checks: Any, message: str) -> None:
    with pytest.raises(ChecksError) as caught:
        parse_checks(json.dumps(checks))
    assert message in str(caught.value)


def test_the_job_refuses_a_bad_declaration_before_reading() -> None:
    argv = ["--source_bucket", "b", "--source_key", "k.csv", "--table", "t", "--run_id", "r"]
    with pytest.raises(ChecksError, match="is not JSON"):
        parse_job_args([*argv, "--checks", "{oops"], env={})
    assert parse_job_args([*argv, "--checks", json.dumps(CHECKS)], env={}).checks == CHECKS


def test_the_schema_is_a_plain_json_structure() -> None:
    assert json.loads(json.dumps(CHECKS_SCHEMA)) == CHECKS_SCHEMA
    rules = CHECKS_SCHEMA["properties"]["columns"]["additionalProperties"]["properties"]
    assert set(rules) == {"not_null", "unique", "accepted_values", "between", "matches", "max_length"}


def test_every_row_check_fails_its_row_and_counts_against_the_tolerance(target: LoadTarget) -> None:
    key = target.put("raw/checked.csv", CHECKED)
    m = target.run(key, run_id="chk-0", checks=json.dumps(CHECKS))
    assert m["status"] == "failed"
    assert m["nothing_written"] is True
    assert target.count_items() == 0
    assert "failed checks: check:accepted_values:status 1, check:between:amount 1" in m["error"]
    m = target.run(key, run_id="chk-6", checks=json.dumps(CHECKS), reject_tolerance="6")
    assert m["status"] == "succeeded", m["error"]
    assert identity_problem(m) is None
    assert (m["rows_read"], m["rows_written"], m["rows_rejected"]) == (8, 2, 6)
    by_check = {r["check"]: (r["status"], r.get("rows_failing")) for r in m["checks"]["results"]}
    assert by_check == {
        "not_null:amount": ("failed", 1),
        "between:amount": ("failed", 1),
        "accepted_values:status": ("failed", 1),
        "matches:email": ("failed", 1),
        "max_length:email": ("failed", 1),
        "between:day": ("failed", 1),
        "required_columns": ("passed", None),
        "row_count": ("passed", None),
    }


def test_passing_checks_pass(target: LoadTarget) -> None:
    key = target.put("raw/good.csv", b"id,amount,status\nb1,1,new\nb2,2,paid\nb3,,new\n")
    checks = {
        "columns": {
            "amount": {"between": {"min": 0, "max": 10}},  # an empty cell passes all but not_null
            "status": {"accepted_values": ["new", "paid"], "matches": "^[a-z]+$", "max_length": 4},
            "id": {"not_null": True, "unique": True},
        },
        "file": {"required_columns": ["id"], "row_count": {"min": 3, "max": 3}},
    }
    m = target.run(key, run_id="chk-ok", checks=json.dumps(checks))
    assert m["status"] == "succeeded", m["error"]
    assert m["checks"]["passed"] is True
    assert all(r["status"] == "passed" for r in m["checks"]["results"])
    assert m["rows_written"] == 3


def test_unique_rejects_a_repeated_value(target: LoadTarget) -> None:
    key = target.put("raw/u.csv", b"id,email\nc1,a@x\nc2,b@x\nc3,a@x\nc4,\nc5,\n")
    checks = {"columns": {"email": {"unique": True}}}
    m = target.run(key, run_id="chk-u", checks=json.dumps(checks), reject_tolerance="1")
    assert m["status"] == "succeeded", m["error"]
    assert m["reject_reasons"] == {"check:unique:email": 1}  # empty cells are not values
    assert m["rows_written"] == 4


def test_a_missing_required_column_fails_before_any_row(target: LoadTarget) -> None:
    key = target.put("raw/r.csv", b"id,v\nd1,1\n")
    m = target.run(key, run_id="chk-req", checks=json.dumps({"file": {"required_columns": ["id", "amount"]}}))
    assert m["status"] == "failed"
    assert m["rows_read"] == 0
    assert "check required_columns failed: the file lacks column(s) ['amount']" in m["error"]
    assert m["checks"]["failed"] == ["required_columns"]


def test_a_check_on_a_column_the_file_lacks_fails_before_any_row(target: LoadTarget) -> None:
    key = target.put("raw/r.csv", b"id,v\nd1,1\n")
    m = target.run(key, run_id="chk-col", checks=json.dumps({"columns": {"price": {"not_null": True}}}))
    assert m["status"] == "failed"
    assert m["rows_read"] == 0
    assert "check not_null on column 'price': the file has no such column" in m["error"]


def test_row_count_history_against_a_concrete_bound(target: LoadTarget) -> None:
    body = b"id\n" + b"".join(f"h{i}\n".encode() for i in range(4120))
    key = target.put("raw/h.csv", body)
    declared = {"file": {"row_count_history": {"last": 7, "within_pct": 30}}}
    resolved = with_history(declared, [8530, 8400, 8700, 8530, 8100, 9000, 8600, 1])  # newest first
    assert resolved["file"]["row_count_history"]["median"] == 8530
    assert resolved["file"]["row_count_history"]["loads"] == 7
    m = target.run(key, run_id="chk-hist", checks=json.dumps(resolved))
    assert m["status"] == "failed"
    assert m["nothing_written"] is True
    assert m["error"].startswith(
        "check row_count_history failed: row count 4,120 is 48 % of the median of the last 7 loads "
        "(8,530); allowed ±30 %"
    )
    first = with_history(declared, [])
    m = target.run(key, run_id="chk-first", checks=json.dumps(first))
    assert m["status"] == "succeeded", m["error"]
    (result,) = m["checks"]["results"]
    assert result["detail"] == "row count 4,120: no history yet; passed"


def test_history_within_range_passes() -> None:
    resolved = with_history({"file": {"row_count_history": {"last": 3}}}, [100, 120, 80, 5])
    (result,) = file_results(resolved, ["id"], 110)
    assert result["status"] == "passed"
    assert result["allowed"] == [50.0, 150.0]


def test_checks_through_the_import_path(stack_settings: Any, boto_session: Any) -> None:
    s3 = boto_session.client("s3")
    s3.create_bucket(Bucket=stack_settings.bucket)
    target = LoadTarget(stack_settings, s3, boto_session.client("dynamodb"))
    key = target.put("raw/checked.csv", CHECKED)
    m = target.run(key, run_id="chk-imp", checks=json.dumps(CHECKS), load_method="import")
    assert m["status"] == "failed"
    assert m["nothing_written"] is True
    assert m["staging"] is None
    m = target.run(
        key, run_id="chk-imp6", checks=json.dumps(CHECKS), load_method="import", reject_tolerance="6"
    )
    assert m["status"] == "succeeded", m["error"]
    assert (m["rows_written"], m["rows_rejected"]) == (2, 6)
    assert m["checks"]["failed"] == [
        "not_null:amount", "between:amount", "accepted_values:status", "matches:email",
        "max_length:email", "between:day",
    ]  # fmt: skip
