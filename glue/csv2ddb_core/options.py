"""Validators of the load-request options that go beyond one value: the key schema, the write
mode, the write-rate cap, TTL, and the option pairs that contradict each other.

ONE validator each, shared by the job's argument parser, the trigger form's checks and the
settings: a wrong option fails before anything is read, with a message naming it.
"""

from __future__ import annotations

from typing import Mapping, Optional

from csv2ddb_core.contract import (
    ADDED_ATTRIBUTES,
    DEFAULT_KEYS,
    KEY_TYPES,
    LOAD_AUTO,
    LOAD_BATCH,
    LOAD_IMPORT,
    LOAD_METHOD_REASON,
    LOAD_METHODS,
    RATE_UNITS,
    TTL_FORMATS,
    WRITE_MODES,
    WRITE_OVERWRITE,
    WRITE_UPSERT_NEWER,
    ArgumentError,
    KeyAttr,
    KeySchema,
    TtlSpec,
    WriteOptions,
    WriteRate,
)


def parse_key_attr(text: str, what: str) -> KeyAttr:
    """``NAME[:S|N|B]`` (type defaults to S); ArgumentError naming ``what`` (e.g. --sort_key)."""
    name, _, kind = text.strip().rpartition(":") if ":" in text else (text.strip(), "", "S")
    name, kind = name.strip(), (kind.strip() or "S").upper()
    if not name or kind not in KEY_TYPES or len(name.encode("utf-8")) > 255:
        raise ArgumentError(f"{what} must look like NAME or NAME:S|N|B (a name of 1-255 bytes), got {text!r}")
    if name in ADDED_ATTRIBUTES:
        raise ArgumentError(f"{what} {name!r} is an attribute the job adds to every item")
    return KeyAttr(name, kind)


def key_schema_from(partition: str, sort: str = "") -> KeySchema:
    """The one validator of a key schema given as argument/param/setting text."""
    schema = KeySchema(
        parse_key_attr(partition or DEFAULT_KEYS.partition.name, "--partition_key"),
        parse_key_attr(sort, "--sort_key") if sort.strip() else None,
    )
    if schema.sort is not None and schema.sort.name == schema.partition.name:
        raise ArgumentError(f"--partition_key and --sort_key name the same column {schema.partition.name!r}")
    return schema


def parse_write_mode(text: str) -> str:
    mode = (text or WRITE_OVERWRITE).strip()
    if mode not in WRITE_MODES:
        raise ArgumentError(f"--write_mode must be one of {', '.join(WRITE_MODES)}, got {text!r}")
    return mode


def parse_write_rate(text: str) -> Optional[WriteRate]:
    """``""``/``0`` = no cap; ``500`` = 500 items/s; ``500 wcu`` = 500 write capacity units/s."""
    raw = (text or "").strip().lower()
    if raw in ("", "0", "none", "off"):
        return None
    number, _, unit = raw.partition(" ")
    unit = unit.strip() or "items"
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not (value > 0 and value < 1e9) or unit not in RATE_UNITS:
        raise ArgumentError(
            f"--max_write_rate must be a positive number of items/s, or 'N wcu', got {text!r}"
        )
    return WriteRate(value, unit)


def parse_ttl(text: str) -> Optional[TtlSpec]:
    """``NAME[:epoch|iso]``; empty = no TTL."""
    raw = (text or "").strip()
    if not raw:
        return None
    name, _, fmt = raw.rpartition(":") if ":" in raw else (raw, "", "epoch")
    name, fmt = name.strip(), (fmt.strip() or "epoch").lower()
    if not name or fmt not in TTL_FORMATS:
        raise ArgumentError(f"--ttl_column must look like NAME or NAME:epoch|iso, got {text!r}")
    return TtlSpec(name, fmt)


def parse_bool(text: str, what: str) -> bool:
    low = (text or "").strip().lower()
    if low in ("true", "1", "yes", "on"):
        return True
    if low in ("false", "0", "no", "off"):
        return False
    raise ArgumentError(f"{what} must be true or false, got {text!r}")


def check_options(keys: KeySchema, write_mode: str, version_column: str, ttl: Optional[TtlSpec]) -> None:
    """Option pairs that contradict each other fail before anything is read, naming both."""
    if write_mode == WRITE_UPSERT_NEWER and not version_column:
        raise ArgumentError("--write_mode upsert_newer needs --version_column (the column to compare)")
    if version_column and write_mode != WRITE_UPSERT_NEWER:
        raise ArgumentError(f"--version_column {version_column!r} is only used by --write_mode upsert_newer")
    if version_column in keys.names:
        raise ArgumentError(f"--version_column {version_column!r} is also a key (--partition_key/--sort_key)")
    if ttl is not None and ttl.column in keys.names:
        raise ArgumentError(f"--ttl_column {ttl.column!r} is also a key (--partition_key/--sort_key)")
    if ttl is not None and ttl.column == version_column:
        raise ArgumentError(f"--ttl_column and --version_column name the same column {ttl.column!r}")


def parse_load_method(text: str, decided: bool = False) -> str:
    """``auto`` | ``import`` | ``batch``; a job (``decided``) runs ``import`` or ``batch`` only."""
    method = (text or (LOAD_BATCH if decided else LOAD_AUTO)).strip()
    allowed = (LOAD_IMPORT, LOAD_BATCH) if decided else LOAD_METHODS
    if method not in allowed:
        raise ArgumentError(f"--load_method must be one of {', '.join(allowed)}, got {text!r}")
    return method


def check_import_options(load_method: str, write_mode: str, rate: Optional[WriteRate]) -> None:
    """ImportTable creates a new table and uses no write capacity: modes and caps do not apply."""
    if load_method != LOAD_IMPORT:
        return
    if write_mode != WRITE_OVERWRITE:
        raise ArgumentError(
            f"--load_method import writes a new table: --write_mode {write_mode} has nothing to compare with"
        )
    if rate is not None:
        raise ArgumentError("--load_method import uses no write capacity: --max_write_rate does not apply")


def parse_write_options(texts: Mapping[str, Optional[str]], decided: bool = True) -> WriteOptions:
    """THE parser of a load's write options, from their texts by name (``WriteOptions.texts``, the
    job's arguments): each one, then the pairs that contradict each other. The job parses its
    arguments with it, the DAG its decided options; ``decided=False`` lets ``load_method`` be
    ``auto`` (a request the DAG has yet to decide)."""

    def text(name: str) -> str:
        return (texts.get(name) or "").strip()

    keys = key_schema_from(text("partition_key"), text("sort_key"))
    write_mode = parse_write_mode(text("write_mode"))
    ttl = parse_ttl(text("ttl_column"))
    check_options(keys, write_mode, text("version_column"), ttl)
    load_method = parse_load_method(text("load_method"), decided=decided)
    max_write_rate = parse_write_rate(text("max_write_rate"))
    check_import_options(load_method, write_mode, max_write_rate)
    return WriteOptions(
        keys=keys,
        write_mode=write_mode,
        version_column=text("version_column"),
        max_write_rate=max_write_rate,
        ttl=ttl,
        validate_first=parse_bool(text("validate_first") or "true", "--validate_first"),
        load_method=load_method,
        load_method_reason=text(LOAD_METHOD_REASON),
        key_given=bool(text("partition_key")),
    )
