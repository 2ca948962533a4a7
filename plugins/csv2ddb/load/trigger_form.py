"""The csv2ddb_load trigger form (``params``) and the decision what one DAG run loads.

Three ways in, one request: the S3-event Lambda sends ``{bucket, key, etag, version_id, size,
sequencer}`` as conf; a person fills the form (a key *or* a prefix; everything else has a
default); a scheduled or backfill run with neither loads its day's partition
``raw/dt=<ds>/*.csv``. Per-field checks live in the JSON schemas below (Airflow rejects a bad
conf before anything runs); rules spanning fields are checked in :func:`plan_request`.

Why every field is ``["null", "string"]``: Airflow 3's trigger form treats a param whose type
does not include ``"null"`` as *required*, even with a default of ``""``; one empty required
field keeps the Trigger (and Run Backfill) button disabled. Emptying a field in the form sends
``null``, which :func:`plan_request` reads as "use the default".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from csv2ddb_core.contract import (
    CSV_SUFFIX,
    LOAD_METHODS,
    ON_CONFLICT_POLICIES,
    TOLERANCE_PATTERN,
    WRITE_MODES,
    WRITE_OPTION_NAMES,
    is_csv_key,
)
from csv2ddb_core.dialect import CSV_OPTION_DEFAULTS, CSV_OPTIONS, EMPTY_CELL_MODES

from csv2ddb.datasets.spec import Dataset, option_text
from csv2ddb.engines import ENGINES as REGISTERED
from csv2ddb.engines import engine_spec
from csv2ddb.load import file_plan
from csv2ddb.load.counts import BY_KEYS, BY_SCAN, METHODS
from csv2ddb.load_defaults import ENGINES
from csv2ddb.run_identity import run_type_name
from csv2ddb.settings import Settings

BUCKET_PATTERN = r"^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
TABLE_PATTERN = r"^$|^[A-Za-z0-9_.-]{3,255}$"
KEY_PATTERN = r"^$|^[^/].*$"
KEY_ATTR_PATTERN = r"^$|^[^:]{1,255}(:[SNB])?$"
OPTIONAL_STRING = ["null", "string"]
# Sections of the form, in the order they appear. Fields without a section go to Airflow's
# default section, the only one that is open when the dialog opens: what to load.
TARGET_SECTION = "Target (optional: defaults to the stack's bucket and table)"
CHECKS_SECTION = "Checks (optional)"
WRITE_SECTION = "How to write (optional: the table's keys and the stack's settings by default)"
EVENT_SECTION = "S3 event (filled in by the trigger Lambda; leave empty)"
SCHEDULED_RUN_TYPES = frozenset({"scheduled", "backfill"})


class InvalidLoadRequest(ValueError):
    """The run's conf/params do not describe a load; the message says what to change."""


def load_params(settings: Settings, dataset: Dataset | None = None) -> dict[str, Any]:
    """Keyword arguments for ``airflow.sdk.Param`` per field (kept Airflow-free for unit tests).

    Order matters: the form shows fields, and sections, in this order. A dataset's form asks only
    for what its dataset file does not fix (:func:`dataset_params`).
    """
    params = generic_params(settings)
    return params if dataset is None else dataset_params(params, dataset)


def dataset_params(params: Mapping[str, Any], dataset: Dataset) -> dict[str, Any]:
    """The generic form less what ``dataset`` fixes (bucket, table, keys, write and CSV options,
    engine), with its prefix and tolerance as the defaults shown."""
    fixed = {"bucket", "table", "engine", *WRITE_OPTION_NAMES, *CSV_OPTIONS}
    if dataset.processed is False:
        fixed.add("processed")  # the dataset turned its zone off: nothing to ask
    form = {name: dict(spec) for name, spec in params.items() if name not in fixed}
    form["key"]["description"] = f"One CSV object of this dataset, e.g. {dataset.prefix}file.csv."
    form["prefix"]["description"] = (
        f"Load every CSV object under this prefix, within {dataset.prefix}. Leave key and prefix "
        "empty for a backfill: each day then loads its own partition."
    )
    if dataset.reject_tolerance is not None:
        form["reject_tolerance"]["default"] = dataset.reject_tolerance
    return form


