"""The dataset file format as a JSON Schema: what editors complete and check, and the first of the
two checks every dataset file passes (the second, in ``spec``, checks what a schema cannot say:
column names against keys, the table against the stack, prefixes against each other).

``docs/dataset.schema.json`` is this dict written out (``python -m csv2ddb.datasets schema``); a
test keeps the two equal.
"""

from __future__ import annotations

from typing import Any

from csv2ddb_core.checks import CHECKS_SCHEMA
from csv2ddb_core.contract import LOAD_METHODS, ON_CONFLICT_POLICIES, WRITE_MODES
from csv2ddb_core.dialect import EMPTY_CELL_MODES, TYPE_NAMES, UNKNOWN_COLUMN_POLICIES

from csv2ddb.load_defaults import ENGINES

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
KEY_ATTR_PATTERN = r"^[^:]{1,255}(:[SNB])?$"
ARRIVALS = ("event", "schedule")


def _text(description: str, **more: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **more}


DATASET_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://csv2ddb.dev/dataset.schema.json",
    "title": "csv2ddb dataset",
    "description": "One kind of CSV file: which files, where they go, how to read them, when and who.",
    "type": "object",
    "additionalProperties": False,
    "required": ["files", "table"],
    "properties": {
        "description": _text("What the data is, for the DAG's page and the Loads page."),
        "owner": _text("Who answers for this dataset (the DAG's owner)."),
        "tags": {"type": "array", "items": {"type": "string"}, "description": "Extra DAG tags."},
        "files": {
            "type": "object",
            "additionalProperties": False,
            "required": ["prefix"],
            "description": "Which objects of the stack's bucket belong to this dataset.",
            "properties": {
                "prefix": _text(
                    "Key prefix under the raw prefix, ending in '/', e.g. raw/orders/. No two "
                    "datasets may claim the same key.",
                    pattern=r"^[^/].*/$",
                ),
                "arrive": {
                    "enum": list(ARRIVALS),
                    "description": (
                        "event: each upload starts a load (S3 event); schedule: a scheduled run loads "
                        "the day's <prefix>dt=YYYY-MM-DD/ files. The other way in leaves the files alone."
                    ),
                },
                "schedule": {
                    "type": ["string", "null"],
                    "description": "Cron or @daily/@hourly..., required with arrive: schedule.",
                },
            },
        },
        "table": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "partition_key"],
            "description": "Where the rows go and how they are written.",
            "properties": {
                "name": _text(
                    "The DynamoDB table; {prefix} stands for the stack's prefix. Must match the "
                    "stack's table pattern (<prefix>-* by default)."
                ),
                "partition_key": _text("NAME or NAME:S|N|B (S by default).", pattern=KEY_ATTR_PATTERN),
                "sort_key": _text("NAME or NAME:S|N|B; omit for none.", pattern=KEY_ATTR_PATTERN),
                "write_mode": {"enum": list(WRITE_MODES)},
                "version_column": _text("upsert_newer only: the numeric column compared."),
                "ttl_column": _text("NAME or NAME:epoch|iso: written as an epoch, TTL turned on."),
                "max_write_rate": _text("Items/s (500) or write capacity units/s (500 wcu)."),
                "validate_first": {"type": "boolean", "description": "All or nothing (default true)."},
                "load_method": {"enum": list(LOAD_METHODS)},
                "engine": {"enum": list(ENGINES)},
            },
        },
        "read": {
            "type": "object",
            "additionalProperties": False,
            "description": "How to read the files (a comma-delimited UTF-8 CSV with a header by default).",
            "properties": {
                "delimiter": _text("One character, or tab.", minLength=1, maxLength=3),
                "quote_char": _text(
                    'The character that quotes a field (default ").', minLength=1, maxLength=1
                ),
                "encoding": _text("e.g. utf-8, latin-1, cp1252."),
                "na_values": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "pattern": "^[^,]*$"},
                    "description": "Cell texts that mean missing, e.g. [NA, N/A].",
                },
                "empty_cells": {"enum": list(EMPTY_CELL_MODES)},
                "types": {
                    "type": "object",
                    "additionalProperties": {"enum": sorted(set(TYPE_NAMES.values()))},
                    "description": 'A type per attribute: S, N, BOOL or auto; "*" sets the rest.',
                },
                "header": {
                    "type": "boolean",
                    "description": "false: the files have no header row; columns names them, in order.",
                },
                "columns": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "minItems": 1,
                    "uniqueItems": True,
                    "description": "The files' columns as the files name them (in order, for header: false).",
                },
                "rename": {
                    "type": "object",
                    "additionalProperties": {"type": "string", "minLength": 1},
                    "description": "File column -> attribute name; keys, types and checks use the new names.",
                },
                "drop": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "minItems": 1,
                    "uniqueItems": True,
                    "description": "File columns not written (as the files name them).",
                },
                "unknown_columns": {
                    "enum": list(UNKNOWN_COLUMN_POLICIES),
                    "description": "A column that columns does not name: keep (default), ignore, refuse.",
                },
            },
        },
        "reject_tolerance": {
            "type": ["string", "number"],
            "description": "Rejected rows allowed: a count (25) or a fraction of rows read (0.01).",
        },
        "checks": {
            **CHECKS_SCHEMA,
            "description": "What a good file looks like: column and file checks (docs/checks.md).",
        },
        "processed": {
            "type": "boolean",
            "description": "false: this dataset's loads write no processed zone (Parquet) and get no "
            "Athena reconciliation; true (default): as the stack's CSV2DDB_PROCESSED says.",
        },
        "on_conflict": {
            "enum": list(ON_CONFLICT_POLICIES),
            "description": "Rows whose key repeats with other cells: reject them, or keep the first or last.",
        },
    },
}
