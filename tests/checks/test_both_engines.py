"""The Python shell and the Spark engine (real local Spark, splits small enough to cut the file in
many places) give the same figures, duplicate counts, check results, rejects and items.

Conflicting and exact duplicates under each ``--on_conflict`` policy; every stateless column check
failing on some rows; a file check failing the whole file before any write.
"""

from __future__ import annotations

import json

import pytest

from tests.checks.test_duplicates import ORDERS
from tests.spark.conftest import Engines

pytestmark = [pytest.mark.emulator, pytest.mark.spark]

SPLITS = "40"  # bytes: several splits, so first and later rows of a key land in different tasks


@pytest.mark.parametrize("policy", ["reject", "keep_first", "keep_last"])
def test_duplicates_alike_in_both_engines(engines: Engines, policy: str) -> None:
    body = ORDERS.rsplit(b"1,hawaiian,M,13.25\n", 1)[0]  # key 1's last row conflicts with its first
    shell, spark = engines.both(
        "raw/orders.csv", body, f"dup-{policy}", on_conflict=policy, reject_tolerance="5", split_bytes=SPLITS
    )
    assert shell.manifest["status"] == spark.manifest["status"] == "succeeded", spark.manifest["error"]
    assert spark.figures == shell.figures
    assert spark.manifest["duplicates"] == shell.manifest["duplicates"]
    assert shell.manifest["duplicates"] == {"on_conflict": policy, "exact": 1, "conflicting": 2}
    assert spark.rejects() == shell.rejects()
    assert spark.digest() == shell.digest()
    assert spark.manifest["key_by_default"] is shell.manifest["key_by_default"] is True
    expected = {"reject": (6, 3, 2, 1), "keep_first": (6, 3, 0, 3), "keep_last": (6, 3, 0, 3)}[policy]
    assert shell.figures[:4] == expected


def test_default_reject_writes_nothing_in_both_engines(engines: Engines) -> None:
    shell, spark = engines.both("raw/orders.csv", ORDERS, "dup-default", split_bytes=SPLITS)
    for loaded in (shell, spark):
        assert loaded.manifest["status"] == "failed"
        assert loaded.manifest["nothing_written"] is True
        assert loaded.manifest["rows_written"] == 0
        assert loaded.manifest["reject_reasons"] == {"conflicting_duplicate": 2}
        assert "conflicting_duplicate" in loaded.manifest["error"]
    assert spark.figures == shell.figures
    assert spark.rejects() == shell.rejects()


CHECKED = (
    b"id,amount,status,email,day\n"
    b"a1,10.5,paid,x@y.org,2024-03-01\n"
    b"a2,-3,paid,x@y.org,2024-03-02\n"  # between fails
    b"a3,7,lost,x@y.org,2024-03-03\n"  # accepted_values fails
    b"a4,8,new,not-an-email,2024-03-04\n"  # matches fails
    b"a5,,new,x@y.org,2024-03-05\n"  # not_null fails
    b"a6,9,new,a-very-long-address@example.org,2024-03-06\n"  # max_length fails
    b"a7,9,new,x@y.org,2023-12-31\n"  # between (dates) fails
    b"a8,12,paid,x@y.org,2024-12-31T23:00:00Z\n"  # a date-time within a date-only max
)
CHECKS = {
    "columns": {
        "amount": {"not_null": True, "between": {"min": 0, "max": 100}},
        "status": {"accepted_values": ["new", "paid"]},
        "email": {"matches": "^[^@]+@[^@]+$", "max_length": 20},
        "day": {"between": {"min": "2024-01-01", "max": "2024-12-31"}},
    },
    "file": {"required_columns": ["id", "amount"], "row_count": {"min": 1, "max": 100}},
}


def test_row_checks_alike_in_both_engines(engines: Engines) -> None:
    shell, spark = engines.both(
        "raw/checked.csv", CHECKED, "checked", checks=json.dumps(CHECKS), reject_tolerance="6",
        split_bytes=SPLITS,
    )  # fmt: skip
    assert shell.manifest["status"] == spark.manifest["status"] == "succeeded", spark.manifest["error"]
    assert shell.figures[:4] == (8, 2, 6, 0)
    assert spark.figures == shell.figures
    assert (
        spark.manifest["reject_reasons"]
        == shell.manifest["reject_reasons"]
        == {
            "check:between:amount": 1,
            "check:accepted_values:status": 1,
            "check:matches:email": 1,
            "check:not_null:amount": 1,
            "check:max_length:email": 1,
            "check:between:day": 1,
        }
    )
    assert spark.manifest["checks"] == shell.manifest["checks"]
    results = {r["check"]: r for r in shell.manifest["checks"]["results"]}
    assert results["between:amount"]["rows_failing"] == 1
    assert results["row_count"]["status"] == "passed"
    assert shell.manifest["checks"]["passed"] is False
    assert spark.rejects() == shell.rejects()
    assert spark.digest() == shell.digest()


