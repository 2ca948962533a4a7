"""How a run's write options are decided (params, then the table, then the settings): unit tests."""

from __future__ import annotations

import pytest
from csv2ddb.load import file_plan
from csv2ddb.load.trigger_form import InvalidLoadRequest, asked_options, plan_request
from csv2ddb.settings import load_settings
from csv2ddb_core.options import key_schema_from

SETTINGS = load_settings({}, prefix="opt")
AT_THRESHOLD = SETTINGS.load.import_min_bytes  # a file just big enough for auto to import it


@pytest.mark.parametrize(
    ("chosen", "exists", "files", "method"),
    [
        ({}, False, 1, "import"),  # a first load of a big enough file into a new table: ImportTable
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
    existing = SETTINGS.key_schema if exists else None
    write = file_plan.decide_write(chosen, SETTINGS, existing, files=files, size=AT_THRESHOLD * files).write
    assert write.load_method == method
    assert write.load_method_reason.startswith(f"{method}: ")


@pytest.mark.parametrize(
    ("size", "method", "reason"),
    [
        (0, "batch", "batch: 0 bytes below the import threshold 64.0 MiB"),
        (900, "batch", "batch: 900 bytes below the import threshold 64.0 MiB"),
        (20_000, "batch", "batch: 19.5 KiB below the import threshold 64.0 MiB"),
        (1_258_291, "batch", "batch: 1.2 MiB below the import threshold 64.0 MiB"),
        (AT_THRESHOLD - 1, "batch", "batch: 67,108,863 bytes below the import threshold 67,108,864 bytes"),
        (
            AT_THRESHOLD,
            "import",
            "import: a new table, 67,108,864 bytes at or above the import threshold 67,108,864 bytes",
        ),
        (
            31_107_255 * 4,
            "import",
            "import: a new table, 118.7 MiB at or above the import threshold 64.0 MiB",
        ),
    ],
)
def test_auto_imports_a_first_load_only_from_the_size_threshold_up(
    size: int, method: str, reason: str
) -> None:
    """Issue 24: an import has a fixed start-up a small file does not pay back, so auto writes a
    first load below CSV2DDB_IMPORT_MIN_BYTES in batches, and says so."""
    assert SETTINGS.load.import_min_bytes == 64 << 20  # the default the reasons above name
    decision = file_plan.decide_write({}, SETTINGS, size=size)
    assert (decision.write.load_method, decision.write.load_method_reason) == (method, reason)
    assert decision.auto_import == (method == "import")  # only an auto import may fall back


def test_the_threshold_is_a_setting_and_an_explicit_method_ignores_it() -> None:
    every = load_settings({"CSV2DDB_IMPORT_MIN_BYTES": "0"}, prefix="opt")
    tiny = file_plan.decide_write({}, every, size=120).write
    assert (tiny.load_method, tiny.load_method_reason) == (
        "import",
        "import: a new table, 120 bytes at or above the import threshold 0 bytes",
    )
    forced = file_plan.decide_write({"load_method": "import"}, SETTINGS, size=120)
    assert (forced.write.load_method, forced.write.load_method_reason) == (
        "import",
        "import: load_method import was asked for",
    )
    assert not forced.auto_import  # asked for: a table made meanwhile fails it, no fallback
    big = file_plan.decide_write({"load_method": "batch"}, SETTINGS, size=10 * AT_THRESHOLD).write
    assert (big.load_method, big.load_method_reason) == (
        "batch",
        "batch: load_method batch was asked for",
    )
    with pytest.raises(ValueError, match="CSV2DDB_IMPORT_MIN_BYTES must be 0 or more"):
        load_settings({"CSV2DDB_IMPORT_MIN_BYTES": "-1"})


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
    with pytest.raises(file_plan.InvalidOptions, match=words):
        file_plan.decide_write(chosen, SETTINGS, SETTINGS.key_schema if exists else None, files=files)


def test_keys_come_from_the_params_else_the_table_else_the_settings() -> None:
    table_keys = key_schema_from("origin", "hour:N")
    assert str(file_plan.decide_write({}, SETTINGS, table_keys).write.keys.sort) == "hour:N"
    chosen = {"partition_key": "tailnum", "sort_key": ""}
    assert str(file_plan.decide_write(chosen, SETTINGS, table_keys).write.keys) == "tailnum:S"
    sort_alone = file_plan.decide_write({"sort_key": "x:N"}, SETTINGS, table_keys).write.keys
    assert str(sort_alone) == "origin:S + hour:N"  # a sort key without a partition key changes nothing
    assert str(file_plan.decide_write({}, SETTINGS).write.keys) == "id:S"


def test_bad_params_fail_before_any_work() -> None:
    with pytest.raises(file_plan.InvalidOptions, match="--max_write_rate"):
        file_plan.decide_write({"max_write_rate": "fast"}, SETTINGS)
    assert asked_options({"write_mode": None, "sort_key": " sk:N ", "validate_first": False}) == {
        "sort_key": "sk:N",
        "validate_first": "false",
    }


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
