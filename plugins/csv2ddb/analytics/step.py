"""The analytics step of a file's load, or of every file of a group run at once: metrics always;
for a verified load whose processed zone was written, its catalog partitions and the Athena
reconciliation, ONE Athena query for all the loads of one table and day. One call from the verify
step (one per group in a bulk verify).

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.providers.amazon.aws.hooks.athena import AthenaHook

from csv2ddb.alerts import publish_analytics_failure
from csv2ddb.analytics.athena import athena_hook, reconcile_runs
from csv2ddb.analytics.catalog import ToRegister, register_loads
from csv2ddb.analytics.config import Analytics, analytics_config
from csv2ddb.analytics.metrics import LoadFigures, publish_loads
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


@dataclass(frozen=True)
class LoadToAnalyze:
    """One load the analytics step looks at: its table, run id, manifest, and whether it verified."""

    table: str
    run_id: str
    manifest: Any
    verified: bool


def analyze_loads(
    settings: Settings, loads: Sequence[LoadToAnalyze], cfg: Analytics | None = None
) -> dict[str, dict[str, Any]]:
    """Metrics, partitions and the Athena count for several loads; per run id, the audit record's
    ``analytics_*`` fields. Batched per call, not per load: one PutMetricData for up to 50 loads
    (``metrics.publish_loads``), one GetTable and one BatchCreatePartition per table
    (``catalog.register_loads``), ONE Athena query for the verified loads of one table and day
    (``athena.reconcile_runs``), on one client of each. Each load keeps its own answer: a failed call
    fails (and alerts) exactly the loads it carried, never raises. ``analytics_seconds`` is each
    load's share of the step."""
    cfg = cfg or analytics_config(settings)
    started = time.monotonic()
    fields: dict[str, dict[str, Any]] = {load.run_id: {} for load in loads}
    unmetered = publish_loads(
        cfg,
        [
            LoadFigures(load.run_id, load.table, _manifest_dict(load.manifest), load.verified)
            for load in loads
        ],
    )
    to_register: list[ToRegister] = []
    zones: dict[str, Mapping[str, Any]] = {}  # run id -> the processed zone of a load to register
    for load in loads:
        mine, zone = fields[load.run_id], _zone_of(load.manifest)
        if load.run_id in unmetered:
            _failed(mine, unmetered[load.run_id])
        elif not load.verified:
            mine["analytics_status"] = SKIPPED
        elif zone is None:
            mine["analytics_status"] = OFF
        elif zone.get("error"):
            mine.update(analytics_status=FAILED, analytics_error=str(zone["error"]))
        else:
            mine.update(zone_fields(zone))
            to_register.append(ToRegister(load.run_id, load.table, zone))
            zones[load.run_id] = zone
    _register(cfg, to_register, fields)
    _count(cfg, [load for load in loads if load.run_id in zones], zones, fields)
    # The step's own cost (metrics, catalog, Athena), the figure the verify step adds to a load.
    share = round((time.monotonic() - started) / max(1, len(loads)), 3)
    for load in loads:
        mine = fields[load.run_id]
        mine["analytics_seconds"] = share
        if mine["analytics_status"] in (FAILED, COUNT_MISMATCH):
            publish_analytics_failure(settings, load.table, load.run_id, mine["analytics_error"])
    return fields


def _failed(mine: dict[str, Any], exc: Exception) -> None:
    log.error("analytics failed: %s: %s", type(exc).__name__, exc)
    mine.update(analytics_status=FAILED, analytics_error=f"{type(exc).__name__}: {exc}")


def _register(cfg: Analytics, loads: Sequence[ToRegister], fields: dict[str, dict[str, Any]]) -> None:
    """The loads' catalog partitions; a load whose part failed is ``failed`` (and not counted)."""
    if not loads:
        return
    for run_id, answer in register_loads(cfg, loads).items():
        if isinstance(answer, Exception):
            _failed(fields[run_id], answer)
        else:
            fields[run_id].update(answer)


def _count(
    cfg: Analytics,
    loads: Sequence[LoadToAnalyze],
    zones: Mapping[str, Mapping[str, Any]],
    fields: dict[str, dict[str, Any]],
) -> None:
    """ONE Athena count per table and day of the registered loads (``zones``: each one's processed
    zone, by run id), with one hook for all."""
    to_count: dict[tuple[str, str], dict[str, int]] = {}  # (table, day) -> run id -> rows written
    for load in loads:
        if fields[load.run_id].get("analytics_status") == FAILED:
            continue
        rows_written = int(_figure(load.manifest, "rows_written") or 0)
        to_count.setdefault((load.table, zones[load.run_id]["load_date"]), {})[load.run_id] = rows_written
    hook: AthenaHook | None = None
    for (table, day), runs in to_count.items():
        try:
            hook = hook or athena_hook(cfg)
            for run_id, counted in reconcile_runs(cfg, table, day, runs, hook).items():
                fields[run_id].update(counted)
        except Exception as exc:  # reported and alerted: the DynamoDB loads stay verified
            log.exception("the Athena count of %d load(s) into %s failed", len(runs), table)
            for run_id in runs:
                fields[run_id].update(analytics_status=FAILED, analytics_error=f"{type(exc).__name__}: {exc}")


def _manifest_dict(manifest: Any) -> Mapping[str, Any] | None:
    return manifest if isinstance(manifest, Mapping) else _as_dict(manifest)


def analyze_load(
    settings: Settings,
    table: str,
    run_id: str,
    manifest: Any,
    verified: bool,
    cfg: Analytics | None = None,
) -> dict[str, Any]:
    """:func:`analyze_loads` of one load."""
    return analyze_loads(settings, [LoadToAnalyze(table, run_id, manifest, verified)], cfg)[run_id]


def _as_dict(manifest: Any) -> Mapping[str, Any] | None:
    if manifest is None:
        return None
    to_dict = getattr(manifest, "to_dict", None)
    return to_dict() if callable(to_dict) else None


def audit_fields(
    settings: Settings, judged: Sequence[tuple[Mapping[str, Any], Any, str]]
) -> dict[str, dict[str, Any]]:
    """The verify step's one call, for one file or a whole group: :func:`analyze_loads` of planned
    files (``load``: its plan), each with its manifest and its audit ``status``; per run id, the
    fields to add to its audit record."""
    loads = [
        LoadToAnalyze(load["table"], load["run_id"], manifest, status == STATUS_VERIFIED)
        for load, manifest, status in judged
    ]
    return analyze_loads(settings, loads)
