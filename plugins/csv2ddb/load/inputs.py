"""Resolve a LoadRequest to the concrete S3 objects of one DAG run (key, etag, size, run id).

S3 is asked through the Amazon provider's ``S3Hook`` (duck-typed here as ``head_object`` /
``get_file_metadata`` so tests can hand in the real hook against the emulator).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from csv2ddb_core.contract import CSV_SUFFIX, is_csv_key, load_run_id

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
    that event's run, and this run never audits content its event did not announce."""
    loads = []
    for obj in request.objects:
        key, expected = obj["key"], obj.get("etag") or ""
        head = s3.head_object(key=key, bucket_name=request.bucket)
        where = f"s3://{request.bucket}/{key}"
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
