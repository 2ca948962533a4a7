"""One file's plan: everything about its load, decided once in ``prepare`` and read by every later
step (the Glue task, the import step, its batch fallback, the count check, the audit record).

How a table's load writes is decided here too, once per table (:func:`decide_write`): the run's
asked-for write options (key schema, write mode, version column, rate cap, TTL, validation pass, load
method), else the existing table's keys, else the stack's load defaults, into ONE typed
``WriteOptions`` (the core's contract), parsed by the load core's own parser
(``csv2ddb_core.options.parse_write_options``) so the DAG and the job agree on what is valid. Each
file's plan carries it as is and hands it to the job as its arguments (``WriteOptions.arguments``).

Why a frozen type: before it, the engine was picked by the Glue operator from the run's params, the
load method re-derived from the manifest, and the options read as loose dict keys in eight modules.
A plan is decided in one place and only ever replaced by a new plan (:meth:`FilePlan.as_batch`).

Between tasks a plan travels as XCom, i.e. as the plain dict of :meth:`FilePlan.to_xcom` (the
shape the count check and the audit store read); :meth:`FilePlan.from_xcom` is its one reader.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from csv2ddb_core.checks import parse_checks
from csv2ddb_core.conflicts import parse_on_conflict
from csv2ddb_core.contract import (
    LOAD_AUTO,
    LOAD_BATCH,
    LOAD_IMPORT,
    RUN_ID_ARG,
    WRITE_OPTION_NAMES,
    WRITE_OVERWRITE,
    ArgumentError,
    KeySchema,
    WriteOptions,
    WriteRate,
)
from csv2ddb_core.dialect import CSV_OPTIONS, check_csv_options
from csv2ddb_core.options import parse_bool, parse_write_options

from csv2ddb.engines import INLINE, PYTHONSHELL, SPARK, engine_spec
from csv2ddb.job_definitions import default_arguments
from csv2ddb.load_defaults import ENGINES
from csv2ddb.settings import Settings

MIB = 1 << 20


class InvalidPlan(ValueError):
    """The run's choices cannot make a plan for this file; the message says which and why."""


class InvalidOptions(ValueError):
    """The run's write options contradict each other or are malformed; the message names them."""


@dataclass(frozen=True)
class Decision:
    """One table's decided write options, and whether ``auto`` chose the import: only then may a
    load whose new table another load created meanwhile (two first loads of one table, e.g. a
    backfill) write in batches instead (``FilePlan.as_batch``)."""

    write: WriteOptions
    auto_import: bool = False


def size_text(size: int) -> str:
    """``200 bytes``, ``12.3 KiB``, ``1.2 MiB``: a size as a reason states it."""
    if size < 1 << 10:
        return f"{size:,} bytes"
    if size < 1 << 20:
        return f"{size / (1 << 10):,.1f} KiB"
    return f"{size / (1 << 20):,.1f} MiB"


def choose_method(
    requested: str,
    *,
    table_exists: bool,
    files: int,
    mode: str,
    rate: WriteRate | None,
    size: int,
    threshold: int,
) -> tuple[str, str]:
    """(``import`` or ``batch``, why): THE load-method decision of one table's load.

    ``auto`` imports only a plain first load (``overwrite``, no rate cap) of one file into a table
    that does not exist yet, and only when that file is at least ``threshold`` bytes: an import is a
    job with a fixed start-up (minutes on AWS) that a small file does not pay back (the crossover
    measurement: docs/import.md). ``import`` is refused where ImportTable cannot run, whatever the
    size; ``batch`` is always possible."""
    if requested == LOAD_IMPORT:
        if table_exists:
            raise ArgumentError(
                "load_method import creates its table, but the table exists already: "
                "use load_method batch (or auto) to load into it"
            )
        if files > 1:
            raise ArgumentError(
                f"load_method import creates a new table from one file; this run loads {files} files "
                "into it: use load_method batch (or auto), or import one file first"
            )
        return LOAD_IMPORT, "import: load_method import was asked for"
    if requested == LOAD_BATCH:
        return LOAD_BATCH, "batch: load_method batch was asked for"
    if table_exists:
        return LOAD_BATCH, "batch: the table exists (ImportTable only creates new tables)"
    if files > 1:
        return LOAD_BATCH, f"batch: {files} files into one new table (an import makes a table of one file)"
    if mode != WRITE_OVERWRITE:
        return LOAD_BATCH, f"batch: write_mode {mode} (an import only overwrites)"
    if rate is not None:
        return LOAD_BATCH, "batch: a max_write_rate is set (an import uses no write capacity)"
    shown, limit = size_text(size), size_text(threshold)
    if shown == limit:  # one decimal cannot tell them apart
        shown, limit = f"{size:,} bytes", f"{threshold:,} bytes"
    said = f"{shown} {{}} the import threshold {limit}"
    if size < threshold:
        return LOAD_BATCH, "batch: " + said.format("below")
    return LOAD_IMPORT, "import: a new table, " + said.format("at or above")