def generic_params(settings: Settings) -> dict[str, Any]:
    """The ad-hoc form of ``csv2ddb_load``: every option a run may set."""
    return {
        "key": {
            "default": None,
            "type": OPTIONAL_STRING,
            "pattern": KEY_PATTERN,
            "maxLength": 1024,
            "title": "Object key",
            "description": (
                f"One CSV object to load, e.g. {settings.raw_prefix}flights.csv. "
                "Give this OR a key prefix, not both."
            ),
        },
        "prefix": {
            "default": None,
            "type": OPTIONAL_STRING,
            "pattern": KEY_PATTERN,
            "maxLength": 1024,
            "title": "Key prefix",
            "description": (
                "Load every .csv object under this prefix (recursively), "
                f"e.g. {settings.raw_prefix}dt=2024-01-01/. "
                "Leave key and prefix empty for a backfill: each day then loads its own partition."
            ),
        },
        "bucket": {
            "default": settings.bucket,
            "type": OPTIONAL_STRING,
            "pattern": BUCKET_PATTERN,
            "title": "Bucket",
            "section": TARGET_SECTION,
            "description": (
                f"S3 bucket holding the CSV file(s). Empty = the stack's bucket ({settings.bucket})."
            ),
        },
        "table": {
            "default": settings.table,
            "type": OPTIONAL_STRING,
            "pattern": TABLE_PATTERN,
            "title": "DynamoDB table",
            "section": TARGET_SECTION,
            "description": (
                f"Target table; created if missing (on-demand, point-in-time recovery). "
                f"Empty = the stack's table ({settings.table}); others must match "
                f"{settings.table_pattern} (the Glue role may write only those)."
            ),
        },
        "reject_tolerance": {
            "default": settings.load.reject_tolerance,
            "type": OPTIONAL_STRING,
            "pattern": TOLERANCE_PATTERN,
            "title": "Reject tolerance",
            "section": CHECKS_SECTION,
            "description": (
                "Rejected rows allowed before the load fails: a count (25) or a fraction of rows "
                f"read (0.01; 1.0 = any number). Empty = {settings.load.reject_tolerance}."
            ),
        },
        "count_method": {
            "default": None,
            "type": OPTIONAL_STRING,
            "enum": [None, *METHODS],
            "values_display": {
                "null": f"the stack's setting ({settings.load.count_method})",
                BY_KEYS: "keys: look up this load's keys (cost follows the load)",
                BY_SCAN: "scan: count the whole table (a reconciliation)",
            },
            "title": "Count check",
            "section": CHECKS_SECTION,
            "description": (
                "How the load is verified against the table. Empty = the stack's setting "
                f"({settings.load.count_method})."
            ),
        },
        **check_params(),
        **write_params(settings),
        **csv_params(),
        **engine_params(settings),
        **zone_params(settings),
        "etag": {
            "default": None,
            "type": OPTIONAL_STRING,
            "title": "ETag",
            "section": EVENT_SECTION,
            "description": "ETag from the S3 event; the run fails if the object has changed since.",
        },
        "version_id": {
            "default": None,
            "type": OPTIONAL_STRING,
            "title": "Version id",
            "section": EVENT_SECTION,
            "description": "Object version from the S3 event (versioned buckets).",
        },
        "size": {
            "default": None,
            "type": ["null", "integer"],
            "minimum": 0,
            "title": "Size (bytes)",
            "section": EVENT_SECTION,
            "description": "Object size from the S3 event; informational.",
        },
        "sequencer": {
            "default": None,
            "type": OPTIONAL_STRING,
            "title": "Sequencer",
            "section": EVENT_SECTION,
            "description": "S3 event sequencer; part of the Lambda's run id.",
        },
        "objects": {
            "default": None,
            "type": ["null", "array"],
            "items": {"type": "object", "required": ["key"]},
            "title": "S3 objects (a coalesced batch)",
            "section": EVENT_SECTION,
            "description": (
                "The objects of a burst of S3 events, one run for all of them: "
                '[{"bucket", "key", "etag", "version_id", "size", "sequencer"}, ...].'
            ),
        },
    }


ENGINE_SECTION = "Engine (optional: the stack's setting by default)"
CSV_SECTION = "How to read the file (optional: a comma-delimited UTF-8 CSV with a header by default)"


