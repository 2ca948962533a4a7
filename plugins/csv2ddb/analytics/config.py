"""Every analytics name and knob, derived from the stack's Settings: one place, nothing retyped.

Names follow the stack prefix like every other resource; the four knobs are ``Settings`` fields
(``CSV2DDB_PROCESSED`` ...: docs/configuration.md). The processed zone's
S3 layout itself is the load core's (``csv2ddb_core.processed``), imported, never retyped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from csv2ddb_core.processed import (
    DATASET,
    LOAD_DATE,
    PROCESSED_PREFIX,
    rejects_root,
    table_root,
)

from csv2ddb.consoles import cloudwatch_dashboard_url
from csv2ddb.settings import Settings

_NOT_CATALOG = re.compile(r"[^a-z0-9_]+")
REJECTS_TABLE = "rejects"
ATHENA_RESULTS_PREFIX = "athena-results/"


def catalog_name(text: str) -> str:
    """A Glue Data Catalog / Athena name: lowercase letters, digits and ``_`` (``my-items`` ->
    ``my_items``); Athena refuses hyphens in unquoted names and Glue lowercases everything."""
    name = _NOT_CATALOG.sub("_", text.lower()).strip("_")
    if not name:
        raise ValueError(f"{text!r} has no letter or digit to name a catalog table after")
    return name


@dataclass(frozen=True)
class Analytics:
    """The analytics names and knobs of one stack (the knobs are ``Settings`` fields)."""

    settings: Settings

    @property
    def processed(self) -> bool:
        """CSV2DDB_PROCESSED: write the processed zone and run the analytics step."""
        return self.settings.load.processed

    @property
    def reject_rate_alarm_percent(self) -> float:
        return self.settings.reject_rate_alarm_percent

    @property
    def stale_after_hours(self) -> float:
        return self.settings.stale_after_hours

    @property
    def athena_scan_limit_mb(self) -> int:
        return self.settings.athena_scan_limit_mb

    # --- the processed zone (the core's layout) ---------------------------------------------------
    @property
    def processed_prefix(self) -> str:
        return PROCESSED_PREFIX

    @property
    def processed_root(self) -> str:
        """Where every dataset's processed folder lies (``s3://<bucket>/processed/``)."""
        return f"s3://{self.settings.bucket}/{self.processed_prefix}"

    def items_location(self, table: str) -> str:
        return f"s3://{self.settings.bucket}/{table_root(self.processed_prefix, table)}"

    @property
    def rejects_location(self) -> str:
        return f"s3://{self.settings.bucket}/{rejects_root(self.settings.rejected_prefix)}"

    @property
    def job_arguments(self) -> dict[str, str]:
        """The load job's processed-zone arguments (``csv2ddb_core.processed.PROCESSED_OPTIONS``)."""
        return {
            "--processed": "true" if self.processed else "false",
            "--processed_prefix": self.processed_prefix,
        }

    # --- the Glue Data Catalog and Athena ---------------------------------------------------------
    @property
    def database(self) -> str:
        return catalog_name(f"{self.settings.prefix}_analytics")

    def items_table(self, table: str) -> str:
        return catalog_name(table)

    @property
    def rejects_table(self) -> str:
        return REJECTS_TABLE

    partition_key = LOAD_DATE
    dataset_key = DATASET

    @property
    def workgroup(self) -> str:
        return f"{self.settings.prefix}-analytics"

    @property
    def athena_output(self) -> str:
        return f"s3://{self.settings.bucket}/{ATHENA_RESULTS_PREFIX}"

    # --- CloudWatch --------------------------------------------------------------------------------
    @property
    def namespace(self) -> str:
        return f"csv2ddb/{self.settings.prefix}"

    @property
    def dashboard(self) -> str:
        return f"{self.settings.prefix}-loads"

    @property
    def dashboard_url(self) -> str:
        """The dashboard in the AWS console (on AWS; the local emulator has no console)."""
        return cloudwatch_dashboard_url(self.settings.region, self.dashboard)

    @property
    def failure_alarm(self) -> str:
        return f"{self.settings.prefix}-load-failed"

    @property
    def reject_rate_alarm(self) -> str:
        return f"{self.settings.prefix}-reject-rate"

    @property
    def stale_alarm_prefix(self) -> str:
        """What every staleness alarm's name starts with (the bootstrap finds its own by it)."""
        return f"{self.settings.prefix}-stale-"

    def stale_alarm(self, table: str) -> str:
        return f"{self.stale_alarm_prefix}{table}"

    def watched_tables(self, dataset_tables: Iterable[str]) -> tuple[str, ...]:
        """The tables watched for staleness: the stack's items table (the generic load DAG's) and
        every dataset's table, each once, sorted. One staleness alarm each."""
        return tuple(sorted({self.settings.table, *dataset_tables}))


def analytics_config(settings: Settings) -> Analytics:
    """The stack's analytics names and knobs."""
    return Analytics(settings)
