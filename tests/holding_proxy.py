"""A forwarding HTTP proxy in front of the emulator that stops one AWS action at a known count.

Why: to interrupt a process "mid-way" deterministically. A test that waits for the first items and
then kills (or stops the emulator, or retries) bets that the process has not finished meanwhile;
with this proxy the process cannot get past the ``allow``-th call of ``action``: the next one is
held unanswered (it never reaches the emulator) until the test either

- ``release()``-s it: held and later calls are forwarded, and the process goes on to its end; or
- closes the proxy: held calls are dropped unanswered, and later ones find no server, as when the
  AWS side goes away.

Every other request is forwarded as it came (method, path, headers, body) and answered with the
emulator's status, headers and body; the emulator does not check SigV4 signatures, so the signed
``Host`` of the proxy passes through unchanged. Used by the rollback kill test (tests/dags) and the
fault tests (tests/reliability).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class HoldingProxy(ThreadingHTTPServer):
    """Forwards to ``upstream``; holds every ``action`` call after the first ``allow`` until
    ``release()`` (then forwarded) or the proxy closes (then dropped)."""

    daemon_threads = True

    def __init__(self, upstream: str, action: str, allow: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.action, self.allow = action, allow
        self.lock = threading.Lock()
        self.bodies: list[dict[str, Any]] = []  # the JSON bodies of the ``action`` calls forwarded
        self.holding = threading.Event()  # set once a call is held: every earlier one is answered
        self.released = threading.Event()
        self.freed = threading.Event()  # released or closed: a held call stops waiting
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def forwarded(self) -> int:
        """How many ``action`` calls reached the emulator."""
        return len(self.bodies)

    @property
    def statements(self) -> int:
        """The statements the forwarded calls carried (``BatchExecuteStatement``)."""
        return sum(len(body.get("Statements", [])) for body in self.bodies)

    def put_items(self) -> list[dict[str, Any]]:
        """The items the forwarded calls put (``BatchWriteItem``), in order, retried ones repeated."""
        return [
            request["PutRequest"]["Item"]
            for body in self.bodies
            for requests in body.get("RequestItems", {}).values()
            for request in requests
            if "PutRequest" in request
        ]

    def wait_held(self, running: Callable[[], bool]) -> bool:
        """Wait until a call is held (True), or until ``running()`` says the client ended first
        (False): no time limit of its own, the client's end is the limit."""
        while not self.holding.wait(timeout=0.1):
            if not running():
                return self.holding.is_set()
        return True

    def release(self) -> None:
        """Let the held call, and every later one, through."""
        self.released.set()
        self.freed.set()

    def __enter__(self) -> HoldingProxy:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.freed.set()
        self.shutdown()
        self.server_close()

    def admit(self, target: str, body: bytes) -> bool:
        """Whether this request may pass now; records the ``action`` calls let through."""
        if not target.endswith(f".{self.action}"):
            return True
        with self.lock:
            if self.forwarded >= self.allow and not self.released.is_set():
                self.holding.set()
                return False
            self.bodies.append(json.loads(body or b"{}"))
            return True

    def admit_held(self, target: str, body: bytes) -> bool:
        """A held call, once freed: forwarded (``admit`` lets it through and records it) if released,
        else dropped."""
        return self.released.is_set() and self.admit(target, body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HoldingProxy

    def log_message(self, *_: object) -> None:
        return  # the test's output stays the test's

    def relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        if not self.server.admit(target, body):
            self.server.freed.wait()
            if not self.server.admit_held(target, body):
                self.close_connection = True  # dropped: never forwarded, never answered
                return
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=300)
        try:
            upstream.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = relay
