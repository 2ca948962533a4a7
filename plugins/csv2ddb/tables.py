"""The DynamoDB tables csv2ddb owns (loaded items, audit log): their specs and the ONE way to
create, wait for, and check them.

Used by both the bootstrap (``bootstrap/dynamodb_tables.py``: create / status / repair) and the
load DAG's ensure-table step, so a table is created with the same key schema, billing mode and
point-in-time recovery whichever path makes it. A missing table is created on demand
(PAY_PER_REQUEST: no capacity to guess for a bulk load); an existing table with another key
schema is refused, naming both schemas, because writing into it would fail row by row deep
inside the job, or worse, land in the wrong shape.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from csv2ddb_core.contract import KeyAttr, KeySchema

from csv2ddb.settings import Settings

log = logging.getLogger(__name__)

BILLING_MODE = "PAY_PER_REQUEST"
PITR_ATTEMPTS = 10
PITR_RETRY_DELAY = 3.0


class TableSchemaMismatch(RuntimeError):
    """The table exists with a different key schema than csv2ddb writes."""


def _key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index projecting every attribute: an access pattern the table's own key
    cannot serve (e.g. the audit log by time), answered by Query instead of a full Scan."""

    name: str
    hash_key: str
    range_key: str | None = None
    hash_key_type: str = "S"
    range_key_type: str = "S"

    def key_schema(self) -> list[dict[str, str]]:
        return _key_schema(self.hash_key, self.range_key)

    def key_types(self) -> list[tuple[str, str]]:
        keys = [(self.hash_key, self.hash_key_type)]
        if self.range_key:
            keys.append((self.range_key, self.range_key_type))
        return keys

    def definition(self) -> dict[str, Any]:
        """The ``GlobalSecondaryIndexes`` entry of CreateTable / ``Create`` of UpdateTable."""
        return {
            "IndexName": self.name,
            "KeySchema": self.key_schema(),
            "Projection": {"ProjectionType": "ALL"},
        }


@dataclass(frozen=True)
class TableSpec:
    name: str
    hash_key: str
    range_key: str | None = None
    hash_key_type: str = "S"
    range_key_type: str = "S"
    indexes: tuple[IndexSpec, ...] = ()
    ttl_attribute: str | None = None  # DynamoDB TTL on this (N epoch) attribute

    def key_schema(self) -> list[dict[str, str]]:
        return _key_schema(self.hash_key, self.range_key)

    def attribute_definitions(self, indexes: tuple[IndexSpec, ...] | None = None) -> list[dict[str, str]]:
        """The table's keys plus the keys of ``indexes`` (default: all of the spec's indexes)."""
        keys = [(self.hash_key, self.hash_key_type)]
        if self.range_key:
            keys.append((self.range_key, self.range_key_type))
        for index in self.indexes if indexes is None else indexes:
            keys += index.key_types()
        types: dict[str, str] = {}
        for name, kind in keys:
            types.setdefault(name, kind)
        return [{"AttributeName": name, "AttributeType": kind} for name, kind in types.items()]

    def key_shape(self) -> list[tuple[str, str, str]]:
        return key_shape(
            {"KeySchema": self.key_schema(), "AttributeDefinitions": self.attribute_definitions()}
        )


# The audit log's access patterns (the Loads page; see docs/ui.md): every record carries dag_id,
# status, table, source and recorded_at, so each index covers every record, with no derived
# attribute to backfill. An audit record is written once per file loaded: four index writes each
# cost nothing next to the load itself.
AUDIT_BY_TIME = IndexSpec("by_time", hash_key="dag_id", range_key="recorded_at")
AUDIT_BY_STATUS = IndexSpec("by_status", hash_key="status", range_key="recorded_at")
AUDIT_BY_TABLE = IndexSpec("by_table", hash_key="table", range_key="recorded_at")
AUDIT_BY_FILE = IndexSpec("by_file", hash_key="dag_id", range_key="source")
# Sparse on purpose: only a dataset DAG's load records carry ``dataset`` (an ad-hoc load of
# csv2ddb_load has none), so this index holds exactly the dataset loads, one partition per dataset:
# the Loads page's dataset filter and its per-dataset overview (last load, last verified load).
AUDIT_BY_DATASET = IndexSpec("by_dataset", hash_key="dataset", range_key="recorded_at")


