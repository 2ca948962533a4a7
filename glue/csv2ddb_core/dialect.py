"""How to read a file: the CSV options (delimiter, encoding, type map, NA values, empty cells).

One validator per option, shared by the job's argument parser (``args``), the DAG's trigger form
and run conf (``plugins/csv2ddb/load``), so a value the form accepts is one the job accepts.
Each validator takes the option's text as a job argument carries it and returns the parsed value;
:func:`check_csv_options` normalizes a whole set of texts for the DAG side.
"""

from __future__ import annotations

import json
from typing import Dict, Mapping, Tuple

from csv2ddb_core.contract import ArgumentError

# The job argument of each option and its default text (the job's behaviour when it is absent).
CSV_OPTION_DEFAULTS: Dict[str, str] = {
    "delimiter": ",",
    "encoding": "utf-8",
    "type_map": "",
    "na_values": "",
    "empty_cells": "omit",
}
CSV_OPTIONS: Tuple[str, ...] = tuple(CSV_OPTION_DEFAULTS)
EMPTY_CELL_MODES = ("omit", "null", "empty_string")
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


def check_csv_options(texts: Mapping[str, str]) -> Dict[str, str]:
    """The CSV options among ``texts`` (empty ones mean "the default"), each checked by its
    validator; returns them as job-argument texts. Raises ArgumentError naming the option."""
    unknown = sorted(set(texts) - set(CSV_OPTIONS))
    if unknown:
        raise ArgumentError(f"unknown CSV option(s) {unknown}; known: {', '.join(CSV_OPTIONS)}")
    chosen = {name: str(value) for name, value in texts.items() if str(value)}
    parse_delimiter(chosen.get("delimiter", ""))
    parse_encoding(chosen.get("encoding", ""))
    parse_empty_cells(chosen.get("empty_cells", ""))
    parse_na_values(chosen.get("na_values", ""))
    parse_type_map(chosen.get("type_map", ""))
    return chosen
