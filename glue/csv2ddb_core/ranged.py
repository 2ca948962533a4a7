"""Ranged reads of one S3 object version: what a split task reads, and nothing more.

Every GET is pinned to the version the driver saw (``VersionId``, else ``If-Match`` on the ETag),
so splits read in parallel, and re-read by a retried task, all see the same bytes. A read that
breaks re-opens at the current byte a bounded number of times, like the Python shell's stream.
"""

from __future__ import annotations

import io
import logging
import random
import time
from typing import Any, Dict, Optional, Tuple

import botocore.exceptions

from csv2ddb_core.contract import JobError

LOG = logging.getLogger("csv2ddb.load")
_BROKEN_READS: Tuple[type, ...] = (botocore.exceptions.BotoCoreError, OSError)


def version_pin(version_id: Optional[str], etag: str) -> Dict[str, str]:
    """GetObject arguments that pin a read to one version of the object."""
    return {"VersionId": version_id} if version_id else {"IfMatch": f'"{etag}"'}


class RangeStream(io.RawIOBase):
    """Bytes ``[start, end)`` of one object version (``end=None``: to the end), read lazily."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        pin: Dict[str, str],
        start: int,
        end: Optional[int] = None,
        max_reopens: int = 5,
    ) -> None:
        super().__init__()
        self._s3, self._bucket, self._key, self._pin = s3, bucket, key, pin
        self.pos = start
        self.end = end
        self._max_reopens = max_reopens
        self.reopens = 0
        self.fetched = 0
        self._body: Any = None
        if end is None or end > start:
            self._open()

    def _open(self) -> None:
        last = "" if self.end is None else str(self.end - 1)
        resp = self._s3.get_object(
            Bucket=self._bucket, Key=self._key, Range=f"bytes={self.pos}-{last}", **self._pin
        )
        self._body = resp["Body"]
        if self.pos and not str(resp.get("ContentRange", "")).startswith(f"bytes {self.pos}-"):
            # The server sent the whole object (ministack ignores Range when VersionId is given;
            # S3 honours both): skip to our offset rather than read the wrong bytes.
            LOG.warning("the range request was answered with the whole object: skipping %d bytes", self.pos)
            skip = self.pos
            while skip:
                chunk = self._body.read(min(skip, 1 << 20))
                if not chunk:
                    raise JobError(f"s3://{self._bucket}/{self._key} ended before byte {self.pos}")
                skip -= len(chunk)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._body is None or (self.end is not None and self.pos >= self.end):
            return 0
        want = len(buffer) if self.end is None else min(len(buffer), self.end - self.pos)
        while True:
            try:
                data = self._body.read(want)
                break
            except _BROKEN_READS as exc:
                self._reopen(exc)
        if not data and self.end is not None and self.pos < self.end:
            self._reopen(EOFError(f"ended at byte {self.pos} of {self.end}"))
            return self.readinto(buffer)
        n = len(data)
        buffer[:n] = data
        self.pos += n
        self.fetched += n
        return n

    def _reopen(self, exc: BaseException) -> None:
        self.reopens += 1
        if self.reopens > self._max_reopens:
            raise JobError(
                f"reading s3://{self._bucket}/{self._key} failed at byte {self.pos} after "
                f"{self._max_reopens} re-opens: {exc}"
            ) from exc
        LOG.warning("read of the source broke at byte %d (%s); re-opening there", self.pos, exc)
        time.sleep(min(2.0**self.reopens, 30.0) * random.random())
        self._open()

    def close(self) -> None:
        try:
            if self._body is not None:
                self._body.close()
        finally:
            super().close()


def read_range(s3: Any, bucket: str, key: str, pin: Dict[str, str], start: int, end: int) -> bytes:
    """All bytes ``[start, end)`` (small reads: a split's edges, the header)."""
    with RangeStream(s3, bucket, key, pin, start, end) as stream:
        return io.BufferedReader(stream).read()


def read_until_line_start(
    s3: Any, bucket: str, key: str, pin: Dict[str, str], offset: int, size: int, chunk: int = 1 << 16
) -> int:
    """The first offset ``>= offset`` just after a ``\\n`` (``size`` when there is none): where a
    split that nominally starts at ``offset`` really starts. Reads forward from ``offset - 1``."""
    if offset >= size:
        return size
    with RangeStream(s3, bucket, key, pin, offset - 1) as stream:
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
