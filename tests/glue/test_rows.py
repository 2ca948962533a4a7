"""Pure row logic of the Glue job: header rules, ids, typing, rejects, the dedupe index."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from csv2ddb_core.cells import MISMATCH, is_dynamodb_number, item_size, type_cell
from csv2ddb_core.contract import (
    MAX_ITEM_BYTES,
    R_EMPTY_KEY,
    R_ITEM_TOO_LARGE,
    R_KEY_TOO_LONG,
    R_RAGGED,
    R_TYPE_MISMATCH,
    R_UNDECODABLE,
    HeaderError,
    KeySchema,
    TtlSpec,
)
from csv2ddb_core.header import validate_header
from csv2ddb_core.keylist import KeyLines, key_line
from csv2ddb_core.keys import DedupeIndex, canonical_row, capacity_bits_for, key_digest, row_id
from csv2ddb_core.options import key_schema_from
from csv2ddb_core.rejects import raw_row_text
from csv2ddb_core.rows import ENCODE_JSON, RowBuilder, needs_no_escape
from csv2ddb_core.source import read_records, text_stream
from csv2ddb_core.writer import BatchWriter
from hypothesis import given, settings
from hypothesis import strategies as st

TS = "2026-01-02T03:04:05.000Z"


def keys(partition: str = "id", sort: str = "") -> KeySchema:
    return key_schema_from(partition, sort)


def builder(names: list[str], id_column: str = "id", sort_key: str = "", **kwargs: Any) -> Any:
    header = validate_header(names, keys(id_column, sort_key))
    return RowBuilder(header, source_file="s3://b/raw/f.csv", run_id="r-1", ingestion_timestamp=TS, **kwargs)


# --- header -----------------------------------------------------------------------------------


def test_header_names_are_trimmed_and_bom_stripped() -> None:
    header = validate_header(["\ufeff a ", "b\t", " c"])
    assert header.names == ("a", "b", "c")
    assert header.id_index is None
    assert header.id_source == "hash:sha256-128"


def test_id_column_is_used_when_present() -> None:
    assert validate_header(["x", "id"]).id_index == 1
    header = validate_header(["order_no", "x"], keys("order_no"))
    assert header.id_index == 0
    assert header.id_source == "column:order_no"


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["a", "b", "a"], r"duplicate column name\(s\) in the header: 'a' \(columns 1 and 3\)"),
        (["a", " a "], "duplicate"),
        (["a", "", "c"], r"blank column name\(s\) in the header at position\(s\) \[2\]"),
        (["a", "  "], "blank"),
        (["a", "source_file"], "collide with attributes the job adds"),
        (["load_run_id"], "collide"),
        ([], "no header row"),
    ],
)
def test_bad_headers_fail_clearly(names: list[str], message: str) -> None:
    with pytest.raises(HeaderError, match=message):
        validate_header(names)


def test_a_column_named_id_is_an_ordinary_attribute_when_the_key_is_another_column() -> None:
    item, _ = builder(["id", "order_no"], "order_no").build(["x1", "o1"])
    assert item["order_no"] == {"S": "o1"}
    assert item["id"] == {"S": "x1"}


def test_type_map_must_name_real_columns() -> None:
    with pytest.raises(HeaderError, match=r"not in the header: \['nope'\]"):
        builder(["a"], type_map={"nope": "N"})
    with pytest.raises(HeaderError, match="is a S key, not N"):
        builder(["id", "a"], type_map={"id": "N"})


# --- ids --------------------------------------------------------------------------------------

cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
rows = st.integers(min_value=1, max_value=6).flatmap(lambda n: st.lists(cells, min_size=n, max_size=n))


def test_id_hash_definition() -> None:
    """The documented definition, spelled out: sha256 over sorted-key compact JSON, first 32 hex."""
    names, values = ["b", "a"], ["2", "é"]
    canonical = '{"a":"é","b":"2"}'.encode()
    assert canonical_row(names, values) == canonical
    expected = hashlib.sha256(canonical).hexdigest()[:32]
    assert row_id(names, values)[0] == expected
    item, _ = builder(names).build(values)
    assert item["id"] == {"S": expected}


@given(values=rows)
def test_id_is_stable_and_matches_the_spec(values: list[str]) -> None:
    names = [f"c{i}" for i in range(len(values))]
    first = builder(names).build(list(values))
    second = builder(names).build(list(values))
    assert first[0]["id"] == second[0]["id"]
    assert first[0]["id"]["S"] == row_id(names, values)[0]
    assert len(first[0]["id"]["S"]) == 32


# Names with what a JSON or %-template could get wrong: quotes, backslashes, %, braces, non-ASCII.
odd_names = st.lists(st.text(alphabet='ab%{}"\\é\u2028\x01', min_size=1, max_size=5), min_size=1, max_size=6)


@given(names=odd_names, data=st.data())
def test_id_matches_the_spec_whatever_the_column_names(names: list[str], data: Any) -> None:
    names = [f"c{i}{name}" for i, name in enumerate(names)]  # unique
    values = data.draw(st.lists(cells, min_size=len(names), max_size=len(names)))
    rows_of = builder(names)
    built = rows_of.build(list(values))[0]
    assert built["id"]["S"] == row_id(rows_of.names, values)[0]  # the header's names, trimmed


# Cells near the escaping fast path's edge: plain, quote, backslash, control, NBSP, LINE SEPARATOR, DEL, %.
edge_cells = st.lists(st.text(alphabet='a%"\\\x01\n\xa0\u2028\x7fé', max_size=4), min_size=1, max_size=5)


@given(values=edge_cells)
def test_id_matches_the_spec_with_and_without_cells_to_escape(values: list[str]) -> None:
    names = [f"c%s{i}" for i in range(len(values))]  # a % in the names: the templates escape it
    rows_of = builder(names)
    assert rows_of.build(list(values))[0]["id"]["S"] == row_id(rows_of.names, values)[0]
    if needs_no_escape("".join(values)):  # the fast path only where json would escape nothing
        assert all(json.dumps(v, ensure_ascii=False) == f'"{v}"' for v in values)


@given(values=rows, column_order=st.randoms(use_true_random=False))
def test_id_does_not_depend_on_column_order(values: list[str], column_order: Any) -> None:
    names = [f"c{i}" for i in range(len(values))]
    perm = list(range(len(values)))
    column_order.shuffle(perm)
    a = row_id(names, values)
    b = row_id([names[i] for i in perm], [values[i] for i in perm])
    assert a == b


@given(a=rows, b=rows)
def test_different_rows_get_different_ids(a: list[str], b: list[str]) -> None:
    names_a = [f"c{i}" for i in range(len(a))]
    names_b = [f"c{i}" for i in range(len(b))]
    if (names_a, a) != (names_b, b):
        assert row_id(names_a, a)[0] != row_id(names_b, b)[0]


def test_id_ignores_typing_options() -> None:
    names, row = ["a", "b"], ["1", ""]
    plain = builder(names).build(list(row))[0]["id"]
    typed = builder(names, type_map={"a": "S"}, empty_cells="null").build(list(row))[0]["id"]
    assert plain == typed


# --- typing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("42", {"N": "42"}),
        ("-3", {"N": "-3"}),
        ("0", {"N": "0"}),
        ("3.25", {"N": "3.25"}),
        ("1e5", {"N": "1e5"}),
        ("-2.5E-3", {"N": "-2.5E-3"}),
        ("9" * 38, {"N": "9" * 38}),
        ("9" * 39, {"S": "9" * 39}),  # 39 significant digits: not a DynamoDB number
        ("1" + "0" * 60, {"N": "1" + "0" * 60}),  # trailing zeros are not significant
        ("1e126", {"S": "1e126"}),  # magnitude above 9.99E+125
        ("1e-131", {"S": "1e-131"}),  # magnitude below 1E-130
        ("1e125", {"N": "1e125"}),
        ("007", {"S": "007"}),  # leading zeros: an identifier, keep it
        ("+5", {"S": "+5"}),
        (" 5", {"S": " 5"}),
        ("NaN", {"S": "NaN"}),
        ("Infinity", {"S": "Infinity"}),
        ("1_000", {"S": "1_000"}),
        (".5", {"S": ".5"}),
        ("NA", {"S": "NA"}),
        ("2013-01-01T10:00:00Z", {"S": "2013-01-01T10:00:00Z"}),
    ],
)
def test_auto_typing(cell: str, expected: dict[str, str]) -> None:
    assert type_cell(cell, "auto") == expected


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_every_auto_number_is_a_valid_dynamodb_number(value: Decimal) -> None:
    attr = type_cell(str(value), "auto")
    if "N" in attr:
        number = Decimal(attr["N"])
        assert number == value
        assert is_dynamodb_number(number)
        assert len(number.normalize().as_tuple().digits) <= 38 or number.is_zero()


@pytest.mark.parametrize(
    ("cell", "kind", "expected"),
    [
        ("007", "N", {"N": "7"}),
        (" +5 ", "N", {"N": "5"}),
        ("1e3", "N", {"N": "1000"}),
        ("1.50", "N", {"N": "1.5"}),
        ("-0.00", "N", {"N": "0"}),
        ("1E-130", "N", {"N": "0." + "0" * 129 + "1"}),
        ("9" * 38 + "e87", "N", {"N": "9" * 38 + "0" * 87}),
        ("abc", "N", "mismatch"),
        ("NaN", "N", "mismatch"),
        ("1e200", "N", "mismatch"),
        ("42", "S", {"S": "42"}),
        ("TRUE", "BOOL", {"BOOL": True}),
        ("no", "BOOL", {"BOOL": False}),
        ("maybe", "BOOL", "mismatch"),
    ],
)
def test_declared_types(cell: str, kind: str, expected: Any) -> None:
    got = type_cell(cell, kind)
    assert (got is MISMATCH) if expected == "mismatch" else (got == expected)


def test_number_keys_are_one_key_per_value_at_full_precision() -> None:
    """DynamoDB compares N keys by exact value, up to 38 digits: ``1e3`` and ``1000.0`` are one
    item (the second is a duplicate), while two 31-digit keys that differ in the last digit are two.
    (Rounding them to 28 digits made the second a "duplicate": a row lost without a reject.)"""
    b = builder(["n", "v"], id_column="n:N")
    same = [b.build([text, "x"]) for text in ("1e3", "1000.0", " +1000 ")]
    assert {item["n"]["N"] for item, _ in same} == {"1000"}
    assert len({digest for _, digest in same}) == 1
    wide = [b.build(["123456789012345678901234567890" + last, "x"]) for last in "12"]
    assert wide[0][1] != wide[1][1]
    assert [item["n"]["N"] for item, _ in wide] == [
        "1234567890123456789012345678901",
        "1234567890123456789012345678902",
    ]


def test_item_shape_and_empty_cells() -> None:
    names = ["id", "n", "s", "e"]
    row = ["k1", "12", "x", ""]
    item, digest = builder(names).build(list(row))
    assert item == {
        "id": {"S": "k1"},
        "n": {"N": "12"},
        "s": {"S": "x"},
        "ingestion_timestamp": {"S": TS},
        "source_file": {"S": "s3://b/raw/f.csv"},
        "load_run_id": {"S": "r-1"},
    }
    assert digest == key_digest("k1")
    assert builder(names, empty_cells="null").build(list(row))[0]["e"] == {"NULL": True}
    assert builder(names, empty_cells="empty_string").build(list(row))[0]["e"] == {"S": ""}
    na = builder(names, na_values=["x"]).build(list(row))[0]
    assert "s" not in na
    assert "e" not in na


def test_id_column_stays_a_string() -> None:
    item, _ = builder(["id", "v"]).build(["123", "123"])
    assert item["id"] == {"S": "123"}
    assert item["v"] == {"N": "123"}


# --- rejects ----------------------------------------------------------------------------------


def test_reject_reasons() -> None:
    b = builder(["id", "v"], type_map={"v": "N"})
    cases = {
        R_RAGGED: ["1"],
        R_EMPTY_KEY: ["", "1"],
        R_KEY_TOO_LONG: ["k" * 2049, "1"],
        R_TYPE_MISMATCH: ["k", "abc"],
        R_UNDECODABLE: ["k\udcff", "1"],
    }
    for reason, row in cases.items():
        reject, digest = b.build(row)
        assert digest is None
        assert reject.reason == reason, (reason, reject)
    ok, _ = b.build(["k" * 2048, "1"])  # exactly the limit is fine
    assert ok["id"]["S"] == "k" * 2048
    assert b.build(["é" * 1025, "1"])[0].reason == R_KEY_TOO_LONG  # 2050 UTF-8 bytes


def test_item_too_large() -> None:
    b = builder(["id", "blob"])
    overhead = item_size(b.build(["k", ""])[0])
    fits = "x" * (MAX_ITEM_BYTES - overhead - len("blob"))
    item, _ = b.build(["k", fits])
    assert item_size(item) == MAX_ITEM_BYTES
    reject, _ = b.build(["k", fits + "x"])
    assert reject.reason == R_ITEM_TOO_LARGE
    assert str(MAX_ITEM_BYTES) in reject.detail


def test_raw_row_text_shows_undecodable_bytes() -> None:
    assert raw_row_text(["a", "b\udcffc", "d,e"], ",", "utf-8") == 'a,b\\xffc,"d,e"'


# --- dedupe index -----------------------------------------------------------------------------


def test_dedupe_index_grows_and_finds_duplicates() -> None:
    index = DedupeIndex(capacity_bits=4)
    digests = [hashlib.sha256(str(i).encode()).digest()[:16] for i in range(5000)]
    assert all(index.add(d) for d in digests)
    assert not any(index.add(d) for d in digests)
    assert len(index) == 5000
    assert index.nbytes <= 16 * 8192  # load factor kept between 0.35 and 0.7
    assert index.add(bytes(16))
    assert not index.add(bytes(16))


@given(st.lists(st.binary(min_size=16, max_size=16), max_size=300))
def test_dedupe_index_behaves_like_a_set(digests: list[bytes]) -> None:
    index = DedupeIndex(capacity_bits=2)
    seen: set[bytes] = set()
    for digest in digests:
        remapped = digest if digest != bytes(16) else bytes(15) + b"\x01"
        assert index.add(digest) == (remapped not in seen)
        seen.add(remapped)
    assert len(index) == len(seen)


@given(
    st.lists(st.tuples(st.binary(min_size=16, max_size=16), st.binary(min_size=4, max_size=4)), max_size=300)
)
def test_dedupe_index_with_payloads_behaves_like_a_dict_keeping_the_first(
    pairs: list[tuple[bytes, bytes]],
) -> None:
    """``add_payload`` across the index's grows (from 4 slots): None for a new digest, else the
    payload stored with its first insertion, never overwritten."""
    index = DedupeIndex(capacity_bits=2, payload=4)
    first: dict[bytes, bytes] = {}
    for digest, payload in pairs:
        remapped = digest if digest != bytes(16) else bytes(15) + b"\x01"
        assert index.add_payload(digest, payload) == first.get(remapped)
        first.setdefault(remapped, payload)
    assert len(index) == len(first)
    assert all(index.add_payload(d, b"zzzz") == p for d, p in first.items())


def test_canonical_row_is_json() -> None:
    raw = canonical_row(["z", "a"], ['say "hi"\n', "\u00e9"])
    assert json.loads(raw) == {"a": "\u00e9", "z": 'say "hi"\n'}
    assert raw == '{"a":"é","z":"say \\"hi\\"\\n"}'.encode()


@settings(max_examples=50)
@given(st.lists(rows, max_size=30))
def test_builder_classifies_every_row(batch: list[list[str]]) -> None:
    """Every row is exactly one of: item, reject; and duplicates are exactly the repeated ids."""
    names = ["c0", "c1", "c2"]
    b = builder(names)
    index = DedupeIndex()
    items = rejects = duplicates = 0
    for row in batch:
        out, digest = b.build(list(row))
        if digest is None:
            rejects += 1
            assert out.reason == R_RAGGED
        elif index.add(digest):
            items += 1
        else:
            duplicates += 1
    assert items + rejects + duplicates == len(batch)
    good = {tuple(r) for r in batch if len(r) == 3}
    assert items == len(good)


VERDICT_CELLS = ["", " ", "1", "x", "1e3", "true", "é", "2026-01-01"]
# Builders whose rows fail on the key alone, and ones whose typed cells, TTL or version can fail them.
VERDICT_BUILDERS = [
    {},
    {"id_column": "c0"},
    {"id_column": "c0", "sort_key": "c1:N"},
    {"type_map": {"c1": "N", "c2": "BOOL"}},
    {"ttl": TtlSpec("c1", "epoch")},
    {"version_column": "c2"},
]


@settings(max_examples=40)
@given(
    batch=st.lists(st.lists(st.sampled_from(["", " ", "1", "x", "1e3", "true", "é"]), min_size=3, max_size=4))
)
def test_the_verdict_is_the_builds_decision_without_the_item(batch: list[list[str]]) -> None:
    """The validation pass's ``verdict`` rejects exactly the rows ``build`` rejects, for the same
    reason, and gives the other rows the same dedupe digest."""
    for kwargs in VERDICT_BUILDERS:
        b = builder(["c0", "c1", "c2"], **kwargs)
        for row in batch:
            item, digest = b.build(list(row))
            reject, checked = b.verdict(list(row))
            assert checked == digest
            if digest is None:
                assert (reject.reason, reject.detail) == (item.reason, item.detail)
            else:
                assert reject is None


def test_nul_characters_survive_parsing_on_every_runtime() -> None:
    """NUL is valid UTF-8 and kept. Python 3.9's csv module (Glue Python shell) raises "line
    contains NUL" on it, so read_records escapes it around the parser (checked by hand under
    CPython 3.9.18; this test guards the escaping on the suite's 3.11)."""
    import io

    raw = io.BytesIO(b'id,name\nnul1,a\x00b\nnul2,"q\x00\nx"\nplain,c\n')
    text = text_stream(raw, "utf-8")
    assert list(read_records(text, ",")) == [
        (1, ["id", "name"]),
        (2, ["nul1", "a\x00b"]),
        (3, ["nul2", "q\x00\nx"]),
        (5, ["plain", "c"]),
    ]


