"""How a run's write options are decided (params, then the table, then the settings): unit tests."""

from __future__ import annotations

import pytest
from csv2ddb import write_options
from csv2ddb.load.trigger_form import InvalidLoadRequest, plan_request
from csv2ddb.settings import load_settings
from csv2ddb_core.options import key_schema_from

SETTINGS = load_settings({}, prefix="opt")


@pytest.mark.parametrize(
    ("chosen", "exists", "files", "method"),
    [
        ({}, False, 1, "import"),  # a first load into a new table: ImportTable
        ({}, False, 2, "batch"),  # several files: ImportTable would create the table once
        ({}, True, 1, "batch"),
        ({"write_mode": "insert"}, False, 1, "batch"),  # a condition needs writes
        ({"max_write_rate": "500"}, False, 1, "batch"),  # a cap is about write capacity
        ({"load_method": "batch"}, False, 1, "batch"),
        ({"load_method": "import"}, False, 1, "import"),
    ],
)
def test_auto_imports_only_a_plain_first_load_of_one_file(
    chosen: dict[str, str], exists: bool, files: int, method: str
) -> None:
    options = write_options.resolve(chosen, None, SETTINGS, table_exists=exists, files=files)
    assert options["load_method"] == method


@pytest.mark.parametrize(
    ("chosen", "exists", "files", "words"),
    [
        ({"load_method": "import"}, True, 1, "exists already"),
        ({"load_method": "import"}, False, 3, "loads 3 files"),
        ({"load_method": "import", "write_mode": "insert"}, False, 1, "has nothing to compare with"),
        ({"write_mode": "upsert_newer"}, True, 1, "needs --version_column"),
        ({"partition_key": "pk", "ttl_column": "pk"}, True, 1, "is also a key"),
    ],
)
def test_contradictions_fail_before_any_work(
    chosen: dict[str, str], exists: bool, files: int, words: str
) -> None:
    with pytest.raises(write_options.InvalidOptions, match=words):
        write_options.resolve(chosen, None, SETTINGS, table_exists=exists, files=files)


def test_keys_come_from_the_params_else_the_table_else_the_settings() -> None:
    table_keys = key_schema_from("origin", "hour:N")
    assert write_options.resolve({}, table_keys, SETTINGS, table_exists=True)["sort_key"] == "hour:N"
    chosen = {"partition_key": "tailnum"}
    assert (
        write_options.resolve(chosen, table_keys, SETTINGS, table_exists=True)["partition_key"] == "tailnum:S"
    )
    assert write_options.resolve({}, None, SETTINGS)["partition_key"] == "id:S"


def test_bad_params_fail_in_the_plan() -> None:
    with pytest.raises(write_options.InvalidOptions, match="--max_write_rate"):
        write_options.requested({"max_write_rate": "fast"})
    assert write_options.requested({"write_mode": None, "sort_key": " sk:N "}) == {"sort_key": "sk:N"}


@pytest.mark.parametrize("table", ["other-items", "csv2ddb-audit"])
def test_a_table_the_glue_role_may_not_write_is_refused_before_any_work(table: str) -> None:
    """The form may name any table; the Glue roles may write the items table and the pattern's
    tables only (never the audit table): the run fails in planning, saying which may be loaded."""
    settings = load_settings(env={})
    with pytest.raises(InvalidLoadRequest, match="CSV2DDB_TABLE_PATTERN 'csv2ddb-\\*'"):
        plan_request({"key": "raw/a.csv", "table": table}, "manual", None, settings)
    assert plan_request({"key": "raw/a.csv", "table": "csv2ddb-orders"}, "manual", None, settings).table == (
        "csv2ddb-orders"
    )
