"""A tiny client for the few Airflow REST API calls the demo and tests need (stdlib urllib only).

The Lambda has its own copy of the token + trigger calls: it must stay self-contained.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class AirflowError(RuntimeError):
    """Airflow could not be started, did not become healthy, or its API answered an error."""


class AirflowUnreachable(AirflowError):
    """No answer at all (refused / timed out): pollers may retry, a busy api-server answers late."""


class AirflowApi:
    """Tiny client for the few Airflow REST calls the demo and tests need (stdlib urllib only)."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._token: str | None = None
        self.timeout = timeout

    def token(self) -> str:
        """A JWT from ``POST /auth/token`` (cached)."""
        if self._token is None:
            status, body = self._send(
                "POST", "/auth/token", {"username": self._username, "password": self._password}, auth=False
            )
            if status not in (200, 201) or "access_token" not in body:
                raise AirflowError(f"login to {self.base_url} failed: HTTP {status} {body}")
            self._token = str(body["access_token"])
        return self._token

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self._send(method, path, body, auth=True)

    def _send(self, method: str, path: str, body: Any, *, auth: bool) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            where = f"{self.base_url} ({method} {path})"
            raise AirflowUnreachable(f"Airflow API not reachable at {where}: {err}") from err
        try:
            return status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return status, raw.decode(errors="replace")

    @staticmethod
    def polled(call: Callable[..., T], *args: Any) -> T | None:
        """One poll of a waiting loop: None when the api-server did not answer in time. A busy
        machine makes it answer late now and then; the loop's own deadline is what ends a wait."""
        try:
            return call(*args)
        except AirflowUnreachable:
            return None

    def _ok(self, method: str, path: str, body: Any = None) -> Any:
        status, payload = self.request(method, path, body)
        if status >= 300:
            raise AirflowError(f"{method} {path} -> HTTP {status}: {payload}")
        return payload

    def get_dag(self, dag_id: str) -> dict[str, Any] | None:
        status, payload = self.request("GET", f"/api/v2/dags/{_q(dag_id)}")
        if status == 404:
            return None
        if status >= 300:
            raise AirflowError(f"GET dag {dag_id} -> HTTP {status}: {payload}")
        return payload

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> dict[str, Any]:
        """Wait until the dag-processor has parsed ``dag_id`` (a new file takes a refresh interval)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dag = self.polled(self.get_dag, dag_id)
            if dag is not None:
                return dag
            time.sleep(2.0)
        errors = self._ok("GET", "/api/v2/importErrors")
        raise AirflowError(f"DAG {dag_id} not parsed after {timeout:.0f}s; import errors: {errors}")

    def unpause_dag(self, dag_id: str) -> dict[str, Any]:
        return self._ok("PATCH", f"/api/v2/dags/{_q(dag_id)}?update_mask=is_paused", {"is_paused": False})

    def trigger_dag_run(self, dag_id: str, dag_run_id: str, conf: Mapping[str, Any]) -> tuple[int, Any]:
        """Returns (status, body): 200 created, 409 already exists; other statuses are for the caller."""
        body = {"logical_date": None, "dag_run_id": dag_run_id, "conf": dict(conf)}
        return self.request("POST", f"/api/v2/dags/{_q(dag_id)}/dagRuns", body)

    def get_dag_run(self, dag_id: str, dag_run_id: str) -> dict[str, Any]:
        return self._ok("GET", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(dag_run_id)}")

    def list_dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of the DAG (pages of 100, oldest first)."""
        runs: list[dict[str, Any]] = []
        while True:
            path = f"/api/v2/dags/{_q(dag_id)}/dagRuns?limit=100&offset={len(runs)}&order_by=id"
            page = self._ok("GET", path)
            runs += page["dag_runs"]
            if not page["dag_runs"] or len(runs) >= int(page["total_entries"]):
                return runs

    def list_task_instances(self, dag_id: str, dag_run_id: str) -> list[dict[str, Any]]:
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(dag_run_id)}/taskInstances?limit=100"
        return list(self._ok("GET", path)["task_instances"])

    def task_log(self, dag_id: str, dag_run_id: str, ti: Mapping[str, Any]) -> list[str]:
        """The log lines of a task instance's latest try (``ti`` as listed), as the UI shows them."""
        index = ti.get("map_index", -1)
        path = (
            f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(dag_run_id)}/taskInstances/{_q(ti['task_id'])}"
            f"/logs/{max(int(ti.get('try_number') or 1), 1)}?map_index={index}&full_content=true"
        )
        content = self._ok("GET", path).get("content") or []
        return [str(line.get("event", line)) if isinstance(line, dict) else str(line) for line in content]

    def run_report(self, dag_id: str, dag_run_id: str, tail: int = 25) -> str:
        """Why a run failed, for an assertion message: every task's state, then the last ``tail`` log
        lines of each failed task (a test's output has no other view of a task log)."""
        tis = self.list_task_instances(dag_id, dag_run_id)
        lines = [f"run {dag_id} / {dag_run_id}:"]
        lines += [f"  {ti['task_id']}[{ti.get('map_index', -1)}]: {ti['state']}" for ti in tis]
        for ti in tis:
            if ti["state"] == "failed":
                lines.append(
                    f"-- log of {ti['task_id']}[{ti.get('map_index', -1)}], try {ti.get('try_number')}:"
                )
                try:
                    lines += self.task_log(dag_id, dag_run_id, ti)[-tail:]
                except AirflowError as exc:  # unreachable too: the report still names the task
                    lines.append(f"(its log could not be read: {exc})")
        return "\n".join(lines)

    def wait_dag_run(
        self, dag_id: str, dag_run_id: str, timeout: float = 900.0, poll: float = 3.0
    ) -> dict[str, Any]:
        """Wait until the run is success/failed; raise with the task states on timeout. A poll the
        api-server answers too late (a busy shared machine: one took 36 s) is retried until the
        deadline, as the demo does; only the deadline fails the wait."""
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {"state": "not answered"}
        while time.monotonic() < deadline:
            run = self.polled(self.get_dag_run, dag_id, dag_run_id) or run
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(poll)
        report = self.run_report(dag_id, dag_run_id)
        raise AirflowError(f"DAG run {dag_run_id} still {run['state']} after {timeout:.0f}s; {report}")


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")