def check_params() -> dict[str, Any]:
    """What a good file is (docs/checks.md): the checks as one JSON value and what a duplicate key
    with other cells means; both are job arguments, checked by the load core when the run is planned."""
    return {
        "checks": {
            "default": None,
            "type": OPTIONAL_STRING,
            "title": "Checks (JSON)",
            "section": CHECKS_SECTION,
            "description": (
                'e.g. {"columns": {"price": {"not_null": true, "between": {"min": 0}}}, '
                '"file": {"row_count_history": {"last": 7, "within_pct": 50}}}. Rules: not_null, '
                "unique, accepted_values, between, matches, max_length; required_columns, row_count, "
                "row_count_history. Empty = none."
            ),
        },
        "on_conflict": {
            "default": None,
            "type": OPTIONAL_STRING,
            "enum": [None, *ON_CONFLICT_POLICIES],
            "values_display": {
                "null": "reject (the default)",
                "reject": "reject: later rows of a key with other cells are rejected",
                "keep_first": "keep_first: write the key's first row",
                "keep_last": "keep_last: write the key's last row",
            },
            "title": "Duplicate keys with other cells",
            "section": CHECKS_SECTION,
            "description": "Rows repeating a key with the same cells are always dropped as duplicates.",
        },
    }


def csv_params() -> dict[str, Any]:
    """The CSV options, one section; each is a job argument of the same name, checked by the load
    core's validator (``csv2ddb_core.dialect``) when the run is planned."""
    defaults = CSV_OPTION_DEFAULTS
    return {
        "delimiter": {
            "default": None,
            "type": OPTIONAL_STRING,
            "maxLength": 3,
            "title": "Delimiter",
            "section": CSV_SECTION,
            "description": f"One character (e.g. ; or |), or tab. Empty = {defaults['delimiter']!r}.",
        },
        "quote_char": {
            "default": None,
            "type": OPTIONAL_STRING,
            "maxLength": 1,
            "title": "Quote character",
            "section": CSV_SECTION,
            "description": f"The character that quotes a field, e.g. '. Empty = {defaults['quote_char']}.",
        },
        "encoding": {
            "default": None,
            "type": OPTIONAL_STRING,
            "title": "Encoding",
            "section": CSV_SECTION,
            "description": f"The file's encoding, e.g. latin-1 or cp1252. Empty = {defaults['encoding']}.",
        },
        "na_values": {
            "default": None,
            "type": OPTIONAL_STRING,
            "title": "NA values",
            "section": CSV_SECTION,
            "description": "Comma-separated cell texts that mean missing, e.g. NA,N/A. Empty = none.",
        },
        "empty_cells": {
            # A pattern, not an enum: the mode "null" would collide with the form's own null choice.
            "default": None,
            "type": OPTIONAL_STRING,
            "pattern": "^$|^(" + "|".join(EMPTY_CELL_MODES) + ")$",
            "title": "Empty cells",
            "section": CSV_SECTION,
            "description": (
                "What an empty (or NA) cell becomes: omit (left out of the item), null (a DynamoDB "
                f"NULL) or empty_string. Empty = {defaults['empty_cells']}."
            ),
        },
        "type_map": {
            "default": None,
            "type": OPTIONAL_STRING,
            "title": "Column types",
            "section": CSV_SECTION,
            "description": (
                'JSON: a type per column, S, N, BOOL or auto, e.g. {"zip": "S", "price": "N"}; '
                '"*" sets the rest. Empty = auto (numbers become N).'
            ),
        },
    }


def engine_params(settings: Settings) -> dict[str, Any]:
    """What loads each file (docs/spark.md, docs/dags.md): a Glue job, or the Airflow worker itself
    (inline); read by the load task, not a job argument. Every engine of the registry is offered."""
    engines = {name: _engine_text(name, settings) for name in REGISTERED}
    return {
        "engine": {
            "default": None,
            "type": OPTIONAL_STRING,
            "enum": [None, *ENGINES],
            "values_display": {
                "null": f"the stack's setting ({settings.load.engine})",
                "auto": (
                    f"auto: inline up to {settings.load.inline_max_bytes:,} bytes, Spark for files over "
                    f"{settings.load.spark_threshold_mb} MiB, else Python shell"
                ),
                **engines,
            },
            "title": "Engine",
            "section": ENGINE_SECTION,
            "description": (
                "A Glue engine's workers and timeout are its CSV2DDB_<ENGINE>_* settings "
                "(docs/configuration.md)."
            ),
        },
    }