def decide_write(
    chosen: Mapping[str, str],
    settings: Settings,
    existing_keys: KeySchema | None = None,
    files: int = 1,
    size: int = 0,
) -> Decision:
    """Every option decided for one table, ``existing_keys`` given when it exists: the run's choice,
    else (keys) the existing table's, else the load defaults. The load method too
    (:func:`choose_method`, with ``size``: the bytes of the run's file(s) as S3 listed them; 0 when
    not known, and ``auto`` then writes in batches unless the threshold is 0). Contradictions, and
    ``import`` where ImportTable cannot run, are refused here, before any work: an asked-for
    ``import`` by the parser's own check, and ``auto`` never chooses it where that check fails."""
    defaults = settings.load
    keys = existing_keys or settings.key_schema
    texts = {
        "partition_key": str(keys.partition),
        "sort_key": str(keys.sort) if keys.sort else "",
        "write_mode": defaults.write_mode,
        "version_column": defaults.version_column,
        "max_write_rate": defaults.max_write_rate,
        "ttl_column": defaults.ttl_column,
        "validate_first": "true" if defaults.validate_first else "false",
        "load_method": defaults.load_method,
    }
    # A named partition key replaces the whole key schema; a sort key alone changes nothing.
    named_key = "partition_key" in chosen
    if named_key:
        texts["sort_key"] = ""
    texts.update(
        {n: v for n, v in chosen.items() if n in WRITE_OPTION_NAMES and v and (named_key or n != "sort_key")}
    )
    try:
        asked = parse_write_options(texts, decided=False)
        method, reason = choose_method(
            asked.load_method,
            table_exists=existing_keys is not None,
            files=files,
            mode=asked.write_mode,
            rate=asked.max_write_rate,
            size=size,
            threshold=defaults.import_min_bytes,
        )
    except ArgumentError as exc:
        raise InvalidOptions(str(exc)) from exc
    write = replace(asked, load_method=method, load_method_reason=reason, key_given=named_key)
    return Decision(write, auto_import=asked.load_method == LOAD_AUTO and method == LOAD_IMPORT)


@dataclass(frozen=True)
class SourceObject:
    """The S3 object a load reads, as S3 described it when the run resolved its files."""

    bucket: str
    key: str
    etag: str = ""
    size: int = 0
    version_id: str | None = None
    uploaded_by: str | None = None  # the S3 event's uploader principal, when an event named it

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any]) -> SourceObject:
        """The source fields of a file's XCom dict (``inputs.resolve_inputs``'s, or a plan's)."""
        return cls(
            bucket=data["bucket"],
            key=data["key"],
            etag=data.get("etag") or "",
            size=int(data.get("size") or 0),
            version_id=data.get("version_id"),
            uploaded_by=data.get("uploaded_by") or None,
        )


