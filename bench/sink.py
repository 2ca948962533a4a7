"""A loopback "null DynamoDB + read-only S3" for the 5.7 M-row run: counts items, keeps none.

Why a stand-in here, and only here: ministack keeps every item in its memory, about 6 KB per
19-column flights item (measured: +120 MB for 20,000 items), so 5.7 M items would need ~34 GB
on a 24 GB machine. The big run's questions are about *our* loader — does its memory stay flat
(peak RSS ≤ 1 GB) and does its cost grow linearly with rows — and those are answered by running
the real job script, unchanged, against a server that accepts its requests and discards the
items. The same server takes the ceiling's requests, and the flights file is loaded against it
too, so the big-file figures are compared like with like. Every other figure uses the emulator.

It answers exactly what the job and the ceiling send: DynamoDB ``DescribeTable`` and
``BatchWriteItem`` (JSON protocol, ``X-Amz-Target``), S3 ``GetObject`` (with ``Range``) of the
files it is told to serve, S3 ``PutObject`` and multipart uploads (the manifest, the key list and
the Spark engine's per-task artifacts, kept in memory: a 5.7 M-row load's key list is larger than
boto3's 8 MB multipart threshold) and ``DeleteObjects``. It counts
the distinct ``id`` values it received, so the load is still verified by item count.

    python -m bench.sink --port 4599 --serve csv2ddb-bench/raw/bench/big.csv=/path/big.csv
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import socket
import sys
import threading
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

HOST = "127.0.0.1"
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")
# An item's ``id`` attribute as a string, in a body whose every ``"`` is structural (see ``put_ids``).
_ID = re.compile(rb'"id"\s*:\s*\{\s*"S"\s*:\s*"([^"]*)"\s*\}')
_PUT = re.compile(rb'"PutRequest"\s*:')
# Keys that would let an ``"id"`` key appear somewhere else than an item's top level (a nested map),
# or another kind of write: such a body is parsed in full.
_NOT_FLAT = re.compile(rb'"(?:M|DeleteRequest)"\s*:')
_BATCH_REPLY = b'{"UnprocessedItems": {}}'


def put_ids(body: bytes) -> list[bytes]:
    """The ``id`` of every PutRequest item of a BatchWriteItem body, as UTF-8, exactly as
    ``json.loads`` reads them.

    Why not always ``json.loads``: it built every item of every request (about half of the sink's
    CPU in a 2-core Spark load, CPU taken from the client on the same machine). The fast path reads
    only the ids, and only when that is exact: no ``\\"`` anywhere (so every ``"`` opens or closes a
    string, and ``"id":`` can only be a key), no nested map and no DeleteRequest (so an ``id`` key
    is an item's attribute), and as many string ids as PutRequests (one per item). Anything else
    (and an id with an escape) is decoded by ``json``.
    """
    if b'\\"' not in body and _NOT_FLAT.search(body) is None:
        ids = _ID.findall(body)
        if len(ids) == len(_PUT.findall(body)):
            return [json.loads(b'"' + i + b'"').encode() if b"\\" in i else i for i in ids]
    request = json.loads(body)
    return [
        write["PutRequest"]["Item"]["id"]["S"].encode()
        for writes in request["RequestItems"].values()
        for write in writes
    ]


class Headers(dict):
    """Request headers by lower-case name (what the handlers read of them)."""

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


class SinkState:
    """What the sink has received since the last reset (guarded by one lock)."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files
        self.objects: dict[str, bytes] = {}
        self.uploads: dict[str, dict[int, bytes]] = {}  # multipart upload id -> its parts
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.ids: set[bytes] = set()
        self.items = 0
        self.requests = 0

    def stats(self) -> dict[str, int]:
        with self.lock:
            return {"items": self.items, "distinct_ids": len(self.ids), "requests": self.requests}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore expects
    state: SinkState

    def setup(self) -> None:
        super().setup()
        # http.server sends the headers and the body in two writes; with Nagle's algorithm on, the
        # body then waits for the client's delayed ACK: ~40 ms per request, which capped a load at
        # ~2.2 k rows/s with both processes idle. Real endpoints (and ministack) do not stall so.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: a log line per request would cost more CPU than the request itself."""

    def handle_one_request(self) -> None:
        """One request, its headers read by a plain split: ``http.server`` parses them with the
        ``email`` package, a quarter of the sink's CPU per BatchWriteItem (HTTP/1.1, keep-alive)."""
        line = self.rfile.readline(65537)
        parts = line.decode("latin-1").split()
        if len(parts) != 3:  # the client closed the connection (or sent nothing we serve)
            self.close_connection = True
            return
        self.raw_requestline, self.requestline = line, line.decode("latin-1").rstrip("\r\n")
        self.command, self.path, self.request_version = parts
        headers = Headers()
        while True:
            raw = self.rfile.readline(65537)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        self.headers = headers  # type: ignore[assignment]
        self.close_connection = headers.get("Connection", "").lower() == "close" or not raw
        if headers.get("Expect", "").lower() == "100-continue":  # botocore's larger S3 PUTs
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        handler = getattr(self, f"do_{self.command}", None)
        if handler is None:
            self._reply(501, b"", "text/plain")
        else:
            handler()
        self.wfile.flush()

    def _reply(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        """Status line, headers and body in one write (one send, no Date header to format)."""
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        head += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
        head += [f"{key}: {value}" for key, value in (headers or {}).items()]
        text = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(text if self.command == "HEAD" else text + body)

    def _json(self, status: int, doc: object) -> None:
        self._reply(status, json.dumps(doc).encode(), "application/x-amz-json-1.0")

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_POST(self) -> None:
        target = self.headers.get("X-Amz-Target", "")
        body = self._body()
        if self.path.startswith("/_sink/reset"):
            with self.state.lock:
                self.state.reset()
            self._json(200, {})
            return
        if not target:
            self._s3_post(body)
            return
        operation = target.rpartition(".")[2]
        if operation == "BatchWriteItem":
            ids = put_ids(body)
            digests = [hashlib.blake2b(i, digest_size=16).digest() for i in ids]
            with self.state.lock:
                self.state.requests += 1
                self.state.items += len(ids)
                self.state.ids.update(digests)
            self._reply(200, _BATCH_REPLY, "application/x-amz-json-1.0")
        elif operation == "DescribeTable":
            name = json.loads(body)["TableName"]
            self._json(
                200,
                {
                    "Table": {
                        "TableName": name,
                        "TableStatus": "ACTIVE",
                        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    }
                },
            )
        else:
            self._json(
                400, {"__type": "UnknownOperationException", "message": f"the sink does not do {target}"}
            )

    def do_GET(self) -> None:
        if self.path.startswith("/_sink/stats"):
            self._json(200, self.state.stats())
            return
        key = self.path.lstrip("/").split("?", 1)[0]
        if key in self.state.objects:
            data = self.state.objects[key]
            self._reply(200, data, "application/octet-stream", {"ETag": '"sink"'})
            return
        path = self.state.files.get(key)
        if path is None:
            self._reply(404, b"<Error><Code>NoSuchKey</Code></Error>", "application/xml")
            return
        self._send_file(path)

    def _send_file(self, path: Path) -> None:
        size = path.stat().st_size
        start, end = 0, size - 1
        status = 200
        match = _RANGE.fullmatch(self.headers.get("Range", "").strip())
        if match:
            start = int(match[1])
            end = int(match[2]) if match[2] else size - 1
            status = 206
        length = max(0, end - start + 1)
        etag = hashlib.md5(f"{path}:{size}".encode(), usedforsecurity=False).hexdigest()
        self.send_response(status)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(length))
        self.send_header("ETag", f'"{etag}"')
        self.send_header("Last-Modified", formatdate(path.stat().st_mtime, usegmt=True))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        with open(path, "rb") as handle:
            handle.seek(start)
            remaining = length
            while remaining > 0:
                chunk = handle.read(min(1 << 20, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)

    def do_HEAD(self) -> None:
        """HeadObject (the Spark engine's first call): headers only -- a body would desync the
        client's keep-alive connection."""
        raw = self.wfile
        self.wfile = _NoBody(raw)  # type: ignore[assignment]
        try:
            self.do_GET()
        finally:
            self.wfile = raw

    def do_PUT(self) -> None:
        key, _, query = self.path.lstrip("/").partition("?")
        body = self._body()
        params = parse_qs(query)
        with self.state.lock:
            if "uploadId" in params:  # UploadPart
                parts = self.state.uploads[params["uploadId"][0]]
                parts[int(params["partNumber"][0])] = body
            else:
                self.state.objects[key] = body
        self._reply(200, b"", "application/xml", {"ETag": '"sink"'})

    def _s3_post(self, body: bytes) -> None:
        """CreateMultipartUpload (``?uploads``), CompleteMultipartUpload (``?uploadId=``) and
        DeleteObjects (``?delete``)."""
        path, _, query = self.path.lstrip("/").partition("?")
        bucket, _, key = path.partition("/")
        params = parse_qs(query, keep_blank_values=True)
        ns = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
        if "uploads" in params:
            upload = f"sink-{uuid.uuid4().hex}"
            with self.state.lock:
                self.state.uploads[upload] = {}
            xml = (
                f"<InitiateMultipartUploadResult {ns}><Bucket>{bucket}</Bucket><Key>{key}</Key>"
                f"<UploadId>{upload}</UploadId></InitiateMultipartUploadResult>"
            )
        elif "uploadId" in params:
            with self.state.lock:
                parts = self.state.uploads.pop(params["uploadId"][0])
                self.state.objects[path] = b"".join(parts[n] for n in sorted(parts))
            xml = (
                f"<CompleteMultipartUploadResult {ns}><Bucket>{bucket}</Bucket><Key>{key}</Key>"
                '<ETag>"sink"</ETag></CompleteMultipartUploadResult>'
            )
        elif "delete" in params:
            with self.state.lock:
                for name in re.findall(r"<Key>(.*?)</Key>", body.decode()):
                    self.state.objects.pop(f"{bucket}/{name}", None)
            xml = f"<DeleteResult {ns}></DeleteResult>"
        else:
            self._reply(400, b"<Error><Code>NotImplemented</Code></Error>", "application/xml")
            return
        self._reply(200, f'<?xml version="1.0" encoding="UTF-8"?>{xml}'.encode(), "application/xml")


class _NoBody:
    """A response stream that sends the status line and headers but drops the body (HEAD)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._headers_done = False

    def write(self, data: bytes) -> int:
        if self._headers_done:
            return len(data)
        if data.endswith(b"\r\n\r\n") or b"\r\n\r\n" in data:
            head, _, _rest = data.partition(b"\r\n\r\n")
            self._headers_done = True
            return self._raw.write(head + b"\r\n\r\n")
        return self._raw.write(data)

    def flush(self) -> None:
        self._raw.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sink", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--serve", action="append", default=[], help="bucket/key=local path (repeatable)")
    args = parser.parse_args(argv)
    files = {}
    for spec in args.serve:
        key, _, path = spec.partition("=")
        files[key] = Path(path)
    Handler.state = SinkState(files)
    server = ThreadingHTTPServer((HOST, args.port), Handler)
    server.daemon_threads = True
    print(f"sink listening on http://{HOST}:{args.port} (pid {os.getpid()})", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
