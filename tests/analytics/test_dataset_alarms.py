"""A staleness alarm per dataset, against the emulator: the bootstrap gives every dataset file's
table its own alarm (tagged as ours, on the dashboard), a second create changes nothing, a removed
dataset's alarm is retired by create and by delete, and the staleness check drives a never-loaded
dataset's alarm to ALARM, its message reaching the alerts topic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from csv2ddb.analytics import metrics
from csv2ddb.analytics.config import analytics_config
from csv2ddb.bootstrap import Sources
from csv2ddb.bootstrap.analytics_alarms import RetiredStaleAlarm, analytics_alarms
from csv2ddb.bootstrap.analytics_stack import analytics_resources
from csv2ddb.bootstrap.base import Resource
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.dynamodb_tables import audit_table
from csv2ddb.bootstrap.model import CREATED, DELETED, UNCHANGED, UPDATED
from csv2ddb.bootstrap.sns_topic import AlertsTopic
from csv2ddb.bootstrap.stack import ensure, remove, status
from csv2ddb.history.audit import STATUS_VERIFIED, put_record, utc_now
from csv2ddb.settings import STACK_TAG_KEY, Settings
from csv2ddb_dev.dataset_files import deploy_datasets, event_dataset

from tests.analytics.alerts import stale_series, subscribe_queue
from tests.analytics.conftest import Place

pytestmark = pytest.mark.emulator

DATASETS = {"orders": "raw/orders/", "returns": "raw/returns/"}


@pytest.fixture
def datasets_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "datasets"
    deploy_datasets(folder, {name: event_dataset(name, prefix) for name, prefix in DATASETS.items()})
    return folder


def context(settings: Settings, folder: Path) -> StackContext:
    """A stack operation's context: the dataset files are read anew, as by each create/status/delete."""
    return StackContext(settings, Sources(datasets_dir=folder))


def stack_of(ctx: StackContext) -> list[Resource]:
    return [AlertsTopic(ctx), audit_table(ctx), *analytics_resources(ctx)]


def table_of(settings: Settings, name: str) -> str:
    return f"{settings.prefix}-{name}"  # event_dataset's default table name


def stale_alarms(ctx: StackContext) -> dict[str, dict[str, Any]]:
    """Every staleness alarm of this stack's name prefix, as CloudWatch lists it (not through our code)."""
    prefix = analytics_config(ctx.settings).stale_alarm_prefix
    found = ctx.client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
    return {alarm["AlarmName"]: alarm for alarm in found}


@pytest.fixture
def made(place: Place, airflow_aws: None, datasets_dir: Path) -> Iterator[StackContext]:
    """The topic, the audit table and the analytics resources, created by the bootstrap."""
    ctx = context(place.settings, datasets_dir)
    changes = [ensure(r) for r in stack_of(ctx)]
    assert {c.action for c in changes} == {CREATED}, changes
    yield ctx
    for resource in reversed(stack_of(context(place.settings, datasets_dir))):
        remove(resource)


def test_every_dataset_s_table_gets_its_own_staleness_alarm(made: StackContext, datasets_dir: Path) -> None:
    settings, cfg = made.settings, analytics_config(made.settings)
    watched = sorted([settings.table, *(table_of(settings, name) for name in DATASETS)])
    alarms = stale_alarms(made)
    assert sorted(alarms) == [cfg.stale_alarm(table) for table in watched]
    cw = made.client("cloudwatch")
    for table in watched:
        alarm = alarms[cfg.stale_alarm(table)]
        assert alarm["MetricName"] == metrics.STALE
        assert alarm["Dimensions"] == [{"Name": metrics.TABLE, "Value": table}]
        assert alarm["AlarmActions"] == [made.topic_arn]
        tags = {
            t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
        }
        assert tags[STACK_TAG_KEY] == settings.prefix
    body = json.loads(cw.get_dashboard(DashboardName=cfg.dashboard)["DashboardBody"])
    shown = body["widgets"][-1]["properties"]["alarms"]
    assert [arn.rsplit(":", 1)[1] for arn in shown] == [
        cfg.failure_alarm,
        cfg.reject_rate_alarm,
        *(cfg.stale_alarm(table) for table in watched),
    ]

    again = [ensure(r) for r in stack_of(context(settings, datasets_dir))]
    assert {c.action for c in again} == {UNCHANGED}, again


