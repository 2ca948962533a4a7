"""Job arguments: Glue's ``--name value`` pairs (or, under the emulator, environment variables)
parsed and validated into one :class:`~csv2ddb_core.contract.JobArgs`."""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence

from csv2ddb_core.checks import parse_checks
from csv2ddb_core.conflicts import check_on_conflict, parse_on_conflict
from csv2ddb_core.contract import (
    LOAD_METHOD_REASON,
    MANIFESTS_PREFIX,
    ON_CONFLICT_REJECT,
    REJECTED_PREFIX,
    STAGING_PREFIX,
    WRITE_OPTION_NAMES,
    ArgumentError,
    JobArgs,
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
from csv2ddb_core.options import parse_write_options
from csv2ddb_core.processed import PROCESSED_OPTIONS, parse_processed_options

REQUIRED_ARGS = ("source_bucket", "source_key", "table", "run_id")
OPTIONAL_ARGS: Dict[str, Optional[str]] = {
    "manifest_bucket": None,  # None = source_bucket
    "manifest_prefix": MANIFESTS_PREFIX,
    "rejected_prefix": REJECTED_PREFIX,
    "reject_tolerance": "0",
    # Keys, write mode, rate cap, TTL, validation pass, the load method the DAG decided and why: their
    # defaults are csv2ddb_core.options.parse_write_options's.
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