def _engine_text(name: str, settings: Settings) -> str:
    """``spark: the Glue ETL job (10 x G.1X, timeout 2880 min)``: the engine and its shape."""
    job = settings.job(name)
    shape = f" ({job.shape()})" if job is not None else ""
    return f"{name}: {engine_spec(name).summary}{shape}"


def zone_params(settings: Settings) -> dict[str, Any]:
    """The processed zone of this load (docs/analytics.md): the stack's setting, or off for this load."""
    state = "on" if settings.load.processed else "off"
    return {
        "processed": {
            "default": None,
            "type": OPTIONAL_STRING,
            "enum": [None, "false"],
            "values_display": {
                "null": f"the stack's setting (CSV2DDB_PROCESSED: {state})",
                "false": "off: no Parquet and no Athena reconciliation for this load",
            },
            "title": "Processed zone (Parquet, Athena)",
            "section": ENGINE_SECTION,
            "description": "Whether this load also lands as Parquet, cataloged and counted by Athena.",
        },
    }


def write_params(settings: Settings) -> dict[str, Any]:
    """The write options (issue: real tables), one section; each is a job argument of the same name."""
    key_text = "NAME or NAME:S|N|B (S by default)"
    smallest = file_plan.size_text(settings.load.import_min_bytes)  # the smallest file auto imports
    return {
        "partition_key": {
            "default": None,
            "type": OPTIONAL_STRING,
            "pattern": KEY_ATTR_PATTERN,
            "title": "Partition key",
            "section": WRITE_SECTION,
            "description": (
                f"The column that becomes the partition key: {key_text}. Empty = the existing "
                f"table's key, or for a new table the stack's ({settings.partition_key}). A file "
                "without that column gets the content-hash id."
            ),
        },
        "sort_key": {
            "default": None,
            "type": OPTIONAL_STRING,
            "pattern": KEY_ATTR_PATTERN,
            "title": "Sort key",
            "section": WRITE_SECTION,
            "description": f"The column that becomes the sort key: {key_text}. Empty = none.",
        },
        "write_mode": {
            "default": None,
            "type": OPTIONAL_STRING,
            "enum": [None, *WRITE_MODES],
            "values_display": {
                "null": f"the stack's setting ({settings.load.write_mode})",
                "overwrite": "overwrite: replace existing items",
                "insert": "insert: never replace an existing item",
                "upsert_newer": "upsert_newer: replace only when the version column is greater",
            },
            "title": "Write mode",
            "section": WRITE_SECTION,
            "description": "What happens to an item already in the table. Rows not written count as skipped.",
        },
        "version_column": {
            "default": None,
            "type": OPTIONAL_STRING,
            "title": "Version column",
            "section": WRITE_SECTION,
            "description": "upsert_newer only: the numeric column compared with the stored item's.",
        },
        "max_write_rate": {
            "default": None,
            "type": OPTIONAL_STRING,
            "pattern": r"^$|^[0-9]+(\.[0-9]+)?( wcu)?$",
            "title": "Write-rate cap",
            "section": WRITE_SECTION,
            "description": "Items/s (500) or write capacity units/s (500 wcu). Empty = no cap.",
        },
        "ttl_column": {
            "default": None,
            "type": OPTIONAL_STRING,
            "title": "TTL column",
            "section": WRITE_SECTION,
            "description": (
                "NAME or NAME:epoch|iso: written as an epoch number, and DynamoDB TTL is turned on for it."
            ),
        },
        "load_method": {
            "default": None,
            "type": OPTIONAL_STRING,
            "enum": [None, *LOAD_METHODS],
            "values_display": {
                "null": f"the stack's setting ({settings.load.load_method})",
                "auto": f"auto: ImportTable for a file of {smallest} or more into a new table, else batch",
                "import": "import: DynamoDB ImportTable (the table must not exist yet)",
                "batch": "batch: BatchWriteItem / PartiQL writes",
            },
            "title": "Load method",
            "section": WRITE_SECTION,
            "description": (
                "ImportTable uses no write capacity, for first loads into a new table; it has a fixed "
                "start-up (minutes on AWS), so auto imports only from CSV2DDB_IMPORT_MIN_BYTES up."
            ),
        },
        "validate_first": {
            "default": None,
            "type": OPTIONAL_STRING,
            "enum": [None, "true", "false"],
            "values_display": {
                "null": f"the stack's setting ({str(settings.load.validate_first).lower()})",
                "true": "all or nothing: check the whole file before the first write",
                "false": "one pass: rows before a failure stay written",
            },
            "title": "Validate first",
            "section": WRITE_SECTION,
            "description": "Parse the whole file before writing: over its tolerance, it writes nothing.",
        },
    }


