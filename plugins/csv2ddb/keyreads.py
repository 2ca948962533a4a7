"""Read items by the keys a load wrote: BatchGetItem, 100 keys a call, from several threads.

The one definition the count check (``csv2ddb.load.counts``), the rollback
(``csv2ddb.history.rollback``) and the
lineage questions (``csv2ddb.history.lineage``) share, so that each costs what the load cost, not what the
table holds. Every call is strongly consistent and projects only the key, ``load_run_id`` and
``ingestion_timestamp``; ``UnprocessedKeys`` and throttling are retried with the Glue job's own
full-jitter backoff (``csv2ddb_core.writer.RetryPolicy``), a bounded number of times, then it fails
loudly: a verification never passes on keys it could not read.

Who holds a key now, for a load ``R`` that started at ``T`` (its manifest's ``started_at``, which is
also the ``ingestion_timestamp`` on each of its items):

- ``ours``: the item still carries ``load_run_id = R``;
- ``later``: another load's item whose ``ingestion_timestamp >= T``: a load that started after this
  one overwrote it. This load's write happened; it was simply superseded;
- ``stale``: another load's item that started *before* ``T`` (or no stamp at all): this load's write
  is not there (lost, or overwritten by an earlier-started load that wrote after it: from the table
  alone the two cannot be told apart, so the check treats it as not written);
- ``missing``: no item with that key.
"""

from __future__ import annotations

import base64
import json
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar, cast

from botocore.exceptions import ClientError
from csv2ddb_core.contract import ATTR_INGESTION_TIMESTAMP, ATTR_LOAD_RUN_ID, RETRYABLE_ERROR_CODES
from csv2ddb_core.writer import PreEncodedBody, RetryPolicy, for_botocore

BATCH_GET_MAX = 100  # BatchGetItem's limit per call
OURS, LATER, STALE, MISSING = "ours", "later", "stale", "missing"
T = TypeVar("T")
C = TypeVar("C", bound="Census")


class KeyReadError(RuntimeError):
    """Keys could not be read (retries exhausted, or DynamoDB refused the request)."""


def key_names(keys: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The key attribute names of a key list (every line names the same attributes)."""
    return tuple(sorted(keys[0])) if keys else ()


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def key_of(item: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: item[name] for name in names}


def canonical(key: Mapping[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """A key comparable across its spellings: numbers by value (``1e3`` = ``1000``, as DynamoDB
    compares them), binary as base64 whether it came as bytes or text."""
    out = []
    for name in sorted(key):
        (kind, value), *_ = key[name].items()
        if kind == "N":
            value = str(Decimal(value).normalize())
        elif kind == "B" and isinstance(value, bytes | bytearray):
            value = base64.b64encode(value).decode("ascii")
        out.append((name, kind, str(value)))
    return tuple(out)


RAW = "csv2ddb_raw_body"
_BODY_HOOKS: weakref.WeakKeyDictionary[Any, PreEncodedBody] = weakref.WeakKeyDictionary()
_HOOKS_LOCK = threading.Lock()


def _keep_raw_body(response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any) -> None:
    """botocore ``before-parse`` hook for BatchGetItem: keep the JSON body as DynamoDB sent it and
    let botocore parse an empty one. Its parser walks the service model for every attribute of
    every item (~25 us a key here: more CPU than the emulator spends answering); ``json`` (C) reads
    the same body in a fraction of that. Items and UnprocessedKeys thus stay in the wire form of the
    key list itself (binary as base64 text)."""
    if response_dict.get("status_code") == 200:
        customized_response_dict[RAW] = json.loads(response_dict["body"])
        response_dict["body"] = b"{}"


def _body_hook(client: Any) -> PreEncodedBody | None:
    """The client's request-body hook (the Glue job's own, ``csv2ddb_core.writer.PreEncodedBody``):
    the keys are already in wire form, so ``json`` encodes the request instead of botocore's
    per-attribute validator and serializer. Registered once per client, with the response hook.
    None for an object that is not a botocore client (then requests go through it as they are)."""
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is None:
        return None
    with _HOOKS_LOCK:
        hook = _BODY_HOOKS.get(client)
        if hook is None:
            hook = _BODY_HOOKS[client] = PreEncodedBody()
            events.register("before-call.dynamodb.BatchGetItem", hook)
            events.register("before-parse.dynamodb.BatchGetItem", _keep_raw_body)
        return hook


def to_wire(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item botocore parsed (binary as bytes) in the key list's wire form (binary as base64)."""
    return {
        name: {"B": base64.b64encode(value["B"]).decode("ascii")}
        if isinstance(value.get("B"), bytes | bytearray)
        else value
        for name, value in item.items()
    }


def _batch_get(
    client: Any, hook: PreEncodedBody | None, table: str, request: dict[str, Any], keys: list[Any]
) -> dict[str, Any]:
    """One BatchGetItem of wire-form ``keys``; the answer in wire form."""
    if hook is None:
        response = client.batch_get_item(
            RequestItems={table: {**request, "Keys": [for_botocore(k) for k in keys]}}
        )
        unprocessed = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        return {
            "Responses": {table: [to_wire(item) for item in response.get("Responses", {}).get(table, [])]},
            "UnprocessedKeys": {table: {"Keys": [to_wire(key) for key in unprocessed]}}
            if unprocessed
            else {},
        }
    hook.set(json.dumps({"RequestItems": {table: {**request, "Keys": keys}}}).encode("utf-8"))
    # botocore validates and serializes one key (cheap); the hook sends the body set above.
    response = client.batch_get_item(RequestItems={table: {**request, "Keys": [for_botocore(keys[0])]}})
    if hook.pending():
        raise KeyReadError("internal error: the pre-encoded BatchGetItem body was not sent")
    return response[RAW]


