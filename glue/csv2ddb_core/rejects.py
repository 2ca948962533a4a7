"""Rejected rows: ``rejects.csv`` (line, reason, detail, raw row) spooled to disk, then to S3."""

from __future__ import annotations

import csv
import io
import os
import tempfile
import threading
from typing import Any, Dict, Sequence

from csv2ddb_core.contract import Reject
from csv2ddb_core.uploads import put_file


def raw_row_text(row: Sequence[str], delimiter: str, encoding: str, quotechar: str = '"') -> str:
    """The row as one CSV line (the file's dialect) for rejects.csv; undecodable bytes as ``\\xNN``."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, quotechar=quotechar, lineterminator="").writerow(row)
    text = buf.getvalue()
    codec = "utf-8" if encoding.replace("_", "-").lower() in ("utf-8", "utf8", "utf-8-sig") else encoding
    return text.encode(codec, "surrogateescape").decode(codec, "backslashreplace")


class RejectSink:
    """rejects.csv (line_number, reason, detail, raw_row) spooled to a temp file, not memory."""

    COLUMNS = ("line_number", "reason", "detail", "raw_row")

    def __init__(self, delimiter: str, encoding: str, quotechar: str = '"') -> None:
        fd, self._path = tempfile.mkstemp(prefix="csv2ddb-rejects-", suffix=".csv")
        # Kept open for the whole load; close() closes and deletes it.
        self._file = open(fd, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file)
        self._writer.writerow(self.COLUMNS)
        self._lock = threading.Lock()
        self._delimiter = delimiter
        self._quotechar = quotechar
        self._encoding = encoding
        self.count = 0
        self.by_reason: Dict[str, int] = {}

    def add(self, line_number: int, reject: Reject, row: Sequence[str]) -> None:
        raw = raw_row_text(row, self._delimiter, self._encoding, self._quotechar)
        with self._lock:
            self._writer.writerow((line_number, reject.reason, reject.detail, raw))
            self.count += 1
            self.by_reason[reject.reason] = self.by_reason.get(reject.reason, 0) + 1

    def upload(self, s3: Any, bucket: str, key: str) -> str:
        with self._lock:
            self._file.flush()
            put_file(s3, self._path, bucket, key, "text/csv")  # streamed from disk, never in memory
        return f"s3://{bucket}/{key}"

    def close(self) -> None:
        self._file.close()
        os.unlink(self._path)