@dataclass(frozen=True)
class FilePlan:
    """One file's load, decided: source, target, write and CSV options, engine, run id."""

    source: SourceObject
    table: str
    run_id: str
    reject_tolerance: str
    # The decided write options (:func:`decide_write`): keys, write mode, version column, rate
    # cap, TTL, validation pass, load method and why it was chosen. Handed to the job as they are.
    write: WriteOptions = field(default_factory=WriteOptions)
    # ``auto`` chose the import: another load creating the table first may make it a batch load.
    auto_import: bool = False
    # The CSV options the run chose (``csv2ddb_core.dialect``); absent ones are the job's defaults.
    csv: Mapping[str, str] = field(default_factory=dict)
    engine: str = PYTHONSHELL
    # The checks (``csv2ddb_core.checks``) as canonical JSON text, their row-count history resolved
    # from the audit table; empty: none. ``on_conflict``: ``csv2ddb_core.conflicts``; empty: reject.
    checks: str = ""
    on_conflict: str = ""
    # False: this load writes no processed zone (its dataset's or its conf's ``processed: false``);
    # True: as the stack's CSV2DDB_PROCESSED says (docs/analytics.md).
    processed: bool = True
    dataset: str | None = None  # the dataset whose DAG loads the file (docs/datasets.md); None: ad hoc

    @property
    def imports(self) -> bool:
        return self.write.load_method == LOAD_IMPORT

    def job_arguments(self) -> dict[str, str]:
        """The per-file Glue job arguments (the Glue job contract)."""
        return {
            "--source_bucket": self.source.bucket,
            "--source_key": self.source.key,
            "--table": self.table,
            RUN_ID_ARG: self.run_id,
            "--reject_tolerance": self.reject_tolerance,
            **self.write.arguments(),
            **{f"--{name}": value for name, value in self.csv.items() if value},
            **({"--checks": self.checks} if self.checks else {}),
            **({"--on_conflict": self.on_conflict} if self.on_conflict else {}),
        }

    def zone_arguments(self) -> dict[str, str]:
        """``--processed false`` when this load turned the processed zone off; applied after the
        stack's DefaultArguments (which carry the stack's ``--processed``), so it wins."""
        return {} if self.processed else {"--processed": "false"}

    def stack_arguments(self, settings: Settings, engine: str) -> dict[str, str]:
        """The engine's stack arguments (its job's DefaultArguments), with this file's own
        processed-zone choice laid over the stack's default (a load may turn the zone off)."""
        return {**default_arguments(settings, engine), **self.zone_arguments()}

    def run_arguments(self, settings: Settings, engine: str) -> dict[str, str]:
        """The whole command line of this file's run on ``engine``: the per-file arguments plus the
        stack's, repeated so a run never depends on the job's DefaultArguments being current."""
        return {**self.job_arguments(), **self.stack_arguments(settings, engine)}

    def as_batch(self, reason: str) -> FilePlan:
        """The same load written in batches (an ``auto`` import whose table another load created),
        ``reason`` saying why."""
        write = replace(self.write, load_method=LOAD_BATCH, load_method_reason=f"batch: {reason}")
        return replace(self, write=write, auto_import=False)

    def to_xcom(self) -> dict[str, Any]:
        return {
            "bucket": self.source.bucket,
            "key": self.source.key,
            "source_uri": self.source.uri,
            "etag": self.source.etag,
            "size": self.source.size,
            "version_id": self.source.version_id,
            "uploaded_by": self.source.uploaded_by,
            "table": self.table,
            "run_id": self.run_id,
            "reject_tolerance": self.reject_tolerance,
            "options": self.write.texts(),
            "auto_import": self.auto_import,
            "csv_options": dict(self.csv),
            "engine": self.engine,
            "dataset": self.dataset,
            "checks": self.checks,
            "on_conflict": self.on_conflict,
            "processed": self.processed,
            "key_named": self.write.key_given,
        }

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any]) -> FilePlan:
        return cls(
            source=SourceObject.from_xcom(data),
            table=data["table"],
            run_id=data["run_id"],
            reject_tolerance=str(data["reject_tolerance"]),
            write=_write_options(data),
            auto_import=bool(data.get("auto_import")),
            csv=dict(data.get("csv_options") or {}),
            engine=data.get("engine") or PYTHONSHELL,
            dataset=data.get("dataset") or None,
            checks=data.get("checks") or "",
            on_conflict=data.get("on_conflict") or "",
            processed=data.get("processed", True) is not False,
        )


def _write_options(data: Mapping[str, Any]) -> WriteOptions:
    """A plan's write options from its XCom (before ``prepare`` decided them: the defaults)."""
    texts = data.get("options")
    if not texts:
        return WriteOptions()
    return replace(parse_write_options(texts), key_given=data.get("key_named", True) is not False)


def checked_engine(requested: str | None, settings: Settings) -> str:
    """The engine a run asks for (else the setting), by name: ``auto`` or a registered engine."""
    engine = (requested or settings.load.engine).strip().lower()
    if engine not in ENGINES:
        raise InvalidPlan(f"engine must be one of {ENGINES}, got {requested!r}")
    return engine


