"""The DynamoDB tables: on-demand billing, point-in-time recovery, tags.

Key schemas come from ``csv2ddb.tables`` (shared with the DAG's ensure-table step). A key
schema cannot be changed in place: that drift is reported and ``create`` refuses to "repair" it.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from csv2ddb.bootstrap import tags
from csv2ddb.bootstrap.base import Resource, is_error
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.model import MISSING, BootstrapError, Observation
from csv2ddb.tables import TableSpec, audit_table_spec, items_table_spec

PITR_ATTEMPTS = 10
PITR_RETRY_DELAY = 3.0


class Table(Resource):
    kind = "dynamodb-table"

    def __init__(self, ctx: StackContext, spec: TableSpec, *, enabled: bool = True, reason: str = "") -> None:
        super().__init__(ctx)
        self.spec = spec
        self._enabled = enabled
        self._reason = reason

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def enabled(self) -> bool:
        return self._enabled

    @property
    def disabled_reason(self) -> str:
        return self._reason

    def _describe(self) -> dict[str, Any] | None:
        try:
            return self.ctx.client("dynamodb").describe_table(TableName=self.name)["Table"]
        except ClientError as exc:
            if is_error(exc, "ResourceNotFoundException"):
                return None
            raise

    def observe(self) -> Observation:
        table = self._describe()
        if table is None:
            return MISSING
        ddb = self.ctx.client("dynamodb")
        actual_tags = tags.from_list(ddb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags"))
        if not tags.is_owned(actual_tags, self.settings):
            return Observation(exists=True, owned=False)
        drift = tags.drift(actual_tags, self.settings)
        if self._key_drift(table):
            drift.append(self._key_drift(table))
        billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        if billing != "PAY_PER_REQUEST":
            drift.append(f"billing mode {billing}, want PAY_PER_REQUEST")
        if not self._pitr_enabled():
            drift.append("point-in-time recovery disabled")
        return Observation(exists=True, drift=tuple(drift))

    def _key_drift(self, table: dict[str, Any]) -> str:
        actual = sorted((k["AttributeName"], k["KeyType"]) for k in table["KeySchema"])
        want = sorted((k["AttributeName"], k["KeyType"]) for k in self.spec.key_schema())
        return "" if actual == want else f"key schema {actual}, want {want} (cannot change in place)"

    def _pitr_enabled(self) -> bool:
        backups = self.ctx.client("dynamodb").describe_continuous_backups(TableName=self.name)
        description = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        return description.get("PointInTimeRecoveryStatus") == "ENABLED"

    def create(self) -> str:
        ddb = self.ctx.client("dynamodb")
        ddb.create_table(
            TableName=self.name,
            KeySchema=self.spec.key_schema(),
            AttributeDefinitions=self.spec.attribute_definitions(),
            BillingMode="PAY_PER_REQUEST",
            Tags=tags.as_list(self.settings.tags),
        )
        ddb.get_waiter("table_exists").wait(TableName=self.name)
        self._enable_pitr()
        keys = ", ".join(f"{k['AttributeName']} ({k['KeyType']})" for k in self.spec.key_schema())
        return f"keys {keys}, on-demand, point-in-time recovery"

    def _enable_pitr(self) -> None:
        # AWS refuses PITR for a short while after a table becomes ACTIVE
        # (ContinuousBackupsUnavailableException): retry, bounded, then fail loudly.
        for attempt in range(1, PITR_ATTEMPTS + 1):
            try:
                self.ctx.client("dynamodb").update_continuous_backups(
                    TableName=self.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
                )
                return
            except ClientError as exc:
                if not is_error(exc, "ContinuousBackupsUnavailableException") or attempt == PITR_ATTEMPTS:
                    raise
                time.sleep(PITR_RETRY_DELAY)

    def repair(self, observed: Observation) -> str:
        table = self._describe()
        if table is None:
            raise BootstrapError(f"table {self.name} vanished while being repaired")
        if self._key_drift(table):
            raise BootstrapError(
                f"table {self.name}: {self._key_drift(table)}; delete it (or choose another table name) "
                "and run create again"
            )
        ddb = self.ctx.client("dynamodb")
        ddb.tag_resource(ResourceArn=table["TableArn"], Tags=tags.as_list(self.settings.tags))
        if table.get("BillingModeSummary", {}).get("BillingMode") != "PAY_PER_REQUEST":
            ddb.update_table(TableName=self.name, BillingMode="PAY_PER_REQUEST")
            ddb.get_waiter("table_exists").wait(TableName=self.name)
        if not self._pitr_enabled():
            self._enable_pitr()
        return "; ".join(observed.drift)

    def delete(self) -> str:
        ddb = self.ctx.client("dynamodb")
        ddb.delete_table(TableName=self.name)
        ddb.get_waiter("table_not_exists").wait(TableName=self.name)
        return "deleted"


def items_table(ctx: StackContext) -> Table:
    return Table(
        ctx,
        items_table_spec(ctx.settings),
        enabled=ctx.settings.create_table_in_bootstrap,
        reason="not managed here (CSV2DDB_CREATE_TABLE_IN_BOOTSTRAP=false; the load DAG creates it)",
    )


def audit_table(ctx: StackContext) -> Table:
    return Table(ctx, audit_table_spec(ctx.settings))