def items_table_spec(
    settings: Settings,
    table: str | None = None,
    keys: KeySchema | None = None,
    ttl_attribute: str | None = None,
) -> TableSpec:
    """The loaded items, keyed as the load writes them (``keys``; default: the settings' key schema)."""
    keys = keys or settings.key_schema
    return TableSpec(
        name=table or settings.table,
        hash_key=keys.partition.name,
        hash_key_type=keys.partition.type,
        range_key=keys.sort.name if keys.sort else None,
        range_key_type=keys.sort.type if keys.sort else "S",
        ttl_attribute=ttl_attribute,
    )


def key_schema_of(description: dict[str, Any]) -> KeySchema:
    """The key schema of an existing table (DescribeTable), for loads that do not name one."""
    shape = {key_type: KeyAttr(name, kind) for name, key_type, kind in key_shape(description)}
    return KeySchema(shape["HASH"], shape.get("RANGE"))


def audit_table_spec(settings: Settings) -> TableSpec:
    """One audit record per (DAG run, source file); queried by time, status, table, file and dataset."""
    return TableSpec(
        name=settings.audit_table,
        hash_key="dag_run_id",
        range_key="source",
        indexes=(AUDIT_BY_TIME, AUDIT_BY_STATUS, AUDIT_BY_TABLE, AUDIT_BY_FILE, AUDIT_BY_DATASET),
    )


def key_shape(description: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, key type, attribute type) per key, as DescribeTable reports them."""
    types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
    return [
        (k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?"))
        for k in description["KeySchema"]
    ]


def key_mismatch(spec: TableSpec, description: dict[str, Any]) -> str:
    """Empty when the table's keys are the spec's; else a message naming both schemas."""
    actual, wanted = key_shape(description), spec.key_shape()
    if actual == wanted:
        return ""
    return (
        f"table {spec.name} exists with key schema {actual}, but csv2ddb writes {wanted} "
        "(name, key type, attribute type); a key schema cannot change in place: load into another "
        "table, or delete this one"
    )


def index_drift(spec: TableSpec, description: dict[str, Any]) -> list[str]:
    """One message per index of ``spec`` that is missing or has other keys; empty when all match."""
    missing = [f"index {index.name} missing" for index in missing_indexes(spec, description)]
    return missing + wrong_indexes(spec, description)


def wrong_indexes(spec: TableSpec, description: dict[str, Any]) -> list[str]:
    """A message per index of ``spec`` that exists with other keys (it cannot change in place)."""
    actual = {g["IndexName"]: g for g in description.get("GlobalSecondaryIndexes", [])}
    definitions = description.get("AttributeDefinitions", [])
    problems = []
    for index in spec.indexes:
        found = actual.get(index.name)
        if found is None:
            continue
        shape = key_shape({"KeySchema": found["KeySchema"], "AttributeDefinitions": definitions})
        wanted = key_shape(
            {"KeySchema": index.key_schema(), "AttributeDefinitions": spec.attribute_definitions()}
        )
        if shape != wanted:
            problems.append(
                f"index {index.name} has keys {shape}, want {wanted} (an index cannot change in place: "
                "delete it, then run create again)"
            )
    return problems


def missing_indexes(spec: TableSpec, description: dict[str, Any]) -> list[IndexSpec]:
    present = {g["IndexName"] for g in description.get("GlobalSecondaryIndexes", [])}
    return [index for index in spec.indexes if index.name not in present]


def add_index(
    client: Any, spec: TableSpec, index: IndexSpec, delay_seconds: float = 2, max_attempts: int = 450
) -> None:
    """UpdateTable ``Create`` one index (AWS takes one per call), then wait until it is ACTIVE
    (AWS backfills it from the existing items first; the emulator is ACTIVE at once)."""
    log.info("table %s: adding index %s", spec.name, index.name)
    client.update_table(
        TableName=spec.name,
        AttributeDefinitions=spec.attribute_definitions(indexes=(index,)),
        GlobalSecondaryIndexUpdates=[{"Create": index.definition()}],
    )
    for _ in range(max_attempts):
        indexes = client.describe_table(TableName=spec.name)["Table"].get("GlobalSecondaryIndexes", [])
        status = next((g.get("IndexStatus") for g in indexes if g["IndexName"] == index.name), None)
        if status == "ACTIVE":
            return
        time.sleep(delay_seconds)
    raise RuntimeError(f"index {index.name} of table {spec.name} not ACTIVE after {max_attempts} checks")


def ensure_indexes(client: Any, spec: TableSpec, description: dict[str, Any]) -> list[str]:
    """Add the spec's missing indexes; refuse an index whose keys differ. Returns the names added."""
    wrong = wrong_indexes(spec, description)
    if wrong:
        raise TableSchemaMismatch(f"table {spec.name}: " + "; ".join(wrong))
    added = []
    for index in missing_indexes(spec, description):
        add_index(client, spec, index)
        added.append(index.name)
    return added


