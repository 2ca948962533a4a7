"""The column options of the read (issue 25): a file without a header row, its columns named by the
load; columns renamed to attribute names; a column the dataset does not know refused. Parsers in
unit tests, loads through the real job against the emulator (the Spark engine: tests/spark)."""

from __future__ import annotations

import pytest
from csv2ddb_core.contract import ArgumentError, HeaderError
from csv2ddb_core.dialect import check_csv_options
from csv2ddb_core.header import header_from
from csv2ddb_core.options import parse_job_args

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
        ({"unknown_columns": "drop"}, "--unknown_columns must be one of keep, ignore, refuse"),
        ({"unknown_columns": "ignore"}, "--unknown_columns ignore needs --columns"),
        ({"drop": '["a", "a"]'}, "--drop names column(s) ['a'] more than once"),
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
        ({"drop": '["nope"]'}, "--drop names column(s) ['nope'] the file does not have"),
        ({"drop": '["id", "name", "qty"]'}, "every column of the file is dropped"),
        ({"drop": '["qty"]', "type_map": '{"qty": "N"}'}, "--type_map names column(s) not in the header"),
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


# A column not written: line 3 is ragged at the file's width even though it has the kept width;
# line 4 repeats k1's key and differs only in the dropped column (a conflicting duplicate: the
# file's rows differ, whatever is written).
WITH_SECRET = b"id,name,secret,qty\r\nk1,apple,s1,3\r\nk2,pear,2\r\nk1,apple,s2,3\r\nk4,date,s4,7\r\n"


def test_dropped_columns_are_read_and_judged_but_never_written(target: LoadTarget) -> None:
    key = target.put("raw/secret.csv", WITH_SECRET)
    manifest = target.run(key, drop='["secret"]', reject_tolerance="2", on_conflict="reject")
    assert manifest["status"] == "succeeded", manifest["error"]
    figures = [manifest[n] for n in ("rows_read", "rows_written", "rows_rejected", "rows_duplicate")]
    assert figures == [4, 2, 2, 0]
    assert manifest["reject_reasons"] == {"ragged_row": 1, "conflicting_duplicate": 1}
    items = {item["id"]["S"]: item for item in target.scan_items()}
    assert sorted(items) == ["k1", "k4"]
    assert "secret" not in items["k1"]
    assert items["k4"]["qty"] == {"N": "7"}
    rejects = target.get_object(manifest["rejected_location"].split("/", 3)[3]).decode()
    assert '3,ragged_row,"expected 4 fields, got 3","k2,pear,2"' in rejects


def test_unknown_columns_ignored_and_the_hash_id_over_what_is_written(target: LoadTarget) -> None:
    # No id column: the content-hash id is over the written columns, so two rows that differ only
    # in an ignored column are one item (an exact duplicate).
    body = b"name,qty,loaded_at\r\napple,3,09:00\r\napple,3,09:05\r\npear,2,09:00\r\n"
    key = target.put("raw/ignored.csv", body)
    manifest = target.run(key, columns='["name", "qty"]', unknown_columns="ignore")
    assert manifest["status"] == "succeeded", manifest["error"]
    figures = [manifest[n] for n in ("rows_read", "rows_written", "rows_rejected", "rows_duplicate")]
    assert figures == [3, 2, 0, 1]
    items = target.scan_items()
    assert sorted(item["name"]["S"] for item in items) == ["apple", "pear"]
    assert all("loaded_at" not in item for item in items)
