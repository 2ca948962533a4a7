"""How one table's load writes, decided once: the run's asked-for write options (key schema, write
mode, version column, rate cap, TTL, validation pass, load method), else the existing table's keys,
else the stack's load defaults, in that order, into ONE typed ``WriteOptions`` (the core's contract).

The options are parsed by the load core's own parser (``csv2ddb_core.options.parse_write_options``),
so the DAG and the Glue job agree on what is valid; the file's plan carries the value as is and hands
it to the job as its arguments (``WriteOptions.arguments``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from csv2ddb_core.contract import (
    LOAD_AUTO,
    LOAD_BATCH,
    LOAD_IMPORT,
    WRITE_OPTION_NAMES,
    WRITE_OVERWRITE,
    ArgumentError,
    KeySchema,
    WriteOptions,
    WriteRate,
)
from csv2ddb_core.options import parse_write_options

from csv2ddb.settings import Settings

OPTIONS = WRITE_OPTION_NAMES


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


def decide(
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
    texts.update({n: v for n, v in chosen.items() if n in OPTIONS and v and (named_key or n != "sort_key")})
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
