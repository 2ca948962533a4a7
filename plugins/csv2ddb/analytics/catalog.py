"""The Glue Data Catalog side of a load: the dataset's table (made on its first load, widened by a
new column, refused on a changed type) and the load's partitions, through the provider's
``GlueCatalogHook``.

Why the hook and not ``GlueCatalogCreatePartitionOperator`` in the DAG: the operator's
``execute`` is exactly ``hook.conn.create_partition`` with ``if_exists="skip"`` (done here too),
but its ``partition_input`` is not a template field, so a value from the verify step's XCom cannot
reach it; and the table must be created or widened first, in the same step.

Why in batches (``register_loads``): a bulk verify hands over a group's loads (up to 64), nearly
all into one table and day. One call per load (GetTable, CreatePartition, GetTable again) was
three catalog round trips per file for one partition; now it is one GetTable per table, at most one
UpdateTable, and one BatchCreatePartition per catalog table, each load keeping its own answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.providers.amazon.aws.hooks.glue_catalog import GlueCatalogHook
from botocore.exceptions import ClientError
from csv2ddb_core.processed import DATASET, LOAD_DATE, REJECT_COLUMNS

from csv2ddb.analytics.config import Analytics
from csv2ddb.settings import STACK_TAG_KEY

PARQUET_STORAGE = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}
# The rejects table's columns: the core's rejects.csv columns, then what the zone adds per row.
REJECTS_COLUMNS = (
    ("line_number", "bigint"),
    *((name, "string") for name in REJECT_COLUMNS[1:]),
    ("load_run_id", "string"),
    ("source_file", "string"),
)


class CatalogError(RuntimeError):
    """The catalog cannot take this load (a column changed type); the message says what to do."""


def glue_hook(cfg: Analytics) -> GlueCatalogHook:
    return GlueCatalogHook(aws_conn_id=cfg.settings.aws_conn_id, region_name=cfg.settings.region)


def table_input(
    name: str, location: str, columns: Sequence[Sequence[str]], partition_keys: Sequence[str], prefix: str
) -> dict[str, Any]:
    """An external Parquet table's ``TableInput``: our stack's marker in its parameters."""
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE", STACK_TAG_KEY: prefix},
        "PartitionKeys": [{"Name": key, "Type": "string"} for key in partition_keys],
        "StorageDescriptor": {
            "Columns": [{"Name": c.lower(), "Type": t} for c, t in columns],
            "Location": location,
            **PARQUET_STORAGE,
        },
    }


def rejects_table_input(cfg: Analytics) -> dict[str, Any]:
    return table_input(
        cfg.rejects_table, cfg.rejects_location, REJECTS_COLUMNS, (DATASET, LOAD_DATE), cfg.settings.prefix
    )


def items_table_input(cfg: Analytics, table: str, columns: Sequence[Sequence[str]]) -> dict[str, Any]:
    return table_input(
        cfg.items_table(table), cfg.items_location(table), columns, (LOAD_DATE,), cfg.settings.prefix
    )


def _get_table(hook: GlueCatalogHook, database: str, name: str) -> dict[str, Any] | None:
    try:
        return hook.conn.get_table(DatabaseName=database, Name=name)["Table"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "EntityNotFoundException":
            return None
        raise


def _updatable(table: Mapping[str, Any]) -> dict[str, Any]:
    """A GetTable answer trimmed to the fields UpdateTable's TableInput accepts."""
    keep = ("Name", "Description", "Owner", "Retention", "StorageDescriptor", "PartitionKeys", "TableType")
    out = {k: table[k] for k in keep if table.get(k) not in (None, "")}
    out["Parameters"] = dict(table.get("Parameters") or {})
    return out


def ensure_items_table(
    hook: GlueCatalogHook, cfg: Analytics, table: str, columns: Sequence[Sequence[str]]
) -> str:
    """Create the dataset's catalog table, or append this load's new columns; a column whose type
    changed is refused (Athena would misread the older Parquet files). Returns what it did."""
    return _create_or_extend(
        hook, cfg, table, columns, _get_table(hook, cfg.database, cfg.items_table(table))
    )


def _create_or_extend(
    hook: GlueCatalogHook,
    cfg: Analytics,
    table: str,
    columns: Sequence[Sequence[str]],
    current: dict[str, Any] | None,
) -> str:
    """:func:`ensure_items_table` given the table as GetTable just described it (None: absent)."""
    name = cfg.items_table(table)
    if current is None:
        try:
            hook.conn.create_table(
                DatabaseName=cfg.database, TableInput=items_table_input(cfg, table, columns)
            )
            return "created"
        except ClientError as exc:  # another load of the same dataset created it meanwhile
            if exc.response.get("Error", {}).get("Code") != "AlreadyExistsException":
                raise
            current = _get_table(hook, cfg.database, name)
            assert current is not None
    have = {c["Name"]: c["Type"] for c in current["StorageDescriptor"].get("Columns", [])}
    added = _new_columns(cfg, name, have, columns)
    if not added:
        return "unchanged"
    _add_columns(hook, cfg, current, added)
    return "added " + ", ".join(c for c, _ in added)


