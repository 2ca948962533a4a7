"""How one load writes: the per-run options (key schema, write mode, version column, rate cap, TTL,
validation pass) from the run's params, the target table and the settings, in that order.

Every option is validated by the load core's own validator (``csv2ddb_core.options``), so the form,
the settings and the Glue job agree on what is valid. The result is a dict of job-argument values
carried in each file's load dict and passed to the job as ``--name value``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from csv2ddb_core.contract import (
    LOAD_AUTO,
    LOAD_BATCH,
    LOAD_IMPORT,
    LOAD_METHOD_REASON,
    WRITE_OVERWRITE,
    ArgumentError,
    KeySchema,
    TtlSpec,
    WriteRate,
)
from csv2ddb_core.options import (
    check_import_options,
    check_options,
    key_schema_from,
    parse_bool,
    parse_load_method,
    parse_ttl,
    parse_write_mode,
    parse_write_rate,
)

from csv2ddb import tables
from csv2ddb.settings import Settings

KEY_OPTIONS = ("partition_key", "sort_key")
WRITE_OPTIONS = (
    "write_mode",
    "version_column",
    "max_write_rate",
    "ttl_column",
    "validate_first",
    "load_method",
)
OPTIONS = KEY_OPTIONS + WRITE_OPTIONS
# Not a job argument: set when ``auto`` chose import, so a load whose new table another load
# created meanwhile (two first loads of one table, e.g. a backfill) may write in batches instead.
AUTO_IMPORT = "auto_import"
# Decided, not asked for: why the load method is what it is. A job argument too, so the manifest
# of the load that ran (a batch fallback included) says it, and the audit record copies it.
DECIDED = (LOAD_METHOD_REASON,)


class InvalidOptions(ValueError):
    """The run's write options contradict each other or are malformed; the message names them."""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value).strip()


def requested(params: Mapping[str, Any]) -> dict[str, str]:
    """The options the run's params name (empty ones mean "the default"), checked one by one."""
    chosen = {name: _text(params.get(name)) for name in OPTIONS if _text(params.get(name))}
    try:
        if "partition_key" in chosen or "sort_key" in chosen:
            key_schema_from(chosen.get("partition_key", ""), chosen.get("sort_key", ""))
        parse_write_mode(chosen.get("write_mode", ""))
        parse_write_rate(chosen.get("max_write_rate", ""))
        parse_ttl(chosen.get("ttl_column", ""))
        if "validate_first" in chosen:
            parse_bool(chosen["validate_first"], "validate_first")
        parse_load_method(chosen.get("load_method", ""))
    except ArgumentError as exc:
        raise InvalidOptions(str(exc)) from exc
    return chosen


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


def resolve(
    chosen: Mapping[str, str],
    table_keys: KeySchema | None,
    settings: Settings,
    table_exists: bool = False,
    files: int = 1,
    size: int = 0,
) -> dict[str, str]:
    """Every option decided: the params' choice, else (keys) the existing table's, else the settings'.

    The load method too (:func:`choose_method`, with ``size``: the bytes of the run's file as S3
    listed it; a caller that does not know it passes 0, and ``auto`` then writes in batches unless
    the threshold is 0). ``import`` where ImportTable cannot run is refused before any work."""
    return _decide(chosen, table_keys, settings, table_exists, files, size)[0]


def resolve_for_table(
    chosen: Mapping[str, str],
    existing_keys: KeySchema | None,
    settings: Settings,
    table: str,
    files: int,
    size: int,
) -> tuple[dict[str, str], tables.TableSpec]:
    """:func:`resolve` for ``table`` (which exists when ``existing_keys`` is given), and the table
    spec those options write: their keys and TTL attribute, parsed once here and used as parsed."""
    options, keys, ttl = _decide(chosen, existing_keys, settings, existing_keys is not None, files, size)
    return options, tables.items_table_spec(settings, table, keys, ttl.column if ttl else None)


def _decide(
    chosen: Mapping[str, str],
    table_keys: KeySchema | None,
    settings: Settings,
    table_exists: bool,
    files: int,
    size: int,
) -> tuple[dict[str, str], KeySchema, TtlSpec | None]:
    """The decided options, with the key schema and TTL they name as parsed values."""
    if "partition_key" in chosen:
        keys = key_schema_from(chosen["partition_key"], chosen.get("sort_key", ""))
    else:
        keys = table_keys or settings.key_schema
    defaults = settings.load
    options = {
        "partition_key": str(keys.partition),
        "sort_key": str(keys.sort) if keys.sort else "",
        "write_mode": chosen.get("write_mode") or defaults.write_mode,
        "version_column": chosen.get("version_column", defaults.version_column),
        "max_write_rate": chosen.get("max_write_rate", defaults.max_write_rate),
        "ttl_column": chosen.get("ttl_column", defaults.ttl_column),
        "validate_first": chosen.get("validate_first") or _text(defaults.validate_first),
    }
    try:
        mode = parse_write_mode(options["write_mode"])
        ttl = parse_ttl(options["ttl_column"])
        check_options(keys, mode, options["version_column"], ttl)
        rate = parse_write_rate(options["max_write_rate"])
        requested_method = parse_load_method(chosen.get("load_method") or defaults.load_method)
        method, reason = choose_method(
            requested_method,
            table_exists=table_exists,
            files=files,
            mode=mode,
            rate=rate,
            size=size,
            threshold=defaults.import_min_bytes,
        )
        check_import_options(method, mode, rate)
    except ArgumentError as exc:
        raise InvalidOptions(str(exc)) from exc
    options["load_method"] = method
    options[LOAD_METHOD_REASON] = reason
    if requested_method == LOAD_AUTO and method == LOAD_IMPORT:
        options[AUTO_IMPORT] = "true"
    return options, keys, ttl


def as_batch(options: Mapping[str, str], reason: str) -> dict[str, str]:
    """The same options written in batches (an ``auto`` import whose table appeared meanwhile),
    with the reason it is a batch load now."""
    kept = {k: v for k, v in options.items() if k != AUTO_IMPORT}
    return {**kept, "load_method": LOAD_BATCH, LOAD_METHOD_REASON: f"batch: {reason}"}


def key_schema(options: Mapping[str, str]) -> KeySchema:
    return key_schema_from(options["partition_key"], options.get("sort_key", ""))


def ttl_attribute(options: Mapping[str, str]) -> str | None:
    ttl = parse_ttl(options.get("ttl_column", ""))
    return ttl.column if ttl else None


def table_spec(settings: Settings, table: str, options: Mapping[str, str]) -> tables.TableSpec:
    """The table a load with these decided options writes: their keys and TTL attribute."""
    return tables.items_table_spec(settings, table, key_schema(options), ttl_attribute(options))


def job_arguments(options: Mapping[str, str]) -> dict[str, str]:
    """``--name value`` for every decided option and the reason of the load method (empty values
    left out: the job's defaults)."""
    return {f"--{name}": value for name, value in options.items() if name in OPTIONS + DECIDED and value}
