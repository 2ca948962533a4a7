"""S3 ObjectCreated events -> Airflow DAG runs, one per dataset a burst touches (Lambda, python3.12
runtime, stdlib + boto3).

S3 notifies the events queue (SQS); its event source mapping invokes this handler with a few
messages, and the handler keeps taking messages from the queue until it is quiet (``queue_drain``).
Each object goes to the DAG of the dataset that claims its key (``routes.py``: the routing
table; a key no dataset claims is recorded as ``unrouted``, never loaded). A dataset's objects go
into ONE DAG run: ``conf.objects`` (a batch of one also carries the object's
fields at the top level, the pre-batch conf). S3 and SQS deliver at least once, so the dag_run_id
is derived from the batch's objects (``csv2ddb_core.contract.batch_dag_run_id``): the same events
again ask Airflow for the same run id, get 409 Conflict, and start nothing twice. The Airflow login
comes from Secrets Manager (never from code or logs).

Configuration (environment, written by the bootstrap):
  CSV2DDB_AIRFLOW_API_URL   e.g. http://127.0.0.1:8080 (mode "airflow")
  CSV2DDB_SECRET_ID         Secrets Manager secret with {"username", "password"} (mode "airflow")
  CSV2DDB_ROUTES_KEY        the routing table's key in the event's bucket (routes.py); unset: every
                            key under the raw prefix goes to CSV2DDB_DAG_ID (the one-table setup)
  CSV2DDB_AUDIT_TABLE       where an unrouted file is recorded (status "unrouted", with the reason)
  CSV2DDB_DAG_ID            default "csv2ddb_load" (only without CSV2DDB_ROUTES_KEY)
  CSV2DDB_RAW_PREFIX        default "raw/"; other keys are skipped (logged)
  CSV2DDB_TRIGGER_MODE      "airflow" (REST API, default) or "mwaa" (boto3 mwaa.invoke_rest_api)
  CSV2DDB_MWAA_ENVIRONMENT  MWAA environment name (mode "mwaa")
  CSV2DDB_HTTP_TIMEOUT      seconds per Airflow API call, default 10
  CSV2DDB_EVENT_WINDOW_SECONDS / _QUIET_SECONDS / _MAX_OBJECTS / _RETRY_SECONDS  queue_drain.DrainLimits
  CSV2DDB_EVENT_CLAIMS_TABLE, CSV2DDB_EVENT_CLAIM_GRACE_SECONDS   the ledger (claims.py): an object
  already handed to an existing run is a duplicate, dropped from a later batch
  (the queue drained is the one the SQS records came from, their ``eventSourceARN``; a window of 0
  takes only the invocation's own records)

If the trigger fails, the invocation fails: the mapping's messages and the drained ones return to
the queue after CSV2DDB_EVENT_RETRY_SECONDS and are retried (after 50 receives they go to the
dead-letter queue, kept 14 days); nothing is deleted before its run exists.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from claims import Claims

# Bundled into the Lambda zip from glue/csv2ddb_core (the one definition of the run-id rules).
from csv2ddb_core.contract import batch_dag_run_id, event_dag_run_id, is_csv_key
from queue_drain import Drained, DrainLimits, delete_drained, drain, queue_url_of, retry_later
from routes import Router, record_unrouted
from s3_events import S3Object, first_per_identity, is_sqs_event, objects_of_message, parse_records

LOG = logging.getLogger("csv2ddb.trigger_dag")
LOG.setLevel(logging.INFO)
if not logging.getLogger().handlers:
    # The Lambda runtime gives the root logger a handler that writes to CloudWatch; a runtime that
    # does not (the local emulator's worker) would show only warnings. Either way the log says what
    # happened to each file.
    logging.basicConfig(format="%(levelname)s %(message)s")

TRIGGERED = "triggered"
ALREADY_TRIGGERED = "already_triggered"


class TriggerError(RuntimeError):
    """Airflow refused or failed a trigger (anything but created / already exists)."""


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


def _http_json(
    url: str, body: dict[str, Any] | None, headers: dict[str, str], timeout: float
) -> tuple[int, Any]:
    """POST ``body`` as JSON (GET when it is None); the status and the decoded answer."""
    req = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
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

    def exists(self, dag_id: str, run_id: str) -> bool:
        """Does the DAG run exist (the ledger asks before it drops a duplicate)?"""
        dag, run = (urllib.parse.quote(part, safe="") for part in (dag_id, run_id))
        url = f"{self.api_url}/api/v2/dags/{dag}/dagRuns/{run}"
        status, body = _http_json(url, None, {"Authorization": f"Bearer {self._login()}"}, self.timeout)
        return _found(status, body)


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

    def exists(self, dag_id: str, run_id: str) -> bool:
        try:
            resp = self.client.invoke_rest_api(
                Name=self.environment, Path=f"/dags/{dag_id}/dagRuns/{run_id}", Method="GET"
            )
        except self.client.exceptions.RestApiClientException as err:
            status = int(err.response.get("RestApiStatusCode", 400))
            return _found(status, err.response.get("RestApiResponse"))
        return _found(int(resp.get("RestApiStatusCode", 200)), resp.get("RestApiResponse"))


def _found(status: int, body: Any) -> bool:
    if status == 200:
        return True
    if status == 404:
        return False
    detail = body.get("detail", body) if isinstance(body, dict) else body
    raise TriggerError(f"Airflow answered HTTP {status} to a DAG-run lookup: {str(detail)[:300]}")


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
def batch_conf(objects: list[S3Object]) -> dict[str, Any]:
    """The conf of the batch's one DAG run: ``objects``; a batch of one also keeps the object's own
    fields at the top level (what the load DAG read before batches)."""
    conf: dict[str, Any] = {"objects": [obj.conf() for obj in objects]}
    if len(objects) == 1:
        conf.update(objects[0].conf())
    return conf


def _event_objects(event: dict[str, Any], env: dict[str, str]) -> tuple[list[S3Object], Drained | None]:
    """The objects this invocation must start a run for, and the messages it holds (SQS only)."""
    if not is_sqs_event(event):
        return parse_records(event), None
    records = event["Records"]
    objects = [obj for record in records for obj in objects_of_message(str(record.get("body", "")))]
    sqs = boto3.client("sqs")
    queue_url = queue_url_of(sqs, str(records[0].get("eventSourceARN", "")))
    held = Drained(sqs, queue_url, DrainLimits.from_env(env), given=[r["receiptHandle"] for r in records])
    if held.limits.window_seconds <= 0:
        return objects, held

    def count(bodies: list[str]) -> int:
        return sum(len(objects_of_message(b)) for b in bodies)

    drain(held, count, already=len(objects))
    objects += [obj for body in held.bodies for obj in objects_of_message(body)]
    return objects, held


def _claimed(
    env: dict[str, str],
    candidates: list[S3Object],
    run_id: str,
    run_exists: Callable[[str], bool],
    summary: dict[str, Any],
) -> list[S3Object]:
    """The candidates not handed to another existing run (the claims ledger, ``claims.py``); without
    ``CSV2DDB_EVENT_CLAIMS_TABLE`` all of them. Duplicates are logged and listed in the summary."""
    table = env.get("CSV2DDB_EVENT_CLAIMS_TABLE", "")
    if not table:
        return candidates
    grace = float(env.get("CSV2DDB_EVENT_CLAIM_GRACE_SECONDS", "180"))
    result = Claims(boto3.client("dynamodb"), table, grace).claim(candidates, run_id, run_exists)
    for key, other in result.duplicates.items():
        LOG.info("%s already went to run %s: a duplicate event, not loaded again", key, other)
        summary["duplicates"].append({"key": key, "dag_run_id": other})
    return result.kept


def _some_keys(batch: list[S3Object], shown: int = 5) -> str:
    more = f" and {len(batch) - shown} more" if len(batch) > shown else ""
    return ", ".join(obj.key for obj in batch[:shown]) + more


def _trigger_batch(
    env: dict[str, str],
    trigger: AirflowRestTrigger | MwaaTrigger,
    dag_id: str,
    candidates: list[S3Object],
    summary: dict[str, Any],
) -> None:
    """ONE run of ``dag_id`` for these objects (minus those the ledger says another run has)."""
    run_id = batch_dag_run_id([obj.identity for obj in candidates])
    summary["dag_run_ids"][dag_id] = run_id
    batch = _claimed(env, candidates, run_id, lambda other: trigger.exists(dag_id, other), summary)
    if not batch:
        return
    outcome = trigger.trigger(dag_id, run_id, batch_conf(batch))
    keys = _some_keys(batch)
    if outcome == ALREADY_TRIGGERED:
        LOG.info("%d file(s) (%s) already triggered as %s (409): nothing to do", len(batch), keys, run_id)
    else:
        LOG.info("triggered %s run %s for %d file(s): %s", dag_id, run_id, len(batch), keys)
    summary[outcome] += [{"key": obj.key, "dag_id": dag_id, "dag_run_id": run_id} for obj in batch]


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Start ONE DAG run per dataset for every new CSV of this burst that a dataset claims (the
    routing table, ``routes.py``); returns what happened to each key (``triggered`` /
    ``already_triggered`` name the DAG and run id; ``unrouted`` and ``scheduled`` say why not)."""
    env = dict(os.environ)
    default_dag_id = env.get("CSV2DDB_DAG_ID", "csv2ddb_load") or "csv2ddb_load"
    raw_prefix = env.get("CSV2DDB_RAW_PREFIX", "raw/") or "raw/"
    summary: dict[str, Any] = {"dag_run_ids": {}, "skipped": [], "failed": [], "duplicates": []}
    summary.update({TRIGGERED: [], ALREADY_TRIGGERED: [], "unrouted": [], "scheduled": []})
    objects, held = _event_objects(event, env)
    loadable = []
    for obj in objects:
        reason = skip_reason(obj.key, raw_prefix)
        if reason:
            LOG.info("skipping s3://%s/%s: %s", obj.bucket, obj.key, reason)
            summary["skipped"].append({"key": obj.key, "reason": reason})
        else:
            loadable.append(obj)
    candidates = first_per_identity(loadable)
    keys = _some_keys(candidates)
    try:
        routed = Router(boto3.client("s3"), env.get("CSV2DDB_ROUTES_KEY", ""), default_dag_id).route(
            candidates
        )
        for obj, dag_id in routed.scheduled:
            LOG.info(
                "leaving s3://%s/%s to %s: its dataset's files arrive by schedule",
                obj.bucket,
                obj.key,
                dag_id,
            )
            summary["scheduled"].append({"key": obj.key, "dag_id": dag_id})
        if routed.unrouted:
            record_unrouted(boto3.client("dynamodb"), env.get("CSV2DDB_AUDIT_TABLE", ""), routed.unrouted)
            summary["unrouted"] = [{"key": obj.key, "reason": reason} for obj, reason in routed.unrouted]
        if routed.by_dag:
            trigger = make_trigger(env)
            for dag_id, batch in sorted(routed.by_dag.items()):
                _trigger_batch(env, trigger, dag_id, batch, summary)
    except Exception as exc:  # logged with the keys, re-raised so the events are retried
        LOG.exception("routing or triggering the run(s) for %d file(s) (%s) failed", len(candidates), keys)
        if held is not None:
            retry_later(held)
        raise TriggerError(f"{len(candidates)} of {len(objects)} records failed ({keys})") from exc
    if held is not None:  # only now: every run exists (201 or 409)
        summary["not_deleted"] = delete_drained(held)
    summary["events"] = len(objects)
    return summary
