"""Resolve a LoadRequest to the concrete S3 objects of one DAG run (key, etag, size, run id).

S3 is asked through the Amazon provider's ``S3Hook`` (duck-typed here as ``head_object`` /
``get_file_metadata`` so tests can hand in the real hook against the emulator).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from csv2ddb_core.contract import CSV_SUFFIX, is_csv_key, load_run_id
from csv2ddb_core.listing import shared_prefix

from csv2ddb.load.trigger_form import InvalidLoadRequest, LoadRequest

log = logging.getLogger(__name__)


class S3Reader(Protocol):
    def head_object(self, key: str | None = None, bucket_name: str | None = None) -> dict | None: ...

    def get_file_metadata(self, prefix: str, bucket_name: str | None = None) -> list: ...


def _etag(raw: str | None) -> str:
    return (raw or "").strip('"')


def _load(
    request: LoadRequest,
    dag_run_id: str,
    key: str,
    etag: str,
    size: int,
    version_id: str | None,
    uploaded_by: str | None = None,
) -> dict[str, Any]:
    return {
        "bucket": request.bucket,
        "key": key,
        "source_uri": f"s3://{request.bucket}/{key}",
        "etag": etag,
        "size": int(size),
        "version_id": version_id,
        "table": request.table,
        "reject_tolerance": request.reject_tolerance,
        "run_id": load_run_id(dag_run_id, request.bucket, key),
        "dataset": request.dataset,
        "uploaded_by": uploaded_by,
    }


def resolve_inputs(request: LoadRequest, s3: S3Reader, dag_run_id: str) -> list[dict[str, Any]]:
    """The files to load, sorted by key; raises InvalidLoadRequest when there is nothing to load
    (an event batch may resolve to none: every object gone or replaced since its event)."""
    if request.mode == "objects":
        return batch_inputs(request, s3, dag_run_id)
    if request.mode == "object":
        head = s3.head_object(key=request.key, bucket_name=request.bucket)
        if head is None:
            raise InvalidLoadRequest(f"s3://{request.bucket}/{request.key} does not exist")
        etag = _etag(head.get("ETag"))
        if request.expected_etag and request.expected_etag != etag:
            # A newer upload replaced the object after the event; that upload has its own
            # event and run. Loading it here would audit the wrong content under this event.
            raise InvalidLoadRequest(
                f"s3://{request.bucket}/{request.key} changed since the event: "
                f"event etag {request.expected_etag}, current etag {etag}"
            )
        version_id = head.get("VersionId") or request.version_id
        return [_load(request, dag_run_id, request.key, etag, head.get("ContentLength", 0), version_id)]

    listing = s3.get_file_metadata(prefix=request.prefix, bucket_name=request.bucket) or []
    loads = []
    for obj in listing:
        key = obj["Key"]
        rest = key[len(request.prefix) :]
        if not is_csv_key(key) or (not request.recursive and "/" in rest):
            continue
        loads.append(_load(request, dag_run_id, key, _etag(obj.get("ETag")), obj.get("Size", 0), None))
    if not loads:
        where = f"s3://{request.bucket}/{request.prefix}"
        raise InvalidLoadRequest(f"no {CSV_SUFFIX} objects under {where} ({len(listing)} other objects)")
    return sorted(loads, key=lambda load: load["key"])


def batch_inputs(request: LoadRequest, s3: S3Reader, dag_run_id: str) -> list[dict[str, Any]]:
    """The objects of an event batch that are still as their events saw them. An object deleted or
    replaced since is left out (logged): a replacing upload has its own event, so it is loaded by
    that event's run, and this run never audits content its event did not announce.

    How each object is looked at: ONE listing under the batch's common key prefix answers for every
    object whose event named its version (its current ETag and size; the version is the event's),
    where a ``HeadObject`` per object took seconds for a batch of 500, before any file could load.
    An object whose event named no version, or a batch whose prefix holds many more objects than it
    (``csv2ddb_core.listing``: another day's, another dataset's), is asked for with ``HeadObject``."""
    listed = batch_listing(request, s3)
    loads = []
    for obj in request.objects:
        key, expected = obj["key"], obj.get("etag") or ""
        where = f"s3://{request.bucket}/{key}"
        if listed is not None and obj.get("version_id") and listed.covers(request.bucket, key):
            found = listed.objects.get(key)
            head: dict[str, Any] | None = (
                None if found is None else {"ETag": found[0], "ContentLength": found[1]}
            )
        else:
            head = s3.head_object(key=key, bucket_name=request.bucket)
        if head is None:
            log.warning("%s: left out, deleted since its event", where)
            continue
        etag = _etag(head.get("ETag"))
        if expected and expected != etag:
            log.warning("%s: left out, replaced since its event (etag %s, now %s)", where, expected, etag)
            continue
        version_id = head.get("VersionId") or obj.get("version_id")
        size = head.get("ContentLength", 0)
        loads.append(_load(request, dag_run_id, key, etag, size, version_id, obj.get("uploaded_by")))
    return sorted(loads, key=lambda load: load["key"])


@dataclass(frozen=True)
class BatchListing:
    """(ETag, size) of every object one listing found under ``prefix``, by key."""

    bucket: str
    prefix: str
    objects: dict[str, tuple[str, int]]

    def covers(self, bucket: str, key: str) -> bool:
        return bucket == self.bucket and key.startswith(self.prefix)


BATCH_LISTING_SLACK = 4  # list the batch's prefix only while it holds at most 4 objects a file


def batch_listing(request: LoadRequest, s3: S3Reader) -> BatchListing | None:
    """One listing under the common prefix of the batch's keys, or None (a batch of one, a prefix
    holding more than ``BATCH_LISTING_SLACK`` objects per file of the batch, a reader without a
    client, or a failed listing: each object is then asked for on its own)."""
    keys = [str(obj["key"]) for obj in request.objects]
    get_conn = getattr(s3, "get_conn", None)
    if len(keys) < 2 or get_conn is None:
        return None
    prefix = shared_prefix(keys)
    try:
        client = get_conn()
        page_limit = BATCH_LISTING_SLACK * len(keys)
        objects: dict[str, tuple[str, int]] = {}
        request_args = {"Bucket": request.bucket, "Prefix": prefix}
        while True:
            page = client.list_objects_v2(**request_args)
            for o in page.get("Contents", []):
                objects[o["Key"]] = (_etag(o.get("ETag")), int(o.get("Size", 0)))
            if len(objects) > page_limit:
                log.info(
                    "s3://%s/%s holds over %d objects: each is asked for", request.bucket, prefix, page_limit
                )
                return None
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return BatchListing(request.bucket, prefix, objects)
            request_args["ContinuationToken"] = token
    except (BotoCoreError, ClientError) as exc:
        log.warning("listing s3://%s/%s failed, each object is asked for: %s", request.bucket, prefix, exc)
        return None
