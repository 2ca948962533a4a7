"""One dataset, read from its file: checked whole before anything uses it.

A dataset file is YAML (``dags/datasets/<name>.yaml``; its name is the file's stem). Reading one
runs two checks, and either failure is a :class:`DatasetError` naming the file and the field:
the JSON Schema (``schema.DATASET_SCHEMA``: unknown keys, wrong types), then the rules a schema
cannot say, each checked by the load core's own validator (key and option texts, CSV options)
or against the stack (the table pattern, the raw prefix). Nothing is loaded with a half-read
dataset: a file either gives a whole :class:`Dataset` or an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from csv2ddb_core.checks import validate_checks
from csv2ddb_core.contract import WRITE_OPTION_NAMES, ArgumentError, parse_tolerance
from csv2ddb_core.dialect import check_csv_options
from csv2ddb_core.options import parse_write_options

from csv2ddb.datasets.schema import DATASET_SCHEMA, NAME_PATTERN
from csv2ddb.settings import Settings

DAG_ID_PREFIX = "csv2ddb_load__"
EVENT, SCHEDULE = "event", "schedule"
STACK_PREFIX = "{prefix}"  # in a table name: the stack's prefix, so one file serves dev and prod


class DatasetError(ValueError):
    """A dataset file that cannot be used; the message names the file and the field."""

    def __init__(self, path: Path | str, where: str, problem: str) -> None:
        self.path, self.where, self.problem = str(path), where, problem
        super().__init__(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")


@dataclass(frozen=True)
class Dataset:
    """One kind of file, decided: everything a load of one of its files needs to know."""

    name: str
    path: str
    prefix: str
    arrive: str
    schedule: str | None
    table: str
    # Write options as the run params name them (job-argument texts): keys, write mode, ...
    write: Mapping[str, str]
    csv: Mapping[str, str]  # CSV options as job-argument texts (csv2ddb_core.dialect)
    engine: str | None
    reject_tolerance: str | None
    description: str = ""
    owner: str = "csv2ddb"
    tags: tuple[str, ...] = ()
    checks: Mapping[str, Any] = field(default_factory=dict)
    on_conflict: str | None = None
    # False: the dataset's loads write no processed zone (docs/analytics.md); None/True: the stack's.
    processed: bool | None = None

    @property
    def dag_id(self) -> str:
        return f"{DAG_ID_PREFIX}{self.name}"

    def claims(self, key: str) -> bool:
        return key.startswith(self.prefix)


def _where(error: jsonschema.ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(top level)"


def _schema_problem(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        known = sorted((error.schema.get("properties") or {}).keys())
        return f"{error.message}; known keys: {', '.join(known)}"
    return error.message


def read_file(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DatasetError(path, "", f"not valid YAML: {exc}") from None


def parse(path: Path, raw: Any, settings: Settings) -> Dataset:
    """The dataset of ``path`` (content ``raw``), or DatasetError naming the field."""
    name = path.stem
    if not re.fullmatch(NAME_PATTERN, name):
        raise DatasetError(path, "file name", f"{name!r} must match {NAME_PATTERN} (it names the DAG)")
    if not isinstance(raw, dict):
        raise DatasetError(path, "", "a dataset file is a mapping (files:, table:, read: ...)")
    errors = sorted(jsonschema.Draft202012Validator(DATASET_SCHEMA).iter_errors(raw), key=_where)
    if errors:
        first = errors[0]
        raise DatasetError(path, _where(first), _schema_problem(first))
    files, table, read = raw["files"], raw["table"], raw.get("read") or {}
    prefix = files["prefix"]
    if not prefix.startswith(settings.raw_prefix) or prefix == settings.raw_prefix:
        raise DatasetError(
            path,
            "files.prefix",
            f"{prefix!r} must be a folder under the stack's raw prefix {settings.raw_prefix!r}",
        )
    arrive = files.get("arrive") or EVENT
    schedule = files.get("schedule")
    if arrive == SCHEDULE and not schedule:
        raise DatasetError(path, "files.schedule", "a dataset that arrives by schedule needs a schedule")
    if arrive == EVENT and schedule:
        raise DatasetError(
            path,
            "files.schedule",
            "a dataset that arrives by event has no schedule: its files are loaded as they land "
            "(a schedule would load them a second time); use arrive: schedule instead",
        )
    table_name = table["name"].replace(STACK_PREFIX, settings.prefix)
    if not settings.may_load(table_name):
        raise DatasetError(
            path,
            "table.name",
            f"{table_name!r} is not a table this stack may load: names matching "
            f"{settings.table_pattern!r} (the Glue roles may write only those), never the audit table",
        )
    write = {k: option_text(v) for k, v in table.items() if k in WRITE_OPTION_NAMES and option_text(v)}
    try:
        parse_write_options(write, decided=False)
    except ArgumentError as exc:
        raise DatasetError(path, "table", str(exc)) from None
    csv = _csv_texts(read)
    try:
        check_csv_options(csv)
    except ArgumentError as exc:
        raise DatasetError(path, "read", str(exc)) from None
    tolerance = raw.get("reject_tolerance")
    if tolerance is not None:
        try:
            parse_tolerance(str(tolerance))
        except ArgumentError as exc:
            raise DatasetError(path, "reject_tolerance", str(exc)) from None
    try:
        checks = validate_checks(raw.get("checks") or {})
    except ArgumentError as exc:
        raise DatasetError(path, "checks", str(exc)) from None
    _check_columns(path, write, read, checks)
    return Dataset(
        name=name,
        path=str(path),
        prefix=prefix,
        arrive=arrive,
        schedule=schedule,
        table=table_name,
        write=write,
        csv=csv,
        engine=table.get("engine"),
        reject_tolerance=None if tolerance is None else str(tolerance),
        description=raw.get("description") or "",
        owner=raw.get("owner") or "csv2ddb",
        tags=tuple(raw.get("tags") or ()),
        checks=checks,
        on_conflict=raw.get("on_conflict"),
        processed=raw.get("processed"),
    )


def option_text(value: Any) -> str:
    """An option's value as its argument text: ``true``/``false`` for a boolean, ``""`` for none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value).strip()


