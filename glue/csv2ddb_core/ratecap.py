"""The write-rate cap: ONE token bucket shared by every writer thread of a load.

Tokens are items, or write capacity units (1 WCU per started KB of an item, DynamoDB's unit for
a standard write). A writer takes the tokens of a whole call before sending it, so the achieved
rate over any window of a few seconds stays at or under the cap; a burst of at most one second's
tokens (and at least one call's worth) lets the first calls go out at once.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from csv2ddb_core.cells import item_size
from csv2ddb_core.contract import BATCH_SIZE, WriteRate


def write_units(item: Mapping[str, Any]) -> int:
    """WCU of one standard write of ``item``: 1 per started 1 KB."""
    return max(1, math.ceil(item_size(item) / 1024))


class TokenBucket:
    """Blocks ``take(n)`` until ``n`` tokens are there; refilled at ``rate`` tokens per second."""

    def __init__(
        self,
        rate: float,
        burst: Optional[float] = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = float(rate)
        self.capacity = max(float(burst if burst is not None else rate), float(BATCH_SIZE))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()
        self.taken = 0.0

    def take(self, tokens: float) -> None:
        """Take ``tokens`` (may exceed the burst: the caller then waits for the debt to refill)."""
        with self._lock:  # one taker at a time: the order of calls is the order of tokens
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= tokens
            self.taken += tokens
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            if wait > 0:
                self._sleep(wait)


class WriteRateLimiter:
    """Turns a call's items into tokens of the cap's unit and takes them from the shared bucket."""

    def __init__(self, cap: WriteRate, bucket: Optional[TokenBucket] = None) -> None:
        self.cap = cap
        self.bucket = bucket or TokenBucket(cap.per_second)

    def before_call(self, items: Sequence[Dict[str, Any]]) -> None:
        if self.cap.unit == "wcu":
            self.bucket.take(sum(write_units(item) for item in items))
        else:
            self.bucket.take(len(items))
