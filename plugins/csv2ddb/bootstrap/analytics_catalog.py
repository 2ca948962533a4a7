"""The Glue Data Catalog database of the processed zone, and its rejects table (every dataset's
rejects as Parquet). Each dataset's own table is made by its first load (its columns are the
load's), in ``csv2ddb.analytics.catalog``; deleting the database removes them with it."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from csv2ddb.analytics.catalog import rejects_table_input
from csv2ddb.bootstrap import tags
from csv2ddb.bootstrap.analytics_base import AnalyticsResource
from csv2ddb.bootstrap.base import is_error
from csv2ddb.bootstrap.model import MISSING, Observation
from csv2ddb.settings import STACK_TAG_KEY


class AnalyticsDatabase(AnalyticsResource):
    kind = "glue-database"

    @property
    def name(self) -> str:
        return self.cfg.database

    @property
    def arn(self) -> str:
        return self.ctx.arn("glue", f"database/{self.name}")

    def observe(self) -> Observation:
        glue = self.ctx.client("glue")
        try:
            glue.get_database(Name=self.name)
        except ClientError as exc:
            if is_error(exc, "EntityNotFoundException"):
                return MISSING
            raise
        actual = glue.get_tags(ResourceArn=self.arn).get("Tags") or {}
        if not tags.is_owned(actual, self.settings):
            return Observation(exists=True, owned=False)
        return Observation(exists=True, drift=tuple(tags.drift(actual, self.settings)))

    def create(self) -> str:
        self.ctx.client("glue").create_database(
            DatabaseInput={"Name": self.name, "Description": "csv2ddb processed zone (Parquet per load)"},
            Tags=dict(self.settings.tags),
        )
        return self.arn

    def repair(self, observed: Observation) -> str:
        self.ctx.client("glue").tag_resource(ResourceArn=self.arn, TagsToAdd=dict(self.settings.tags))
        return "; ".join(observed.drift)

    def delete(self) -> str:
        self.ctx.client("glue").delete_database(Name=self.name)
        return "deleted (with every dataset's catalog table; the Parquet files stay in S3)"


class RejectsCatalogTable(AnalyticsResource):
    """External Parquet table over ``<rejected>/parquet/``, partitioned by dataset and load day."""

    kind = "glue-table"

    @property
    def name(self) -> str:
        return f"{self.cfg.database}.{self.cfg.rejects_table}"

    @property
    def spec(self) -> dict[str, Any]:
        return rejects_table_input(self.cfg)

    def observe(self) -> Observation:
        glue = self.ctx.client("glue")
        try:
            table = glue.get_table(DatabaseName=self.cfg.database, Name=self.cfg.rejects_table)["Table"]
        except ClientError as exc:
            if is_error(exc, "EntityNotFoundException"):
                return MISSING
            raise
        if (table.get("Parameters") or {}).get(STACK_TAG_KEY) != self.settings.prefix:
            return Observation(exists=True, owned=False)
        want, have = self.spec, table
        drift = []
        if have["StorageDescriptor"].get("Location") != want["StorageDescriptor"]["Location"]:
            drift.append(f"location {have['StorageDescriptor'].get('Location')!r}")
        cols = [(c["Name"], c["Type"]) for c in have["StorageDescriptor"].get("Columns", [])]
        if cols != [(c["Name"], c["Type"]) for c in want["StorageDescriptor"]["Columns"]]:
            drift.append(f"columns {cols}")
        if [k["Name"] for k in have.get("PartitionKeys", [])] != [k["Name"] for k in want["PartitionKeys"]]:
            drift.append("partition keys")
        return Observation(exists=True, drift=tuple(drift))

    def create(self) -> str:
        self.ctx.client("glue").create_table(DatabaseName=self.cfg.database, TableInput=self.spec)
        return self.cfg.rejects_location

    def repair(self, observed: Observation) -> str:
        self.ctx.client("glue").update_table(DatabaseName=self.cfg.database, TableInput=self.spec)
        return "; ".join(observed.drift)

    def delete(self) -> str:
        self.ctx.client("glue").delete_table(DatabaseName=self.cfg.database, Name=self.cfg.rejects_table)
        return "deleted"