@dataclass(frozen=True)
class ToRegister:
    """One verified load's part of the catalog: its run id, its table and its processed zone."""

    run_id: str
    table: str
    zone: Mapping[str, Any]


Registered = dict[str, dict[str, Any] | Exception]  # run id -> the record's fields, or why it failed


def register_loads(
    cfg: Analytics, loads: Sequence[ToRegister], hook: GlueCatalogHook | None = None
) -> Registered:
    """Every load's partitions (its items' day in the dataset's table, its rejects' in ``rejects``)
    with ONE GetTable per table, at most one UpdateTable per table, and one BatchCreatePartition per
    catalog table (a partition the group shares is registered once). Per run id, the fields for its
    audit record, or the error that stopped its part (a refused column, a failed call): each load
    keeps its own answer, as when every load was registered alone; nothing is raised."""
    hook = hook or glue_hook(cfg)
    out: Registered = {}
    by_table: dict[str, list[ToRegister]] = {}
    for load in loads:
        by_table.setdefault(load.table, []).append(load)
    for table, mine in by_table.items():
        try:
            out.update(_register_table(hook, cfg, table, mine))
        except Exception as exc:  # noqa: BLE001 -- GetTable/CreateTable/UpdateTable: each of its loads failed
            out.update({load.run_id: exc for load in mine})
    rejects = [load for load in loads if load.zone.get("rejects") and isinstance(out[load.run_id], dict)]
    try:
        out.update(_register_rejects(hook, cfg, rejects) if rejects else {})
    except Exception as exc:  # noqa: BLE001 -- each load with rejects failed its part
        out.update({load.run_id: exc for load in rejects})
    return out


def _register_table(
    hook: GlueCatalogHook, cfg: Analytics, table: str, loads: Sequence[ToRegister]
) -> Registered:
    """One dataset table's loads: its table made or widened once, its days' partitions in one call."""
    out: Registered = {}
    changes, described = _table_changes(hook, cfg, table, loads)
    placed = [load for load in loads if isinstance(changes[load.run_id], str)]
    days = sorted({str(load.zone["load_date"]) for load in placed})
    made = _create_partitions(
        hook,
        cfg.database,
        cfg.items_table(table),
        described,
        {(day,): f"{cfg.items_location(table)}{LOAD_DATE}={day}/" for day in days},
    )
    first: set[str] = set()
    for load in loads:
        change = changes[load.run_id]
        day = str(load.zone.get("load_date"))
        partition = made.get((day,), "")
        if not isinstance(change, str):
            out[load.run_id] = change
        elif isinstance(partition, Exception):
            out[load.run_id] = partition
        else:
            created = partition == "created" and day not in first  # the day's first load made it
            first.add(day)
            out[load.run_id] = {
                "catalog_table": f"{cfg.database}.{cfg.items_table(table)}",
                "table_change": change,
                "partition": "created" if created else "exists",
            }
    return out


def _table_changes(
    hook: GlueCatalogHook, cfg: Analytics, table: str, loads: Sequence[ToRegister]
) -> tuple[dict[str, str | Exception], dict[str, Any]]:
    """What each load did to the dataset's catalog table, in order, as if each ran alone: the first
    load of a new table creates it, a load with new columns adds them, a changed type refuses that
    load (``CatalogError``); and the table as it then stands (its partitions copy its storage). One
    GetTable, and the new columns of every load in ONE UpdateTable."""
    name = cfg.items_table(table)
    current = _get_table(hook, cfg.database, name)
    out: dict[str, str | Exception] = {}
    if current is None:  # the dataset's first load: its table, made as a load alone makes it
        try:
            out[loads[0].run_id] = _create_or_extend(hook, cfg, table, loads[0].zone["columns"], None)
        except CatalogError as exc:  # another load made it meanwhile, with another type
            out[loads[0].run_id] = exc
        current = _get_table(hook, cfg.database, name)
        assert current is not None
        loads = loads[1:]
    have = {c["Name"]: c["Type"] for c in current["StorageDescriptor"].get("Columns", [])}
    added: list[tuple[str, str]] = []
    adders: list[str] = []  # the loads that add a column
    for load in loads:
        try:
            mine = _new_columns(cfg, name, have, load.zone["columns"])
        except CatalogError as exc:
            out[load.run_id] = exc
            continue
        added += mine
        adders += [load.run_id] if mine else []
        have.update(mine)
        out[load.run_id] = "added " + ", ".join(c for c, _ in mine) if mine else "unchanged"
    if not added:
        return out, current
    try:
        described = _add_columns(hook, cfg, current, added)
    except Exception as exc:  # noqa: BLE001 -- the loads that added a column failed; the rest stand
        out.update({run_id: exc for run_id in adders})
        return out, current
    return out, described


