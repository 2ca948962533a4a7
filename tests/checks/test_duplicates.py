"""Duplicate keys that agree and keys that disagree, under each ``--on_conflict`` policy, through the
Python shell's batch path and the import path, on the real emulator.

Each load's figures add up exactly, the manifest counts exact and conflicting duplicates apart, and
the table holds what the policy says (read back item by item).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from csv2ddb_core.conflicts import content_digest
from csv2ddb_core.contract import ArgumentError, identity_problem
from csv2ddb_core.options import key_schema_from, parse_job_args

from tests.glue.conftest import LoadTarget
from tests.glue.digest import fetch_items

pytestmark = pytest.mark.emulator

# id is the order, not the line (pizzaplace): line 2/3 conflict, 4/6 are exact, 5 stands alone.
ORDERS = (
    b"id,pizza,size,price\n"
    b"1,hawaiian,M,13.25\n"  # line 2
    b"1,classic_dlx,M,16.00\n"  # line 3: conflicts with line 2
    b"2,five_cheese,L,18.50\n"  # line 4
    b"3,ital_supr,L,20.75\n"  # line 5
    b"2,five_cheese,L,18.50\n"  # line 6: exact duplicate of line 4
    b"1,mexicana,M,16.00\n"  # line 7: conflicts with line 2
    b"1,hawaiian,M,13.25\n"  # line 8: exact duplicate of line 2
)


def rejects_of(target: LoadTarget, manifest: dict[str, Any]) -> list[dict[str, str]]:
    location = manifest["rejected_location"]
    if not location:
        return []
    key = location.split("/", 3)[3]
    return list(csv.DictReader(io.StringIO(target.get_object(key).decode())))


def pizza_of(target: LoadTarget, key: str) -> dict[str, str]:
    items = fetch_items(target.ddb, target.table, [{"id": {"S": k}} for k in ("1", "2", "3")])
    return {i["id"]["S"]: i["pizza"]["S"] for i in items if i["id"]["S"] in ("1", "2", "3")}


def test_by_default_a_conflicting_duplicate_is_rejected_and_nothing_is_written(target: LoadTarget) -> None:
    key = target.put("raw/orders.csv", ORDERS)
    m = target.run(key, run_id="dup-default")
    assert m["status"] == "failed"
    assert m["nothing_written"] is True
    assert identity_problem(m) is None
    assert (m["rows_read"], m["rows_written"], m["rows_rejected"], m["rows_duplicate"]) == (7, 0, 2, 2)
    assert m["reject_reasons"] == {"conflicting_duplicate": 2}
    assert m["duplicates"] == {"on_conflict": "reject", "exact": 2, "conflicting": 2}
    assert m["key_by_default"] is True
    assert "2 row(s) rejected, above the tolerance '0'" in m["error"]
    assert target.count_items() == 0
    rejects = rejects_of(target, m)
    assert [(r["line_number"], r["reason"]) for r in rejects] == [
        ("3", "conflicting_duplicate"),
        ("7", "conflicting_duplicate"),
    ]
    assert "first seen on line 2" in rejects[0]["detail"]


def test_reject_within_tolerance_writes_the_first_rows(target: LoadTarget) -> None:
    key = target.put("raw/orders.csv", ORDERS)
    m = target.run(key, run_id="dup-tol", reject_tolerance="2", partition_key="id")
    assert m["status"] == "succeeded", m["error"]
    assert (m["rows_read"], m["rows_written"], m["rows_rejected"], m["rows_duplicate"]) == (7, 3, 2, 2)
    assert m["key_by_default"] is False  # named: not a coincidence of the column's name
    assert pizza_of(target, key) == {"1": "hawaiian", "2": "five_cheese", "3": "ital_supr"}


@pytest.mark.parametrize(
    ("policy", "pizza_1"),
    [("keep_first", "hawaiian"), ("keep_last", "hawaiian")],
)
def test_keep_policies_count_every_later_row_as_a_duplicate(
    target: LoadTarget, policy: str, pizza_1: str
) -> None:
    key = target.put("raw/orders.csv", ORDERS)
    m = target.run(key, run_id=f"dup-{policy}", on_conflict=policy)
    assert m["status"] == "succeeded", m["error"]
    assert (m["rows_read"], m["rows_written"], m["rows_rejected"], m["rows_duplicate"]) == (7, 3, 0, 4)
    assert m["duplicates"] == {"on_conflict": policy, "exact": 2, "conflicting": 2}
    # line 8 (the last row of key 1) is an exact copy of line 2: both policies write hawaiian
    assert pizza_of(target, key)["1"] == pizza_1


def test_keep_last_writes_the_last_row_of_a_conflicting_key(target: LoadTarget) -> None:
    body = ORDERS.rsplit(b"1,hawaiian,M,13.25\n", 1)[0]  # drop line 8: key 1's last row is mexicana
    key = target.put("raw/orders.csv", body)
    m = target.run(key, run_id="dup-last", on_conflict="keep_last")
    assert m["status"] == "succeeded", m["error"]
    assert (m["rows_read"], m["rows_written"], m["rows_duplicate"]) == (6, 3, 3)
    assert m["duplicates"] == {"on_conflict": "keep_last", "exact": 1, "conflicting": 2}
    assert pizza_of(target, key) == {"1": "mexicana", "2": "five_cheese", "3": "ital_supr"}
    assert m["keys_count"] == 3


def test_keep_last_through_the_import_path(stack_settings: Any, boto_session: Any) -> None:
    s3 = boto_session.client("s3")
    s3.create_bucket(Bucket=stack_settings.bucket)
    target = LoadTarget(stack_settings, s3, boto_session.client("dynamodb"))
    body = ORDERS.rsplit(b"1,hawaiian,M,13.25\n", 1)[0]
    key = target.put("raw/orders.csv", body)
    m = target.run(key, run_id="dup-import", on_conflict="keep_last", load_method="import")
    assert m["status"] == "succeeded", m["error"]
    assert (m["rows_read"], m["rows_written"], m["rows_duplicate"]) == (6, 3, 3)
    assert m["duplicates"] == {"on_conflict": "keep_last", "exact": 1, "conflicting": 2}
    assert m["staging"]["location"]


def test_import_path_rejects_a_conflict_and_stages_nothing(stack_settings: Any, boto_session: Any) -> None:
    s3 = boto_session.client("s3")
    s3.create_bucket(Bucket=stack_settings.bucket)
    target = LoadTarget(stack_settings, s3, boto_session.client("dynamodb"))
    key = target.put("raw/orders.csv", ORDERS)
    m = target.run(key, run_id="dup-import-rej", load_method="import")
    assert m["status"] == "failed"
    assert m["nothing_written"] is True
    assert m["reject_reasons"] == {"conflicting_duplicate": 2}
    assert m["staging"] is None


COMPOSITE = (
    b"origin,hour,temp\n"
    b"EWR,5,39.02\n"  # line 2
    b"EWR,05,39.02\n"  # line 3: N sort key 05 = 5, same cells? no: '05' differs as text -> conflict
    b"JFK,5,41.0\n"  # line 4
    b"EWR,5.0,40.1\n"  # line 5: 5.0 = 5, other temp: conflict
    b"JFK,5,41.0\n"  # line 6: exact
)


@pytest.mark.parametrize(
    ("policy", "written", "rejected", "duplicate", "temp"),
    [
        ("reject", 2, 2, 1, "39.02"),
        ("keep_first", 2, 0, 3, "39.02"),
        ("keep_last", 2, 0, 3, "40.1"),
    ],
)
def test_composite_numeric_keys_under_each_policy(
    keyed_target: Callable[..., LoadTarget],
    policy: str,
    written: int,
    rejected: int,
    duplicate: int,
    temp: str,
) -> None:
    target = keyed_target(key_schema_from("origin:S", "hour:N"))
    key = target.put("raw/weather.csv", COMPOSITE)
    m = target.run(
        key, run_id=f"comp-{policy}", partition_key="origin", sort_key="hour:N",
        on_conflict=policy, reject_tolerance="5",
    )  # fmt: skip
    assert m["status"] == "succeeded", m["error"]
    assert identity_problem(m) is None
    assert (m["rows_written"], m["rows_rejected"], m["rows_duplicate"]) == (written, rejected, duplicate)
    assert m["duplicates"] == {"on_conflict": policy, "exact": 1, "conflicting": 2}
    items = fetch_items(target.ddb, target.table, [{"origin": {"S": "EWR"}, "hour": {"N": "5"}}])
    assert items[0]["temp"] == {"N": temp}


def test_a_content_hash_id_has_only_exact_duplicates(target: LoadTarget) -> None:
    key = target.put("raw/noid.csv", b"a,b\n1,2\n1,2\n1,3\n")
    m = target.run(key, run_id="dup-hash")
    assert m["status"] == "succeeded"
    assert m["duplicates"] == {"on_conflict": "reject", "exact": 1, "conflicting": 0}
    assert m["key_by_default"] is False
    assert (m["rows_written"], m["rows_duplicate"]) == (2, 1)


def test_keep_last_needs_the_validation_pass() -> None:
    argv = ["--source_bucket", "b", "--source_key", "k.csv", "--table", "t", "--run_id", "r"]
    with pytest.raises(ArgumentError, match="keep_last needs --validate_first true"):
        parse_job_args([*argv, "--on_conflict", "keep_last", "--validate_first", "false"], env={})
    with pytest.raises(ArgumentError, match="--on_conflict must be one of"):
        parse_job_args([*argv, "--on_conflict", "newest"], env={})


def test_the_content_digest_is_unambiguous() -> None:
    assert content_digest(["a\x1fb", "c"]) != content_digest(["a", "b\x1fc"])
    assert content_digest(["a", "b"]) == content_digest(["a", "b"])
    assert content_digest(["a", "b"]) != content_digest(["a", "b "])
    assert len(content_digest(["x"])) == 8