@dataclass(frozen=True)
class LoadRequest:
    """What one DAG run loads, before S3 is asked what is actually there."""

    mode: str  # "object" | "prefix" | "partition"
    bucket: str
    table: str
    reject_tolerance: str
    key: str = ""
    prefix: str = ""
    recursive: bool = True
    expected_etag: str = ""
    version_id: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)  # write options the params name (texts)
    csv_options: Mapping[str, str] = field(default_factory=dict)  # CSV options the params name
    checks: str = ""  # canonical JSON of the declared checks (csv2ddb_core.checks); "" = none
    on_conflict: str = ""  # csv2ddb_core.conflicts policy; "" = the job's default (reject)
    processed: bool = True  # False: no processed zone for this load (conf/dataset `processed: false`)
    # mode "objects": the batch's objects ({"key", "etag", "version_id"}), and why others were left
    objects: tuple[Mapping[str, Any], ...] = ()
    ignored: tuple[str, ...] = ()
    engine: str | None = None  # the params' engine; None = the setting
    dataset: str | None = None  # the dataset whose DAG runs this load; None = an ad-hoc load


def partition_prefix(root: str, ds: str) -> str:
    """``<root>dt=YYYY-MM-DD/`` for a data interval date (root: the raw prefix, or a dataset's)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", ds or ""):
        raise InvalidLoadRequest(f"scheduled run has no usable date (ds={ds!r})")
    return f"{root}dt={ds}/"


def with_dataset(params: Mapping[str, Any], dataset: Dataset, settings: Settings) -> dict[str, Any]:
    """A dataset run's params: what the dataset file fixes wins over anything the conf says (the
    form does not even ask), so every way in loads a dataset's files the same way."""
    unset = dict.fromkeys((*WRITE_OPTION_NAMES, *CSV_OPTIONS), None)
    return {
        **params,
        **unset,
        **dataset.write,
        **dataset.csv,
        "bucket": settings.bucket,
        "table": dataset.table,
        "engine": dataset.engine,
        "checks": dict(dataset.checks) or None,
        "on_conflict": dataset.on_conflict,
        # Off when the dataset or the run's conf says so (either one's `processed: false`).
        "processed": False if dataset.processed is False else params.get("processed"),
        "reject_tolerance": params.get("reject_tolerance") or dataset.reject_tolerance,
    }


def _check_under_raw(what: str, value: str, raw_prefix: str) -> None:
    """Loads start only from the raw prefix (or a dataset's), as the trigger Lambda enforces:
    the Glue role may read nothing else, and a '..' segment must not climb out of it."""
    if not value:
        return
    if ".." in value.split("/"):
        raise InvalidLoadRequest(f"{what} {value!r} contains a '..' path segment; name the object directly")
    if not value.startswith(raw_prefix):
        raise InvalidLoadRequest(
            f"{what} {value!r} is outside {raw_prefix}: csv2ddb loads only objects under {raw_prefix}"
        )


def asked_options(params: Mapping[str, Any]) -> dict[str, str]:
    """The write options the params name, as texts (empty ones mean "the default"). Decided and
    checked, all together, in ``prepare`` (``file_plan.decide_write``), where the table is known."""
    texts = {name: option_text(params.get(name)) for name in WRITE_OPTION_NAMES}
    return {name: text for name, text in texts.items() if text}