def describe(client: Any, name: str) -> dict[str, Any] | None:
    """DescribeTable's ``Table``, or None when there is no such table."""
    try:
        return client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def create_table(client: Any, spec: TableSpec, tags: dict[str, str] | None = None) -> bool:
    """CreateTable (on-demand); False when another run created it first."""
    kwargs: dict[str, Any] = {
        "TableName": spec.name,
        "KeySchema": spec.key_schema(),
        "AttributeDefinitions": spec.attribute_definitions(),
        "BillingMode": BILLING_MODE,
    }
    if spec.indexes:
        kwargs["GlobalSecondaryIndexes"] = [index.definition() for index in spec.indexes]
    if tags:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    try:
        client.create_table(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
        return False
    return True


def wait_active(client: Any, name: str, delay_seconds: float = 2, max_attempts: int = 150) -> dict[str, Any]:
    """Wait until the table exists and is ACTIVE; return its description."""
    waiter = client.get_waiter("table_exists")
    waiter.wait(TableName=name, WaiterConfig={"Delay": delay_seconds, "MaxAttempts": max_attempts})
    description = client.describe_table(TableName=name)["Table"]
    if description["TableStatus"] != "ACTIVE":
        raise RuntimeError(f"table {name} is {description['TableStatus']}, not ACTIVE")
    return description


def pitr_status(client: Any, name: str) -> str:
    backups = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    return str(backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED"))


def ensure_pitr(client: Any, name: str, retry_delay: float = PITR_RETRY_DELAY) -> str:
    """Point-in-time recovery on (so a bad load can be rolled back); returns the status.

    AWS refuses PITR for a short while after a table becomes ACTIVE
    (ContinuousBackupsUnavailableException): retried, bounded, then it fails loudly.
    """
    status = pitr_status(client, name)
    if status == "ENABLED":
        return status
    log.info("enabling point-in-time recovery on %s (was %s)", name, status)
    for attempt in range(1, PITR_ATTEMPTS + 1):
        try:
            result = client.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
            description = result["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
            return str(description.get("PointInTimeRecoveryStatus", "UNKNOWN"))
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code != "ContinuousBackupsUnavailableException" or attempt == PITR_ATTEMPTS:
                raise
            time.sleep(retry_delay)
    raise AssertionError("unreachable: the loop returns or raises")


def ensure_ttl(client: Any, name: str, attribute: str) -> str:
    """TTL on for ``attribute`` (the load's ttl_column); refuses a table whose TTL is another one."""
    current = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
    status, on = current.get("TimeToLiveStatus", "DISABLED"), current.get("AttributeName")
    if status in ("ENABLED", "ENABLING") and on == attribute:
        return f"{status} on {attribute}"
    if status in ("ENABLED", "ENABLING"):
        raise TableSchemaMismatch(
            f"table {name} has TTL on {on!r}; this load's ttl_column is {attribute!r} (a table has one)"
        )
    log.info("turning TTL on for %s.%s", name, attribute)
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )
    return f"ENABLED on {attribute}"


def ensure_table(
    client: Any,
    spec: TableSpec,
    *,
    tags: dict[str, str] | None = None,
    delay_seconds: float = 2,
    max_attempts: int = 150,
) -> dict[str, Any]:
    """Create or verify ``spec`` (adding missing indexes); return ``{"table", "created", "status", "pitr"}``
    (plus ``indexes_added`` when it added any)."""
    description = describe(client, spec.name)
    created = False
    if description is None:
        log.info("table %s does not exist: creating it (%s)", spec.name, BILLING_MODE)
        created = create_table(client, spec, tags)
    else:
        _refuse_mismatch(spec, description)
    description = wait_active(client, spec.name, delay_seconds, max_attempts)
    _refuse_mismatch(spec, description)  # another run may have created it with other keys
    added = ensure_indexes(client, spec, description)
    pitr = ensure_pitr(client, spec.name)
    result = {"table": spec.name, "created": created, "status": description["TableStatus"], "pitr": pitr}
    if spec.ttl_attribute:
        result["ttl"] = ensure_ttl(client, spec.name, spec.ttl_attribute)
    if added:
        result["indexes_added"] = added
    return result


def _refuse_mismatch(spec: TableSpec, description: dict[str, Any]) -> None:
    problem = key_mismatch(spec, description)
    if problem:
        raise TableSchemaMismatch(problem)
