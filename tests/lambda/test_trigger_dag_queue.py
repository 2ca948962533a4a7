"""The handler on the events queue (real SQS in the emulator, a stand-in Airflow API): a burst drained
into ONE run, test events and junk ignored, nothing deleted before its run exists."""

from __future__ import annotations

import json
import time
import uuid
from types import ModuleType
from typing import Any

import boto3
import pytest
from fake_airflow_api import FakeAirflow, s3_event

pytestmark = pytest.mark.emulator


@pytest.fixture
def queue(boto_session: boto3.Session) -> tuple[Any, str, str]:
    sqs = boto_session.client("sqs")
    name = f"events-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, url, arn


@pytest.fixture
def queue_env(lambda_env: FakeAirflow, monkeypatch: pytest.MonkeyPatch) -> FakeAirflow:
    monkeypatch.setenv("CSV2DDB_EVENT_WINDOW_SECONDS", "10")
    monkeypatch.setenv("CSV2DDB_EVENT_QUIET_SECONDS", "1")
    monkeypatch.setenv("CSV2DDB_EVENT_RETRY_SECONDS", "1")
    return lambda_env


def sqs_event(sqs: Any, url: str, arn: str, count: int) -> dict[str, Any]:
    """What the event source mapping hands the handler: ``count`` received messages as SQS records."""
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count, WaitTimeSeconds=1)["Messages"]
    return {"Records": [sqs_record(m, arn) for m in messages]}


def sqs_record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    return {
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
    }


def visible_and_in_flight(sqs: Any, url: str) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(attrs[names[0]]), int(attrs[names[1]])


def test_a_burst_on_the_queue_becomes_one_run(
    trigger_dag: ModuleType, queue_env: FakeAirflow, queue: tuple[Any, str, str]
) -> None:
    sqs, url, arn = queue
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Event": "s3:TestEvent", "Bucket": "b"}))
    keys = [f"raw/burst/f{i:03d}.csv" for i in range(30)]
    for key in keys:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(s3_event(key)))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(s3_event(keys[0])))  # S3 delivered it twice
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(s3_event("outside/x.csv")))
    sqs.send_message(QueueUrl=url, MessageBody="not json")

    summary = trigger_dag.handler(sqs_event(sqs, url, arn, 2), None)

    assert len(queue_env.runs) == 1
    ((run_id, body),) = queue_env.runs.items()
    assert [o["key"] for o in body["conf"]["objects"]] == keys  # each once, sorted
    assert run_id == trigger_dag.batch_dag_run_id([("b", key, "abc123") for key in keys])
    assert summary["skipped"] == [{"key": "outside/x.csv", "reason": "outside raw/"}]
    assert summary["not_deleted"] == 0
    # What it drained itself is gone; the mapping's own 2 messages are Lambda's to delete.
    assert visible_and_in_flight(sqs, url) == (0, 2)


def test_a_failed_trigger_deletes_nothing_and_retries_soon(
    trigger_dag: ModuleType, queue_env: FakeAirflow, queue: tuple[Any, str, str]
) -> None:
    sqs, url, arn = queue
    keys = [f"raw/outage/f{i}.csv" for i in range(12)]
    for key in keys:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(s3_event(key)))
    queue_env.fail_with = 503
    with pytest.raises(trigger_dag.TriggerError, match="12 of 12 records failed"):
        trigger_dag.handler(sqs_event(sqs, url, arn, 3), None)
    assert queue_env.runs == {}
    # Every message comes back after CSV2DDB_EVENT_RETRY_SECONDS (1 s), not the 60 s timeout.
    deadline = time.monotonic() + 30
    while visible_and_in_flight(sqs, url) != (12, 0):
        assert time.monotonic() < deadline, visible_and_in_flight(sqs, url)
        time.sleep(0.5)
    queue_env.fail_with = None
    trigger_dag.handler(sqs_event(sqs, url, arn, 10), None)
    (body,) = queue_env.runs.values()
    assert [o["key"] for o in body["conf"]["objects"]] == sorted(keys)


def test_a_run_takes_no_more_objects_than_its_cap(
    trigger_dag: ModuleType,
    queue_env: FakeAirflow,
    queue: tuple[Any, str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The drain asks SQS for no more messages than the run has room for: a cap of 25 is a run of
    exactly 25 objects (it took up to 9 more, whole receives of 10), the rest stays queued for the
    next collector."""
    monkeypatch.setenv("CSV2DDB_EVENT_MAX_OBJECTS", "25")
    sqs, url, arn = queue
    keys = [f"raw/cap/f{i:03d}.csv" for i in range(32)]
    for key in keys:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(s3_event(key)))

    summary = trigger_dag.handler(sqs_event(sqs, url, arn, 2), None)

    ((_, body),) = queue_env.runs.items()
    assert len(body["conf"]["objects"]) == 25
    assert summary["not_deleted"] == 0
    assert visible_and_in_flight(sqs, url) == (7, 2)  # the mapping's own 2 are Lambda's to delete