key_values = st.text(alphabet='ab%{}"\\é\u2028\x01', max_size=6)


@given(
    names=st.lists(
        st.text(alphabet='ab%{}"\\é', min_size=1, max_size=4),
        min_size=1,
        max_size=2,
        unique=True,
    ),
    data=st.data(),
)
def test_key_list_lines_are_the_documented_json(names: list[str], data: Any) -> None:
    """Each key-list line is ``json.dumps`` of the item's key, keys sorted, compact (docs/glue-job.md)."""
    items = [
        {name: {data.draw(st.sampled_from(["S", "N", "B"])): data.draw(key_values)} for name in names}
        for _ in range(data.draw(st.integers(min_value=1, max_value=4)))
    ]
    spec = "".join(
        json.dumps({n: item[n] for n in names}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        + "\n"
        for item in items
    )
    assert KeyLines(names).text(items) == spec
    assert "".join(key_line(item, names) + "\n" for item in items) == spec


# --- the item's own JSON text (rows.Item.json), joined into request bodies by the writer -----------

JSON_BUILDERS: list[tuple[list[str], dict[str, Any], bool]] = [  # (columns, builder options, has text)
    (["c0", "c1", "c2"], {"id_column": "id"}, True),  # content-hash id, added after the job's attributes
    (["c0", "c1", "c2"], {"id_column": "id", "sort_key": "c1"}, True),  # content-hash id and a sort key
    (["id", "c1", "c2"], {}, True),  # id from a column: set in place
    (["c0", "c1", "c2"], {"id_column": "c0", "na_values": ["x"]}, True),  # a key cell that is an NA value
    (["c0", "c1", "c2"], {"id_column": "c1", "sort_key": "c0:N"}, True),  # composite key, N sort key
    (["c0", "c1", "c2"], {"id_column": "c2", "sort_key": "c1", "na_values": ["1"]}, True),
    (["c0", "c1", "c2"], {"id_column": "id", "empty_cells": "null"}, True),
    (["c0", "c1", "c2"], {"id_column": "id", "empty_cells": "string", "na_values": ["1"]}, True),
    (["c0", "c1", "c2"], {"id_column": "id", "type_map": {"c1": "N", "c2": "BOOL"}}, True),
    (["c0", "c1", "c2"], {"id_column": "id", "ttl": TtlSpec("c1", "epoch")}, False),  # left to the encoder
    (["c0", "c1", "c2"], {"id_column": "id", "version_column": "c2"}, False),
]


@settings(max_examples=60)
@given(
    batch=st.lists(
        st.lists(
            st.sampled_from(["", " ", "1", "x", "1e3", "true", "é", '"q"\\', "\u2028"]),
            min_size=3,
            max_size=3,
        )
    )
)
def test_an_items_json_text_is_what_the_encoder_makes_of_it(batch: list[list[str]]) -> None:
    """``Item.json`` is exactly ``json.dumps`` of the item (key order included), whatever cells are
    empty, NA, typed or keys, or None where the builder leaves the encoding to the writer."""
    for names, kwargs, has_text in JSON_BUILDERS:
        b = builder(names, **kwargs)
        for row in batch:
            item, digest = b.build(list(row))
            if digest is None:
                continue
            if not has_text:
                assert item.json is None
                assert item.key_line is None
                continue
            assert item.json == json.dumps(item, ensure_ascii=False, separators=(",", ":"))
            names = [b.header.keys.partition.name] + ([b.header.keys.sort.name] if b.header.keys.sort else [])
            assert item.key_line == KeyLines(names).encoded([item])  # the key list's line, made once
            assert KeyLines(names).text([item, dict(item)]) == KeyLines(names).encoded([item]) * 2


def test_the_writer_joins_the_items_text_into_the_body_the_encoder_makes() -> None:
    b = builder(["c0", "c1", "c2"], id_column="id")
    items = [b.build(["a", str(i), "é"])[0] for i in range(3)]
    requests = [{"PutRequest": {"Item": item}} for item in items]
    unprocessed = [{"PutRequest": {"Item": dict(item)}} for item in items]  # as DynamoDB returns them
    whole = json.dumps({"RequestItems": {"t\u00e9": requests}}, ensure_ascii=False, separators=(",", ":"))
    for sent in (requests, unprocessed, requests[:1] + unprocessed[1:]):
        assert BatchWriter._body(SimpleNamespace(_encode=ENCODE_JSON, _table="t\u00e9", _body_head=(
            '{"RequestItems":{"t\u00e9":['
        )), sent) == whole  # fmt: skip


@pytest.mark.parametrize("count", [0, 1, 45_875, 45_876, 91_750, 91_751])
def test_an_index_sized_for_its_keys_is_the_size_growing_ends_at(count: int) -> None:
    """The write pass sizes its dedupe index from the validation pass's distinct keys: the very size
    the doublings would reach, so it never grows (nor takes more memory than growing would)."""
    grown = DedupeIndex()
    sized = DedupeIndex(capacity_bits_for(count))
    allocated = sized.nbytes
    for i in range(count):
        digest = hashlib.blake2b(i.to_bytes(4, "little"), digest_size=16).digest()
        assert grown.add(digest)
        assert sized.add(digest)
    assert sized.nbytes == allocated == grown.nbytes
