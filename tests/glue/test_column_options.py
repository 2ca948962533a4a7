"""The column options of the read (issue 25): a file without a header row, its columns named by the
load; columns renamed to attribute names; a column the dataset does not know refused. Parsers in
unit tests, loads through the real job against the emulator (the Spark engine: tests/spark)."""

from __future__ import annotations

import pytest
from csv2ddb_core.args import parse_job_args
from csv2ddb_core.contract import ArgumentError, HeaderError
from csv2ddb_core.dialect import check_csv_options
from csv2ddb_core.header import header_from

from tests.glue.conftest import LoadTarget

# line 1 is data: no header row. Line 3 is ragged, line 4 repeats line 1 exactly.
HEADERLESS = b"k1,apple,3\r\nk2,banana,\r\nk3,cherry\r\nk1,apple,3\r\nk4,date,7\r\n"
COLUMNS = '["Item No", "name", "qty"]'
RENAME = '{"Item No": "id"}'


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ({"header": "false"}, "--header false needs --columns"),
        ({"header": "maybe"}, "--header must be true or false"),
        ({"unknown_columns": "refuse"}, "--unknown_columns refuse needs --columns"),
        ({"unknown_columns": "drop"}, "--unknown_columns must be one of keep, refuse"),
        ({"columns": "id,name"}, "--columns is not valid JSON"),
        ({"columns": '{"id": 1}'}, "--columns must be a JSON list"),
        ({"columns": '["id", "id"]'}, "names column(s) ['id'] more than once"),
        ({"columns": '["id", " "]'}, "column names are non-blank strings"),
        ({"rename": '["a"]'}, "--rename must be a JSON dict"),
        ({"rename": '{"a": "x", "b": "x"}'}, "gives two columns the same name ['x']"),
    ],
)
def test_bad_column_options_are_refused_naming_the_option(texts: dict[str, str], message: str) -> None:
    with pytest.raises(ArgumentError) as caught:
        check_csv_options(texts)
    assert message in str(caught.value)


def test_header_names_become_attribute_names(target: LoadTarget) -> None:
    args = parse_job_args(
        target.job_argv("k", columns=COLUMNS, rename=RENAME, unknown_columns="refuse"), env={}
    )
    header = header_from(iter([(1, ["Item No", "name", "qty"]), (2, ["x", "y", "z"])]), args)
    assert (header.names, header.id_index) == (("id", "name", "qty"), 0)
    with pytest.raises(HeaderError, match=r"column\(s\) \['extra'\] are not among the declared columns"):
        header_from(iter([(1, ["Item No", "name", "qty", "extra"])]), args)
    kept = parse_job_args(target.job_argv("k", columns=COLUMNS, rename=RENAME), env={})
    assert header_from(iter([(1, ["Item No", "name", "qty", "extra"])]), kept).names[-1] == "extra"


def test_a_file_without_a_header_loads_every_line_as_data(target: LoadTarget) -> None:
    key = target.put("raw/no-header.csv", HEADERLESS)
    manifest = target.run(key, header="false", columns=COLUMNS, rename=RENAME, reject_tolerance="1")
    assert manifest["status"] == "succeeded", manifest["error"]
    figures = [manifest[n] for n in ("rows_read", "rows_written", "rows_rejected", "rows_duplicate")]
    assert figures == [5, 3, 1, 1]
    items = {item["id"]["S"]: item for item in target.scan_items()}
    assert sorted(items) == ["k1", "k2", "k4"]  # line 1 is a row, not a header
    assert items["k1"]["qty"] == {"N": "3"}
    assert "Item No" not in items["k1"]
    rejects = target.get_object(manifest["rejected_location"].split("/", 3)[3]).decode()
    assert "\r\n3,ragged_row," in rejects  # line numbers count from the first data line, 1


def test_renamed_columns_take_keys_and_types_by_their_new_names(target: LoadTarget) -> None:
    key = target.put("raw/renamed.csv", b"Order ID,Zip Code\r\nA1,01234\r\nA2,99501\r\n")
    rename = '{"Order ID": "id", "Zip Code": "zip"}'
    manifest = target.run(key, rename=rename, type_map='{"zip": "S"}')
    assert manifest["status"] == "succeeded", manifest["error"]
    items = {item["id"]["S"]: item for item in target.scan_items()}
    assert items["A1"]["zip"] == {"S": "01234"}  # typed S by its new name: the leading zero kept


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"columns": '["id", "name"]', "unknown_columns": "refuse"},
            "column(s) ['qty'] are not among the declared columns ['id', 'name'] (unknown_columns: refuse)",
        ),
        ({"rename": '{"Item": "id"}'}, "--rename names column(s) ['Item'] the file does not have"),
        ({"rename": '{"name": "qty"}'}, "duplicate column name(s) in the header"),
    ],
)
def test_a_file_the_column_options_refuse_writes_nothing(
    target: LoadTarget, extra: dict[str, str], message: str
) -> None:
    key = target.put("raw/refused.csv", b"id,name,qty\r\nk1,apple,3\r\n")
    manifest = target.run(key, **extra)
    assert manifest["status"] == "failed"
    assert message in manifest["error"]
    assert manifest["rows_written"] == 0
    assert target.count_items() == 0


# Quoted with ': a field holding the delimiter, a line end and a doubled quote; a " is plain text.
SINGLE_QUOTED = (
    b"id,note,height\r\nk1,'one, two',5'10\"\r\nk2,'line one\r\nline ''two''',6\r\nk3,plain,\"7\"\r\n"
)


def test_a_quote_character_other_than_the_double_quote(target: LoadTarget) -> None:
    key = target.put("raw/single-quoted.csv", SINGLE_QUOTED)
    manifest = target.run(key, quote_char="'")
    assert manifest["status"] == "succeeded", manifest["error"]
    items = {item["id"]["S"]: item for item in target.scan_items()}
    assert items["k1"]["note"] == {"S": "one, two"}
    assert items["k1"]["height"] == {"S": "5'10\""}  # a quote inside an unquoted field is text
    assert items["k2"]["note"] == {"S": "line one\r\nline 'two'"}
    assert items["k3"]["height"] == {"S": '"7"'}
    with pytest.raises(ArgumentError, match="--quote_char must be one character, not the delimiter"):
        check_csv_options({"quote_char": ";", "delimiter": ";"})