def _csv_texts(read: Mapping[str, Any]) -> dict[str, str]:
    """The ``read:`` section as the job's CSV-option texts."""
    names = ("delimiter", "quote_char", "encoding", "empty_cells", "unknown_columns")
    texts = {name: str(read[name]) for name in names if name in read}
    if read.get("na_values"):
        texts["na_values"] = ",".join(read["na_values"])
    if read.get("types"):
        texts["type_map"] = json.dumps(read["types"], sort_keys=True)
    if "header" in read:
        texts["header"] = option_text(read["header"])
    if read.get("columns"):
        texts["columns"] = json.dumps(read["columns"])
    if read.get("rename"):
        texts["rename"] = json.dumps(read["rename"], sort_keys=True)
    if read.get("drop"):
        texts["drop"] = json.dumps(read["drop"])
    return texts


def _check_columns(
    path: Path, write: Mapping[str, str], read: Mapping[str, Any], checks: Mapping[str, Any]
) -> None:
    """A key column may not be typed in ``read.types`` against its key type (the key's type wins
    in the job, so such a file would load other than it reads). With ``read.columns`` declared,
    every column a field names must be one of them, by its attribute name (after ``rename``)."""
    _check_declared(path, write, read, checks)
    types = read.get("types") or {}
    for option in ("partition_key", "sort_key"):
        text = write.get(option, "")
        if not text:
            continue
        name, _, key_type = text.partition(":")
        declared = types.get(name)
        if declared is not None and declared.upper() not in {key_type or "S", "AUTO"}:
            raise DatasetError(
                path,
                f"read.types.{name}",
                f"{declared!r} contradicts the {option.replace('_', ' ')} {text!r}: a key column "
                "takes its key's type",
            )


def _check_declared(
    path: Path, write: Mapping[str, str], read: Mapping[str, Any], checks: Mapping[str, Any]
) -> None:
    declared = read.get("columns") or []
    renames = read.get("rename") or {}
    if not declared:
        return
    for field_name, names in (("read.rename", renames), ("read.drop", read.get("drop") or [])):
        unknown = sorted(set(names) - set(declared))
        if unknown:
            raise DatasetError(path, field_name, f"names column(s) {unknown} not in read.columns")
    dropped = set(read.get("drop") or [])
    read_names = {renames.get(name, name) for name in declared}  # what column checks may judge
    written = {renames.get(name, name) for name in declared if name not in dropped}
    named: list[tuple[str, str, set[str]]] = [
        (f"read.types.{name}", name, written) for name in (read.get("types") or {}) if name != "*"
    ]
    for option in ("sort_key", "version_column", "ttl_column"):
        if write.get(option):
            named.append((f"table.{option}", write[option].split(":")[0], written))
    partition = write.get("partition_key", "")
    if partition and not partition.endswith(":S") and ":" in partition:
        named.append(("table.partition_key", partition.split(":")[0], written))  # S may be a hash id
    named += [(f"checks.columns.{name}", name, read_names) for name in (checks.get("columns") or {})]
    required = (checks.get("file") or {}).get("required_columns") or []
    named += [("checks.file.required_columns", name, written) for name in required]
    for where, name, among in named:
        if name not in among:
            raise DatasetError(
                path,
                where,
                f"names column {name!r}, which is not among the dataset's columns {sorted(among)} "
                "(read.columns, after read.rename" + (", less read.drop)" if among is written else ")"),
            )


def load(path: Path, settings: Settings) -> Dataset:
    return parse(path, read_file(path), settings)
