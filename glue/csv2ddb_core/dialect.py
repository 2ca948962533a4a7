"""How to read a file: the CSV options (delimiter, quote, encoding, type map, NA values, empty cells,
and the column options: header or not, the declared columns, renames, unknown columns).

One validator per option, shared by the job's argument parser (``options.parse_job_args``), the
DAG's trigger form and run conf (``plugins/csv2ddb/load``), so a value the form accepts is one the
job accepts.
Each validator takes the option's text as a job argument carries it and returns the parsed value;
:func:`check_csv_options` normalizes a whole set of texts for the DAG side.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Tuple

from csv2ddb_core.contract import ArgumentError

# The job argument of each option and its default text (the job's behaviour when it is absent).
CSV_OPTION_DEFAULTS: Dict[str, str] = {
    "delimiter": ",",
    "quote_char": '"',
    "encoding": "utf-8",
    "type_map": "",
    "na_values": "",
    "empty_cells": "omit",
    "header": "true",  # false: the file has no header row; --columns names its columns
    "columns": "",  # JSON list: the file's columns (with a header: the ones the dataset knows)
    "rename": "",  # JSON object: file column -> attribute name
    "drop": "",  # JSON list: file columns not written
    "unknown_columns": "keep",  # keep | ignore | refuse: a file column --columns does not name
}
CSV_OPTIONS: Tuple[str, ...] = tuple(CSV_OPTION_DEFAULTS)
EMPTY_CELL_MODES = ("omit", "null", "empty_string")
UNKNOWN_COLUMN_POLICIES = ("keep", "ignore", "refuse")
TAB_NAMES = ("\\t", "tab")
TYPE_NAMES = {
    "s": "S",
    "string": "S",
    "str": "S",
    "n": "N",
    "number": "N",
    "bool": "BOOL",
    "boolean": "BOOL",
    "auto": "auto",
}


def parse_delimiter(text: str) -> str:
    """One character; ``\\t`` or ``tab`` for a tab. Quotes and newlines cannot delimit fields."""
    delimiter = text or CSV_OPTION_DEFAULTS["delimiter"]
    if delimiter in TAB_NAMES:
        delimiter = "\t"
    if len(delimiter) != 1 or delimiter in '\r\n"':
        raise ArgumentError(f"--delimiter must be one character (not a quote or newline), got {delimiter!r}")
    return delimiter


def parse_quote_char(text: str, delimiter: str = ",") -> str:
    """The character that quotes a field (``"`` by default, e.g. ``'``): one character, not the
    delimiter, a line end or a space."""
    quote = text or CSV_OPTION_DEFAULTS["quote_char"]
    if len(quote) != 1 or quote in "\r\n \t" or quote == delimiter:
        raise ArgumentError(
            f"--quote_char must be one character, not the delimiter, a space or a line end: {quote!r}"
        )
    return quote


def parse_encoding(text: str) -> str:
    """A codec Python knows (``utf-8``, ``latin-1``, ``cp1252`` ...)."""
    encoding = (text or CSV_OPTION_DEFAULTS["encoding"]).strip()
    try:
        "".encode(encoding)
    except LookupError:
        raise ArgumentError(f"--encoding: unknown encoding {encoding!r}") from None
    return encoding


def parse_empty_cells(text: str) -> str:
    """What an empty cell becomes: left out of the item, a NULL, or an empty string."""
    mode = (text or CSV_OPTION_DEFAULTS["empty_cells"]).strip()
    if mode not in EMPTY_CELL_MODES:
        raise ArgumentError(f"--empty_cells must be one of {', '.join(EMPTY_CELL_MODES)}, got {mode!r}")
    return mode


def parse_na_values(text: str) -> Tuple[str, ...]:
    """Comma-separated cell texts that mean "missing" (``NA,N/A``); empty = none."""
    return tuple(value for value in (text or "").split(",") if value)


def parse_type_map(text: str) -> Dict[str, str]:
    """``{"col": "S"|"N"|"BOOL"|"auto", "*": default}`` → normalized kinds."""
    if not text.strip():
        return {}
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ArgumentError(f"--type_map is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ArgumentError('--type_map must be a JSON object like {"zip": "S", "price": "N"}')
    out: Dict[str, str] = {}
    for column, kind in raw.items():
        norm = TYPE_NAMES.get(str(kind).strip().lower())
        if norm is None:
            raise ArgumentError(
                f"--type_map: column {column!r} has unknown type {kind!r} (use S, N, BOOL or auto)"
            )
        out[str(column).strip()] = norm
    return out


def parse_header(text: str) -> bool:
    """Whether the file's first row names its columns (``true``, the default) or is data."""
    value = (text or CSV_OPTION_DEFAULTS["header"]).strip().lower()
    if value not in ("true", "false"):
        raise ArgumentError(f"--header must be true or false, got {text!r}")
    return value == "true"


def _json(option: str, text: str, kind: type, example: str) -> Any:
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ArgumentError(f"--{option} is not valid JSON: {exc}") from None
    if not isinstance(raw, kind):
        raise ArgumentError(f"--{option} must be a JSON {kind.__name__} like {example}")
    return raw


def _name(option: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ArgumentError(f"--{option}: column names are non-blank strings, got {value!r}")
    return value.strip()


def parse_columns(text: str, option: str = "columns") -> Tuple[str, ...]:
    """``["id", "name", ...]``: the file's columns in order (``--drop``: the ones not written);
    empty = none."""
    if not (text or "").strip():
        return ()
    raw = _json(option, text, list, '["id", "name", "price"]')
    names = tuple(_name(option, value) for value in raw)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ArgumentError(f"--{option} names column(s) {repeated} more than once")
    if not names:
        raise ArgumentError(f"--{option} is an empty list; leave it out instead")
    return names


def parse_rename(text: str) -> Dict[str, str]:
    """``{"file column": "attribute"}``; every other column keeps its name."""
    if not (text or "").strip():
        return {}
    raw = _json("rename", text, dict, '{"Order ID": "order_id"}')
    renames = {_name("rename", k): _name("rename", v) for k, v in raw.items()}
    targets = list(renames.values())
    repeated = sorted({t for t in targets if targets.count(t) > 1})
    if repeated:
        raise ArgumentError(f"--rename gives two columns the same name {repeated}")
    return renames


def parse_unknown_columns(text: str) -> str:
    """What a file column that ``--columns`` does not name does: kept, not written (ignore), or
    the file refused."""
    policy = (text or CSV_OPTION_DEFAULTS["unknown_columns"]).strip()
    if policy not in UNKNOWN_COLUMN_POLICIES:
        raise ArgumentError(
            f"--unknown_columns must be one of {', '.join(UNKNOWN_COLUMN_POLICIES)}, got {policy!r}"
        )
    return policy


def check_column_options(header: bool, columns: Tuple[str, ...], unknown_columns: str) -> None:
    """A file without a header needs its columns named; refusing unknown columns needs the known."""
    if not header and not columns:
        raise ArgumentError("--header false needs --columns: the file's column names, in order")
    if unknown_columns != "keep" and not columns:
        raise ArgumentError(
            f"--unknown_columns {unknown_columns} needs --columns: the columns the dataset knows"
        )


def check_csv_options(texts: Mapping[str, str]) -> Dict[str, str]:
    """The CSV options among ``texts`` (empty ones mean "the default"), each checked by its
    validator; returns them as job-argument texts. Raises ArgumentError naming the option."""
    unknown = sorted(set(texts) - set(CSV_OPTIONS))
    if unknown:
        raise ArgumentError(f"unknown CSV option(s) {unknown}; known: {', '.join(CSV_OPTIONS)}")
    chosen = {name: str(value) for name, value in texts.items() if str(value)}
    parse_quote_char(chosen.get("quote_char", ""), parse_delimiter(chosen.get("delimiter", "")))
    parse_encoding(chosen.get("encoding", ""))
    parse_empty_cells(chosen.get("empty_cells", ""))
    parse_na_values(chosen.get("na_values", ""))
    parse_type_map(chosen.get("type_map", ""))
    parse_rename(chosen.get("rename", ""))
    parse_columns(chosen.get("drop", ""), "drop")
    check_column_options(
        parse_header(chosen.get("header", "")),
        parse_columns(chosen.get("columns", "")),
        parse_unknown_columns(chosen.get("unknown_columns", "")),
    )
    return chosen
