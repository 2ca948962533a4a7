"""S3 ObjectCreated -> one Airflow DAG run per CSV file (Lambda, python3.12 runtime, stdlib + boto3).

S3 delivers events at least once, so the dag_run_id is derived from the object itself
(bucket/key/etag): a repeated event asks Airflow for the same run id, gets 409 Conflict, and
starts nothing twice. The Airflow login comes from Secrets Manager (never from code or logs).

Configuration (environment, written by the bootstrap):
  CSV2DDB_AIRFLOW_API_URL   e.g. http://127.0.0.1:8080 (mode "airflow")
  CSV2DDB_SECRET_ID         Secrets Manager secret with {"username", "password"} (mode "airflow")
  CSV2DDB_DAG_ID            default "csv2ddb_load"
  CSV2DDB_RAW_PREFIX        default "raw/"; other keys are ignored
  CSV2DDB_TRIGGER_MODE      "airflow" (REST API, default) or "mwaa" (boto3 mwaa.invoke_rest_api)
  CSV2DDB_MWAA_ENVIRONMENT  MWAA environment name (mode "mwaa")
  CSV2DDB_HTTP_TIMEOUT      seconds per Airflow API call, default 10

A failure for one record is logged with its key; the other records are still triggered, then
the invocation fails so S3/Lambda retry it (already triggered records then answer 409).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

# Bundled into the Lambda zip from glue/csv2ddb_core (the one definition of the run-id rule).
from csv2ddb_core.contract import event_dag_run_id, is_csv_key

LOG = logging.getLogger("csv2ddb.trigger_dag")
LOG.setLevel(logging.INFO)

TRIGGERED = "triggered"
ALREADY_TRIGGERED = "already_triggered"


class TriggerError(RuntimeError):
    """Airflow refused or failed a trigger (anything but created / already exists)."""


@dataclass(frozen=True)
class S3Object:
    """One object named by an S3 event record, with the key already URL-decoded."""

    bucket: str
    key: str
    etag: str
    version_id: str | None
    size: int | None
    sequencer: str | None

    def conf(self) -> dict[str, Any]:
        """The DAG run conf (the csv2ddb_load contract)."""
        return {
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "version_id": self.version_id,
            "size": self.size,
            "sequencer": self.sequencer,
        }


def parse_records(event: dict[str, Any]) -> list[S3Object]:
    """Every ObjectCreated record of an S3 event; keys arrive URL-encoded (spaces as '+')."""
    objects = []
    for record in event.get("Records") or []:
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record.get("s3") or {}
        obj = s3.get("object") or {}
        size = obj.get("size")
        objects.append(
            S3Object(
                bucket=str((s3.get("bucket") or {}).get("name", "")),
                key=urllib.parse.unquote_plus(str(obj.get("key", ""))),
                etag=str(obj.get("eTag") or obj.get("etag") or "").strip('"'),
                version_id=obj.get("versionId") or None,
                size=int(size) if size is not None else None,
                sequencer=obj.get("sequencer") or None,
            )
        )
    return objects


def skip_reason(key: str, raw_prefix: str) -> str | None:
    """Why this key must not start a load (None = load it)."""
    if not key.startswith(raw_prefix):
        return f"outside {raw_prefix}"
    if ".." in key.split("/"):
        return "contains a '..' path segment"
    if key.rsplit("/", 1)[-1].lower() == ".csv":
        return "no file name"
    if not is_csv_key(key):
        return "not a .csv file"
    return None


def dag_run_id(bucket: str, key: str, etag: str) -> str:
    """Same object, same id (see ``csv2ddb_core.contract.event_dag_run_id``)."""
    return event_dag_run_id(bucket, key, etag)


def _http_json(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> tuple[int, Any]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return status, raw.decode(errors="replace")[:500]


class AirflowRestTrigger:
    """Airflow 3 REST API: JWT from ``POST /auth/token``, then ``POST /api/v2/dags/<id>/dagRuns``."""

    def __init__(self, api_url: str, secret_id: str, timeout: float = 10.0) -> None:
        if not api_url or not secret_id:
            raise TriggerError("CSV2DDB_AIRFLOW_API_URL and CSV2DDB_SECRET_ID must be set")
        self.api_url = api_url.rstrip("/")
        self.secret_id = secret_id
        self.timeout = timeout
        self._token: str | None = None

    def _login(self) -> str:
        if self._token is None:
            secret = boto3.client("secretsmanager").get_secret_value(SecretId=self.secret_id)
            creds = json.loads(secret["SecretString"])
            status, body = _http_json(
                f"{self.api_url}/auth/token",
                {"username": creds["username"], "password": creds["password"]},
                {},
                self.timeout,
            )
            if status not in (200, 201) or not isinstance(body, dict) or "access_token" not in body:
                # The body of a failed login carries no credentials; the request body is never logged.
                raise TriggerError(f"Airflow login at {self.api_url}/auth/token failed: HTTP {status}")
            self._token = str(body["access_token"])
        return self._token

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any]) -> str:
        status, body = _http_json(
            f"{self.api_url}/api/v2/dags/{urllib.parse.quote(dag_id, safe='')}/dagRuns",
            {"logical_date": None, "dag_run_id": run_id, "conf": conf},
            {"Authorization": f"Bearer {self._login()}"},
            self.timeout,
        )
        return _outcome(status, body)


class MwaaTrigger:
    """Amazon MWAA: ``mwaa.invoke_rest_api`` signs the call with the Lambda role (no password)."""

    def __init__(self, environment: str) -> None:
        if not environment:
            raise TriggerError("CSV2DDB_MWAA_ENVIRONMENT must be set when CSV2DDB_TRIGGER_MODE=mwaa")
        self.environment = environment
        # botocore prefixes the host with "env." for InvokeRestApi; a local emulator endpoint
        # (AWS_ENDPOINT_URL, e.g. http://127.0.0.1:4566) cannot take a host prefix.
        local = bool(os.environ.get("AWS_ENDPOINT_URL"))
        self.client = boto3.client("mwaa", config=Config(inject_host_prefix=not local))

    def trigger(self, dag_id: str, run_id: str, conf: dict[str, Any]) -> str:
        try:
            resp = self.client.invoke_rest_api(
                Name=self.environment,
                Path=f"/dags/{dag_id}/dagRuns",
                Method="POST",
                Body={"logical_date": None, "dag_run_id": run_id, "conf": conf},
            )
        except self.client.exceptions.RestApiClientException as err:
            # Real MWAA raises for Airflow's 4xx answers; the status is a modeled field.
            status = int(err.response.get("RestApiStatusCode", 400))
            return _outcome(status, err.response.get("RestApiResponse"))
        return _outcome(int(resp.get("RestApiStatusCode", 200)), resp.get("RestApiResponse"))


def _outcome(status: int, body: Any) -> str:
    if status in (200, 201):
        return TRIGGERED
    if status == 409:
        return ALREADY_TRIGGERED
    detail = body.get("detail", body) if isinstance(body, dict) else body
    raise TriggerError(f"Airflow answered HTTP {status}: {str(detail)[:300]}")


def make_trigger(env: dict[str, str]) -> AirflowRestTrigger | MwaaTrigger:
    mode = env.get("CSV2DDB_TRIGGER_MODE", "airflow") or "airflow"
    if mode == "mwaa":
        return MwaaTrigger(env.get("CSV2DDB_MWAA_ENVIRONMENT", ""))
    if mode == "airflow":
        return AirflowRestTrigger(
            env.get("CSV2DDB_AIRFLOW_API_URL", ""),
            env.get("CSV2DDB_SECRET_ID", ""),
            float(env.get("CSV2DDB_HTTP_TIMEOUT", "10")),
        )
    raise TriggerError(f"CSV2DDB_TRIGGER_MODE must be airflow or mwaa, got {mode!r}")


# --- the handler ------------------------------------------------------------------------------------
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Trigger one DAG run per new CSV under the raw prefix; returns what happened to each key."""
    env = dict(os.environ)
    dag_id = env.get("CSV2DDB_DAG_ID", "csv2ddb_load") or "csv2ddb_load"
    raw_prefix = env.get("CSV2DDB_RAW_PREFIX", "raw/") or "raw/"
    summary: dict[str, Any] = {"dag_id": dag_id, "skipped": [], "failed": []}
    summary.update({TRIGGERED: [], ALREADY_TRIGGERED: []})
    objects = parse_records(event)
    trigger = None
    errors: list[BaseException] = []
    for obj in objects:
        reason = skip_reason(obj.key, raw_prefix)
        if reason:
            LOG.info("skipping s3://%s/%s: %s", obj.bucket, obj.key, reason)
            summary["skipped"].append({"key": obj.key, "reason": reason})
            continue
        run_id = dag_run_id(obj.bucket, obj.key, obj.etag)
        try:
            trigger = trigger or make_trigger(env)
            outcome = trigger.trigger(dag_id, run_id, obj.conf())
        except Exception as exc:  # logged with the key, re-raised below so the event is retried
            LOG.exception("trigger of %s for s3://%s/%s failed", dag_id, obj.bucket, obj.key)
            summary["failed"].append({"key": obj.key, "dag_run_id": run_id, "error": str(exc)[:300]})
            errors.append(exc)
            continue
        if outcome == ALREADY_TRIGGERED:
            LOG.info("s3://%s/%s already triggered as %s (409): nothing to do", obj.bucket, obj.key, run_id)
        else:
            LOG.info("triggered %s run %s for s3://%s/%s", dag_id, run_id, obj.bucket, obj.key)
        summary[outcome].append({"key": obj.key, "dag_run_id": run_id})
    if errors:
        keys = ", ".join(item["key"] for item in summary["failed"])
        raise TriggerError(f"{len(errors)} of {len(objects)} records failed ({keys})") from errors[0]
    return summary