def test_a_failing_file_check_writes_nothing_in_both_engines(engines: Engines) -> None:
    checks = {"file": {"row_count": {"min": 1000}}}
    shell, spark = engines.both(
        "raw/checked.csv", CHECKED, "few", checks=json.dumps(checks), reject_tolerance="6", split_bytes=SPLITS
    )
    for loaded in (shell, spark):
        assert loaded.manifest["status"] == "failed"
        assert loaded.manifest["nothing_written"] is True
        assert loaded.manifest["rows_written"] == 0
        assert loaded.manifest["error"].startswith(
            "check row_count failed: row count 8 is below the minimum 1,000; nothing was written"
        )
        assert loaded.manifest["checks"]["failed"] == ["row_count"]
    assert spark.figures == shell.figures


# Two unique columns across splits: line 3 repeats a1's email, line 5 repeats a2's email and a3's
# code (two failing checks), line 6 is an exact duplicate of line 2 (not judged: its key's
# duplicate), line 7 fails not_null before unique (its repeated email is not remembered), line 8
# has NA email (never a repeat), line 9 repeats the email of line 7's rejected row (free: rejected
# rows do not count).
UNIQUE = (
    b"id,email,code,qty\n"
    b"a1,x@y.org,c1,1\n"
    b"a2,z@y.org,c2,2\n"
    b"a3,x@y.org,c3,3\n"
    b"a4,w@y.org,c4,4\n"
    b"a5,z@y.org,c3,5\n"
    b"a1,x@y.org,c1,1\n"
    b"a6,v@y.org,c6,\n"
    b"a7,NA,c7,7\n"
    b"a8,v@y.org,c8,8\n"
)
UNIQUE_CHECKS = {"columns": {"email": {"unique": True}, "code": {"unique": True}, "qty": {"not_null": True}}}


@pytest.mark.parametrize("policy", ["reject", "keep_first"])
def test_unique_alike_in_both_engines(engines: Engines, policy: str) -> None:
    shell, spark = engines.both(
        "raw/unique.csv", UNIQUE, f"unique-{policy}", checks=json.dumps(UNIQUE_CHECKS), on_conflict=policy,
        reject_tolerance="5", split_bytes="30", na_values="NA", processed="true",
    )  # fmt: skip
    assert shell.manifest["status"] == spark.manifest["status"] == "succeeded", spark.manifest["error"]
    assert shell.figures[:4] == (9, 5, 3, 1)
    assert spark.figures == shell.figures
    assert (
        spark.manifest["reject_reasons"]
        == shell.manifest["reject_reasons"]
        == {"check:unique:email": 2, "check:not_null:qty": 1}
    )
    results = {
        r["check"]: r["rows_failing"] for r in shell.manifest["checks"]["results"] if r["kind"] == "row"
    }
    assert results == {"unique:email": 2, "unique:code": 1, "not_null:qty": 1}
    assert spark.manifest["checks"] == shell.manifest["checks"]
    assert spark.rejects() == shell.rejects()
    assert any("'email' " in line and "'code' " in line for line in spark.rejects())  # both checks named
    assert spark.digest() == shell.digest()
    # The processed zone holds exactly what was written, in both engines.
    assert spark.manifest["processed"]["rows"] == shell.manifest["processed"]["rows"] == 5


# keep_last writes each key's last row, so `unique` judges that row: k1's last row (line 4) repeats
# the email of k2's row (line 3), which its first row (line 2) did not. Judged on first rows, the
# validation pass would let the file through and the write pass would reject line 4 after writing
# k2; judged on the rows written, the default tolerance fails the file before its first write.
KEEP_LAST_UNIQUE = b"id,email\nk1,a@x\nk2,b@x\nk1,b@x\nk3,c@x\n"


def test_keep_last_unique_judges_the_row_written_before_the_first_write(engines: Engines) -> None:
    shell, spark = engines.both(
        "raw/last-unique.csv", KEEP_LAST_UNIQUE, "last-unique", on_conflict="keep_last",
        checks=json.dumps({"columns": {"email": {"unique": True}}}), split_bytes="12",
    )  # fmt: skip
    for loaded in (shell, spark):
        m = loaded.manifest
        assert m["status"] == "failed", m
        assert (m["nothing_written"], m["rows_written"]) == (True, 0)
        assert m["reject_reasons"] == {"check:unique:email": 1}
        assert m["duplicates"] == {"on_conflict": "keep_last", "exact": 0, "conflicting": 1}
    assert spark.rejects() == shell.rejects()
    assert [line.split(",", 1)[0] for line in shell.rejects()] == ["4"]