def choose_engine(requested: str | None, size: int | None, settings: Settings) -> str:
    """The engine of one file: the run's choice, else the setting; ``auto`` loads an object of at
    most ``inline_max_bytes`` inline (a Glue start costs more than such a load), takes Spark for one
    larger than ``spark_threshold_mb``, and the Python shell for the rest."""
    engine = checked_engine(requested, settings)
    if engine != "auto":
        return engine
    if (size or 0) > settings.load.spark_threshold_mb * MIB:
        return SPARK
    # An unknown size is not known to be small: a Glue run, as before the inline engine.
    return INLINE if size is not None and size <= settings.load.inline_max_bytes else PYTHONSHELL


def engine_for(requested: str | None, size: int, load_method: str, settings: Settings) -> str:
    """The file's engine, given its load method: the import path stages files for ImportTable in
    one Python-shell process, so an import never runs on Spark or inline (asked for by name, it is
    refused)."""
    engine = choose_engine(requested, size, settings)
    if load_method == LOAD_IMPORT and not engine_spec(engine).stages_imports:
        if (requested or settings.load.engine) == engine:
            raise InvalidPlan(
                f"engine {engine} writes with the batch path, but this load was planned as "
                "load_method import (its table does not exist yet): pass load_method batch"
            )
        return PYTHONSHELL
    return engine


def checked_csv_options(params: Mapping[str, Any]) -> dict[str, str]:
    """The CSV options the run's params name, each checked by the core's validator. A conf may give
    ``header``, ``columns`` and ``rename`` as JSON values or as text."""
    texts = {
        name: json.dumps(value) if isinstance(value, (list, dict, bool)) else str(value)
        for name, value in ((name, params.get(name)) for name in CSV_OPTIONS)
        if value not in (None, "")
    }
    try:
        return check_csv_options(texts)
    except ArgumentError as exc:
        raise InvalidPlan(str(exc)) from exc


def checked_quality(params: Mapping[str, Any]) -> tuple[str, str]:
    """(checks as canonical JSON text, on_conflict) of the run's params, each checked by the core's
    one validator (``csv2ddb_core.checks`` / ``.conflicts``); a bad declaration fails the plan here,
    naming the check and the field. ``checks`` may be JSON text (the form) or a JSON object (conf)."""
    raw = params.get("checks")
    text = raw if isinstance(raw, str) else json.dumps(raw) if raw else ""
    policy = str(params.get("on_conflict") or "")
    try:
        checks = parse_checks(text)
        on_conflict = parse_on_conflict(policy) if policy.strip() else ""
    except ArgumentError as exc:
        raise InvalidPlan(str(exc)) from exc
    return (json.dumps(checks, sort_keys=True, separators=(",", ":")) if checks else ""), on_conflict


def checked_processed(params: Mapping[str, Any]) -> bool:
    """The run's ``processed`` (conf, or its dataset's): absent/None = on (the stack's setting),
    a boolean or true/false text; anything else fails the plan."""
    raw = params.get("processed")
    if raw is None or raw == "":
        return True
    if isinstance(raw, bool):
        return raw
    try:
        return parse_bool(str(raw), "processed")
    except ArgumentError as exc:
        raise InvalidPlan(str(exc)) from exc


def decide(
    resolved: Mapping[str, Any],
    decision: Decision,
    csv: Mapping[str, str],
    requested_engine: str | None,
    settings: Settings,
    checks: str = "",
    on_conflict: str = "",
    processed: bool = True,
) -> FilePlan:
    """The plan of one file of a run: the file as ``inputs.resolve_inputs`` found it, its table's
    decided write options, the run's CSV options and engine choice, and its checks (their history
    resolved) and conflict policy."""
    source = SourceObject.from_xcom(resolved)
    return FilePlan(
        source=source,
        table=resolved["table"],
        run_id=resolved["run_id"],
        reject_tolerance=str(resolved["reject_tolerance"]),
        write=decision.write,
        auto_import=decision.auto_import,
        csv=dict(csv),
        engine=engine_for(requested_engine, source.size, decision.write.load_method, settings),
        checks=checks,
        on_conflict=on_conflict,
        processed=processed,
        dataset=resolved.get("dataset") or None,
    )