def plan_request(
    params: Mapping[str, Any],
    run_type: Any,
    ds: str | None,
    settings: Settings,
    dataset: Dataset | None = None,
) -> LoadRequest:
    """Turn the run's params into a LoadRequest, or raise InvalidLoadRequest saying why not. A
    dataset's run loads only under the dataset's prefix, with the dataset's options."""
    root = settings.raw_prefix
    if dataset is not None:
        params, root = with_dataset(params, dataset, settings), dataset.prefix
    run_type = run_type_name(run_type)
    bucket = (params.get("bucket") or settings.bucket).strip()
    table = (params.get("table") or settings.table).strip()
    if not settings.may_load(table):
        raise InvalidLoadRequest(
            f"table {table!r} is not one this stack loads: {settings.table!r} or names matching "
            f"CSV2DDB_TABLE_PATTERN {settings.table_pattern!r}, never the audit table "
            f"{settings.audit_table!r} (the Glue roles may write only those)"
        )
    tolerance = str(params.get("reject_tolerance") or settings.load.reject_tolerance).strip()
    if not re.fullmatch(TOLERANCE_PATTERN, tolerance):
        raise InvalidLoadRequest(
            f"reject_tolerance must be a count (25) or a fraction of rows read (0.01, 1.0), got {tolerance!r}"
        )
    key = (params.get("key") or "").strip()
    prefix = (params.get("prefix") or "").strip()
    try:
        csv_options = file_plan.checked_csv_options(params)
        checks, on_conflict = file_plan.checked_quality(params)
        processed = file_plan.checked_processed(params)
        engine = params.get("engine") or None
        file_plan.checked_engine(engine, settings)  # a bad name fails here, before S3 is asked
    except file_plan.InvalidPlan as exc:
        raise InvalidLoadRequest(str(exc)) from exc
    common: dict[str, Any] = {
        "bucket": bucket,
        "table": table,
        "reject_tolerance": tolerance,
        "options": asked_options(params),
        "csv_options": csv_options,
        "engine": engine,
        "checks": checks,
        "on_conflict": on_conflict,
        "processed": processed,
        "dataset": dataset.name if dataset else None,
    }
    if key and prefix:
        raise InvalidLoadRequest(f"give either key ({key!r}) or prefix ({prefix!r}), not both")
    if params.get("objects"):
        if prefix:
            raise InvalidLoadRequest("give either objects (an event batch) or a prefix, not both")
        return objects_request(params["objects"], root, common)
    for what, value in (("key", key), ("prefix", prefix)):
        _check_under_raw(what, value, root)
    if key:
        if key.endswith("/"):
            raise InvalidLoadRequest(f"key {key!r} looks like a folder; use the prefix field for folders")
        return LoadRequest(
            mode="object",
            key=key,
            expected_etag=(params.get("etag") or "").strip('"'),
            version_id=params.get("version_id") or None,
            **common,
        )
    if prefix:
        return LoadRequest(mode="prefix", prefix=prefix, **common)
    if run_type in SCHEDULED_RUN_TYPES:
        return LoadRequest(
            mode="partition", prefix=partition_prefix(root, ds or ""), recursive=False, **common
        )
    raise InvalidLoadRequest(
        f"a {run_type} run needs a key or a prefix to load (conf/params 'key' or 'prefix'); "
        f"only scheduled and backfill runs default to the day's {root}dt=<date>/ partition"
    )


def objects_request(objects: Any, root: str, common: Mapping[str, Any]) -> LoadRequest:
    """A coalesced batch of S3 events: every object of the run's bucket under the raw prefix; the
    rest are left out with the reason (logged by the run), never loaded anywhere."""
    if not isinstance(objects, list):
        raise InvalidLoadRequest(f"objects must be a list of S3 objects, got {type(objects).__name__}")
    accepted: list[dict[str, Any]] = []
    ignored: list[str] = []
    for index, obj in enumerate(objects):
        if not isinstance(obj, Mapping) or not str(obj.get("key") or "").strip():
            raise InvalidLoadRequest(f"objects[{index}] names no key: {obj!r}")
        key = str(obj["key"]).strip()
        bucket = str(obj.get("bucket") or common["bucket"])
        where = f"s3://{bucket}/{key}"
        try:
            if bucket != common["bucket"]:
                raise InvalidLoadRequest(f"not in this run's bucket {common['bucket']}")
            _check_under_raw("key", key, root)
            if not is_csv_key(key):
                raise InvalidLoadRequest(f"not a CSV object ({CSV_SUFFIX}, .csv.gz, .csv.bz2)")
        except InvalidLoadRequest as exc:
            ignored.append(f"{where}: {exc}")
            continue
        etag = str(obj.get("etag") or "").strip('"')
        accepted.append(
            {
                "key": key,
                "etag": etag,
                "version_id": obj.get("version_id") or None,
                # The S3 event's userIdentity.principalId: who uploaded it (the audit's "who").
                "uploaded_by": str(obj.get("uploaded_by") or "") or None,
            }
        )
    return LoadRequest(mode="objects", objects=tuple(accepted), ignored=tuple(ignored), **common)
