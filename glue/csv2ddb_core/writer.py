"""Writing: concurrent BatchWriteItem from a few threads sharing ONE low-level client, with
bounded, full-jitter retries.

Why not boto3's ``batch_writer``: it resubmits unprocessed items with no backoff and no limit, is
not thread-safe, and a batch holding two writes to one key is rejected. The load dedupes before
batching and writes with this policy instead.
"""

from __future__ import annotations

import base64
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import botocore.exceptions

from csv2ddb_core.contract import R_DYNAMODB_REJECTED, RETRYABLE_ERROR_CODES, JobError, Reject
from csv2ddb_core.keylist import KeyListWriter, key_line
from csv2ddb_core.ratecap import WriteRateLimiter
from csv2ddb_core.rejects import RejectSink
from csv2ddb_core.rows import ENCODE_JSON
from csv2ddb_core.sender import sender_of


@dataclass
class RetryPolicy:
    """Full-jitter exponential backoff: sleep U(0, min(cap, base * 2**attempt)), ``max_attempts``
    calls per batch in total (the first one included)."""

    max_attempts: int = 12
    base_seconds: float = 0.05
    cap_seconds: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> None:
        self.sleep(self.rng.uniform(0.0, min(self.cap_seconds, self.base_seconds * (2**attempt))))


class WriteExhaustedError(JobError):
    """Retries ran out; the message names how many rows are unconfirmed."""


