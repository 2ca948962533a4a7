"""The load's options, each with ONE validator, and the job's command line parsed with them.

- The validators of options that go beyond one value: the key schema, the write mode, the
  write-rate cap, TTL, and the option pairs that contradict each other (shared by the job, the
  DAG's plan, the trigger form's checks, the dataset files and the settings).
- :func:`parse_job_args`: Glue's ``--name value`` pairs (or, under the emulator, environment
  variables) parsed and validated into one :class:`~csv2ddb_core.contract.JobArgs`, each option by
  its one validator (here, or in the module that owns it: ``dialect``, ``checks``, ``conflicts``,
  ``processed``).

A wrong option fails before anything is read, with a message naming it.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence

from csv2ddb_core.checks import parse_checks
from csv2ddb_core.conflicts import check_on_conflict, parse_on_conflict
from csv2ddb_core.contract import (
    ADDED_ATTRIBUTES,
    DEFAULT_KEYS,
    KEY_TYPES,
    LOAD_AUTO,
    LOAD_BATCH,
    LOAD_IMPORT,
    LOAD_METHOD_REASON,
    LOAD_METHODS,
    MANIFESTS_PREFIX,
    ON_CONFLICT_REJECT,
    RATE_UNITS,
    REJECTED_PREFIX,
    STAGING_PREFIX,
    TTL_FORMATS,
    WRITE_MODES,
    WRITE_OPTION_NAMES,
    WRITE_OVERWRITE,
    WRITE_UPSERT_NEWER,
    ArgumentError,
    JobArgs,
    KeyAttr,
    KeySchema,
    TtlSpec,
    WriteOptions,
    WriteRate,
    check_run_id,
    parse_tolerance,
)
from csv2ddb_core.dialect import (
    CSV_OPTION_DEFAULTS,
    check_column_options,
    parse_columns,
    parse_delimiter,
    parse_empty_cells,
    parse_encoding,
    parse_header,
    parse_na_values,
    parse_quote_char,
    parse_rename,
    parse_type_map,
    parse_unknown_columns,
)
from csv2ddb_core.processed import PROCESSED_OPTIONS, parse_processed_options


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


# --- the job's command line ----------------------------------------------------------------------

REQUIRED_ARGS = ("source_bucket", "source_key", "table", "run_id")
OPTIONAL_ARGS: Dict[str, Optional[str]] = {
    "manifest_bucket": None,  # None = source_bucket
    "manifest_prefix": MANIFESTS_PREFIX,
    "rejected_prefix": REJECTED_PREFIX,
    "reject_tolerance": "0",
    # Keys, write mode, rate cap, TTL, validation pass, the load method the DAG decided and why: their
    # defaults are parse_write_options's.
    **dict.fromkeys((*WRITE_OPTION_NAMES, LOAD_METHOD_REASON), ""),
    "staging_prefix": STAGING_PREFIX,
    "on_conflict": ON_CONFLICT_REJECT,  # reject | keep_first | keep_last (csv2ddb_core.conflicts)
    "checks": "",  # JSON (csv2ddb_core.checks)
    **PROCESSED_OPTIONS,  # --processed true|false (default false), --processed_prefix processed/
    "write_concurrency": "8",
    **CSV_OPTION_DEFAULTS,
    "write_max_attempts": "12",
    "JOB_RUN_ID": None,
    "job_run_id": None,
}


def resolve_options(
    argv: Sequence[str], names: Sequence[str], env: Optional[Mapping[str, str]] = None
) -> Dict[str, str]:
    """A ``getResolvedOptions``-style parser: ``--name value`` / ``--name=value`` from argv.

    Tokens that are not one of ``names`` (Glue's ``--job-bookmark-option``, Airflow's
    ``--airflow_task_uuid`` ...) are ignored. A name missing from argv is looked up in ``env``
    under the same name without ``--``: the local emulator (ministack) runs Python-shell jobs
    with their arguments as ENVIRONMENT VARIABLES instead of argv. argv wins when both are set.
    """
    wanted = set(names)
    found: Dict[str, str] = {}
    i = 0
    tokens = list(argv)
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not token.startswith("--"):
            continue
        name, has_eq, value = token[2:].partition("=")
        if not has_eq:
            if i < len(tokens) and not tokens[i].startswith("--"):
                value = tokens[i]
                i += 1
            else:
                value = ""
        if name in wanted:
            found[name] = value
    if env is not None:
        for name in names:
            if name not in found and name in env:
                found[name] = env[name]
    return found


def _positive_int(name: str, text: str, upper: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= upper:
        raise ArgumentError(f"--{name} must be an integer from 1 to {upper}, got {text!r}")
    return value


def _prefix(text: str) -> str:
    """``name/`` from ``name``, ``/name/`` or ``name/`` (empty stays empty)."""
    prefix = text if not text or text.endswith("/") else text + "/"
    return prefix.lstrip("/")


def parse_job_args(argv: Sequence[str], env: Optional[Mapping[str, str]] = None) -> JobArgs:
    """Resolve and validate every job argument; raise ArgumentError naming what is wrong."""
    names = list(REQUIRED_ARGS) + list(OPTIONAL_ARGS)
    got = resolve_options(argv, names, env)
    missing = [n for n in REQUIRED_ARGS if not got.get(n, "").strip()]
    if missing:
        raise ArgumentError(
            "missing required job argument(s): "
            + ", ".join(f"--{n}" for n in missing)
            + " (pass them as '--name value', or as environment variables 'name' under the local emulator)"
        )
    values = {n: got.get(n, default) for n, default in OPTIONAL_ARGS.items()}
    run_id = check_run_id(got["run_id"])
    delimiter = parse_delimiter(values["delimiter"] or "")
    encoding = parse_encoding(values["encoding"] or "")
    empty_cells = parse_empty_cells(values["empty_cells"] or "")
    prefixes = {name: _prefix(values[name] or "") for name in ("manifest_prefix", "rejected_prefix")}
    write = parse_write_options(values)
    on_conflict = parse_on_conflict(values["on_conflict"] or "")
    check_on_conflict(on_conflict, write.validate_first)
    zone = parse_processed_options({n: values[n] or "" for n in PROCESSED_OPTIONS})
    header = parse_header(values["header"] or "")
    columns = parse_columns(values["columns"] or "")
    unknown_columns = parse_unknown_columns(values["unknown_columns"] or "")
    check_column_options(header, columns, unknown_columns)
    return JobArgs(
        source_bucket=got["source_bucket"].strip(),
        source_key=got["source_key"].strip(),
        table=got["table"].strip(),
        run_id=run_id,
        manifest_bucket=(values["manifest_bucket"] or got["source_bucket"]).strip(),
        manifest_prefix=prefixes["manifest_prefix"],
        rejected_prefix=prefixes["rejected_prefix"],
        tolerance=parse_tolerance(values["reject_tolerance"] or "0"),
        write=write,
        type_map=parse_type_map(values["type_map"] or ""),
        delimiter=delimiter,
        encoding=encoding,
        write_concurrency=_positive_int("write_concurrency", values["write_concurrency"] or "8", 64),
        empty_cells=empty_cells,
        na_values=parse_na_values(values["na_values"] or ""),
        write_max_attempts=_positive_int("write_max_attempts", values["write_max_attempts"] or "12", 100),
        job_run_id=values["JOB_RUN_ID"] or values["job_run_id"] or None,
        on_conflict=on_conflict,
        checks=parse_checks(values["checks"] or ""),
        staging_prefix=_prefix(values["staging_prefix"] or STAGING_PREFIX),
        processed=zone.enabled,
        processed_prefix=zone.prefix,
        header=header,
        quote_char=parse_quote_char(values["quote_char"] or "", delimiter),
        columns=columns,
        rename=parse_rename(values["rename"] or ""),
        drop=parse_columns(values["drop"] or "", "drop"),
        unknown_columns=unknown_columns,
    )
