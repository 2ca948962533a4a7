"""The steps of the csv2ddb_load DAG, as plain functions the thin DAG file wraps in ``@task``.

Each step takes what it needs explicitly (settings, the load dict, the task instance for
XCom) so it can be unit-tested against the emulator without a scheduler. Bad input raises
``AirflowFailException`` (retrying cannot fix it); AWS hiccups raise normally so the task's
retries apply.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.providers.amazon.aws.hooks.dynamodb import DynamoDBHook
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.hooks.secrets_manager import SecretsManagerHook
from airflow.sdk.exceptions import AirflowFailException
from csv2ddb_core.contract import ManifestError

from csv2ddb import audit, counts, load_inputs, tables
from csv2ddb.dag_params import InvalidLoadRequest, LoadRequest, plan_request, run_type_name
from csv2ddb.run_notes import format_note, try_set_note
from csv2ddb.settings import Settings
from csv2ddb.tables import audit_table_spec, items_table_spec

log = logging.getLogger(__name__)

OUTCOME_KEY = "count_check"


def dynamodb_client(settings: Settings) -> Any:
    """A low-level DynamoDB client on DynamoDBHook's session, connection and endpoint.

    ``DynamoDBHook.client`` is the *resource's* client, which serializes values itself: a typed
    ``{"S": "x"}`` becomes a map and a ``load_run_id`` filter silently matches nothing. The
    count check and the audit store speak the typed low-level API, so they get a plain client.
    """
    hook = DynamoDBHook(aws_conn_id=settings.aws_conn_id)
    return hook.get_session().client(
        "dynamodb",
        endpoint_url=hook.conn_config.get_service_endpoint_url(service_name="dynamodb"),
        config=hook.config,
        verify=hook.verify,
    )


def plan(params: Mapping[str, Any], run_type: Any, ds: str | None, settings: Settings) -> LoadRequest:
    try:
        return plan_request(params, run_type, ds, settings)
    except InvalidLoadRequest as exc:
        raise AirflowFailException(f"invalid load request: {exc}") from exc


def resolve(request: LoadRequest, dag_run_id: str, settings: Settings) -> list[dict[str, Any]]:
    """The run's loads (one dict per file); fails (without retries) when there is nothing to load."""
    try:
        loads = load_inputs.resolve_inputs(request, S3Hook(aws_conn_id=settings.aws_conn_id), dag_run_id)
    except InvalidLoadRequest as exc:
        raise AirflowFailException(str(exc)) from exc
    for load in loads:
        log.info(
            "will load %s (etag %s, %s bytes) as run %s",
            load["source_uri"],
            load["etag"],
            load["size"],
            load["run_id"],
        )
    return loads


def ensure_tables(loads: Sequence[Mapping[str, Any]], settings: Settings) -> list[dict[str, Any]]:
    """Ensure every target table of the run (in practice one)."""
    return [ensure(table, settings) for table in sorted({load["table"] for load in loads})]


def ensure(table: str, settings: Settings) -> dict[str, Any]:
    try:
        result = tables.ensure_table(
            dynamodb_client(settings), items_table_spec(settings, table), tags=settings.tags
        )
    except tables.TableSchemaMismatch as exc:
        raise AirflowFailException(str(exc)) from exc
    log.info("table ready: %s", result)
    return result


def read_manifest(load: Mapping[str, Any], settings: Settings) -> tuple[dict[str, Any] | None, str]:
    """(manifest or None when absent, its s3 uri)."""
    key = settings.manifest_key(load["run_id"])
    where = f"s3://{settings.bucket}/{key}"
    hook = S3Hook(aws_conn_id=settings.aws_conn_id)
    if not hook.check_for_key(key, bucket_name=settings.bucket):
        return None, where
    return counts.parse_manifest(hook.read_key(key, bucket_name=settings.bucket), where), where


def check(load: Mapping[str, Any], settings: Settings, ti: Any) -> dict[str, Any]:
    """Verify one load; the outcome is pushed to XCom (``count_check``) even when it fails,
    so the audit step records the figures of a failed check too."""
    outcome: dict[str, Any] = {"ok": False, "error": None, "verification": None}
    try:
        manifest, where = read_manifest(load, settings)
        if manifest is None:
            raise ManifestError(f"manifest {where} does not exist: the Glue job wrote no account of the load")
        result = counts.verify_load(manifest, load, dynamodb_client(settings), where)
        outcome.update(ok=result.ok, verification=result.as_dict())
        counts.raise_on_mismatch(result)
    except (ManifestError, counts.CountMismatch) as exc:
        outcome["error"] = str(exc)
        ti.xcom_push(key=OUTCOME_KEY, value=outcome)
        raise AirflowFailException(str(exc)) from exc
    ti.xcom_push(key=OUTCOME_KEY, value=outcome)
    log.info(
        "verified %s: read %s = written %s + rejected %s + duplicate %s; table holds %s items of this run",
        load["source_uri"],
        result.rows_read,
        result.rows_written,
        result.rows_rejected,
        result.rows_duplicate,
        result.items_counted,
    )
    return outcome["verification"]


