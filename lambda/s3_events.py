"""S3 ObjectCreated records -> the objects they name, whether S3 invoked us or SQS carried them.

S3 sends its notification to the events queue (bootstrap: ``sqs-queue``); the queue's event source
mapping invokes the trigger Lambda with SQS records whose bodies are S3 events (or S3's one-off
``s3:TestEvent``). A direct S3 invocation (the shape before issue 24, still used by tests and by
anyone wiring S3 straight to the function) carries the S3 records themselves.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger("csv2ddb.trigger_dag")


@dataclass(frozen=True)
class S3Object:
    """One object named by an S3 event record, with the key already URL-decoded."""

    bucket: str
    key: str
    etag: str
    version_id: str | None
    size: int | None
    sequencer: str | None
    uploaded_by: str | None = None  # the record's userIdentity.principalId: who uploaded it

    @property
    def identity(self) -> tuple[str, str, str]:
        """What makes two events the same file: bucket, key and content (etag). Uploading the same
        bytes again (a new version id, the same etag) is the same file: it is loaded once."""
        return (self.bucket, self.key, self.etag)

    def conf(self) -> dict[str, Any]:
        """The object as the load DAG's conf describes it (``conf.objects[]``, or the top level);
        ``uploaded_by`` only when the event named the uploader."""
        conf: dict[str, Any] = {
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "version_id": self.version_id,
            "size": self.size,
            "sequencer": self.sequencer,
        }
        if self.uploaded_by:
            conf["uploaded_by"] = self.uploaded_by
        return conf


def parse_records(event: dict[str, Any]) -> list[S3Object]:
    """Every ObjectCreated record of an S3 event; keys arrive URL-encoded (spaces as '+')."""
    objects = []
    for record in event.get("Records") or []:
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record.get("s3") or {}
        obj = s3.get("object") or {}
        size = obj.get("size")
        objects.append(
            S3Object(
                bucket=str((s3.get("bucket") or {}).get("name", "")),
                key=urllib.parse.unquote_plus(str(obj.get("key", ""))),
                etag=str(obj.get("eTag") or obj.get("etag") or "").strip('"'),
                version_id=obj.get("versionId") or None,
                size=int(size) if size is not None else None,
                sequencer=obj.get("sequencer") or None,
                uploaded_by=str((record.get("userIdentity") or {}).get("principalId") or "") or None,
            )
        )
    return objects


def is_sqs_event(event: dict[str, Any]) -> bool:
    records = event.get("Records") or []
    return bool(records) and all(r.get("eventSource") == "aws:sqs" for r in records)


def objects_of_message(body: str) -> list[S3Object]:
    """The objects of one SQS message body (an S3 event); none for ``s3:TestEvent``. A body that is
    not JSON is logged and yields nothing: it can never become a load, and retrying cannot fix it."""
    try:
        event = json.loads(body)
    except json.JSONDecodeError:
        LOG.warning("ignoring an events-queue message that is not JSON: %.200s", body)
        return []
    if not isinstance(event, dict):
        LOG.warning("ignoring an events-queue message that is not an S3 event: %.200s", body)
        return []
    if event.get("Event") == "s3:TestEvent":
        LOG.info("ignoring s3:TestEvent for bucket %s", event.get("Bucket"))
        return []
    return parse_records(event)


def first_per_identity(objects: list[S3Object]) -> list[S3Object]:
    """One object per identity (the earliest event, by S3's sequencer), sorted by bucket and key:
    S3 delivers events at least once, and an upload of the same bytes twice is one file."""
    chosen: dict[tuple[str, str, str], S3Object] = {}
    for obj in objects:
        have = chosen.get(obj.identity)
        if have is None or _sequencer(obj) < _sequencer(have):
            chosen[obj.identity] = obj
    return sorted(chosen.values(), key=lambda o: (o.bucket, o.key, o.etag))


def _sequencer(obj: S3Object) -> str:
    """S3 sequencers of one key compare as hex strings of equal length after left-padding."""
    return (obj.sequencer or "").rjust(32, "0")