def test_a_removed_dataset_s_alarm_is_retired_and_delete_removes_every_one(
    made: StackContext, datasets_dir: Path
) -> None:
    settings, cfg = made.settings, analytics_config(made.settings)
    cw = made.client("cloudwatch")
    # Not ours (no stack tag), though its name has our prefix: never touched.
    foreign = cfg.stale_alarm("someone-else")
    cw.put_metric_alarm(
        AlarmName=foreign,
        Namespace="elsewhere",
        MetricName="Stale",
        Statistic="Maximum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    try:
        (datasets_dir / "returns.yaml").unlink()
        returns = cfg.stale_alarm(table_of(settings, "returns"))

        # A broken dataset file hides which table it names: nothing is retired meanwhile.
        (datasets_dir / "broken.yaml").write_text("files: {prefix: raw/broken/}\n")
        held = context(settings, datasets_dir)
        assert held.datasets().errors
        assert returns in [a.name for a in analytics_alarms(held)]
        assert not any(isinstance(a, RetiredStaleAlarm) for a in analytics_alarms(held))
        assert {ensure(a).action for a in analytics_alarms(held)} == {UNCHANGED}
        (datasets_dir / "broken.yaml").unlink()

        ctx = context(settings, datasets_dir)
        seen = {r.name: status(r) for r in stack_of(ctx)}
        assert seen[returns].exists
        assert not seen[returns].ok
        assert "create deletes it" in seen[returns].detail
        assert not seen[cfg.dashboard].ok  # its alarm widget still lists the retired alarm

        changes = {c.name: c.action for c in (ensure(r) for r in stack_of(ctx))}
        assert changes.pop(returns) == DELETED
        assert changes.pop(cfg.dashboard) == UPDATED
        assert set(changes.values()) == {UNCHANGED}, changes
        assert sorted(stale_alarms(made)) == sorted(
            [foreign, cfg.stale_alarm(settings.table), cfg.stale_alarm(table_of(settings, "orders"))]
        )
        again = [ensure(r) for r in stack_of(context(settings, datasets_dir))]
        assert {c.action for c in again} == {UNCHANGED}, again

        # Delete after the last dataset file went too: its alarm still goes with the stack.
        (datasets_dir / "orders.yaml").unlink()
        removed = {
            c.name: c.action for c in (remove(r) for r in reversed(stack_of(context(settings, datasets_dir))))
        }
        assert removed[cfg.stale_alarm(table_of(settings, "orders"))] == DELETED
        assert removed[cfg.stale_alarm(settings.table)] == DELETED
        assert list(stale_alarms(made)) == [foreign]
    finally:
        cw.delete_alarms(AlarmNames=[foreign])


def test_the_staleness_check_drives_a_never_loaded_dataset_s_alarm(
    made: StackContext, datasets_dir: Path
) -> None:
    settings, cfg = made.settings, analytics_config(made.settings)
    orders, returns = table_of(settings, "orders"), table_of(settings, "returns")
    put_record(
        made.client("dynamodb"),
        settings.audit_table,
        {
            "dag_run_id": "manual__orders-today",
            "source": f"s3://{settings.bucket}/raw/orders/today.csv",
            "dag_id": "csv2ddb_load__orders",
            "dataset": "orders",
            "table": orders,
            "status": STATUS_VERIFIED,
            "recorded_at": utc_now(),
        },
    )
    messages = subscribe_queue(made, "alarm-inbox")

    figures = metrics.staleness_step(settings, datasets_dir)

    assert figures[returns] == {metrics.STALE: 1.0}  # declared, never loaded, never cataloged
    assert figures[settings.table] == {metrics.STALE: 1.0}
    assert figures[orders][metrics.STALE] == 0.0
    assert 0 <= figures[orders][metrics.FRESHNESS] < 3600
    # What each dataset's alarm reads on AWS: its own Table series.
    assert stale_series(made.client("cloudwatch"), settings, returns) == [1.0]
    assert stale_series(made.client("cloudwatch"), settings, orders) == [0.0]
    (alarm,) = made.client("cloudwatch").describe_alarms(AlarmNames=[cfg.stale_alarm(returns)])[
        "MetricAlarms"
    ]
    assert alarm["StateValue"] == "ALARM"
    bodies = messages()
    assert any(json.loads(b).get("AlarmName") == cfg.stale_alarm(returns) for b in bodies), bodies
    # Not asserted: the orders alarm's state. ministack evaluates an alarm over every series of its
    # metric name whatever the dimensions (docs/analytics.md), so here it fires too; on AWS it reads
    # its own series above (0).
