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
from csv2ddb_core.contract import HASH_KEY, HASH_KEY_TYPE

from csv2ddb.settings import Settings

log = logging.getLogger(__name__)

BILLING_MODE = "PAY_PER_REQUEST"
PITR_ATTEMPTS = 10
PITR_RETRY_DELAY = 3.0


class TableSchemaMismatch(RuntimeError):
    """The table exists with a different key schema than csv2ddb writes."""


@dataclass(frozen=True)
class TableSpec:
    name: str
    hash_key: str
    range_key: str | None = None
    hash_key_type: str = "S"
    range_key_type: str = "S"

    def key_schema(self) -> list[dict[str, str]]:
        schema = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key:
            schema.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        return schema

    def attribute_definitions(self) -> list[dict[str, str]]:
        keys = [(self.hash_key, self.hash_key_type)]
        if self.range_key:
            keys.append((self.range_key, self.range_key_type))
        return [{"AttributeName": name, "AttributeType": kind} for name, kind in keys]

    def key_shape(self) -> list[tuple[str, str, str]]:
        return key_shape(
            {"KeySchema": self.key_schema(), "AttributeDefinitions": self.attribute_definitions()}
        )


def items_table_spec(settings: Settings, table: str | None = None) -> TableSpec:
    """The loaded items: the key the load core writes (``csv2ddb_core.contract.HASH_KEY``)."""
    return TableSpec(name=table or settings.table, hash_key=HASH_KEY, hash_key_type=HASH_KEY_TYPE)


def audit_table_spec(settings: Settings) -> TableSpec:
    """One audit record per (DAG run, source file)."""
    return TableSpec(name=settings.audit_table, hash_key="dag_run_id", range_key="source")


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


def ensure_table(
    client: Any,
    spec: TableSpec,
    *,
    tags: dict[str, str] | None = None,
    delay_seconds: float = 2,
    max_attempts: int = 150,
) -> dict[str, Any]:
    """Create or verify ``spec``; return ``{"table", "created", "status", "pitr"}``."""
    description = describe(client, spec.name)
    created = False
    if description is None:
        log.info("table %s does not exist: creating it (%s)", spec.name, BILLING_MODE)
        created = create_table(client, spec, tags)
    else:
        _refuse_mismatch(spec, description)
    description = wait_active(client, spec.name, delay_seconds, max_attempts)
    _refuse_mismatch(spec, description)  # another run may have created it with other keys
    pitr = ensure_pitr(client, spec.name)
    return {"table": spec.name, "created": created, "status": description["TableStatus"], "pitr": pitr}


def _refuse_mismatch(spec: TableSpec, description: dict[str, Any]) -> None:
    problem = key_mismatch(spec, description)
    if problem:
        raise TableSchemaMismatch(problem)
