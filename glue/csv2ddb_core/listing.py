"""One LIST for a group's files instead of one (or a GET) per file.

Why: a group run (or an inline group) of 250 small files asked S3, per file, whether its manifest
was there already (the retry's skip check: a GetObject, NoSuchKey on a first attempt) and what an
earlier attempt left under its processed-zone prefix (a LIST, empty on a first attempt). The files of
one group share a DAG run, so their run ids, and with them every such key, share a long common
prefix: one LIST under it answers both questions for every file, and a file whose key is not in the
answer costs no request at all. A file whose key IS listed is read (or cleared) exactly as before.

When it holds: the answer is taken at the group's start, and only the group's own loads write under
these keys (each is named by its file's run id); a group whose keys share no run-id prefix, or whose
listing is larger than its files could explain (another run's keys), lists nothing and every file
asks for itself as before. S3 listings are strongly consistent (AWS, and the emulator).

Python 3.9, standard library + boto3.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

LOG = logging.getLogger("csv2ddb.load")
MIN_SHARED = 8  # characters of the run id the keys must share: a DAG run's id, not just a folder
MAX_KEYS_PER_FILE = 8  # a file has its manifest and key list here: more is another run's keys


@dataclass(frozen=True)
class Listed:
    """The keys one LIST found under ``prefix`` of ``bucket`` (sorted), at one moment."""

    bucket: str
    prefix: str
    keys: Tuple[str, ...]

    def covers(self, bucket: str, key_or_prefix: str) -> bool:
        """Whether this listing answers for ``key_or_prefix`` (it lies under the listed prefix)."""
        return bucket == self.bucket and key_or_prefix.startswith(self.prefix)

    def has(self, key: str) -> bool:
        """Whether exactly ``key`` was listed."""
        at = bisect.bisect_left(self.keys, key)
        return at < len(self.keys) and self.keys[at] == key

    def holds(self, prefix: str) -> bool:
        """Whether any listed key starts with ``prefix`` (an exact key is its own prefix)."""
        at = bisect.bisect_left(self.keys, prefix)
        return at < len(self.keys) and self.keys[at].startswith(prefix)


def shared_prefix(texts: Sequence[str]) -> str:
    """The longest common prefix of ``texts`` ("" for none)."""
    if not texts:
        return ""
    low, high = min(texts), max(texts)  # the common prefix of the extremes is everyone's
    n = 0
    while n < min(len(low), len(high)) and low[n] == high[n]:
        n += 1
    return low[:n]


def list_under(s3: Any, bucket: str, prefix: str, limit: int) -> Optional[Listed]:
    """Every key under ``prefix`` (one LIST page per 1,000 keys), or None when there are more than
    ``limit`` (not this group's keys alone: the files ask for themselves)."""
    keys: List[str] = []
    request = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = s3.list_objects_v2(**request)
        keys.extend(o["Key"] for o in page.get("Contents", []))
        if len(keys) > limit:
            LOG.info("s3://%s/%s holds over %d keys: each file is checked on its own", bucket, prefix, limit)
            return None
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return Listed(bucket, prefix, tuple(sorted(keys)))
        request["ContinuationToken"] = token


def list_group(s3: Any, bucket: str, parent: str, names: Sequence[str]) -> Optional[Listed]:
    """One LIST under ``parent`` + the names' common prefix (names: the files' run ids), or None when
    it would not pay (one file) or not hold (names sharing fewer than ``MIN_SHARED`` characters)."""
    if len(names) < 2:
        return None
    shared = shared_prefix(names)
    if len(shared) < MIN_SHARED:
        return None
    return list_under(s3, bucket, parent + shared, MAX_KEYS_PER_FILE * len(names))
