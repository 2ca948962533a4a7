"""Retry logic of the job's BatchWriteItem writer.

The local emulator never throttles and never returns UnprocessedItems, so these paths cannot be
driven by a real part: a FAKE DynamoDB client scripts those answers here. Everything else about
writing (real requests, real tables) is covered against the emulator in test_load_emulator.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest
from csv2ddb_core.contract import JobError
from csv2ddb_core.keylist import KeyListWriter
from csv2ddb_core.rejects import RejectSink
from csv2ddb_core.writer import BatchWriter, RetryPolicy, WriteExhaustedError


def client_error(code: str, operation: str = "BatchWriteItem") -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": f"fake {code}"}}, operation)


class FakeDynamoDB:
    """Answers BatchWriteItem from a script of outcomes; records every call. No ``meta``: the
    writer then sends the plain request, which is what the fake inspects."""

    def __init__(self, script: list[Any]) -> None:
        self._script: Iterator[Any] = iter(script)
        self.calls: list[list[dict[str, Any]]] = []
        self.put_calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        (requests,) = RequestItems.values()
        with self._lock:
            self.calls.append(requests)
            outcome = next(self._script, "ok")
        if isinstance(outcome, Exception):
            raise outcome
        if outcome == "ok":
            return {"UnprocessedItems": {}}
        # an int n: the last n requests come back unprocessed
        table = next(iter(RequestItems))
        return {"UnprocessedItems": {table: requests[-outcome:]}}

    def put_item(self, TableName: str, Item: dict[str, Any]) -> dict[str, Any]:
        self.put_calls.append(Item)
        if Item["v"]["S"] == "bad":
            raise client_error("ValidationException", "PutItem")
        return {}


def batch(n: int, bad: int = -1) -> list[Any]:
    return [
        ({"PutRequest": {"Item": {"id": {"S": f"k{i}"}, "v": {"S": "bad" if i == bad else "ok"}}}}, i + 2, [])
        for i in range(n)
    ]


@pytest.fixture
def sleeps() -> list[float]:
    return []


_OPEN_SINKS: list[RejectSink | KeyListWriter] = []


@pytest.fixture(autouse=True)
def close_sinks() -> Iterator[None]:
    """Close (and so delete) the temp files of every sink a test made: a load closes its own
    (``load.py``), a writer alone never does, and 15 pairs were left in /tmp per run."""
    yield
    while _OPEN_SINKS:
        _OPEN_SINKS.pop().close()


def new_sinks() -> tuple[RejectSink, KeyListWriter]:
    sinks = (RejectSink(",", "utf-8"), KeyListWriter(("id",)))
    _OPEN_SINKS.extend(sinks)
    return sinks


def make_writer(client: FakeDynamoDB, sleeps: list[float], attempts: int = 4) -> Any:
    policy = RetryPolicy(max_attempts=attempts, base_seconds=0.1, cap_seconds=1.0, sleep=sleeps.append)
    return BatchWriter(client, "t", 1, policy, *new_sinks())


def test_unprocessed_items_are_retried_until_written(sleeps: list[float]) -> None:
    client = FakeDynamoDB([10, 3, "ok"])
    writer = make_writer(client, sleeps)
    writer.submit(batch(25))
    writer.close()
    assert [len(c) for c in client.calls] == [25, 10, 3]
    assert client.calls[1] == client.calls[0][-10:]
    assert writer.written == 25
    assert writer.retried_calls == 2
    assert len(sleeps) == 2
    # full jitter: each sleep is within [0, min(cap, base * 2**attempt)]
    assert 0 <= sleeps[0] <= 0.2
    assert 0 <= sleeps[1] <= 0.4


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
    ],
)
def test_throttling_errors_are_retried(sleeps: list[float], code: str) -> None:
    client = FakeDynamoDB([client_error(code), client_error(code), "ok"])
    writer = make_writer(client, sleeps)
    writer.submit(batch(5))
    writer.close()
    assert len(client.calls) == 3
    assert writer.written == 5
    assert len(sleeps) == 2


def test_exhausted_retries_fail_loudly_with_the_unconfirmed_count(sleeps: list[float]) -> None:
    client = FakeDynamoDB([7, 7, 7, 7, 7])
    writer = make_writer(client, sleeps, attempts=4)
    writer.submit(batch(25))
    with pytest.raises(WriteExhaustedError, match=r"7 row\(s\) still unconfirmed after 4 attempts"):
        writer.close()
    assert len(client.calls) == 4
    assert writer.written == 18
    assert len(sleeps) == 3


def test_throttling_that_never_ends_fails(sleeps: list[float]) -> None:
    client = FakeDynamoDB([client_error("ThrottlingException")] * 10)
    writer = make_writer(client, sleeps, attempts=3)
    writer.submit(batch(25))
    with pytest.raises(WriteExhaustedError, match=r"25 row\(s\) still unconfirmed after 3 attempts"):
        writer.close()
    assert writer.written == 0


def test_other_errors_are_not_retried(sleeps: list[float]) -> None:
    client = FakeDynamoDB([client_error("AccessDeniedException")])
    writer = make_writer(client, sleeps)
    writer.submit(batch(3))
    with pytest.raises(JobError, match="AccessDeniedException"):
        writer.close()
    assert len(client.calls) == 1
    assert not sleeps


def test_an_invalid_item_rejects_only_itself(sleeps: list[float]) -> None:
    """DynamoDB refuses a whole batch for one bad item: the writer finds it with PutItem."""
    client = FakeDynamoDB([client_error("ValidationException")])
    writer = make_writer(client, sleeps)
    writer.submit(batch(4, bad=2))
    writer.close()
    assert writer.written == 3
    assert writer.rejected == 1
    assert len(client.put_calls) == 4


def test_a_failed_writer_stops_the_reader(sleeps: list[float]) -> None:
    client = FakeDynamoDB([client_error("AccessDeniedException")])
    writer = make_writer(client, sleeps)
    writer.submit(batch(2))
    # Ends as soon as the worker's error reaches submit(); the deadline only guards a hang, so a
    # starved worker thread on a busy machine cannot fail the test.
    deadline = time.monotonic() + 300

    def keep_submitting() -> None:
        while time.monotonic() < deadline:
            writer.submit(batch(2))

    with pytest.raises(JobError, match="AccessDeniedException"):
        keep_submitting()
    writer.close(raise_error=False)


def test_backoff_is_capped() -> None:
    slept: list[float] = []
    policy = RetryPolicy(base_seconds=1.0, cap_seconds=3.0, sleep=slept.append)
    for attempt in range(1, 12):
        policy.backoff(attempt)
    assert max(slept) <= 3.0
    assert min(slept) >= 0.0


def test_a_closed_writer_leaves_no_hook_on_a_long_lived_client(sleeps: list[float]) -> None:
    """A Spark worker keeps one real client for all its tasks; each task's writer hooks the client
    to send its pre-encoded body. Closed writers must take their hook with them, or every later
    call runs through one more hook per task the worker ever ran. (A real botocore client, never
    called: emitting the event counts the handlers registered for it.)"""
    import boto3

    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    event = "before-call.dynamodb.BatchWriteItem"

    def handlers() -> int:
        model = client.meta.service_model.operation_model("BatchWriteItem")
        return len(client.meta.events.emit(event, params={}, model=model, context={}))

    before = handlers()
    policy = RetryPolicy(max_attempts=1, base_seconds=0.1, cap_seconds=1.0, sleep=sleeps.append)
    for _ in range(5):
        writer = BatchWriter(client, "t", 1, policy, *new_sinks())
        assert handlers() == before + 1
        writer.close()
    assert handlers() == before


def test_writer_threads_start_with_the_work(sleeps: list[float]) -> None:
    """One thread per submitted batch, up to write_concurrency: a two-batch file (the many-files
    path loads many) starts two threads, not eight; a closed writer leaves none running."""

    def writers() -> int:
        return sum(t.name.startswith("ddb-writer-") for t in threading.enumerate())

    before = writers()
    policy = RetryPolicy(max_attempts=2, base_seconds=0.1, cap_seconds=1.0, sleep=sleeps.append)
    client = FakeDynamoDB([])
    writer = BatchWriter(client, "t", 8, policy, *new_sinks())
    assert writers() == before
    writer.submit(batch(25))
    writer.submit(batch(25))
    assert writers() - before == 2
    writer.close()
    assert writers() == before
    assert writer.written == 50
    many = BatchWriter(client, "t", 3, policy, *new_sinks())
    for _ in range(10):
        many.submit(batch(25))
    assert writers() - before == 3
    many.close()
    assert many.written == 250
    empty = BatchWriter(client, "t", 8, policy, *new_sinks())
    empty.close()
    assert empty.written == 0
