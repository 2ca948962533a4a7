"""Coalesce a burst of S3 events: after the event source mapping hands us a batch, keep taking
messages from the events queue until it has been quiet for a moment, the window is over, or the
batch is full; one DAG run then loads them all (issue 24: 1,000 uploads must not be 1,000 runs).

Why the handler drains the queue itself: Lambda's own ``MaximumBatchingWindowInSeconds`` would do
this on AWS, but the local emulator ignores it and caps a batch at 10 messages, so a burst would
still be a run per 10 files there. One mechanism that works on both keeps the tests honest.

Nothing is lost: a drained message is deleted only after its objects' DAG run exists (Airflow
answered 201 or 409). If the trigger fails they stay in the queue and come back after the
visibility timeout; after ``maxReceiveCount`` receives they move to the dead-letter queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger("csv2ddb.trigger_dag")
RECEIVE_MAX = 10  # SQS's limit per ReceiveMessage


@dataclass(frozen=True)
class DrainLimits:
    """When to stop waiting for more events (environment, written by the bootstrap)."""

    window_seconds: float = 20.0  # never wait longer than this after the first event
    quiet_seconds: float = 3.0  # stop once no new message arrived for this long
    max_objects: int = 500  # at most this many objects in one DAG run
    retry_seconds: int = 30  # a failed trigger's messages come back after this long

    @classmethod
    def from_env(cls, env: dict[str, str]) -> DrainLimits:
        return cls(
            window_seconds=float(env.get("CSV2DDB_EVENT_WINDOW_SECONDS", cls.window_seconds)),
            quiet_seconds=float(env.get("CSV2DDB_EVENT_QUIET_SECONDS", cls.quiet_seconds)),
            max_objects=int(env.get("CSV2DDB_EVENT_MAX_OBJECTS", cls.max_objects)),
            retry_seconds=int(env.get("CSV2DDB_EVENT_RETRY_SECONDS", cls.retry_seconds)),
        )


@dataclass
class Drained:
    """The messages this invocation took from the queue itself (the mapping's own batch is deleted
    by Lambda when the handler returns normally), and the mapping's batch (``given``)."""

    sqs: Any
    queue_url: str
    limits: DrainLimits
    given: list[str] = field(default_factory=list)  # receipt handles of the mapping's batch
    bodies: list[str] = field(default_factory=list)
    receipt_handles: list[str] = field(default_factory=list)


def queue_url_of(sqs: Any, queue_arn: str) -> str:
    """The URL of the queue an SQS record came from (``eventSourceARN``: arn:…:sqs:region:account:name)."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {queue_arn!r}")
    return str(sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"])


def drain(
    drained: Drained,
    count_objects: Callable[[list[str]], int],
    already: int,
    clock: Callable[[], float] = time.monotonic,
) -> Drained:
    """Receive from the queue until quiet, the window ends, or ``limits.max_objects`` objects
    (``already`` of them came with the mapping's batch; ``count_objects`` counts a list of bodies)."""
    sqs, queue_url, limits = drained.sqs, drained.queue_url, drained.limits
    deadline = clock() + limits.window_seconds
    total = already
    while total < limits.max_objects:
        remaining = deadline - clock()
        if remaining <= 0:
            break
        wait = max(1, min(20, int(min(remaining, limits.quiet_seconds))))  # SQS long poll: 1..20 s
        # No more than the run has room for (an S3 event message names one object): a run of 509
        # objects made a third inline group of 9 files, a whole task start for them.
        room = max(1, min(RECEIVE_MAX, limits.max_objects - total))
        resp = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=room, WaitTimeSeconds=wait)
        messages = resp.get("Messages") or []
        if not messages:
            break  # quiet: the burst is over (or paused); what arrives later makes its own run
        bodies = [m["Body"] for m in messages]
        drained.bodies += bodies
        drained.receipt_handles += [m["ReceiptHandle"] for m in messages]
        total += count_objects(bodies)
    LOG.info("drained %d more message(s) from the events queue", len(drained.bodies))
    return drained


def delete_drained(drained: Drained) -> int:
    """Delete what this invocation received itself, 10 at a time; returns how many could not be
    deleted. Those are logged, not raised: their run exists, and failing the invocation would send
    the mapping's batch round again. A message that comes back names objects the load DAG finds
    already verified, so it loads nothing twice."""
    handles = drained.receipt_handles
    not_deleted = 0
    for start in range(0, len(handles), RECEIVE_MAX):
        chunk = handles[start : start + RECEIVE_MAX]
        entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)]
        resp = drained.sqs.delete_message_batch(QueueUrl=drained.queue_url, Entries=entries)
        failed = resp.get("Failed") or []
        if failed:
            LOG.error("%d drained message(s) not deleted after their run started: %s", len(failed), failed[0])
            not_deleted += len(failed)
    return not_deleted


def retry_later(drained: Drained) -> None:
    """After a failed trigger: every message of this invocation (the mapping's batch and the drained
    ones) becomes visible again in ``limits.retry_seconds`` instead of the queue's visibility
    timeout, so a short outage of Airflow delays a burst by seconds, not minutes. Each retry counts
    towards the dead-letter queue's ``maxReceiveCount``."""
    handles = drained.given + drained.receipt_handles
    for start in range(0, len(handles), RECEIVE_MAX):
        chunk = handles[start : start + RECEIVE_MAX]
        entries = [
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": drained.limits.retry_seconds}
            for i, h in enumerate(chunk)
        ]
        resp = drained.sqs.change_message_visibility_batch(QueueUrl=drained.queue_url, Entries=entries)
        for failure in resp.get("Failed") or []:
            LOG.warning("message keeps the queue's visibility timeout: %s", failure)