def _new_columns(
    cfg: Analytics, name: str, have: Mapping[str, str], columns: Sequence[Sequence[str]]
) -> list[tuple[str, str]]:
    """The columns a load adds to a table that has ``have``; CatalogError when a type changed
    (Athena would misread the older Parquet files)."""
    changed = [
        (c.lower(), have[c.lower()], t) for c, t in columns if c.lower() in have and have[c.lower()] != t
    ]
    if changed:
        what = "; ".join(f"{c} is {old} in the table, {new} in this load" for c, old, new in changed)
        raise CatalogError(
            f"{cfg.database}.{name}: {what}. Athena cannot read both; declare the column's type in the "
            "load's type_map, or move the dataset to a new catalog table (drop this one and reload)"
        )
    return [(c.lower(), t) for c, t in columns if c.lower() not in have]


def _add_columns(
    hook: GlueCatalogHook, cfg: Analytics, current: Mapping[str, Any], added: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """Append columns to a catalog table (UpdateTable); the table as updated."""
    update = _updatable(current)
    update["StorageDescriptor"] = {
        **update["StorageDescriptor"],
        "Columns": [
            *current["StorageDescriptor"].get("Columns", []),
            *({"Name": c, "Type": t} for c, t in added),
        ],
    }
    hook.conn.update_table(DatabaseName=cfg.database, TableInput=update)
    return update


PartitionResult = str | Exception  # "created", "exists", or why it was not registered


def _create_partitions(
    hook: GlueCatalogHook,
    database: str,
    table: str,
    described: Mapping[str, Any] | None,
    locations: Mapping[tuple[str, ...], str],
) -> dict[tuple[str, ...], PartitionResult]:
    """Register partitions (values -> location; storage copied from the table) with
    BatchCreatePartition, 100 a call; one that exists is kept. Per partition, what happened: an error
    answered for one partition, or a failed call, stays with the partitions it concerns."""
    out: dict[tuple[str, ...], PartitionResult] = {}
    wanted = list(locations.items())
    for start in range(0, len(wanted), 100):  # BatchCreatePartition's limit
        chunk = wanted[start : start + 100]
        try:
            if described is None:
                raise CatalogError(f"{database}.{table} is not in the catalog")
            answer = hook.conn.batch_create_partition(
                DatabaseName=database,
                TableName=table,
                PartitionInputList=[
                    {
                        "Values": list(values),
                        "StorageDescriptor": {**described["StorageDescriptor"], "Location": where},
                    }
                    for values, where in chunk
                ],
            )
        except Exception as exc:  # noqa: BLE001 -- the partitions of this call failed; the others stand
            out.update({values: exc for values, _ in chunk})
            continue
        out.update({values: "created" for values, _ in chunk})
        for error in answer.get("Errors", []):
            values = tuple(error.get("PartitionValues", []))
            detail = error.get("ErrorDetail", {})
            if detail.get("ErrorCode") == "AlreadyExistsException":
                out[values] = "exists"  # an earlier load of the same day registered it
            else:
                out[values] = CatalogError(
                    f"partition {values} of {database}.{table}: {detail.get('ErrorCode')}: "
                    f"{detail.get('ErrorMessage')}"
                )
    return out


def _register_rejects(
    hook: GlueCatalogHook, cfg: Analytics, loads: Sequence[ToRegister]
) -> dict[str, Exception]:
    """The rejects' partitions (dataset, day) of these loads, in one call; per run id, an error."""
    try:
        described = _get_table(hook, cfg.database, cfg.rejects_table)
    except Exception as exc:  # noqa: BLE001 -- every load with rejects failed its part
        return {load.run_id: exc for load in loads}
    places: dict[tuple[str, ...], str] = {
        (load.table, str(load.zone["load_date"])): (
            f"{cfg.rejects_location}{DATASET}={load.table}/{LOAD_DATE}={load.zone['load_date']}/"
        )
        for load in loads
    }
    made = _create_partitions(hook, cfg.database, cfg.rejects_table, described, places)
    out: dict[str, Exception] = {}
    for load in loads:
        result = made[(load.table, str(load.zone["load_date"]))]
        if isinstance(result, Exception):
            out[load.run_id] = result
    return out
