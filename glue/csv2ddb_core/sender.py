"""A lighter HTTP send for the job's own BatchWriteItem calls: one keep-alive ``http.client``
connection per writer thread, through botocore's public ``before-send`` event.

Why: profiled per thread (``bench.cprofile_job``), botocore's HTTP send through urllib3's pool and
its request/response wrappers was the largest single block of the job's client CPU (about a
quarter, more than signing). botocore has already serialized, signed and stamped the request when
``before-send`` fires; this handler only moves those bytes over a stdlib connection and hands the
answer back as a botocore ``AWSResponse``, which botocore then checks and parses as usual (status,
error codes, CRC32, ``UnprocessedItems``). So the request DynamoDB receives is the one botocore
built, and retries stay the writer's: a failed send raises botocore's own connection errors
(``EndpointConnectionError``, ``ConnectionClosedError``, ``ReadTimeoutError``), which the writer
retries with the same backoff as before.

Scope, on purpose narrow:
- only the client ``make_clients`` creates (``install``): botocore runs EVERY ``before-send``
  handler registered for an event, so a handler must never sit on a client someone else also
  answers (a test's capture tap, a Spark worker's tapped client) — those clients are not ours;
- only ``BatchWriteItem`` (every other call goes through botocore's own send);
- only where botocore's send would be plain: no proxy (``Config(proxies=...)`` or the
  environment), no client certificate. Otherwise ``install`` declines and botocore sends
  everything itself, exactly as without this module. HTTPS verifies the server as botocore does:
  the configured CA bundle (``AWS_CA_BUNDLE`` / ``ca_bundle``, a file or a directory) or botocore's
  default one, and the host name.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
import threading
import urllib.request
import weakref
from typing import Any, Iterator, Optional, Tuple
from urllib.parse import urlsplit

import botocore.exceptions
import botocore.httpsession
from botocore.awsrequest import AWSResponse

EVENT = "before-send.dynamodb.BatchWriteItem"
_SENDERS: weakref.WeakKeyDictionary[Any, KeepAliveSender] = weakref.WeakKeyDictionary()


class _Body:
    """The ``raw`` of an ``AWSResponse``: botocore reads ``.content`` through ``stream()``."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def declines(config: Any) -> Optional[str]:
    """Why botocore must keep sending itself (a proxy, a client certificate), or None."""
    if getattr(config, "proxies", None):
        return "Config(proxies=...)"
    if getattr(config, "client_cert", None):
        return "a client certificate"
    proxies = urllib.request.getproxies()
    if proxies.get("http") or proxies.get("https"):
        return "a proxy in the environment"
    return None


class KeepAliveSender:
    """The ``before-send`` handler: the signed request over this thread's keep-alive connection."""

    def __init__(
        self,
        connect_timeout: float,
        read_timeout: float,
        tcp_keepalive: bool,
        ca_bundle: Optional[str] = None,
    ) -> None:
        self._ca_bundle = ca_bundle
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._tcp_keepalive = tcp_keepalive
        self._local = threading.local()
        self._ssl: Optional[ssl.SSLContext] = None
        self._ssl_lock = threading.Lock()

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        url = request.url
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = self._connection(url, parts.scheme, parts.hostname or "", parts.port)
        try:
            conn.request(request.method, target, body=body, headers=dict(request.headers.items()))
            resp = conn.getresponse()
            data = resp.read()
        except socket.timeout as exc:
            self.release()
            raise botocore.exceptions.ReadTimeoutError(endpoint_url=url, error=exc) from exc
        except (ConnectionRefusedError, socket.gaierror) as exc:
            self.release()
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=url, error=exc) from exc
        except (OSError, http.client.HTTPException) as exc:
            self.release()
            raise botocore.exceptions.ConnectionClosedError(endpoint_url=url, error=exc) from exc
        if resp.will_close:
            self.release()
        return AWSResponse(url, resp.status, resp.getheaders(), _Body(data))

    def _connection(
        self, url: str, scheme: str, host: str, port: Optional[int]
    ) -> http.client.HTTPConnection:
        key: Tuple[str, str, Optional[int]] = (scheme, host, port)
        conn: Optional[http.client.HTTPConnection] = getattr(self._local, "conn", None)
        if conn is not None and (self._local.key != key or _dropped(conn)):
            self.release()
            conn = None
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection(
                    host, port, timeout=self._connect_timeout, context=self._ssl_context()
                )
            elif scheme == "http":
                conn = http.client.HTTPConnection(host, port, timeout=self._connect_timeout)
            else:
                raise botocore.exceptions.EndpointConnectionError(
                    endpoint_url=url, error=f"unsupported scheme {scheme!r}"
                )
            try:
                conn.connect()
            except socket.timeout as exc:
                conn.close()
                raise botocore.exceptions.ConnectTimeoutError(endpoint_url=url, error=exc) from exc
            except ssl.SSLError as exc:  # as botocore's own send says it (a ConnectionError too)
                conn.close()
                raise botocore.exceptions.SSLError(endpoint_url=url, error=exc) from exc
            except OSError as exc:
                conn.close()
                raise botocore.exceptions.EndpointConnectionError(endpoint_url=url, error=exc) from exc
            assert conn.sock is not None
            conn.sock.settimeout(self._read_timeout)
            if self._tcp_keepalive:
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            self._local.conn, self._local.key = conn, key
        return conn

    def _ssl_context(self) -> ssl.SSLContext:
        """Verifies the server as botocore does: the configured CA bundle, else botocore's default
        one (``get_cert_path``), and the host name."""
        with self._ssl_lock:
            if self._ssl is None:
                bundle = self._ca_bundle or botocore.httpsession.get_cert_path(True)
                if os.path.isdir(bundle):
                    self._ssl = ssl.create_default_context(capath=bundle)
                else:
                    self._ssl = ssl.create_default_context(cafile=bundle)
            return self._ssl

    def release(self) -> None:
        """Close this thread's connection (a writer thread calls it when it ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive socket the server closed reads as ready (EOF): reconnect instead of sending
    into it (what urllib3's pool checks before reusing a connection)."""
    sock = conn.sock
    if sock is None:
        return True
    if hasattr(select, "poll"):  # no FD_SETSIZE limit (a Spark worker may hold many files)
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def install(client: Any, ca_bundle: Optional[str] = None) -> Optional[str]:
    """Send ``client``'s BatchWriteItem calls with a ``KeepAliveSender``; ``client`` must be one the
    job created itself and nobody else hooks. Returns None when installed, else why not."""
    config = client.meta.config
    why = declines(config)
    if why is not None:
        return why
    keepalive = bool(getattr(config, "tcp_keepalive", False))
    sender = KeepAliveSender(float(config.connect_timeout), float(config.read_timeout), keepalive, ca_bundle)
    client.meta.events.register(EVENT, sender)
    _SENDERS[client] = sender
    return None


def sender_of(client: Any) -> Optional[KeepAliveSender]:
    """The sender ``install`` put on ``client`` (None for any other client)."""
    try:
        return _SENDERS.get(client)
    except TypeError:  # an object that cannot be weakly referenced (a test double) has none
        return None
