"""The DynamoDB tables: on-demand billing, point-in-time recovery, tags, secondary indexes.

Specs, creation, the ACTIVE wait, PITR and the key-schema check come from ``csv2ddb.tables``, the
same code the DAG's ensure-table step runs. A key schema cannot be changed in place: that drift is
reported and ``create`` refuses to "repair" it. A missing index (e.g. the audit table's, on a stack
created before it existed) is drift that ``create`` repairs by adding it.
"""

from __future__ import annotations

from typing import Any

from csv2ddb import tables
from csv2ddb.bootstrap import tags
from csv2ddb.bootstrap.base import Resource
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.model import MISSING, BootstrapError, Observation
from csv2ddb.tables import TableSpec, audit_table_spec, items_table_spec


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
        return tables.describe(self.ctx.client("dynamodb"), self.name)

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
        drift += tables.index_drift(self.spec, table)
        billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        if billing != tables.BILLING_MODE:
            drift.append(f"billing mode {billing}, want {tables.BILLING_MODE}")
        if tables.pitr_status(ddb, self.name) != "ENABLED":
            drift.append("point-in-time recovery disabled")
        return Observation(exists=True, drift=tuple(drift))

    def _key_drift(self, table: dict[str, Any]) -> str:
        return tables.key_mismatch(self.spec, table)

    def create(self) -> str:
        ddb = self.ctx.client("dynamodb")
        tables.create_table(ddb, self.spec, self.settings.tags)
        tables.wait_active(ddb, self.name)
        tables.ensure_pitr(ddb, self.name)
        keys = ", ".join(f"{k['AttributeName']} ({k['KeyType']})" for k in self.spec.key_schema())
        indexes = "".join(f", index {index.name}" for index in self.spec.indexes)
        return f"keys {keys}{indexes}, on-demand, point-in-time recovery"

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
        try:
            tables.ensure_indexes(ddb, self.spec, table)
        except tables.TableSchemaMismatch as exc:
            raise BootstrapError(str(exc)) from exc
        ddb.tag_resource(ResourceArn=table["TableArn"], Tags=tags.as_list(self.settings.tags))
        if table.get("BillingModeSummary", {}).get("BillingMode") != tables.BILLING_MODE:
            ddb.update_table(TableName=self.name, BillingMode=tables.BILLING_MODE)
            tables.wait_active(ddb, self.name)
        tables.ensure_pitr(ddb, self.name)
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
