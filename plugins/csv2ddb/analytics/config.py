"""Every analytics name and knob, derived from the stack's Settings: one place, nothing retyped.

Names follow the stack prefix like every other resource (``settings.py``); the four knobs read
``CSV2DDB_*`` variables with documented defaults (docs/analytics.md). The processed zone's
S3 layout itself is the load core's (``csv2ddb_core.processed``), imported, never retyped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from csv2ddb_core.processed import (
    DATASET,
    LOAD_DATE,
    PROCESSED_PREFIX,
    rejects_root,
    table_root,
)

from csv2ddb.settings import ENV_PREFIX, Settings

_NOT_CATALOG = re.compile(r"[^a-z0-9_]+")
REJECTS_TABLE = "rejects"
ATHENA_RESULTS_PREFIX = "athena-results/"
MIN_SCAN_LIMIT_MB = 10  # Athena's smallest BytesScannedCutoffPerQuery


def catalog_name(text: str) -> str:
    """A Glue Data Catalog / Athena name: lowercase letters, digits and ``_`` (``my-items`` ->
    ``my_items``); Athena refuses hyphens in unquoted names and Glue lowercases everything."""
    name = _NOT_CATALOG.sub("_", text.lower()).strip("_")
    if not name:
        raise ValueError(f"{text!r} has no letter or digit to name a catalog table after")
    return name


def _bool(raw: str, name: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{ENV_PREFIX}{name} must be true or false, got {raw!r}")


def _number(raw: str, name: str, low: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = low - 1
    if value < low:
        raise ValueError(f"{ENV_PREFIX}{name} must be a number >= {low:g}, got {raw!r}")
    return value


@dataclass(frozen=True)
class Analytics:
    """The analytics names and knobs of one stack."""

    settings: Settings
    # CSV2DDB_PROCESSED: write the processed zone (the job's --processed) and run the analytics
    # step (catalog, Athena, metrics). Off until the local emulator starts Athena and CloudWatch
    # (dev/csv2ddb_dev/emulator.py SERVICES): on, every local load's analytics step would fail.
    processed: bool = False
    reject_rate_alarm_percent: float = 5.0  # CSV2DDB_REJECT_RATE_ALARM_PERCENT
    stale_after_hours: float = 24.0  # CSV2DDB_STALE_AFTER_HOURS: a dataset's expected load interval
    athena_scan_limit_mb: int = 1024  # CSV2DDB_ATHENA_SCAN_LIMIT_MB: the workgroup's per-query cutoff

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
    def failure_alarm(self) -> str:
        return f"{self.settings.prefix}-load-failed"

    @property
    def reject_rate_alarm(self) -> str:
        return f"{self.settings.prefix}-reject-rate"

    def stale_alarm(self, table: str) -> str:
        return f"{self.settings.prefix}-stale-{table}"


def analytics_config(settings: Settings, env: Mapping[str, str] | None = None) -> Analytics:
    """The stack's analytics config; the knobs from ``CSV2DDB_*`` (``os.environ`` by default)."""
    env = os.environ if env is None else env
    knobs: dict[str, object] = {}
    if "CSV2DDB_PROCESSED" in env:
        knobs["processed"] = _bool(env["CSV2DDB_PROCESSED"], "PROCESSED")
    if "CSV2DDB_REJECT_RATE_ALARM_PERCENT" in env:
        knobs["reject_rate_alarm_percent"] = _number(
            env["CSV2DDB_REJECT_RATE_ALARM_PERCENT"], "REJECT_RATE_ALARM_PERCENT", 0
        )
    if "CSV2DDB_STALE_AFTER_HOURS" in env:
        knobs["stale_after_hours"] = _number(env["CSV2DDB_STALE_AFTER_HOURS"], "STALE_AFTER_HOURS", 0.02)
    if "CSV2DDB_ATHENA_SCAN_LIMIT_MB" in env:
        knobs["athena_scan_limit_mb"] = int(
            _number(env["CSV2DDB_ATHENA_SCAN_LIMIT_MB"], "ATHENA_SCAN_LIMIT_MB", MIN_SCAN_LIMIT_MB)
        )
    return Analytics(settings, **knobs)  # type: ignore[arg-type]
