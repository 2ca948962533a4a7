"""The load contract: names, limits, reject reasons, errors, the run-id and tolerance rules, and
the load-request and manifest types, each with ONE validator.

Everything that meets across a process boundary is defined here once and imported by the job,
the Spark and import engines, the Airflow side (``plugins/csv2ddb``), the Lambda bundle, the bench
and the tests. Python 3.9 and the standard library only: Glue Python shell runs this file.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, fields
from typing import Any, Dict, Mapping, Optional, Tuple, Union

JOB_VERSION = "1.0"

# --- DynamoDB limits (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html)
MAX_ITEM_BYTES = 400 * 1024
MAX_HASH_KEY_BYTES = 2048  # partition key
MAX_RANGE_KEY_BYTES = 1024  # sort key
MAX_NUMBER_DIGITS = 38
MAX_NUMBER_ADJUSTED_EXP = 125  # largest magnitude 9.99...E+125
MIN_NUMBER_ADJUSTED_EXP = -130  # smallest non-zero magnitude 1E-130
BATCH_SIZE = 25  # BatchWriteItem maximum

# The job argument by which a Glue run is found again (a retried task finds its load's run).
RUN_ID_ARG = "--run_id"
# A group run (several files in one Glue run, csv2ddb_core.group): ``--files`` names the group file
# (a JSON list of per-file arguments); ``--group_id`` is how a retried task finds the group's run.
FILES_ARG = "--files"
GROUP_ID_ARG = "--group_id"
MANIFESTS_PREFIX = "manifests/"  # a load's manifest: <manifests prefix><run id>.json
REJECTED_PREFIX = "rejected/"  # a load's rejected rows: <rejected prefix><run id>/
GROUPS_PREFIX = "groups/"  # group files are stored at <manifest prefix>groups/<group id>.json

# The names the core's own engines stamp on their manifests (``engine``). Which engines exist is the
# DAG's registry's business (csv2ddb.engines: one module each), not the core's.
ENGINE_PYTHONSHELL = "pythonshell"
ENGINE_SPARK = "spark"
# A small file loaded by this same core inside the Airflow worker, without a Glue run (the DAG's
# csv2ddb.load.inline); its manifest says so.
ENGINE_INLINE = "inline"

# --- item attributes -------------------------------------------------------------------------
HASH_KEY = "id"
HASH_KEY_TYPE = "S"
ATTR_INGESTION_TIMESTAMP = "ingestion_timestamp"
ATTR_SOURCE_FILE = "source_file"
ATTR_LOAD_RUN_ID = "load_run_id"
ADDED_ATTRIBUTES = (ATTR_INGESTION_TIMESTAMP, ATTR_SOURCE_FILE, ATTR_LOAD_RUN_ID)

# The key list beside each manifest (format: csv2ddb_core.keylist, docs/glue-job.md).
KEYS_SUFFIX = ".keys.jsonl.gz"

# One CSV field may not exceed this many characters: an item cannot exceed 400 KB anyway, and the
# limit stops an unbalanced quote from swallowing the rest of the file into memory.
CSV_FIELD_LIMIT = 1_000_000

# --- reject reasons (the `reason` column of rejects.csv; see docs/glue-job.md) --------------
R_RAGGED = "ragged_row"
R_UNDECODABLE = "undecodable"
R_EMPTY_KEY = "empty_key"
R_KEY_TOO_LONG = "key_too_long"
R_ITEM_TOO_LARGE = "item_too_large"
R_TYPE_MISMATCH = "type_mismatch"
R_DYNAMODB_REJECTED = "dynamodb_rejected"
R_INVALID_NUMBER_KEY = "invalid_number_key"
R_INVALID_BINARY_KEY = "invalid_binary_key"
R_INVALID_VERSION = "invalid_version"
R_INVALID_TTL = "invalid_ttl"
# A later row whose key was seen on an earlier line with other cells (``--on_conflict reject``).
R_CONFLICTING_DUPLICATE = "conflicting_duplicate"
# A row that fails a declared check is rejected with ``check:<rule>:<column>`` (csv2ddb_core.checks).
R_CHECK_PREFIX = "check:"
REJECT_REASONS = (
    R_RAGGED,
    R_UNDECODABLE,
    R_EMPTY_KEY,
    R_KEY_TOO_LONG,
    R_INVALID_NUMBER_KEY,
    R_INVALID_BINARY_KEY,
    R_INVALID_VERSION,
    R_INVALID_TTL,
    R_ITEM_TOO_LARGE,
    R_TYPE_MISMATCH,
    R_DYNAMODB_REJECTED,
    R_CONFLICTING_DUPLICATE,
)

# Error codes worth retrying: throttling and transient server errors.
RETRYABLE_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


class JobError(Exception):
    """A load that must fail with this message (manifest status "failed", exit code 1)."""


class ArgumentError(JobError):
    """Job arguments are missing or invalid (exit code 2)."""


class HeaderError(JobError):
    """The CSV header cannot be loaded; raised before anything is written."""


@dataclass
class Reject:
    """Why one row is not written: a reason from REJECT_REASONS and a human detail."""

    reason: str
    detail: str


class ManifestError(ValueError):
    """A manifest is unreadable, incomplete, or does not add up."""


# =============================================================================================
# Run ids: one per (DAG run, source file); safe in S3 keys, Glue arguments and item attributes
# =============================================================================================

MAX_RUN_ID_LENGTH = 200
RUN_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,200}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def check_run_id(run_id: str) -> str:
    """The run id, stripped; ArgumentError unless it is 1-200 characters of [A-Za-z0-9._-]."""
    run_id = run_id.strip()
    if not RUN_ID_RE.match(run_id):
        raise ArgumentError(f"--run_id must be 1-200 characters of [A-Za-z0-9._-], got {run_id!r}")
    return run_id


def sanitize(text: str) -> str:
    """Replace every run of unsafe characters with one ``_`` (``:``, ``+``, ``/``, spaces...)."""
    return _UNSAFE.sub("_", text).strip("_")


def load_run_id(dag_run_id: str, bucket: str, key: str) -> str:
    """``<dag run>__<file name>__<hash>``: deterministic (a retried or replayed task finds the same
    manifest and items), readable, and unique even after truncation.

    The hash covers the unsanitized DAG run id, bucket and key, so two files whose names
    sanitize alike (``a b.csv`` / ``a_b.csv``) still get different ids.
    """
    digest = hashlib.sha256(f"{dag_run_id}\n{bucket}\n{key}".encode()).hexdigest()[:16]
    name = sanitize(key.rsplit("/", 1)[-1]) or "file"
    run = sanitize(dag_run_id) or "run"
    budget = MAX_RUN_ID_LENGTH - len(digest) - 4  # two "__" separators
    name = name[: min(len(name), 60)]
    run = run[: budget - len(name)]
    return check_run_id(f"{run}__{name}__{digest}")


EVENT_RUN_ID_TAIL = 120


def event_dag_run_id(bucket: str, key: str, etag: str) -> str:
    """The DAG run id of an S3 event: ``s3__<sha256(bucket/key/etag)[:16]>__<file name>``.

    Derived from the object itself because S3 delivers events at least once: a repeated event
    asks Airflow for the same run id, gets 409 Conflict, and starts nothing twice.
    """
    digest = hashlib.sha256(f"{bucket}/{key}/{etag}".encode()).hexdigest()[:16]
    tail = sanitize(key.rsplit("/", 1)[-1])[-EVENT_RUN_ID_TAIL:] or "file"
    return f"s3__{digest}__{tail}"


def batch_dag_run_id(objects: list[Tuple[str, str, str]]) -> str:
    """The DAG run id of a coalesced batch of S3 events, from its (bucket, key, etag) objects.

    A batch of one keeps that object's ``event_dag_run_id``; several give
    ``s3batch__<sha256 of the sorted, distinct bucket/key/etag lines [:16]>__<n>files``. Order and
    repeats do not matter, so the same events delivered again (S3 and SQS deliver at least once)
    ask Airflow for the same run id, get 409 Conflict, and start nothing twice.
    """
    distinct = sorted(set(objects))
    if not distinct:
        raise ValueError("a batch of S3 events needs at least one object")
    if len(distinct) == 1:
        return event_dag_run_id(*distinct[0])
    lines = "\n".join(f"{bucket}/{key}/{etag}" for bucket, key, etag in distinct)
    return f"s3batch__{hashlib.sha256(lines.encode()).hexdigest()[:16]}__{len(distinct)}files"


# =============================================================================================
# The table's key schema: a partition key and an optional sort key, each S, N or B
# =============================================================================================

KEY_TYPES = ("S", "N", "B")


@dataclass(frozen=True)
class KeyAttr:
    name: str
    type: str = "S"

    def __str__(self) -> str:
        return f"{self.name}:{self.type}"


@dataclass(frozen=True)
class KeySchema:
    """What identifies an item. A file without a column for the partition key gets the
    deterministic content-hash id in that attribute (an ``S`` key only)."""

    partition: KeyAttr
    sort: Optional[KeyAttr] = None

    @property
    def attrs(self) -> Tuple[KeyAttr, ...]:
        return (self.partition,) if self.sort is None else (self.partition, self.sort)

    @property
    def names(self) -> Tuple[str, ...]:
        return tuple(a.name for a in self.attrs)

    def __str__(self) -> str:
        return " + ".join(str(a) for a in self.attrs)


DEFAULT_KEYS = KeySchema(KeyAttr(HASH_KEY, HASH_KEY_TYPE))


# =============================================================================================
# Write modes, the write-rate cap, TTL, validation pass
# =============================================================================================

WRITE_OVERWRITE = "overwrite"  # BatchWriteItem: replace whatever is there (the default)
WRITE_INSERT = "insert"  # never replace an existing item
WRITE_UPSERT_NEWER = "upsert_newer"  # replace only when the version column is greater
WRITE_MODES = (WRITE_OVERWRITE, WRITE_INSERT, WRITE_UPSERT_NEWER)
TTL_FORMATS = ("epoch", "iso")
LOAD_AUTO = "auto"  # the DAG's choice: import into a table that does not exist yet, else batch
LOAD_IMPORT = "import"  # stage DynamoDB JSON for ImportTable (a new table; no write capacity)
LOAD_BATCH = "batch"  # write with BatchWriteItem / PartiQL into an existing table
STAGING_PREFIX = "staging/"  # where the import path stages its DynamoDB JSON (staging/<run>/)
LOAD_METHODS = (LOAD_AUTO, LOAD_IMPORT, LOAD_BATCH)
# Why the DAG chose the load method (e.g. "batch: 1.2 MiB below the import threshold 64 MiB"): a job
# argument of this name, kept in the manifest under it, so the account of a load says why it ran so.
LOAD_METHOD_REASON = "load_method_reason"
# The write options by name (the job's arguments, the run conf's and the form's params): parsed into
# one WriteOptions by ``csv2ddb_core.options.parse_write_options``.
WRITE_OPTION_NAMES = (
    "partition_key",
    "sort_key",
    "write_mode",
    "version_column",
    "max_write_rate",
    "ttl_column",
    "validate_first",
    "load_method",
)
RATE_UNITS = ("items", "wcu")
# What a later row with an already-seen key and OTHER cells means (an exact duplicate, same cells,
# is always dropped and counted in rows_duplicate): reject it (the default), keep the first row, or
# keep the last one.
ON_CONFLICT_REJECT = "reject"
ON_CONFLICT_KEEP_FIRST = "keep_first"
ON_CONFLICT_KEEP_LAST = "keep_last"
ON_CONFLICT_POLICIES = (ON_CONFLICT_REJECT, ON_CONFLICT_KEEP_FIRST, ON_CONFLICT_KEEP_LAST)


@dataclass(frozen=True)
class TtlSpec:
    column: str
    format: str = "epoch"  # "epoch" seconds, or an ISO-8601 date/time ("iso")

    @property
    def text(self) -> str:
        """The argument text that parses back to this TTL (``expires:epoch``)."""
        return f"{self.column}:{self.format}"


@dataclass(frozen=True)
class WriteRate:
    """At most ``per_second`` items (or write capacity units: 1 per started KB of item) per second."""

    per_second: float
    unit: str = "items"

    def __str__(self) -> str:
        return f"{self.per_second:g} {self.unit}/s"

    @property
    def text(self) -> str:
        """The argument text that parses back to this cap (``500``, ``500 wcu``)."""
        return f"{self.per_second:g}" if self.unit == "items" else f"{self.per_second:g} {self.unit}"


@dataclass(frozen=True)
class WriteOptions:
    """How one load writes, decided: the key schema, the write mode and its version column, the
    rate cap, TTL, the validation pass and the load method (with why it was chosen).

    ONE typed value per load: the DAG decides it once (``csv2ddb.load.file_plan.decide_write``), carries it
    in the file's plan and hands it to the job as :meth:`texts`; the job parses those texts back with
    the same validator (``csv2ddb_core.options.parse_write_options``) and its writer reads it as is.
    """

    keys: KeySchema = DEFAULT_KEYS
    write_mode: str = WRITE_OVERWRITE
    version_column: str = ""
    max_write_rate: Optional[WriteRate] = None
    ttl: Optional[TtlSpec] = None
    validate_first: bool = True
    load_method: str = LOAD_BATCH  # the job runs a decided method: batch or import
    load_method_reason: str = ""  # why the DAG decided it; empty: not said
    # False when nothing named the partition key: it is the contract's default (``id``), so a column
    # that happens to be named ``id`` becomes the key, and the manifest says so.
    key_given: bool = True

    @property
    def ttl_attribute(self) -> Optional[str]:
        return self.ttl.column if self.ttl else None

    def texts(self) -> Dict[str, str]:
        """Each option as its argument text, by name, empty ones left out: what the plan carries
        between tasks and the audit record keeps; ``parse_write_options`` reads it back."""
        texts = {
            "partition_key": str(self.keys.partition),
            "sort_key": str(self.keys.sort) if self.keys.sort else "",
            "write_mode": self.write_mode,
            "version_column": self.version_column,
            "max_write_rate": self.max_write_rate.text if self.max_write_rate else "",
            "ttl_column": self.ttl.text if self.ttl else "",
            "validate_first": "true" if self.validate_first else "false",
            "load_method": self.load_method,
            LOAD_METHOD_REASON: self.load_method_reason,
        }
        return {name: text for name, text in texts.items() if text}

    def __str__(self) -> str:
        """``partition_key=id:S write_mode=overwrite ...``: the options as a log line says them."""
        return " ".join(f"{name}={text}" for name, text in self.texts().items())

    def arguments(self) -> Dict[str, str]:
        """The job's ``--name value`` arguments. The partition key is left out when nothing named it
        and it is the default, so the job knows it was not chosen (``key_given``)."""
        unnamed = not self.key_given and self.keys == DEFAULT_KEYS
        return {
            f"--{name}": text
            for name, text in self.texts().items()
            if not (unnamed and name == "partition_key")
        }


# =============================================================================================
# Which objects are CSV files to load
# =============================================================================================

CSV_SUFFIX = ".csv"
# Plain and compressed CSV; the job also detects gzip/bzip2 by content, whatever the name says.
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2")


def is_csv_key(key: str) -> bool:
    """A key names a (possibly compressed) CSV file; case-insensitive. The S3 event filter
    matches the same suffixes (one notification rule per suffix), case-sensitively."""
    name = key.rsplit("/", 1)[-1].lower()
    return any(name.endswith(s) and len(name) > len(s) for s in CSV_SUFFIXES)


# =============================================================================================
# Reject tolerance: a count ("25") or a fraction of rows read ("0.01", "1.0")
# =============================================================================================

TOLERANCE_COUNT = r"[0-9]+"
TOLERANCE_FRACTION = r"0*\.[0-9]+|0+\.[0-9]*|0*1\.0*"
# The one rule, as a JSON-schema/regex pattern (the trigger form) and as a parser (the job).
TOLERANCE_PATTERN = rf"^(?:{TOLERANCE_COUNT}|{TOLERANCE_FRACTION})$"


@dataclass(frozen=True)
class Tolerance:
    """How many rejects a load may have and still succeed: a count, or a fraction of rows read."""

    text: str
    count: Optional[int] = None
    fraction: Optional[float] = None

    def allowed(self, rows_read: int) -> int:
        if self.count is not None:
            return self.count
        assert self.fraction is not None
        return int(self.fraction * rows_read)

    def exceeded(self, rejected: int, rows_read: int) -> bool:
        return rejected > self.allowed(rows_read)


def parse_tolerance(text: str) -> Tolerance:
    """``"25"`` = at most 25 rejects; ``"0.01"`` = at most 1% of rows read; ``"1.0"`` = all."""
    raw = text.strip()
    if not re.fullmatch(TOLERANCE_PATTERN, raw):
        raise ArgumentError(
            f"--reject_tolerance must be a count (e.g. 25) or a fraction between 0 and 1 (e.g. 0.01), "
            f"got {text!r}"
        )
    if re.fullmatch(TOLERANCE_COUNT, raw):
        return Tolerance(raw, count=int(raw))
    return Tolerance(raw, fraction=float(raw))


# =============================================================================================
# The load request: what one job run loads (built by ``options.parse_job_args``)
# =============================================================================================


@dataclass(frozen=True)
class JobArgs:
    source_bucket: str
    source_key: str
    table: str
    run_id: str
    manifest_bucket: str
    manifest_prefix: str
    rejected_prefix: str
    tolerance: Tolerance
    write: WriteOptions
    type_map: Dict[str, str]
    delimiter: str
    encoding: str
    write_concurrency: int
    empty_cells: str
    na_values: Tuple[str, ...]
    write_max_attempts: int
    job_run_id: Optional[str]
    staging_prefix: str = STAGING_PREFIX
    on_conflict: str = ON_CONFLICT_REJECT
    # The declared checks as validated JSON (``csv2ddb_core.checks.parse_checks``); empty: none.
    checks: Mapping[str, Any] = field(default_factory=dict)
    # The processed zone (csv2ddb_core.processed): the written items as Parquet; off unless asked.
    processed: bool = False
    processed_prefix: str = "processed/"
    # The column options (csv2ddb_core.dialect): a header row or not, the declared columns,
    # renames to attribute names, and what a column the declaration does not name does.
    header: bool = True
    quote_char: str = '"'
    columns: Tuple[str, ...] = ()
    rename: Mapping[str, str] = field(default_factory=dict)
    drop: Tuple[str, ...] = ()
    unknown_columns: str = "keep"

    @property
    def source_uri(self) -> str:
        return f"s3://{self.source_bucket}/{self.source_key}"

    @property
    def manifest_key(self) -> str:
        return f"{self.manifest_prefix}{self.run_id}.json"

    @property
    def keys_key(self) -> str:
        return f"{self.manifest_prefix}{self.run_id}{KEYS_SUFFIX}"

    @property
    def rejects_key(self) -> str:
        return f"{self.rejected_prefix}{self.run_id}/rejects.csv"


# =============================================================================================
# The manifest: the job's own account of a load (``manifests/<run>.json``)
# =============================================================================================

FIGURES = ("rows_read", "rows_written", "rows_rejected", "rows_duplicate", "rows_skipped")
STATUS_SUCCEEDED = "succeeded"
STATUS_FAILED = "failed"


def identity_problem(manifest: Mapping[str, Any]) -> Optional[str]:
    """Why the figures do not add up, or None.

    ``rows_read = written + rejected + duplicate + skipped`` exactly for a succeeded load; a
    failed load may also hold ``rows_unconfirmed`` (read, sent, never confirmed written).
    """
    missing = [f for f in FIGURES if type(manifest.get(f)) is not int]  # bool is not a count
    if missing:
        return f"lacks integer figures {missing}"
    unconfirmed = manifest.get("rows_unconfirmed", 0)
    if type(unconfirmed) is not int:
        return f"has a non-integer rows_unconfirmed {unconfirmed!r}"
    if manifest.get("status") == STATUS_SUCCEEDED and unconfirmed:
        return f"says succeeded with {unconfirmed} row(s) unconfirmed"
    read, written, rejected, duplicate, skipped = (manifest[f] for f in FIGURES)
    keys_count = manifest.get("keys_count")
    if manifest.get("status") == STATUS_SUCCEEDED and keys_count is not None and keys_count != written:
        return f"lists {keys_count} written key(s) but says rows_written={written}"
    if read != written + rejected + duplicate + skipped + unconfirmed:
        return (
            "does not add up: rows_read={} but rows_written + rows_rejected + rows_duplicate + "
            "rows_skipped = {} + {} + {} + {} = {}{}".format(
                read,
                written,
                rejected,
                duplicate,
                skipped,
                written + rejected + duplicate + skipped,
                f" (+ {unconfirmed} unconfirmed)" if unconfirmed else "",
            )
        )
    return None


def validate_manifest(manifest: Any, where: str) -> Dict[str, Any]:
    """The ONE manifest validator: a JSON object with integer figures that add up exactly.

    Status, run id and source are the reader's questions (a failed load's manifest is still a
    valid manifest); raises ManifestError naming ``where``.
    """
    if not isinstance(manifest, dict):
        raise ManifestError(f"manifest {where} is not a JSON object")
    problem = identity_problem(manifest)
    if problem:
        raise ManifestError(f"manifest {where} {problem}")
    return manifest


def figures(manifest: Mapping[str, Any]) -> Tuple[int, ...]:
    return tuple(int(manifest[f]) for f in FIGURES)


# --- the typed manifest: one type, one reader ----------------------------------------------------


@dataclass(frozen=True)
class SourceObject:
    """The object a load read; its etag and version id pin exactly which bytes were loaded."""

    bucket: str
    key: str
    etag: Optional[str] = None
    size: Optional[int] = None
    version_id: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "size": self.size,
            "version_id": self.version_id,
        }


@dataclass(frozen=True)
class Manifest:
    """A load's own account (``manifests/<run>.json``), as every engine writes it.

    ``to_dict`` gives the stored JSON document, key for key; ``read_manifest`` is the one way back
    from JSON. ``extra`` holds an engine's own fields (the Spark engine's ``spark``) verbatim;
    ``manifest_location`` is where the document was stored, known only after storing it, so it is
    not part of the document.
    """

    run_id: str
    status: str
    table: str
    source: SourceObject
    rows_read: int
    rows_written: int
    rows_rejected: int
    rows_duplicate: int
    rows_skipped: int
    rows_unconfirmed: int = 0
    reject_reasons: Mapping[str, int] = field(default_factory=dict)
    rejected_location: Optional[str] = None
    keys_location: Optional[str] = None
    keys_count: Optional[int] = None
    keys_sha256: Optional[str] = None
    reject_tolerance: Optional[str] = None
    rejects_allowed: Optional[int] = None
    id_source: Optional[str] = None
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    seconds: Optional[float] = None
    rows_per_second: Optional[float] = None
    bytes_read: Optional[int] = None
    write_retries: Optional[int] = None
    write_concurrency: Optional[int] = None
    engine: Optional[str] = None
    load_method: Optional[str] = None
    load_method_reason: Optional[str] = None
    staging: Optional[Mapping[str, Any]] = None
    key_schema: Optional[str] = None
    write_mode: Optional[str] = None
    version_column: Optional[str] = None
    max_write_rate: Optional[str] = None
    ttl_column: Optional[str] = None
    validate_first: Optional[bool] = None
    validation: Optional[Mapping[str, int]] = None
    nothing_written: bool = False
    # {"on_conflict", "exact", "conflicting"}: later rows of a seen key, with the same cells or not.
    duplicates: Optional[Mapping[str, Any]] = None
    # The declared checks' results (csv2ddb_core.checks.summary); None: no checks.
    checks: Optional[Mapping[str, Any]] = None
    # True when the key is a column that is only the key because it is named like the default key.
    key_by_default: bool = False
    compression: Optional[str] = None
    peak_rss_mb: Optional[float] = None
    job_run_id: Optional[str] = None
    job_version: Optional[str] = None
    error: Optional[str] = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    manifest_location: Optional[str] = None

    @property
    def succeeded(self) -> bool:
        return self.status == STATUS_SUCCEEDED

    @property
    def figures(self) -> Tuple[int, int, int, int, int]:
        """(read, written, rejected, duplicate, skipped), in FIGURES order."""
        return (self.rows_read, self.rows_written, self.rows_rejected, self.rows_duplicate, self.rows_skipped)

    def to_dict(self, with_location: bool = False) -> Dict[str, Any]:
        """The JSON document (``with_location``: plus ``manifest_location``, as the job prints it)."""
        doc: Dict[str, Any] = {}
        for f in fields(self):
            if f.name not in ("extra", "manifest_location"):
                value = getattr(self, f.name)
                doc[f.name] = value.to_dict() if isinstance(value, SourceObject) else _plain(value)
        doc.update(self.extra)
        if with_location:
            doc["manifest_location"] = self.manifest_location
        return doc

    @classmethod
    def from_dict(cls, doc: Any, where: str) -> Manifest:
        """The typed manifest of a JSON object; ManifestError naming ``where`` and the first field
        that is missing or of the wrong type, or figures that do not add up."""
        if not isinstance(doc, dict):
            raise ManifestError(f"manifest {where} is not a JSON object")
        problem = identity_problem(doc)
        if problem:
            raise ManifestError(f"manifest {where} {problem}")
        for name in MANIFEST_REQUIRED:
            if doc.get(name) is None:
                raise ManifestError(f"manifest {where} lacks {name!r}")
        if doc["status"] not in MANIFEST_STATUSES:
            status = doc["status"]
            raise ManifestError(f"manifest {where} has status {status!r}, not one of {MANIFEST_STATUSES}")
        for name, kinds in MANIFEST_TYPES.items():
            value = doc.get(name)
            if value is not None and not _is_kind(value, kinds):
                raise ManifestError(f"manifest {where} has {name}={value!r}, not {' or '.join(kinds)}")
        source = doc["source"]
        if not isinstance(source.get("bucket"), str) or not isinstance(source.get("key"), str):
            raise ManifestError(f"manifest {where} has a source without bucket and key: {source!r}")
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {name: doc[name] for name in known if name in doc}
        values["source"] = SourceObject(**{k: source.get(k) for k in SOURCE_FIELDS})
        values["extra"] = {k: v for k, v in doc.items() if k not in known}
        return cls(**values)


SOURCE_FIELDS = ("bucket", "key", "etag", "size", "version_id")
MANIFEST_REQUIRED = ("run_id", "status", "table", "source")
MANIFEST_STATUSES = (STATUS_SUCCEEDED, STATUS_FAILED)
_TEXT, _INT, _NUMBER, _BOOL, _OBJECT = "text", "integer", "number", "boolean", "object"
# The JSON kind of each field that is not a figure (``identity_problem`` checks those).
MANIFEST_TYPES: Dict[str, Tuple[str, ...]] = {
    "run_id": (_TEXT,),
    "status": (_TEXT,),
    "table": (_TEXT,),
    "source": (_OBJECT,),
    "reject_reasons": (_OBJECT,),
    "rejected_location": (_TEXT,),
    "keys_location": (_TEXT,),
    "keys_count": (_INT,),
    "keys_sha256": (_TEXT,),
    "reject_tolerance": (_TEXT,),
    "rejects_allowed": (_INT,),
    "id_source": (_TEXT,),
    "started_at": (_TEXT,),
    "finished_at": (_TEXT,),
    "seconds": (_NUMBER,),
    "rows_per_second": (_NUMBER,),
    "bytes_read": (_INT,),
    "write_retries": (_INT,),
    "write_concurrency": (_INT,),
    "engine": (_TEXT,),
    "load_method": (_TEXT,),
    LOAD_METHOD_REASON: (_TEXT,),
    "staging": (_OBJECT,),
    "key_schema": (_TEXT,),
    "write_mode": (_TEXT,),
    "version_column": (_TEXT,),
    "max_write_rate": (_TEXT,),
    "ttl_column": (_TEXT,),
    "validate_first": (_BOOL,),
    "validation": (_OBJECT,),
    "nothing_written": (_BOOL,),
    "duplicates": (_OBJECT,),
    "checks": (_OBJECT,),
    "key_by_default": (_BOOL,),
    "compression": (_TEXT,),
    "peak_rss_mb": (_NUMBER,),
    "job_run_id": (_TEXT,),
    "job_version": (_TEXT,),
    "error": (_TEXT,),
    "manifest_location": (_TEXT,),
}


def _is_kind(value: Any, kinds: Tuple[str, ...]) -> bool:
    is_number = type(value) in (int, float)  # bool is not a number here
    return any(
        (kind == _TEXT and isinstance(value, str))
        or (kind == _INT and type(value) is int)
        or (kind == _NUMBER and is_number)
        or (kind == _BOOL and isinstance(value, bool))
        or (kind == _OBJECT and isinstance(value, dict))
        for kind in kinds
    )


def _plain(value: Any) -> Any:
    """Mappings as plain dicts, so ``json.dumps`` and ``==`` see the document."""
    return {k: _plain(v) for k, v in value.items()} if isinstance(value, Mapping) else value


def read_manifest(text: Union[str, bytes], where: str) -> Manifest:
    """THE manifest reader: JSON text (as stored in S3) to a validated ``Manifest``.

    Raises ManifestError naming ``where`` when the text is not JSON, a field is missing or of the
    wrong type, or the figures do not add up.
    """
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(f"manifest {where} is not JSON: {exc}") from exc
    return Manifest.from_dict(doc, where)
