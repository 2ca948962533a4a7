"""The Glue Data Catalog side of a load: the dataset's table (made on its first load, widened by a
new column, refused on a changed type) and the load's partitions, through the provider's
``GlueCatalogHook``.

Why the hook and not ``GlueCatalogCreatePartitionOperator`` in the DAG: the operator's
``execute`` is exactly ``hook.conn.create_partition`` with ``if_exists="skip"`` (done here too),
but its ``partition_input`` is not a template field, so a value from the verify step's XCom cannot
reach it; and the table must be created or widened first, in the same step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    name = cfg.items_table(table)
    current = _get_table(hook, cfg.database, name)
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
    changed = [
        (c.lower(), have[c.lower()], t) for c, t in columns if c.lower() in have and have[c.lower()] != t
    ]
    if changed:
        what = "; ".join(f"{c} is {old} in the table, {new} in this load" for c, old, new in changed)
        raise CatalogError(
            f"{cfg.database}.{name}: {what}. Athena cannot read both; declare the column's type in the "
            "load's type_map, or move the dataset to a new catalog table (drop this one and reload)"
        )
    added = [(c.lower(), t) for c, t in columns if c.lower() not in have]
    if not added:
        return "unchanged"
    update = _updatable(current)
    update["StorageDescriptor"] = {
        **update["StorageDescriptor"],
        "Columns": [
            *current["StorageDescriptor"].get("Columns", []),
            *({"Name": c, "Type": t} for c, t in added),
        ],
    }
    hook.conn.update_table(DatabaseName=cfg.database, TableInput=update)
    return "added " + ", ".join(c for c, _ in added)


def add_partition(
    hook: GlueCatalogHook, database: str, table: str, values: Sequence[str], location: str
) -> str:
    """Register one partition (its storage copied from the table); one that exists is kept."""
    described = hook.get_table(database, table)
    storage = {**described["StorageDescriptor"], "Location": location}
    try:
        # hook.conn, as GlueCatalogCreatePartitionOperator does: the hook's create_partition wraps
        # every ClientError in an AirflowException, hiding AlreadyExistsException.
        hook.conn.create_partition(
            DatabaseName=database,
            TableName=table,
            PartitionInput={"Values": list(values), "StorageDescriptor": storage},
        )
        return "created"
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "AlreadyExistsException":
            return "exists"  # an earlier load of the same day registered it
        raise


def register_load(cfg: Analytics, table: str, processed: Mapping[str, Any]) -> dict[str, Any]:
    """The load's partitions: its items' day in the dataset's table, its rejects' in ``rejects``."""
    hook = glue_hook(cfg)
    date = processed["load_date"]
    out: dict[str, Any] = {"catalog_table": f"{cfg.database}.{cfg.items_table(table)}"}
    out["table_change"] = ensure_items_table(hook, cfg, table, processed["columns"])
    out["partition"] = add_partition(
        hook,
        cfg.database,
        cfg.items_table(table),
        [date],
        f"{cfg.items_location(table)}{LOAD_DATE}={date}/",
    )
    if processed.get("rejects"):
        add_partition(
            hook,
            cfg.database,
            cfg.rejects_table,
            [table, date],
            f"{cfg.rejects_location}{DATASET}={table}/{LOAD_DATE}={date}/",
        )
    return out
