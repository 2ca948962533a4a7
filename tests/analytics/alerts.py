"""What the analytics tests read back from the emulator: the alerts topic's deliveries and a
table's staleness series (one definition, shared by the tests of the alarms and of the DAG)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from csv2ddb.analytics import metrics
from csv2ddb.analytics.config import analytics_config
from csv2ddb.bootstrap.context import StackContext


def subscribe_queue(ctx: StackContext, name: str = "inbox") -> Callable[..., list[str]]:
    """An SQS queue subscribed to the alerts topic; returns a reader of what SNS delivered."""
    sqs, sns = ctx.client("sqs"), ctx.client("sns")
    url = sqs.create_queue(QueueName=f"{ctx.settings.prefix}-{name}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=ctx.topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )

    def messages(wait: float = 10.0) -> list[str]:
        """The bodies delivered so far, waiting up to ``wait`` s for the first."""
        got: list[str] = []
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not got:
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            got += [m["Body"] for m in answer.get("Messages", [])]
        return got

    return messages


def stale_series(cloudwatch: Any, settings: Any, table: str) -> list[float]:
    """The last hour's Stale figures of one table's series (the series its alarm reads on AWS)."""
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=analytics_config(settings).namespace,
        MetricName=metrics.STALE,
        Dimensions=[{"Name": metrics.TABLE, "Value": table}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    return [point["Maximum"] for point in points]