class PreEncodedBody:
    """botocore ``before-call`` hook that sends a BatchWriteItem body we encoded ourselves.

    botocore's JSON serializer walks the service model for every attribute of every item
    (~40 us per 19-column row, more than all our row logic); our items are already in the wire
    shape (S/N/BOOL/NULL only), so ``json`` (C) encodes the identical body in a quarter of that.
    On the shared 2-core emulator host, client CPU is throughput. Per thread, so the one
    client stays shared.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def set(self, body: bytes) -> None:
        self._local.body = body

    def pending(self) -> bool:
        return getattr(self._local, "body", None) is not None

    def __call__(self, params: Dict[str, Any], **kwargs: Any) -> None:
        body = getattr(self._local, "body", None)
        if body is not None:
            params["body"] = body
            self._local.body = None


Entry = Tuple[Dict[str, Any], int, List[str]]  # (PutRequest, line number, raw cells)


def for_botocore(item: Mapping[str, Any]) -> Dict[str, Any]:
    """The item as botocore's serializer wants it: binary (B) values as bytes, not base64 text.

    Items carry B values as base64 text, the wire form our pre-encoded BatchWriteItem body sends
    as is; every call botocore serializes itself base64-encodes bytes.
    """
    return {k: ({"B": base64.b64decode(v["B"])} if "B" in v else v) for k, v in item.items()}


def item_text(request: Mapping[str, Any]) -> Optional[str]:
    """The JSON text a ``{"PutRequest": {"Item": item}}`` request's item carries (``rows.Item``), or
    None (any other request shape, or a plain dict)."""
    put = request.get("PutRequest")
    if len(request) != 1 or not isinstance(put, dict) or len(put) != 1:
        return None
    text: Optional[str] = getattr(put.get("Item"), "json", None)
    return text


class BatchWriter:
    """A bounded queue of 25-item batches drained by ``threads`` workers sharing one client."""

    def __init__(
        self,
        client: Any,
        table: str,
        threads: int,
        policy: RetryPolicy,
        rejects: RejectSink,
        keys: KeyListWriter,
        rate: Optional[WriteRateLimiter] = None,
    ) -> None:
        self._client = client
        self._keys = keys
        self._key_names = keys.key_names
        self._rate = rate
        self._table = table
        self._policy = policy
        self._rejects = rejects
        # Bounded: the reader blocks when writers fall behind, so memory stays flat.
        self._queue: queue.Queue[Optional[List[Entry]]] = queue.Queue(maxsize=threads * 2)
        self._lock = threading.Lock()
        self.written = 0
        self.skipped = 0  # items a write mode chose not to write (insert over an existing key...)
        self.rejected = 0
        self.retried_calls = 0
        self.submitted = 0
        self.error: Optional[BaseException] = None
        self._closed = False
        # check_circular=False (ENCODE_JSON): items are trees of dicts built by RowBuilder, never
        # cycles; the same bytes for about a quarter less encoding CPU than with the check.
        self._encode = ENCODE_JSON
        self._body_head = '{"RequestItems":{' + ENCODE_JSON(table) + ":["
        self._sender = sender_of(client)  # the job's own client only: its threads' connections
        self._body_hook: Optional[PreEncodedBody] = None
        self._body_event = ""
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is not None and getattr(client.meta, "service_model", None) is not None:
            self._body_hook = PreEncodedBody()
            service = client.meta.service_model.service_id.hyphenize()
            self._body_event = f"before-call.{service}.BatchWriteItem"
            events.register(self._body_event, self._body_hook)
        # Started one per submitted batch, up to ``threads``: a 50-row file (two batches) starts two,
        # not eight (the many-files path pays the start-up per file); a large file reaches all of
        # them within its first ``threads`` batches.
        self._max_threads = threads
        self._threads: List[threading.Thread] = []

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._worker, name=f"ddb-writer-{len(self._threads)}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def submit(self, batch: List[Entry]) -> None:
        if len(self._threads) < self._max_threads and not self._closed:
            self._start_thread()
        while True:
            if self.error is not None:
                raise self.error
            try:
                self._queue.put(batch, timeout=0.5)
                self.submitted += len(batch)
                return
            except queue.Full:
                continue

    def close(self, raise_error: bool = True) -> None:
        """Wait for every queued batch (idempotent); re-raise the first worker error."""
        if not self._closed:
            self._closed = True
            for _ in self._threads:
                self._queue.put(None)
            for thread in self._threads:
                thread.join()
            if self._body_hook is not None:
                # A Spark worker's client outlives this writer: leave no hook behind for the next task.
                self._client.meta.events.unregister(self._body_event, self._body_hook)
        if raise_error and self.error is not None:
            raise self.error

    def _worker(self) -> None:
        try:
            self._drain()
        finally:
            if self._sender is not None:
                self._sender.release()  # this thread's keep-alive connection ends with it

    def _drain(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self.error is not None:
                continue  # aborting: the rows stay unconfirmed and are counted as such
            try:
                self._write_batch(batch)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which fails the job
                with self._lock:
                    if self.error is None:
                        self.error = exc

    def _count(self, written: int = 0, rejected: int = 0, retried: int = 0, skipped: int = 0) -> None:
        with self._lock:
            self.written += written
            self.rejected += rejected
            self.retried_calls += retried
            self.skipped += skipped

    def _write_batch(self, batch: List[Entry]) -> None:
        requests = [entry[0] for entry in batch]
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self._send(requests)
            except botocore.exceptions.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "ValidationException":
                    self._write_one_by_one(batch, requests)
                    return
                if code not in RETRYABLE_ERROR_CODES:
                    raise JobError(f"BatchWriteItem to {self._table} failed ({code}): {exc}") from exc
                self._retry_or_fail(attempt, len(requests), f"{code}")
                continue
            except (
                botocore.exceptions.ConnectionError,
                botocore.exceptions.HTTPClientError,
            ) as exc:
                self._retry_or_fail(attempt, len(requests), type(exc).__name__)
                continue
            unprocessed = resp.get("UnprocessedItems", {}).get(self._table, [])
            self._confirm(requests, unprocessed)
            if not unprocessed:
                return
            self._retry_or_fail(attempt, len(unprocessed), f"{len(unprocessed)} UnprocessedItems")
            requests = unprocessed

    def _confirm(self, requests: List[Dict[str, Any]], unprocessed: List[Dict[str, Any]]) -> None:
        """Count (and list the keys of) the requests DynamoDB confirmed: all but ``unprocessed``."""
        items = [request["PutRequest"]["Item"] for request in requests]
        if unprocessed:
            names = self._key_names
            pending = {key_line(u["PutRequest"]["Item"], names) for u in unprocessed}
            items = [item for item in items if key_line(item, names) not in pending]
        self._keys.add(items)
        self._count(written=len(requests) - len(unprocessed))

    def _send(self, requests: List[Dict[str, Any]]) -> Dict[str, Any]:
        if self._rate is not None:
            self._rate.before_call([request["PutRequest"]["Item"] for request in requests])
        if self._body_hook is None:
            return self._client.batch_write_item(RequestItems={self._table: requests})
        self._body_hook.set(self._body(requests).encode("utf-8"))
        # botocore serializes an empty list (cheap); the hook swaps in the body encoded above.
        resp = self._client.batch_write_item(RequestItems={self._table: []})
        if self._body_hook.pending():
            raise JobError("internal error: the pre-encoded request body was not sent")
        return resp

    def _body(self, requests: List[Dict[str, Any]]) -> str:
        """The request body: ``ENCODE_JSON`` of it, joined from the items' own JSON text where every
        item has it (``rows.Item``: the same text, for half the CPU), else encoded whole (a retry
        of ``UnprocessedItems`` sends the items DynamoDB returned, which are plain dicts)."""
        texts = []
        for request in requests:
            text = item_text(request)
            if text is None:
                return str(self._encode({"RequestItems": {self._table: requests}}))
            texts.append('{"PutRequest":{"Item":' + text + "}}")
        return self._body_head + ",".join(texts) + "]}}"

    def _retry_or_fail(self, attempt: int, pending: int, why: str) -> None:
        if attempt >= self._policy.max_attempts:
            raise WriteExhaustedError(
                f"BatchWriteItem to {self._table}: {pending} row(s) still unconfirmed after "
                f"{attempt} attempts (last: {why}); the table may be under-provisioned"
            )
        self._count(retried=1)
        self._policy.backoff(attempt)

    def _write_one_by_one(self, batch: List[Entry], requests: List[Dict[str, Any]]) -> None:
        """DynamoDB refused the batch as invalid: find the bad item(s) with PutItem, reject only them."""
        names = self._key_names
        by_key = {key_line(entry[0]["PutRequest"]["Item"], names): entry for entry in batch}
        for request in requests:
            item = request["PutRequest"]["Item"]
            entry = by_key[key_line(item, names)]
            attempt = 0
            while True:
                attempt += 1
                try:
                    if self._rate is not None:
                        self._rate.before_call([item])
                    self._client.put_item(TableName=self._table, Item=for_botocore(item))
                    self._confirm([request], [])
                    break
                except botocore.exceptions.ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code", "")
                    if code == "ValidationException":
                        message = exc.response.get("Error", {}).get("Message", str(exc))
                        self._rejects.add(entry[1], Reject(R_DYNAMODB_REJECTED, message), entry[2])
                        self._count(rejected=1)
                        break
                    if code not in RETRYABLE_ERROR_CODES:
                        raise JobError(f"PutItem to {self._table} failed ({code}): {exc}") from exc
                    self._retry_or_fail(attempt, 1, code)
