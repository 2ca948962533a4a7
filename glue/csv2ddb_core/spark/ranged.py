"""Ranged reads of one S3 object version: what a split task reads, and nothing more.

Every GET is pinned to the version the driver saw (``VersionId``, else ``If-Match`` on the ETag),
so splits read in parallel, and re-read by a retried task, all see the same bytes. The stream is
the Python shell's (``source.S3ObjectStream`` with a byte range and a pin): a read that breaks
re-opens at the current byte a bounded number of times.
"""

from __future__ import annotations

import io
from typing import Any, Dict, Optional

from csv2ddb_core.source import S3ObjectStream, version_pin

__all__ = ["range_stream", "read_range", "read_until_line_start", "version_pin"]


def range_stream(
    s3: Any, bucket: str, key: str, pin: Dict[str, str], start: int, end: Optional[int] = None
) -> S3ObjectStream:
    """Bytes ``[start, end)`` of the pinned object version (``end=None``: to its end), read lazily."""
    return S3ObjectStream(s3, bucket, key, start=start, end=end, pin=pin)


def read_range(s3: Any, bucket: str, key: str, pin: Dict[str, str], start: int, end: int) -> bytes:
    """All bytes ``[start, end)`` (small reads: a split's edges, the header)."""
    with range_stream(s3, bucket, key, pin, start, end) as stream:
        return io.BufferedReader(stream).read()


def read_until_line_start(
    s3: Any, bucket: str, key: str, pin: Dict[str, str], offset: int, size: int, chunk: int = 1 << 16
) -> int:
    """The first offset ``>= offset`` just after a ``\\n`` (``size`` when there is none): where a
    split that nominally starts at ``offset`` really starts. Reads forward from ``offset - 1``."""
    if offset >= size:
        return size
    with range_stream(s3, bucket, key, pin, offset - 1, size) as stream:
        reader = io.BufferedReader(stream, buffer_size=chunk)
        at = offset - 1
        while True:
            data = reader.read(chunk)
            if not data:
                return size
            found = data.find(b"\n")
            if found >= 0:
                return at + found + 1
            at += len(data)
