"""Key schemas of the two DynamoDB tables csv2ddb owns (the loaded items and the audit log).

Shared by the bootstrap and the load DAG's ensure-table step so the schema is written once.
"""

from __future__ import annotations

from dataclasses import dataclass

from csv2ddb.settings import Settings

# Attributes the Glue job adds to every item (see docs/glue-job.md).
ATTR_INGESTION_TIMESTAMP = "ingestion_timestamp"
ATTR_SOURCE_FILE = "source_file"
ATTR_LOAD_RUN_ID = "load_run_id"


@dataclass(frozen=True)
class TableSpec:
    name: str
    hash_key: str
    range_key: str | None = None

    def key_schema(self) -> list[dict[str, str]]:
        schema = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key:
            schema.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        return schema

    def attribute_definitions(self) -> list[dict[str, str]]:
        keys = [self.hash_key] + ([self.range_key] if self.range_key else [])
        return [{"AttributeName": k, "AttributeType": "S"} for k in keys]


def items_table_spec(settings: Settings, table: str | None = None) -> TableSpec:
    """The loaded items: one string hash key (``id`` by default), no range key."""
    return TableSpec(name=table or settings.table, hash_key=settings.table_hash_key)


def audit_table_spec(settings: Settings) -> TableSpec:
    """One audit record per (DAG run, source file)."""
    return TableSpec(name=settings.audit_table, hash_key="dag_run_id", range_key="source")
