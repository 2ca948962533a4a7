"""The job's own BatchWriteItem sender (``csv2ddb_core.sender``) against a scripted local server.

What must hold: the sender puts on the wire what botocore would (same body, same headers, same
Host: the one the request was signed for), over one kept-alive connection per thread; a failed
send surfaces as botocore's own errors, so the writer's retries (throttling, UnprocessedItems,
dropped connections) behave as before; it verifies HTTPS servers against the configured CA
bundle; and it is installed only on the client ``make_clients`` creates, never where a proxy or a
client certificate is configured, and never on a client somebody else hooks (a capture tap).
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config
from csv2ddb_core import sender
from csv2ddb_core.clients import make_clients
from csv2ddb_core.keylist import KeyListWriter
from csv2ddb_core.rejects import RejectSink
from csv2ddb_core.writer import BatchWriter, RetryPolicy

PROCESSED = b'{"UnprocessedItems":{}}'
THROTTLED = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",'
    b'"message":"slow down"}'
)


class Scripted(ThreadingHTTPServer):
    """Answers each BatchWriteItem from ``script`` ("ok", "throttle", "drop", "idle-close", or an
    int n: the last n requests come back unprocessed; "ok" once it runs out) and records what it got."""

    daemon_threads = True

    def __init__(self, script: list[Any]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.connections = 0
        self.closed = threading.Semaphore(0)  # released once per connection the server closed
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Scripted

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def finish(self) -> None:
        super().finish()
        self.request.close()
        self.server.closed.release()

    def log_message(self, *_: Any) -> None:
        return None

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.requests.append({"headers": dict(self.headers.items()), "body": body})
            outcome = self.server.script.pop(0) if self.server.script else "ok"
        if outcome == "drop":
            self.close_connection = True
            return
        status, answer = 200, PROCESSED
        if outcome == "throttle":
            status, answer = 400, THROTTLED
        elif isinstance(outcome, int):
            (table, requests), *_ = json.loads(body)["RequestItems"].items()
            answer = json.dumps({"UnprocessedItems": {table: requests[-outcome:]}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        if outcome == "idle-close":  # closes after answering, though it said nothing of it
            self.close_connection = True


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(script: list[Any], tls: ssl.SSLContext | None = None) -> Scripted:
        server = Scripted(script)
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return monkeypatch


def job_client(monkeypatch: pytest.MonkeyPatch, url: str) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    _, ddb = make_clients(SimpleNamespace(write_concurrency=2))  # type: ignore[arg-type]
    return ddb


def items(n: int) -> list[dict[str, Any]]:
    return [{"PutRequest": {"Item": {"id": {"S": f"k{i}"}, "v": {"N": str(i)}}}} for i in range(n)]


WIRE_VARYING = {"X-Amz-Date", "Authorization", "amz-sdk-invocation-id"}  # per request, by design


def test_the_job_client_sends_what_botocore_sends_over_one_connection(serve: Any, aws_env: Any) -> None:
    server = serve([])
    ddb = job_client(aws_env, server.url)
    assert sender.sender_of(ddb) is not None
    for _ in range(5):
        assert ddb.batch_write_item(RequestItems={"t": items(3)})["UnprocessedItems"] == {}
    assert server.connections == 1  # kept alive: five calls, one connection
    # botocore's own send: the same client, the sender unregistered, the same request
    ddb.meta.events.unregister(sender.EVENT, sender.sender_of(ddb))
    ddb.batch_write_item(RequestItems={"t": items(3)})
    assert len(server.requests) == 6
    ours, theirs = server.requests[0], server.requests[-1]
    assert ours["body"] == theirs["body"]
    assert ours["headers"]["Host"] == theirs["headers"]["Host"]  # what the signature covers
    signed = {
        name: value
        for name, value in ours["headers"].items()
        if name not in WIRE_VARYING and name.lower() not in ("accept-encoding", "connection")
    }
    assert signed == {name: value for name, value in theirs["headers"].items() if name in signed}, (
        "a header differs from botocore's"
    )
    assert "host" in ours["headers"]["Authorization"].split("SignedHeaders=")[1]


def test_errors_are_botocores_and_the_writer_retries_them(serve: Any, aws_env: Any) -> None:
    server = serve(["throttle", "drop", 2, "ok", "throttle"])
    ddb = job_client(aws_env, server.url)
    sleeps: list[float] = []
    rejects, keys = RejectSink(",", "utf-8"), KeyListWriter(("id",))
    try:
        policy = RetryPolicy(max_attempts=6, base_seconds=0.01, cap_seconds=0.01, sleep=sleeps.append)
        writer = BatchWriter(ddb, "t", 1, policy, rejects, keys)
        writer.submit([(request, i + 2, []) for i, request in enumerate(items(5))])
        writer.close()
        assert (writer.written, writer.retried_calls, len(sleeps)) == (5, 3, 3)
        assert keys.count == 5
    finally:
        rejects.close()
        keys.close()
    # each error as botocore raises it, so the writer's except clauses see the same classes
    with pytest.raises(botocore.exceptions.ClientError) as throttled:
        ddb.batch_write_item(RequestItems={"t": items(1)})
    assert throttled.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    server.script.append("drop")
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        ddb.batch_write_item(RequestItems={"t": items(1)})
    assert ddb.batch_write_item(RequestItems={"t": items(1)})["UnprocessedItems"] == {}


def test_a_connection_refused_is_an_endpoint_connection_error(serve: Any, aws_env: Any) -> None:
    server = serve([])
    url = server.url
    server.shutdown()
    server.server_close()
    ddb = job_client(aws_env, url)
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        ddb.batch_write_item(RequestItems={"t": items(1)})


def test_a_connection_the_server_closed_while_idle_is_replaced(serve: Any, aws_env: Any) -> None:
    server = serve(["idle-close", "idle-close", "ok"])
    ddb = job_client(aws_env, server.url)
    for _ in range(3):
        assert ddb.batch_write_item(RequestItems={"t": items(2)})["UnprocessedItems"] == {}
        if len(server.requests) < 3:
            assert server.closed.acquire(timeout=10)  # the server closed it: the socket is idle, shut
    assert server.connections == 3
    assert len(server.requests) == 3  # no request was lost or sent twice


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_verifies_the_server_against_the_configured_bundle(
    serve: Any, aws_env: Any, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = serve([], tls=tls)
    url = server.url.replace("http://", "https://")
    aws_env.setenv("AWS_CA_BUNDLE", str(cert))
    ddb = job_client(aws_env, url)
    assert sender.sender_of(ddb) is not None
    assert ddb.batch_write_item(RequestItems={"t": items(2)})["UnprocessedItems"] == {}
    # a bundle that does not hold the server's certificate: refused, as botocore refuses it
    aws_env.delenv("AWS_CA_BUNDLE")
    untrusting = job_client(aws_env, url)
    with pytest.raises(botocore.exceptions.SSLError) as refused:
        untrusting.batch_write_item(RequestItems={"t": items(2)})
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
    assert isinstance(refused.value, botocore.exceptions.ConnectionError)  # the writer retries it
    assert len(server.requests) == 1


def handlers(client: Any) -> int:
    """How many handlers the client runs on BatchWriteItem's before-send (emitting counts them)."""
    return len(client.meta.events.emit(sender.EVENT, request=None))


def test_only_the_jobs_own_plain_client_gets_the_sender(serve: Any, aws_env: Any) -> None:
    server = serve([])
    ddb = job_client(aws_env, server.url)
    assert sender.sender_of(ddb) is not None
    # a tap's client (tests/spark/capture.py) is made from the job's config but is not the job's
    tapped = boto3.client("dynamodb", endpoint_url=server.url, config=ddb.meta.config)
    assert sender.sender_of(tapped) is None
    assert handlers(tapped) == 0
    # where botocore would go through a proxy or present a client certificate, it sends itself
    proxied = boto3.client("dynamodb", endpoint_url=server.url, config=Config(proxies={"https": "p:1"}))
    assert sender.install(proxied) == "Config(proxies=...)"
    assert sender.sender_of(proxied) is None
    assert handlers(proxied) == 0
    aws_env.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    behind_proxy = job_client(aws_env, server.url)
    assert sender.sender_of(behind_proxy) is None
