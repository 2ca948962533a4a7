"""A forwarding HTTP proxy in front of the emulator that stops one AWS action at a known count.

Why: to kill a process "mid-way" deterministically. A test that reads a progress line and then
sends SIGKILL bets that the process has not finished meanwhile; with this proxy the process cannot
get past the ``allow``-th call of ``action``: the next one is held unanswered (and never reaches the
emulator) until the proxy closes, so the test kills it at a point it knows.

Every other request is forwarded as it came (method, path, headers, body) and answered with the
emulator's status, headers and body; the emulator does not check SigV4 signatures, so the signed
``Host`` of the proxy passes through unchanged.
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class HoldingProxy(ThreadingHTTPServer):
    """Forwards to ``upstream``; holds every ``action`` call after the first ``allow``."""

    daemon_threads = True

    def __init__(self, upstream: str, action: str, allow: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.action, self.allow = action, allow
        self.lock = threading.Lock()
        self.forwarded = 0  # calls of ``action`` forwarded
        self.statements = 0  # the statements those calls carried (BatchExecuteStatement)
        self.holding = threading.Event()  # set once a call is held: every earlier one is answered
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> HoldingProxy:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.closed.set()
        self.shutdown()
        self.server_close()

    def admit(self, target: str, body: bytes) -> bool:
        """Whether this request may pass; counts the ``action`` calls (and statements) let through."""
        if not target.endswith(f".{self.action}"):
            return True
        with self.lock:
            if self.forwarded >= self.allow:
                self.holding.set()
                return False
            self.forwarded += 1
            self.statements += len(json.loads(body or b"{}").get("Statements", []))
            return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HoldingProxy

    def log_message(self, *_: object) -> None:
        return  # the test's output stays the test's

    def relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.server.admit(self.headers.get("X-Amz-Target", ""), body):
            self.server.closed.wait()  # held: never forwarded, never answered
            self.close_connection = True
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
