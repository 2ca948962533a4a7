"""Progress lines in the job's log: rows, rows/s, % of the object's bytes read, peak memory."""

from __future__ import annotations

import logging
import time
from typing import Any, Optional

from csv2ddb_core.manifest import LoadStats, peak_rss_mb
from csv2ddb_core.source import S3ObjectStream

LOG = logging.getLogger("csv2ddb.load")


class Progress:
    """One log line every ``every`` seconds: rows, rows/s, % of the object's bytes read."""

    def __init__(self, stats: LoadStats, stream: S3ObjectStream, every: float = 5.0) -> None:
        self._stats = stats
        self._stream = stream
        self._every = every
        self._start = time.monotonic()
        self._next = self._start + every

    def maybe_log(self, writer: Optional[Any]) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._every
        self.log(writer, now)

    def log(self, writer: Optional[Any], now: Optional[float] = None) -> None:
        elapsed = max((now or time.monotonic()) - self._start, 1e-9)
        written = writer.written if writer else self._stats.rows_written
        pct = 100.0 * self._stream.pos / self._stream.size if self._stream.size else 100.0
        LOG.info(
            "progress: read %d rows, written %d (%.0f rows/s), rejected %d, duplicate %d, %.1f%% of bytes, "
            "peak RSS %.0f MB",
            self._stats.rows_read,
            written,
            written / elapsed,
            self._stats.rows_rejected,
            self._stats.rows_duplicate,
            pct,
            peak_rss_mb(),
        )
