"""CloudWatch alarms to the alerts topic: a failed load, a reject rate over the threshold, and one
staleness alarm per watched table (no verified load within its expected interval).

The watched tables are the stack's items table and every dataset's table, from the deployment's
dataset files (``StackContext.datasets``: the folder the routing table is published from, and the
one the dataset DAGs and the staleness check read, ``registry.deployed_dir``). So a new dataset file
gets its alarm from the next ``create``, like its route. A staleness alarm of ours whose table no
dataset names any more (its file was removed) is *retired*: ``create`` deletes it (missing data is
breaching, so it would page forever), ``status`` shows it, ``delete`` removes it with the rest.
While a dataset file is broken nothing is retired: the broken file's table is unknown.

The metrics are ``csv2ddb.analytics.metrics``' (one definition of each name).
"""

from __future__ import annotations

from typing import Any

from csv2ddb.analytics.config import Analytics, analytics_config
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


# The stack-wide alarms, by the name ``analytics_alarms`` gives them.
STACK_ALARMS = {"failure": failure_alarm_spec, "reject-rate": reject_rate_alarm_spec}


class Alarm(AnalyticsResource):
    """One metric alarm, tagged as ours, its action the alerts topic."""

    kind = "cloudwatch-alarm"

    def __init__(self, ctx: StackContext, which: str) -> None:
        super().__init__(ctx)
        self.which = which

    @property
    def spec(self) -> dict[str, Any]:
        return STACK_ALARMS[self.which](self.cfg, self.ctx.topic_arn)

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


class StaleAlarm(Alarm):
    """The staleness alarm of one watched table (``Stale``, ``Table=<table>``)."""

    def __init__(self, ctx: StackContext, table: str) -> None:
        super().__init__(ctx, "stale")
        self.table = table

    @property
    def spec(self) -> dict[str, Any]:
        return stale_alarm_spec(self.cfg, self.ctx.topic_arn, self.table)


class RetiredStaleAlarm(StaleAlarm):
    """A staleness alarm of ours whose table no dataset of the deployment names any more."""

    retired = True

    @property
    def reason(self) -> str:
        return f"no dataset of {self.ctx.sources.datasets_dir} loads into {self.table} any more"

    def observe(self) -> Observation:
        observed = super().observe()
        if not observed.exists or not observed.owned:
            return observed
        return Observation(exists=True, drift=(f"{self.reason}: create deletes it",))

    def delete(self) -> str:
        return f"{super().delete()}: {self.reason}"


def watched_tables(ctx: StackContext) -> tuple[str, ...]:
    """The stack's items table and every dataset's table: one staleness alarm each."""
    return analytics_config(ctx.settings).watched_tables(ctx.datasets().tables)


def owned_stale_tables(ctx: StackContext) -> set[str]:
    """The tables of the staleness alarms that exist and carry our stack tag."""
    cfg, cw = analytics_config(ctx.settings), ctx.client("cloudwatch")
    found: set[str] = set()
    pages = cw.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=cfg.stale_alarm_prefix, AlarmTypes=["MetricAlarm"]
    )
    for page in pages:
        for alarm in page.get("MetricAlarms", []):
            actual = tags.from_list(cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags"))
            if tags.is_owned(actual, ctx.settings):
                found.add(alarm["AlarmName"][len(cfg.stale_alarm_prefix) :])
    return found


def analytics_alarms(ctx: StackContext) -> list[Alarm]:
    """The stack's alarms: failure, reject rate, a staleness alarm per watched table, then (with the
    analytics side on) our staleness alarms of other tables: retired, or, while a dataset file is
    broken (its table unknown), kept as they are, so ``delete`` still removes them."""
    watched = watched_tables(ctx)
    alarms: list[Alarm] = [Alarm(ctx, "failure"), Alarm(ctx, "reject-rate")]
    alarms += [StaleAlarm(ctx, table) for table in watched]
    if ctx.settings.load.processed:
        others = sorted(owned_stale_tables(ctx) - set(watched))
        kind = StaleAlarm if ctx.datasets().errors else RetiredStaleAlarm
        alarms += [kind(ctx, table) for table in others]
    return alarms
