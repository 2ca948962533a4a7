"""The analytics step of one load: metrics always; for a verified load whose processed zone was
written, its catalog partitions and the Athena reconciliation. One call from the verify step.

How the two results combine (docs/analytics.md): the audit record's ``status`` stays the
DynamoDB verification's (by the key list); this step adds ``analytics_status``:

- ``reconciled``: Athena counted ``rows_written`` rows of this run in the processed zone;
- ``count_mismatch``: it counted another number (an alert is sent);
- ``failed``: the zone was not written, the catalog or Athena failed (an alert is sent);
- ``skipped``: the load was not verified, so nothing is registered or queried;
- ``off``: the processed zone is off for this load.

An analytics failure never raises into the verify step: a load verified by its keys stays
verified, and is never rolled back because its analytics failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from csv2ddb.alerts import publish_analytics_failure
from csv2ddb.analytics.athena import reconcile
from csv2ddb.analytics.catalog import register_load
from csv2ddb.analytics.config import Analytics, analytics_config
from csv2ddb.analytics.metrics import publish_load
from csv2ddb.analytics.status import COUNT_MISMATCH, FAILED, OFF, SKIPPED
from csv2ddb.history.audit import STATUS_VERIFIED
from csv2ddb.settings import Settings

log = logging.getLogger(__name__)


def _zone_of(manifest: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The manifest's ``processed`` (a dict manifest, or the typed one's ``extra``)."""
    if manifest is None:
        return None
    if isinstance(manifest, Mapping):
        return manifest.get("processed")
    return (getattr(manifest, "extra", None) or {}).get("processed") or getattr(manifest, "processed", None)


def _figure(manifest: Any, name: str) -> Any:
    return manifest.get(name) if isinstance(manifest, Mapping) else getattr(manifest, name, None)


def zone_fields(zone: Mapping[str, Any]) -> dict[str, Any]:
    """What the audit record keeps of the processed zone the job wrote."""
    fields: dict[str, Any] = {
        "processed_location": zone.get("location"),
        "processed_rows": zone.get("rows"),
        "processed_bytes": zone.get("bytes"),
    }
    if zone.get("coerced"):
        fields["processed_coerced"] = dict(zone["coerced"])
    return fields


def analyze_load(
    settings: Settings,
    table: str,
    run_id: str,
    manifest: Any,
    verified: bool,
    cfg: Analytics | None = None,
) -> dict[str, Any]:
    """Metrics, partitions, Athena count for one load; the audit record's ``analytics_*`` fields.
    An analytics failure is returned (and alerted), never raised."""
    cfg = cfg or analytics_config(settings)
    fields: dict[str, Any] = {}
    started = time.monotonic()
    try:
        publish_load(cfg, table, manifest if isinstance(manifest, Mapping) else _as_dict(manifest), verified)
        zone = _zone_of(manifest)
        if not verified:
            fields["analytics_status"] = SKIPPED
        elif zone is None:
            fields["analytics_status"] = OFF
        elif zone.get("error"):
            fields.update(analytics_status=FAILED, analytics_error=str(zone["error"]))
        else:
            rows_written = int(_figure(manifest, "rows_written") or 0)
            fields.update(zone_fields(zone))
            fields.update(register_load(cfg, table, zone))
            fields.update(reconcile(cfg, table, zone["load_date"], run_id, rows_written))
    except Exception as exc:  # reported and alerted: the DynamoDB load stays verified
        log.exception("analytics of run %s failed", run_id)
        fields.update(analytics_status=FAILED, analytics_error=f"{type(exc).__name__}: {exc}")
    # The step's own cost (metrics, catalog, Athena), the figure the verify step adds to a load.
    fields["analytics_seconds"] = round(time.monotonic() - started, 3)
    if fields["analytics_status"] in (FAILED, COUNT_MISMATCH):
        publish_analytics_failure(settings, table, run_id, fields["analytics_error"])
    return fields


def _as_dict(manifest: Any) -> Mapping[str, Any] | None:
    if manifest is None:
        return None
    to_dict = getattr(manifest, "to_dict", None)
    return to_dict() if callable(to_dict) else None


def audit_fields(settings: Settings, load: Mapping[str, Any], manifest: Any, status: str) -> dict[str, Any]:
    """The verify step's one call: ``analyze_load`` for a planned file (``load``: its plan) whose
    audit ``status`` is known; the fields to add to its audit record."""
    return analyze_load(settings, load["table"], load["run_id"], manifest, status == STATUS_VERIFIED)