def get_items(
    client: Any,
    table: str,
    keys: Sequence[Mapping[str, Any]],
    names: Sequence[str],
    retry: RetryPolicy,
) -> list[dict[str, Any]]:
    """The items of up to 100 ``keys`` (DynamoDB JSON, as in the key list): key, load_run_id and
    ingestion_timestamp, in DynamoDB JSON too; absent ones left out."""
    if not 0 < len(keys) <= BATCH_GET_MAX:
        raise ValueError(f"BatchGetItem takes 1 to {BATCH_GET_MAX} keys, got {len(keys)}")
    attrs = {f"#k{i}": name for i, name in enumerate(names)}
    attrs |= {"#run": ATTR_LOAD_RUN_ID, "#ts": ATTR_INGESTION_TIMESTAMP}
    request: dict[str, Any] = {"ProjectionExpression": ", ".join(attrs), "ExpressionAttributeNames": attrs}
    request["ConsistentRead"] = True
    hook = _body_hook(client)
    found: list[dict[str, Any]] = []
    pending: list[Any] = list(keys)
    attempt = 0
    while pending:
        try:
            response = _batch_get(client, hook, table, request, pending)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in RETRYABLE_ERROR_CODES:
                raise KeyReadError(f"BatchGetItem on {table} failed: {exc}") from exc
            why = code
        else:
            found += response.get("Responses", {}).get(table, [])
            pending = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
            why = "UnprocessedKeys"
        if not pending:
            break
        attempt += 1
        if attempt >= retry.max_attempts:
            raise KeyReadError(
                f"BatchGetItem on {table}: {len(pending)} key(s) still unread after {attempt} attempts "
                f"({why}); the check cannot vouch for them"
            )
        retry.backoff(attempt)
    return found


@dataclass
class Census:
    """Who holds the keys of one load now (see the module docstring for the four kinds)."""

    keys: int = 0
    ours: int = 0
    later: int = 0
    stale: int = 0
    missing: int = 0
    later_runs: Counter[str] = field(default_factory=Counter)
    stale_runs: Counter[str] = field(default_factory=Counter)

    def add(self, other: Census) -> None:
        for name in ("keys", "ours", "later", "stale", "missing"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.later_runs.update(other.later_runs)
        self.stale_runs.update(other.stale_runs)

    def as_dict(self, top: int = 5) -> dict[str, Any]:
        """Counts, and the (at most ``top``) loads holding most of the keys that are not ours."""
        return {
            "keys": self.keys,
            "ours": self.ours,
            "later": self.later,
            "stale": self.stale,
            "missing": self.missing,
            "later_runs": dict(self.later_runs.most_common(top)),
            "stale_runs": dict(self.stale_runs.most_common(top)),
        }


def classify(item: Mapping[str, Any], run_id: str, started_at: str | None) -> tuple[str, str | None]:
    """(``ours``/``later``/``stale``, the run id the item carries) for one item read back."""
    stamp = (item.get(ATTR_LOAD_RUN_ID) or {}).get("S")
    if stamp == run_id:
        return OURS, stamp
    written = (item.get(ATTR_INGESTION_TIMESTAMP) or {}).get("S")
    if stamp and written and started_at and written >= started_at:
        return LATER, stamp
    return STALE, stamp


def census_of(
    items: Sequence[Mapping[str, Any]], asked: int, run_id: str, started_at: str | None
) -> tuple[Census, list[Mapping[str, Any]]]:
    """The census of ``asked`` keys whose existing ``items`` were read; and the items still ours."""
    census = Census(keys=asked, missing=asked - len(items))
    ours = []
    for item in items:
        kind, stamp = classify(item, run_id, started_at)
        if kind == OURS:
            census.ours += 1
            ours.append(item)
        elif kind == LATER:
            census.later += 1
            census.later_runs[str(stamp)] += 1
        else:
            census.stale += 1
            census.stale_runs[str(stamp)] += 1
    return census, ours


def run_chunks(
    work: Callable[[Sequence[T]], Census],  # returns the census of one chunk
    items: Sequence[T],
    size: int,
    workers: int,
    progress: Callable[[Census], None] | None = None,
    total: C | None = None,
) -> C:
    """``work`` on every chunk of ``items`` from ``workers`` threads, merged into ``total`` (a new
    Census by default; a subclass collects more).

    The first failure stops the rest (queued chunks are cancelled) and is raised. ``progress``
    is called (from the calling thread) with the running total after each chunk.
    """
    merged = total if total is not None else cast(C, Census())
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="csv2ddb-keys") as pool:
        futures = [pool.submit(work, chunk) for chunk in chunked(items, size)]
        try:
            for future in as_completed(futures):
                merged.add(future.result())
                if progress is not None:
                    progress(merged)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return merged


def count_keys(
    client: Any,
    table: str,
    keys: Sequence[Mapping[str, Any]],
    run_id: str,
    started_at: str | None,
    *,
    workers: int = 8,
    retry: RetryPolicy | None = None,
) -> Census:
    """Read every key of a load's list (parallel BatchGetItem) and say who holds each now."""
    names = key_names(keys)
    policy = retry or RetryPolicy()

    def work(chunk: Sequence[Mapping[str, Any]]) -> Census:
        items = get_items(client, table, chunk, names, policy)
        return census_of(items, len(chunk), run_id, started_at)[0]

    return run_chunks(work, keys, BATCH_GET_MAX, workers)
