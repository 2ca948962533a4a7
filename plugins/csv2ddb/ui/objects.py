"""Manifests and rejects, streamed from the stack's bucket to a signed-in auditor.

Only keys under the stack bucket's ``manifests/`` and ``rejected/`` prefixes are served: the
route must not become a way to read the raw data, the Glue scripts or anything else the
api-server's AWS connection can reach.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from csv2ddb.settings import Settings

CHUNK_BYTES = 64 * 1024
MAX_KEY_LENGTH = 1024


class ObjectRefused(ValueError):
    """The key is not one this route serves."""


@dataclass(frozen=True)
class ServedObject:
    bucket: str
    key: str

    @property
    def filename(self) -> str:
        """A download name that keeps the run id: ``<run>.json`` / ``<run>__rejects.csv``."""
        parts = [p for p in self.key.split("/") if p]
        name = "__".join(parts[1:]) or parts[-1]
        return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)

    @property
    def media_type(self) -> str:
        if self.key.endswith(".json"):
            return "application/json"
        if self.key.endswith(".csv"):
            return "text/csv"
        return "application/octet-stream"


def served_object(key: str, settings: Settings) -> ServedObject:
    """The object for ``key``, or ObjectRefused saying why not."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ObjectRefused(f"key must be 1..{MAX_KEY_LENGTH} characters")
    if key.startswith("/") or ".." in key.split("/") or "\\" in key:
        raise ObjectRefused(f"key {key!r} is not a plain object key")
    allowed = (settings.manifests_prefix, settings.rejected_prefix)
    if not key.startswith(allowed) or key in allowed:
        raise ObjectRefused(f"only objects under {' or '.join(allowed)} are served, not {key!r}")
    return ServedObject(bucket=settings.bucket, key=key)


def stream(s3: Any, obj: ServedObject) -> tuple[int | None, Iterator[bytes]]:
    """(size, chunks) of the object; raises botocore's ClientError (e.g. NoSuchKey) before
    anything is sent, so the route can still answer 404."""
    response = s3.get_object(Bucket=obj.bucket, Key=obj.key)
    body = response["Body"]

    def chunks() -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK_BYTES)
        finally:
            body.close()

    return response.get("ContentLength"), chunks()