def record(
    load: Mapping[str, Any],
    settings: Settings,
    ti: Any,
    dag_run: Any,
    glue_task_id: str,
    check_task_id: str,
) -> dict[str, Any]:
    """Write the audit record of one (DAG run, file), whatever happened before; return it."""
    map_index = getattr(ti, "map_index", -1)
    outcome = ti.xcom_pull(task_ids=check_task_id, key=OUTCOME_KEY, map_indexes=map_index)
    glue_run = ti.xcom_pull(task_ids=glue_task_id, key="glue_job_run_id", map_indexes=map_index)
    manifest: dict[str, Any] | None = None
    error: str | None = None
    try:
        manifest, _ = read_manifest(load, settings)
    except ManifestError as exc:
        error = str(exc)
    verification = (outcome or {}).get("verification")
    if outcome and outcome.get("ok"):
        status = audit.STATUS_VERIFIED
    elif verification:
        status = audit.STATUS_COUNT_MISMATCH
        error = outcome.get("error")
    else:
        status = audit.STATUS_FAILED
        if outcome:
            error = outcome.get("error")
        elif manifest and manifest.get("status") == "failed":
            error = f"Glue job failed: {manifest.get('error')}"
        elif error is None:
            error = (
                "the load did not reach the count check (Glue task or an earlier step failed; see its log)"
            )
    rec = audit.build_record(
        dag_id=ti.dag_id,
        dag_run_id=ti.run_id,
        run_type=run_type_name(getattr(dag_run, "run_type", "")),
        triggered_by=_triggered_by(dag_run),
        logical_date=_iso(getattr(dag_run, "logical_date", None)),
        load=load,
        status=status,
        glue_job_name=settings.glue_job_name,
        glue_job_run_id=glue_run,
        manifest=manifest,
        items_counted=(verification or {}).get("items_counted"),
        error=error,
    )
    audit.put_record(dynamodb_client(settings), audit_table_spec(settings).name, rec)
    log.info("audit record written to %s: %s", settings.audit_table, rec)
    return rec


def _triggered_by(dag_run: Any) -> str:
    user = getattr(dag_run, "triggering_user_name", None)
    if user:
        return str(user)
    run_type = run_type_name(getattr(dag_run, "run_type", ""))
    return {"scheduled": "scheduler", "backfill": "backfill", "asset_triggered": "asset"}.get(
        run_type, "unknown"
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else None


def summarize(records: Sequence[Mapping[str, Any]], expected: int) -> tuple[str, list[str]]:
    """(note text, problems); problems empty only when every expected file is verified."""
    problems = [
        f"{r.get('source_key')}: {r.get('status')} ({r.get('error')})"
        for r in records
        if r.get("status") != audit.STATUS_VERIFIED
    ]
    if len(records) < expected:
        problems.append(f"{expected - len(records)} of {expected} file(s) have no audit record")
    if expected == 0:
        problems.append("no files were resolved for this run (see resolve_inputs)")
    return format_note(records, expected), problems


def finish(
    records: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None,
    loads: Sequence[Mapping[str, Any]] | None,
    dag_id: str,
    dag_run_id: str,
    settings: Settings,
) -> dict[str, Any]:
    """Note the run's figures on the DAG run; fail unless every file of the run is verified."""
    # Pulled from a mapped task group, one file's record arrives as a dict, several as a list.
    if isinstance(records, Mapping):
        records = [records]
    records = [dict(r) for r in (records or [])]
    note, problems = summarize(records, len(loads or []))
    reader = SecretsManagerHook(aws_conn_id=settings.aws_conn_id).get_secret_as_dict
    try_set_note(settings.airflow_api_url, reader, settings.airflow_api_secret_name, dag_id, dag_run_id, note)
    if problems:
        raise AirflowFailException("not every file was verified:\n" + "\n".join(problems))
    return {"verified": len(records), "note": note}
