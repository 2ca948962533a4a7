"""Helpers for the Lambda tests: a stand-in Airflow API server and S3 event records.

The stand-in server (127.0.0.1, free port) answers like Airflow's ``/auth/token`` and
``/api/v2/dags/<id>/dagRuns`` so record handling, 409s and errors can be tested in
milliseconds; the real path (S3 -> ministack Lambda -> real Airflow api-server) is tested end to
end in tests/local/test_lambda_e2e.py.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

USERNAME = "lambda-user"
PASSWORD = "not-a-real-password-0123"
TOKEN = "jwt-token-for-tests"


@dataclass
class FakeAirflow:
    """What the stand-in API saw, and how it should answer."""

    url: str = ""
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    fail_with: int | None = None  # answer every trigger with this status
    secret_id: str = ""  # the Secrets Manager secret holding the login (set by the test)
    require_token: bool = True  # MWAA's proxy (ministack) calls without a bearer token


def _make_handler(state: FakeAirflow) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            return

        def _reply(self, status: int, body: Any) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            state.requests.append(("GET", self.path, dict(self.headers), None))
            if state.require_token and self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._reply(401, {"detail": "bad token"})
                return
            run_id = urllib.parse.unquote(self.path.rsplit("/", 1)[-1])
            if run_id in state.runs:
                self._reply(200, {"dag_run_id": run_id, "conf": state.runs[run_id]["conf"]})
            else:
                self._reply(404, {"detail": f"DAG run {run_id} not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"null")
            state.requests.append(("POST", self.path, dict(self.headers), body))
            if self.path == "/auth/token":
                ok = body == {"username": USERNAME, "password": PASSWORD}
                self._reply(201 if ok else 401, {"access_token": TOKEN} if ok else {"detail": "bad login"})
                return
            if state.require_token and self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._reply(401, {"detail": "bad token"})
                return
            if state.fail_with:
                self._reply(state.fail_with, {"detail": "simulated failure"})
                return
            run_id = body["dag_run_id"]
            if run_id in state.runs:
                self._reply(409, {"detail": f"DAG run {run_id} already exists"})
                return
            state.runs[run_id] = body
            self._reply(200, {"dag_run_id": run_id, "state": "queued", "conf": body["conf"]})

    return Handler


def serve_fake_airflow(port: int = 0) -> tuple[FakeAirflow, ThreadingHTTPServer]:
    state = FakeAirflow()
    server = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server


def s3_event(
    *keys: str,
    bucket: str = "b",
    etag: str = "abc123",
    event_name: str = "ObjectCreated:Put",
    uploader: str | None = None,
) -> dict[str, Any]:
    """An S3 notification event as AWS sends it (keys URL-encoded, spaces as '+'); ``uploader``:
    the ``userIdentity.principalId`` AWS puts in every record."""
    from urllib.parse import quote_plus

    return {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": event_name,
                **({"userIdentity": {"principalId": uploader}} if uploader else {}),
                "s3": {
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": 42,
                        "eTag": etag,
                        "versionId": "v1",
                        "sequencer": "0055AED6DCD90281E5",
                    },
                },
            }
            for key in keys
        ]
    }
