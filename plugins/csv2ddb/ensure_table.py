"""Make sure the target table exists with the key schema the Glue job writes, before loading.

A missing table is created on demand (PAY_PER_REQUEST: no capacity to guess for a bulk load),
waited for until ACTIVE, and gets point-in-time recovery so a bad load can be rolled back. An
existing table with another key schema is refused: writing items keyed by ``id`` into it
would fail row by row deep inside the job, or worse, land in the wrong shape.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from csv2ddb.tables import TableSpec

log = logging.getLogger(__name__)


class TableSchemaMismatch(RuntimeError):
    """The table exists with a different key schema than csv2ddb writes."""


def _key_shape(description: dict[str, Any]) -> list[tuple[str, str, str]]:
    types = {a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])}
    return [
        (k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?"))
        for k in description["KeySchema"]
    ]


def _describe(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def check_key_schema(spec: TableSpec, description: dict[str, Any]) -> None:
    """Raise TableSchemaMismatch naming both schemas when they differ."""
    wanted = _key_shape(
        {"KeySchema": spec.key_schema(), "AttributeDefinitions": spec.attribute_definitions()}
    )
    actual = _key_shape(description)
    if actual != wanted:
        raise TableSchemaMismatch(
            f"table {spec.name} exists with key schema {actual}, but csv2ddb writes {wanted} "
            "(name, key type, attribute type); load into another table or fix the table"
        )


def ensure_table(
    client: Any,
    spec: TableSpec,
    *,
    tags: dict[str, str] | None = None,
    delay_seconds: float = 2,
    max_attempts: int = 150,
) -> dict[str, Any]:
    """Create or verify ``spec``; return ``{"table", "created", "status", "pitr"}``."""
    description = _describe(client, spec.name)
    created = False
    if description is None:
        log.info("table %s does not exist: creating it (PAY_PER_REQUEST)", spec.name)
        kwargs: dict[str, Any] = {
            "TableName": spec.name,
            "KeySchema": spec.key_schema(),
            "AttributeDefinitions": spec.attribute_definitions(),
            "BillingMode": "PAY_PER_REQUEST",
        }
        if tags:
            kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        try:
            client.create_table(**kwargs)
            created = True
        except ClientError as exc:
            # Another run created it between describe and create: fall through to the check.
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
    else:
        check_key_schema(spec, description)
    waiter = client.get_waiter("table_exists")
    waiter.wait(TableName=spec.name, WaiterConfig={"Delay": delay_seconds, "MaxAttempts": max_attempts})
    description = client.describe_table(TableName=spec.name)["Table"]
    check_key_schema(spec, description)
    if description["TableStatus"] != "ACTIVE":
        raise RuntimeError(f"table {spec.name} is {description['TableStatus']}, not ACTIVE")
    pitr = _ensure_pitr(client, spec.name)
    return {"table": spec.name, "created": created, "status": description["TableStatus"], "pitr": pitr}


def _ensure_pitr(client: Any, name: str) -> str:
    backups = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    status = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED")
    if status != "ENABLED":
        log.info("enabling point-in-time recovery on %s (was %s)", name, status)
        result = client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
        desc = result["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        status = desc.get("PointInTimeRecoveryStatus", "UNKNOWN")
    return status
