"""The import path's "writer": the same items, staged as gzip'd DynamoDB JSON for ``ImportTable``.

Instead of BatchWriteItem, each deduped item becomes one line ``{"Item": {...}}`` (DynamoDB JSON,
the format ImportTable reads with ``InputFormat=DYNAMODB_JSON``, which keeps ``N`` and ``B`` types,
unlike a CSV import) in parts under ``<staging_prefix><run_id>/part-NNNNN.json.gz``. Parts are cut
at ``part_bytes`` of uncompressed JSON, so they are similarly sized (ImportTable reads objects in
parallel; one operation takes at most 50,000 objects of up to 5 GB each), and uploaded as they
fill: memory stays flat. An item counts as written (and its key goes to the key list) once its
part is stored in S3; DynamoDB's own ``ImportedItemCount`` is reconciled with that figure later.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from typing import Any, Dict, List, Optional

from csv2ddb_core.contract import JobError
from csv2ddb_core.keylist import KeyListWriter
from csv2ddb_core.uploads import put_file
from csv2ddb_core.writer import Entry

PART_BYTES = 64 * 1024 * 1024  # uncompressed JSON per part
MAX_PARTS = 50_000  # ImportTable's object limit per operation


def part_key(prefix: str, run_id: str, number: int) -> str:
    return f"{prefix}{run_id}/part-{number:05d}.json.gz"


class StagingWriter:
    """Same surface as ``BatchWriter`` (``submit``, ``close``, the counters); single-threaded:
    the reader thread compresses, which is the work BatchWriteItem's threads would do."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        prefix: str,
        run_id: str,
        keys: KeyListWriter,
        part_bytes: int = PART_BYTES,
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._prefix = prefix
        self._run_id = run_id
        self._keys = keys
        self._part_bytes = part_bytes
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        self._path: Optional[str] = None
        self._gzip: Optional[gzip.GzipFile] = None
        self._pending: List[Dict[str, Any]] = []
        self._size = 0
        self.parts: List[str] = []
        self.staged_bytes = 0
        self.written = 0
        self.skipped = 0
        self.retried_calls = 0
        self.error: Optional[BaseException] = None

    @property
    def location(self) -> str:
        return f"s3://{self._bucket}/{self._prefix}{self._run_id}/"

    def submit(self, batch: List[Entry]) -> None:
        if self._gzip is None:
            fd, self._path = tempfile.mkstemp(prefix="csv2ddb-stage-", suffix=".json.gz")
            os.close(fd)
            self._gzip = gzip.GzipFile(self._path, "wb", compresslevel=6, mtime=0)
        lines = []
        for entry in batch:
            item = entry[0]["PutRequest"]["Item"]
            lines.append(self._encode({"Item": item}))
            self._pending.append(item)
        data = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
        self._gzip.write(data)
        self._size += len(data)
        if self._size >= self._part_bytes:
            self._flush()

    def _flush(self) -> None:
        if self._gzip is None or self._path is None:
            return
        self._gzip.close()
        number = len(self.parts)
        if number >= MAX_PARTS:
            raise JobError(f"more than {MAX_PARTS} staging parts: raise the part size")
        key = part_key(self._prefix, self._run_id, number)
        self.staged_bytes += os.path.getsize(self._path)
        put_file(self._s3, self._path, self._bucket, key, "application/gzip")
        os.unlink(self._path)
        self.parts.append(key)
        self._keys.add(self._pending)
        self.written += len(self._pending)
        self._pending, self._gzip, self._path, self._size = [], None, None, 0

    def close(self, raise_error: bool = True) -> None:
        """Store the last part (idempotent). After a failure, the unstored part is dropped:
        its items stay unconfirmed and the manifest says so."""
        if raise_error:
            self._flush()
        elif self._gzip is not None and self._path is not None:
            self._gzip.close()
            os.unlink(self._path)
            self._pending, self._gzip, self._path, self._size = [], None, None, 0
