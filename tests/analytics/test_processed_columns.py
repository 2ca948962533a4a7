"""The processed zone's column rule, on arrow values (no emulator): one Parquet type per column
from cells typed one by one, widened across parts, and the core importable without pyarrow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from csv2ddb_core import processed
from csv2ddb_core.contract import ArgumentError


def test_each_kind_gets_its_parquet_type() -> None:
    notes: dict[str, str] = {}
    items = [
        {"id": {"S": "a"}, "n": {"N": "1"}, "x": {"N": "1.5"}, "b": {"BOOL": True}, "z": {"NULL": True}},
        {"id": {"S": "b"}, "n": {"N": "-7"}, "x": {"N": "2"}, "b": {"BOOL": False}},
    ]
    table = processed.items_table(items, notes)
    assert [str(f.type) for f in table.schema] == ["string", "int64", "double", "bool", "null"]
    assert table.to_pylist() == [
        {"id": "a", "n": 1, "x": 1.5, "b": True, "z": None},
        {"id": "b", "n": -7, "x": 2.0, "b": False, "z": None},
    ]
    assert notes == {}


def test_a_column_of_mixed_kinds_becomes_text_with_a_note() -> None:
    notes: dict[str, str] = {}
    table = processed.items_table([{"v": {"N": "12"}}, {"v": {"S": "n/a"}}, {"v": {"BOOL": True}}], notes)
    assert table.column("v").to_pylist() == ["12", "n/a", "true"]
    assert notes == {"v": "cells of kinds BOOL,N,S: stored as string"}


def test_numbers_beyond_int64_are_doubles() -> None:
    table = processed.items_table([{"v": {"N": "12345678901234567890123"}}], {})
    assert table.schema.field("v").type == pa.float64()


def test_parts_widen_to_one_schema(tmp_path: Path) -> None:
    """Two row groups whose types differ: a second file, then one schema for both (int -> double,
    int vs text -> string, a column only the second part has -> null in the first)."""
    parts = processed.ParquetParts(part_rows=2)
    parts.add([{"id": {"S": "1"}, "n": {"N": "1"}, "m": {"N": "5"}}, {"id": {"S": "2"}, "n": {"N": "2"}}])
    parts.add([{"id": {"S": "3"}, "n": {"N": "2.5"}, "m": {"S": "x"}, "new": {"S": "y"}}])
    local = parts.close()
    assert len(local) == 2
    schema = processed.unify([p.schema for p in local], parts.notes)
    for part in local:
        processed.conform_file(part.path, schema)
    rows = [row for part in local for row in pq.read_table(part.path).to_pylist()]
    assert rows == [
        {"id": "1", "n": 1.0, "m": "5", "new": None},
        {"id": "2", "n": 2.0, "m": None, "new": None},
        {"id": "3", "n": 2.5, "m": "x", "new": "y"},
    ]
    assert processed.catalog_columns(schema) == [
        ("id", "string"),
        ("n", "double"),
        ("m", "string"),
        ("new", "string"),
    ]
    assert "m" in parts.notes
    parts.discard()


# Chunks whose attributes and kinds change from one to the next: a kind the first lacked (``m``
# turns text), an attribute it lacked (``new``), one it had left out (``b``), a chunk that fits it,
# a type clash (``n`` with decimals: a second file), binary values.
CHANGING_CHUNKS = [
    [
        {"id": {"S": "1"}, "n": {"N": "1"}, "m": {"N": "5"}, "b": {"BOOL": True}, "z": {"NULL": True}},
        {"id": {"S": "2"}, "n": {"N": "2"}, "m": {"N": "6"}, "b": {"BOOL": False}},
    ],
    [{"id": {"S": "3"}, "n": {"N": "3"}, "m": {"S": "x"}}, {"id": {"S": "4"}, "n": {"N": "4"}}],
    [{"id": {"S": "5"}, "n": {"N": "5"}, "new": {"S": "y"}}, {"id": {"S": "6"}, "m": {"N": "8"}}],
    [
        {"id": {"S": "7"}, "n": {"N": "5"}, "m": {"N": "7"}, "b": {"BOOL": True}},
        {"id": {"S": "8"}, "z": {"NULL": True}},
    ],
    [{"id": {"S": "9"}, "n": {"N": "7.5"}, "bin": {"B": "AAEC"}}, {"id": {"S": "10"}, "n": {"N": "8"}}],
]


def _written(type_hints: bool) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The parts of ``CHANGING_CHUNKS`` as the zone writes them: (schema, rows) per file."""
    parts = processed.ParquetParts(part_rows=2, type_hints=type_hints)
    for chunk in CHANGING_CHUNKS:
        parts.add(chunk)
    local = parts.close()
    schema = processed.unify([p.schema for p in local], parts.notes)
    for part in local:
        processed.conform_file(part.path, schema)
    out = [(pq.read_schema(p.path), pq.read_table(p.path).to_pylist()) for p in local]
    parts.discard()
    return out


