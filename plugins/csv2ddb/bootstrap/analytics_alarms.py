"""CloudWatch alarms to the alerts topic: a failed load, a reject rate over the threshold, and
the stack's items table with no verified load within its expected interval (staleness).

The metrics are ``csv2ddb.analytics.metrics``' (one definition of each name). A dataset loaded
into another table gets its staleness alarm from ``stale_alarm_spec`` the same way.
"""

from __future__ import annotations

from typing import Any

from csv2ddb.analytics.config import Analytics
from csv2ddb.analytics.metrics import FAILED, REJECT_RATE, STALE, STALE_PERIOD_SECONDS, TABLE
from csv2ddb.bootstrap import tags
from csv2ddb.bootstrap.analytics_base import AnalyticsResource
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.model import MISSING, Observation

LOAD_PERIOD = 300  # a failed load or a high reject rate alarms within five minutes
COMPARED = (
    "Namespace",
    "MetricName",
    "Statistic",
    "Period",
    "EvaluationPeriods",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "AlarmActions",
)


def _alarm(cfg: Analytics, topic: str, name: str, metric: str, **spec: Any) -> dict[str, Any]:
    return {
        "AlarmName": name,
        "Namespace": cfg.namespace,
        "MetricName": metric,
        "Statistic": "Maximum",
        "EvaluationPeriods": 1,
        "ActionsEnabled": True,
        "AlarmActions": [topic],
        **spec,
    }


def failure_alarm_spec(cfg: Analytics, topic: str) -> dict[str, Any]:
    return _alarm(
        cfg,
        topic,
        cfg.failure_alarm,
        FAILED,
        AlarmDescription="A csv2ddb load failed (any dataset)",
        Period=LOAD_PERIOD,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )


def reject_rate_alarm_spec(cfg: Analytics, topic: str) -> dict[str, Any]:
    return _alarm(
        cfg,
        topic,
        cfg.reject_rate_alarm,
        REJECT_RATE,
        AlarmDescription=f"A csv2ddb load rejected more than {cfg.reject_rate_alarm_percent:g}% of its rows",
        Period=LOAD_PERIOD,
        Threshold=float(cfg.reject_rate_alarm_percent),
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )


def stale_alarm_spec(cfg: Analytics, topic: str, table: str) -> dict[str, Any]:
    return _alarm(
        cfg,
        topic,
        cfg.stale_alarm(table),
        STALE,
        AlarmDescription=f"No verified csv2ddb load of {table} within {cfg.stale_after_hours:g} h",
        Dimensions=[{"Name": TABLE, "Value": table}],
        Period=STALE_PERIOD_SECONDS,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="breaching",
    )


class Alarm(AnalyticsResource):
    """One metric alarm, tagged as ours, its action the alerts topic."""

    kind = "cloudwatch-alarm"

    def __init__(self, ctx: StackContext, which: str) -> None:
        super().__init__(ctx)
        self.which = which

    @property
    def spec(self) -> dict[str, Any]:
        topic = self.ctx.topic_arn
        if self.which == "failure":
            return failure_alarm_spec(self.cfg, topic)
        if self.which == "reject-rate":
            return reject_rate_alarm_spec(self.cfg, topic)
        return stale_alarm_spec(self.cfg, topic, self.settings.table)

    @property
    def name(self) -> str:
        return str(self.spec["AlarmName"])

    @property
    def arn(self) -> str:
        return self.ctx.arn("cloudwatch", f"alarm:{self.name}")

    def observe(self) -> Observation:
        cw = self.ctx.client("cloudwatch")
        found = cw.describe_alarms(AlarmNames=[self.name], AlarmTypes=["MetricAlarm"]).get("MetricAlarms", [])
        if not found:
            return MISSING
        actual = tags.from_list(cw.list_tags_for_resource(ResourceARN=self.arn).get("Tags"))
        if not tags.is_owned(actual, self.settings):
            return Observation(exists=True, owned=False)
        have, want = found[0], self.spec
        drift = [f"{k} {have.get(k)!r}, want {want[k]!r}" for k in COMPARED if have.get(k) != want[k]]
        return Observation(exists=True, drift=tuple(drift + tags.drift(actual, self.settings)))

    def create(self) -> str:
        self.ctx.client("cloudwatch").put_metric_alarm(**self.spec, Tags=tags.as_list(self.settings.tags))
        return f"{self.spec['MetricName']} -> {self.settings.alerts_topic_name}"

    def repair(self, observed: Observation) -> str:
        cw = self.ctx.client("cloudwatch")
        cw.put_metric_alarm(**self.spec)
        cw.tag_resource(ResourceARN=self.arn, Tags=tags.as_list(self.settings.tags))
        return "; ".join(observed.drift)

    def delete(self) -> str:
        self.ctx.client("cloudwatch").delete_alarms(AlarmNames=[self.name])
        return "deleted"


def analytics_alarms(ctx: StackContext) -> list[Alarm]:
    return [Alarm(ctx, "failure"), Alarm(ctx, "reject-rate"), Alarm(ctx, "stale")]
