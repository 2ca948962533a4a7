"""The item-set digest that pins the load's behaviour across refactors and engines.

``sha256`` over the sorted canonical JSON lines of every item in the table, minus
``ingestion_timestamp`` (the one attribute that differs per run). Each test stack has its own
bucket, so ``source_file``'s bucket is written as ``<bucket>``: the digest then depends on the
item set only, not on which throwaway stack loaded it. Items are read back with parallel
BatchGetItem (100 keys a call, ``UnprocessedKeys`` retried), because a full Scan is O(n²) on
the emulator; the caller passes every key it expects, and a missing key fails the read.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

SKIPPED_ATTRIBUTE = "ingestion_timestamp"


def canonical_item(item: dict[str, Any], bucket: str) -> str:
    """One item as canonical JSON: sorted keys, no spaces, the stack's bucket normalized."""
    shown = {k: v for k, v in item.items() if k != SKIPPED_ATTRIBUTE}
    source = shown.get("source_file", {}).get("S")
    if source is not None:
        shown["source_file"] = {"S": source.replace(f"s3://{bucket}/", "s3://<bucket>/", 1)}
    return json.dumps(shown, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def items_digest(items: Iterable[dict[str, Any]], bucket: str) -> str:
    lines = sorted(canonical_item(item, bucket) for item in items)
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogatepass")).hexdigest()


def _get_chunk(ddb: Any, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    attempt = 0
    while keys:
        resp = ddb.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
        found.extend(resp["Responses"].get(table, []))
        keys = resp.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        if keys:
            attempt += 1
            if attempt > 20:
                raise RuntimeError(f"{len(keys)} key(s) still unprocessed after {attempt} BatchGetItem calls")
            time.sleep(min(0.05 * 2**attempt, 2.0))
    return found


def fetch_items(
    ddb: Any, table: str, keys: Sequence[dict[str, Any]], threads: int = 4
) -> list[dict[str, Any]]:
    """Every item under ``keys`` (low-level key dicts); raises when one is missing."""
    chunks = [list(keys[i : i + 100]) for i in range(0, len(keys), 100)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        items = [item for found in pool.map(lambda c: _get_chunk(ddb, table, c), chunks) for item in found]
    if len(items) != len(keys):
        raise AssertionError(f"{len(keys) - len(items)} of {len(keys)} expected item(s) are not in {table}")
    return items