def test_type_hints_write_the_same_parquet_as_inferring_every_chunk() -> None:
    """The converter reuses the chunks' struct type (``item_rows``) only where it loses nothing."""
    hinted, inferred = _written(type_hints=True), _written(type_hints=False)
    assert len(hinted) == len(inferred) == 4  # `m` turning text, `new`, `n` with decimals: new files
    for (schema, rows), (schema_ref, rows_ref) in zip(hinted, inferred, strict=True):
        assert schema.equals(schema_ref)
        assert rows == rows_ref
    column_m = [r["m"] for _, rows in hinted for r in rows]
    assert column_m == ["5", "6", "x", None, None, "8", "7", None, None, None]


def test_a_hint_lacking_a_kind_or_an_attribute_is_not_used() -> None:
    hint = processed.item_rows([{"id": {"S": "a"}, "v": {"N": "1"}}]).type
    for items in ([{"id": {"S": "b"}, "v": {"S": "n/a"}}], [{"id": {"S": "c"}, "w": {"N": "2"}}]):
        assert processed.item_rows(items, hint).to_pylist() == pa.array(items).to_pylist()
    fits = [{"id": {"S": "d"}}]
    assert processed.item_rows(fits, hint).type == hint


@pytest.mark.parametrize("value", ["maybe", "yes please"])
def test_the_switch_refuses_anything_but_true_or_false(value: str) -> None:
    with pytest.raises(ArgumentError, match="--processed must be true or false"):
        processed.parse_processed_options({"processed": value})


def test_the_layout_is_date_partitioned_per_run() -> None:
    assert processed.items_prefix("processed/", "t-items", "2026-12-05", "r1") == (
        "processed/t-items/load_date=2026-12-05/r1/"
    )
    assert processed.rejects_key("rejected/", "t-items", "2026-12-05", "r1") == (
        "rejected/parquet/dataset=t-items/load_date=2026-12-05/r1/rejects.parquet"
    )


def test_the_core_does_not_import_pyarrow_while_the_zone_is_off() -> None:
    """A Python shell without the analytics library set still loads (the zone is off by default)."""
    code = (
        "import sys; import csv2ddb_core.load, csv2ddb_core.processed as p; "
        "from csv2ddb_core.options import parse_job_args; "
        "a = parse_job_args(['--source_bucket', 'b', '--source_key', 'k', '--table', 't', "
        "'--run_id', 'r'], env={}); "
        "k = p.key_list(a, None, '2026-12-05T00:00:00.000Z'); "
        "assert type(k).__name__ == 'KeyListWriter', type(k); k.close(); "
        "assert 'pyarrow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_chunk_that_cannot_be_converted_stops_the_parts_with_its_error() -> None:
    """The converter thread's error reaches the caller (close at the latest), never a hang."""
    parts = processed.ParquetParts(part_rows=1)
    parts.add([{"id": {"S": "a"}, "tags": {"L": [{"S": "x"}]}}])  # a list: no Parquet rule for it
    with pytest.raises(pa.ArrowNotImplementedError):
        parts.close()
    with pytest.raises(pa.ArrowNotImplementedError):
        parts.add([{"id": {"S": "b"}}])
    parts.discard()


def test_the_json_reader_reads_items_as_pa_array_does() -> None:
    """``json_rows`` (pyarrow's JSON reader on the items' text, type given) is ``pa.array`` of the
    items: the same struct type (attributes and kinds in order of first appearance) and values,
    ISO-looking text kept as text, attributes missing from some items null there."""
    items: list[dict[str, Any]] = [
        {"id": {"S": "2013-01-01 05:00:00"}, "v": {"N": "12"}, "b": {"B": "AAEC"}, "ok": {"BOOL": True}},
        {"id": {"S": 'quo"te \\ é 日本'}, "v": {"S": "n/a"}, "z": {"NULL": True}},
        {"v": {"BOOL": False}, "id": {"S": ""}, "ok": {"BOOL": False}},
    ]
    rows = processed.json_rows(items)
    assert rows is not None
    assert rows.equals(pa.array(items))
    hint = rows.type
    assert processed.json_rows(items[2:], hint).equals(pa.array(items[2:], type=hint))
    nested = [{"id": {"S": "a"}, "tags": {"L": [{"S": "x"}]}}]
    assert processed.json_rows(nested) is None  # not one scalar kind: pa.array converts it


def test_items_convert_without_importing_pandas() -> None:
    """``pa.array`` asks pandas whether its argument is a pandas object first, importing pandas
    where it is installed (about a CPU-second per task or Glue run); the zone's conversion does not."""
    code = (
        "import sys; from csv2ddb_core import processed; "
        "t = processed.items_table([{'id': {'S': 'a'}, 'n': {'N': '1'}}, {'id': {'S': 'b'}}], {}); "
        "assert t.to_pylist() == [{'id': 'a', 'n': 1}, {'id': 'b', 'n': None}], t; "
        "assert 'pandas' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("text", "rows"), [("run-1", 3), ("", 2), ("s3://b/raw/é 日本.csv", 1), ("x", 0)])
def test_a_constant_column_is_built_from_its_buffers(text: str, rows: int) -> None:
    """The rejects' run id and source columns, without ``pa.array`` (which imports pandas)."""
    column = processed.constant_text(text, rows)
    column.validate(full=True)
    assert column.type == pa.string()
    assert column.to_pylist() == [text] * rows
