"""The CloudWatch dashboard of the stack's loads: rows, rejects, seconds, verified/failed,
freshness and the alarms (the stack's two and every watched table's staleness alarm). Dashboards
carry no tags: the body's first widget names the stack (``csv2ddb:stack=<prefix>``), and only a
dashboard saying so is ours to change or delete."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from csv2ddb.analytics.config import Analytics
from csv2ddb.analytics.metrics import (
    FAILED,
    FRESHNESS,
    LOAD_SECONDS,
    REJECT_RATE,
    ROWS_DUPLICATE,
    ROWS_PER_SECOND,
    ROWS_REJECTED,
    ROWS_WRITTEN,
    TABLE,
    VERIFIED,
)
from csv2ddb.bootstrap.analytics_alarms import watched_tables
from csv2ddb.bootstrap.analytics_base import AnalyticsResource
from csv2ddb.bootstrap.base import is_error
from csv2ddb.bootstrap.model import MISSING, Observation
from csv2ddb.settings import STACK_TAG_KEY


def dashboard_body(cfg: Analytics, region: str, alarm_arns: list[str]) -> dict[str, Any]:
    table = cfg.settings.table

    def graph(title: str, names: list[str], stat: str, x: int, y: int) -> dict[str, Any]:
        metrics = [[cfg.namespace, n, TABLE, table] for n in names]
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {"title": title, "region": region, "stat": stat, "period": 300, "metrics": metrics},
        }

    marker = f"{STACK_TAG_KEY}={cfg.settings.prefix}"
    return {
        "widgets": [
            {
                "type": "text",
                "x": 0,
                "y": 0,
                "width": 24,
                "height": 2,
                "properties": {
                    "markdown": f"## csv2ddb loads into {table}\n{marker} · Athena workgroup "
                    f"`{cfg.workgroup}`, database `{cfg.database}`"
                },
            },
            graph("Rows per load", [ROWS_WRITTEN, ROWS_REJECTED, ROWS_DUPLICATE], "Sum", 0, 2),
            graph("Load seconds and rows/s", [LOAD_SECONDS, ROWS_PER_SECOND], "Maximum", 12, 2),
            graph("Verified / failed loads", [VERIFIED, FAILED], "Sum", 0, 8),
            graph("Reject rate (%) and freshness (s)", [REJECT_RATE, FRESHNESS], "Maximum", 12, 8),
            {
                "type": "alarm",
                "x": 0,
                "y": 14,
                "width": 24,
                "height": 3,
                "properties": {"title": "Alarms", "alarms": alarm_arns},
            },
        ]
    }


class LoadsDashboard(AnalyticsResource):
    kind = "cloudwatch-dashboard"

    @property
    def name(self) -> str:
        return self.cfg.dashboard

    @property
    def body(self) -> dict[str, Any]:
        # Every dataset's staleness alarm too: the widget shows which dataset went stale.
        stale = [self.cfg.stale_alarm(table) for table in watched_tables(self.ctx)]
        alarms = [self.cfg.failure_alarm, self.cfg.reject_rate_alarm, *stale]
        arns = [self.ctx.arn("cloudwatch", f"alarm:{a}") for a in alarms]
        return dashboard_body(self.cfg, self.settings.region, arns)

    def observe(self) -> Observation:
        try:
            got = self.ctx.client("cloudwatch").get_dashboard(DashboardName=self.name)
        except ClientError as exc:
            if is_error(exc, "ResourceNotFound", "ResourceNotFoundException"):
                return MISSING
            raise
        have = json.loads(got.get("DashboardBody") or "{}")
        marker = f"{STACK_TAG_KEY}={self.settings.prefix}"
        if marker not in json.dumps(have):
            return Observation(exists=True, owned=False)
        return Observation(exists=True, drift=("body differs",) if have != self.body else ())

    def create(self) -> str:
        self.ctx.client("cloudwatch").put_dashboard(
            DashboardName=self.name, DashboardBody=json.dumps(self.body)
        )
        return self.cfg.dashboard_url

    def repair(self, observed: Observation) -> str:
        self.create()
        return "; ".join(observed.drift)

    def delete(self) -> str:
        self.ctx.client("cloudwatch").delete_dashboards(DashboardNames=[self.name])
        return "deleted"
