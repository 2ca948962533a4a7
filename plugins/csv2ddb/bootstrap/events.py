"""The event path that coalesces a burst (issue 24): S3 -> events queue (SQS) -> the trigger Lambda.

S3 notifies the events queue (``s3_trigger.BucketNotification``); the queue's event source mapping
invokes the trigger Lambda, which drains the queue until it is quiet and starts ONE DAG run for all
the objects (``lambda/queue_drain.py``, docs/events.md). The queue keeps every event until its run
exists: messages are deleted only after Airflow answered 201 or 409, come back after the visibility
timeout when the trigger failed, and land in the dead-letter queue after ``MAX_RECEIVES`` tries,
where they stay ``RETENTION_SECONDS`` for a person to redrive.

The queues' names derive from the stack prefix (``lambda_function.queue_name`` and here).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from csv2ddb import tables
from csv2ddb.bootstrap import tags
from csv2ddb.bootstrap.base import Resource, canonical_policy, is_error
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.dynamodb_tables import Table
from csv2ddb.bootstrap.lambda_function import TIMEOUT_SECONDS, claims_table_name, queue_name
from csv2ddb.bootstrap.model import MISSING, BootstrapError, Observation
from csv2ddb.settings import Settings

RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: events outlive a long Airflow outage
# SQS requires at least the function's timeout for a queue a Lambda consumes; twice leaves room.
VISIBILITY_SECONDS = 2 * TIMEOUT_SECONDS
# Tries of one event before it moves to the dead-letter queue: a failed trigger retries every 30 s
# (CSV2DDB_EVENT_RETRY_SECONDS), so 50 receives ride out an Airflow outage of about half an hour.
MAX_RECEIVES = 50
BATCH_SIZE = 10  # the mapping's batch; the handler drains the rest itself (the emulator caps at 10)
# At most this many handlers drain at once (AWS's minimum for an SQS mapping is 2).
MAX_CONCURRENCY = 2


def dead_letter_queue_name(settings: Settings) -> str:
    return f"{settings.prefix}-events-dlq"


class _Queue(Resource):
    """An SQS queue with its attributes and tags; subclasses say which attributes."""

    kind = "sqs-queue"

    def attributes(self) -> dict[str, str]:
        return {"MessageRetentionPeriod": str(RETENTION_SECONDS), "SqsManagedSseEnabled": "true"}

    @property
    def arn(self) -> str:
        return self.ctx.arn("sqs", self.name)

    def url(self) -> str | None:
        try:
            return str(self.ctx.client("sqs").get_queue_url(QueueName=self.name)["QueueUrl"])
        except ClientError as exc:
            if is_error(exc, "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                return None
            raise

    def observe(self) -> Observation:
        url = self.url()
        if url is None:
            return MISSING
        sqs = self.ctx.client("sqs")
        actual = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        if not tags.is_owned(actual, self.settings):
            return Observation(exists=True, owned=False)
        drift = tags.drift(actual, self.settings)
        have = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
        notes = []
        for name, want in self.attributes().items():
            if name not in have:  # an endpoint that does not report it (the emulator: SSE)
                notes.append(f"{name} not reported by this endpoint (unverified)")
            elif _comparable(name, have[name]) != _comparable(name, want):
                drift.append(f"{name} differs")
        return Observation(exists=True, drift=tuple(drift), notes=tuple(notes))

    def create(self) -> str:
        sqs = self.ctx.client("sqs")
        sqs.create_queue(QueueName=self.name, Attributes=self.attributes(), tags=self.settings.tags)
        return self.arn

    def repair(self, observed: Observation) -> str:
        sqs = self.ctx.client("sqs")
        url = self.url()
        sqs.set_queue_attributes(QueueUrl=url, Attributes=self.attributes())
        sqs.tag_queue(QueueUrl=url, Tags=self.settings.tags)
        return "; ".join(observed.drift)

    def delete(self) -> str:
        self.ctx.client("sqs").delete_queue(QueueUrl=self.url())
        return "deleted"


def _comparable(name: str, value: str) -> Any:
    if name == "Policy":
        return canonical_policy(value)
    if name == "RedrivePolicy":
        doc = json.loads(value)
        return (doc.get("deadLetterTargetArn"), int(doc.get("maxReceiveCount", 0)))
    return str(value).lower()


class EventDeadLetterQueue(_Queue):
    """Where an event goes after ``MAX_RECEIVES`` failed tries: kept, never dropped."""

    @property
    def name(self) -> str:
        return dead_letter_queue_name(self.settings)


class EventQueue(_Queue):
    """The queue S3 notifies; only our bucket in our account may send to it."""

    @property
    def name(self) -> str:
        return queue_name(self.settings)

    def attributes(self) -> dict[str, str]:
        dlq_arn = self.ctx.arn("sqs", dead_letter_queue_name(self.settings))
        return {
            **super().attributes(),
            "VisibilityTimeout": str(VISIBILITY_SECONDS),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES}),
            "Policy": json.dumps(self.policy()),
        }

    def policy(self) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "S3EventsFromOurBucket",
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": self.arn,
                    # Bucket ARNs carry no account: pin it so a same-named bucket elsewhere cannot send.
                    "Condition": {
                        "ArnLike": {"aws:SourceArn": self.ctx.bucket_arn},
                        "StringEquals": {"aws:SourceAccount": self.ctx.account},
                    },
                }
            ],
        }


class EventSourceMapping(Resource):
    """The events queue -> the trigger Lambda; ours when the function is ours (it lives on it)."""

    kind = "lambda-event-source"

    @property
    def name(self) -> str:
        return f"{queue_name(self.settings)}->{self.settings.lambda_function_name}"

    @property
    def queue_arn(self) -> str:
        return self.ctx.arn("sqs", queue_name(self.settings))

    def wanted(self) -> dict[str, Any]:
        return {
            "BatchSize": BATCH_SIZE,
            "MaximumBatchingWindowInSeconds": 0,  # the handler's own window does it (queue_drain)
            "ScalingConfig": {"MaximumConcurrency": MAX_CONCURRENCY},
        }

    def _function_owned(self) -> bool | None:
        lam = self.ctx.client("lambda")
        try:
            config = lam.get_function_configuration(FunctionName=self.settings.lambda_function_name)
        except ClientError as exc:
            if is_error(exc, "ResourceNotFoundException"):
                return None
            raise
        return tags.is_owned(lam.list_tags(Resource=config["FunctionArn"]).get("Tags", {}), self.settings)

    def _mapping(self) -> dict[str, Any] | None:
        lam = self.ctx.client("lambda")
        found = lam.list_event_source_mappings(
            EventSourceArn=self.queue_arn, FunctionName=self.settings.lambda_function_name
        ).get("EventSourceMappings", [])
        return found[0] if found else None

    def observe(self) -> Observation:
        owned = self._function_owned()
        if owned is None:
            return MISSING
        if not owned:
            return Observation(exists=True, owned=False)
        mapping = self._mapping()
        if mapping is None:
            return MISSING
        drift = [
            f"{field} {mapping.get(field)!r}, want {want!r}"
            for field, want in self.wanted().items()
            if mapping.get(field) != want
        ]
        if mapping.get("State") in ("Disabled", "Disabling"):
            drift.append(f"state {mapping['State']}")
        return Observation(exists=True, drift=tuple(drift))

    def create(self) -> str:
        self.ctx.client("lambda").create_event_source_mapping(
            EventSourceArn=self.queue_arn,
            FunctionName=self.settings.lambda_function_name,
            Enabled=True,
            **self.wanted(),
        )
        return f"batches of {BATCH_SIZE}, at most {MAX_CONCURRENCY} at once"

    def repair(self, observed: Observation) -> str:
        mapping = self._mapping()
        if mapping is None:
            raise BootstrapError(f"event source mapping {self.name} vanished while being repaired")
        lam = self.ctx.client("lambda")
        lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True, **self.wanted())
        return "; ".join(observed.drift)

    def delete(self) -> str:
        mapping = self._mapping()
        if mapping is None:
            return "already gone"
        self.ctx.client("lambda").delete_event_source_mapping(UUID=mapping["UUID"])
        return "deleted"


class ClaimsTable(Table):
    """Which run each object went to (``lambda/claims.py``): HASH ``object`` = bucket/key/etag; items
    expire through DynamoDB TTL on ``expires_at`` (90 days, set by the Lambda)."""

    def __init__(self, ctx: StackContext) -> None:
        name = claims_table_name(ctx.settings)
        super().__init__(ctx, tables.TableSpec(name=name, hash_key="object", ttl_attribute="expires_at"))

    def create(self) -> str:
        detail = super().create()
        tables.ensure_ttl(self.ctx.client("dynamodb"), self.name, "expires_at")
        return f"{detail}, TTL on expires_at"
