"""Failure alerts: every csv2ddb task's ``on_failure_callback`` publishes to the SNS alerts topic.

The message names the DAG, the run, the task (with map index), the file and the log URL, so
whoever is on call can open the failing attempt straight from the alert. When the load's own
account has them (docs/checks.md), it also says which checks failed and why, the conflicting
duplicate keys, and a key taken only because a column is named ``id``: from the file's manifest
for a per-file task, from the run's audit records for the run's summary. The topic is the one
the bootstrap creates (``settings.alerts_topic_name``); its ARN is derived from the account and
region of the Airflow AWS connection, so no ARN is configured twice. A load's failed analytics
step (which never fails its task) is alerted here too: ``publish_analytics_failure``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from csv2ddb_core.contract import RUN_ID_ARG

from csv2ddb import stored_manifest
from csv2ddb.history.rollback import rollback_hint
from csv2ddb.settings import DAG_ID_LOAD, DAG_ID_ROLLBACK, Settings, load_settings

log = logging.getLogger(__name__)

# The load DAG's run-wide task after every file (csv2ddb.load.dag_builder): its alert reads the
# run's audit records; the tasks before it have no record to read yet.
SUMMARY_TASK = "summarize"
FILES_LISTED = 5  # a group task's alert names this many of its files
CHECKS_LISTED = 20  # failed checks named one a line; a longer list ends with how many more


def file_of(context: Mapping[str, Any]) -> str:
    """The source file a failing task was working on, or what the run asked for."""
    task = context.get("task")
    files = group_files(context)
    if len(files) > 1:
        listed = ", ".join(str(f.get("source_uri")) for f in files[:FILES_LISTED])
        more = f" and {len(files) - FILES_LISTED} more" if len(files) > FILES_LISTED else ""
        return f"{len(files)} files of one Glue run: {listed}{more}"
    load = load_of(context)
    if load and load.get("source_uri"):
        return str(load["source_uri"])
    script_args = getattr(task, "script_args", None)
    if isinstance(script_args, Mapping) and script_args.get("--source_key"):
        return f"s3://{script_args.get('--source_bucket')}/{script_args['--source_key']}"
    params = context.get("params") or {}
    if params.get("run_id"):  # csv2ddb_rollback
        return f"(the items of load {params['run_id']})"
    if params.get("key"):
        return f"s3://{params.get('bucket')}/{params['key']}"
    if params.get("prefix"):
        return f"s3://{params.get('bucket')}/{params['prefix']} (prefix)"
    return "(all files of the run)"


def group_files(context: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The load dicts of a group task (``group`` argument of the load DAG's ``load_file`` tasks,
    ``csv2ddb.load.groups``), in load order; empty for any other task."""
    task = context.get("task")
    for group in ((getattr(task, "op_kwargs", None) or {}).get("group"), getattr(task, "group", None)):
        if isinstance(group, Mapping) and isinstance(group.get("files"), list):
            return [f for f in group["files"] if isinstance(f, Mapping)]
    return []


def load_of(context: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The load dict of a per-file task (``load`` argument of a @task or of the Glue operator, or
    the one file of a group task); None for a group of several files (each has its own undo)."""
    files = group_files(context)
    if files:
        return files[0] if len(files) == 1 else None
    task = context.get("task")
    for load in ((getattr(task, "op_kwargs", None) or {}).get("load"), getattr(task, "load", None)):
        if isinstance(load, Mapping):
            return load
    return None


def load_run_id_of(context: Mapping[str, Any]) -> str | None:
    """The load run id a failing task worked on (its items carry it), if it worked on one file."""
    if len(group_files(context)) > 1:
        return None  # several loads: the run's note says how to roll back each one not verified
    load = load_of(context)
    if load and load.get("run_id"):
        return str(load["run_id"])
    script_args = getattr(context.get("task"), "script_args", None)
    if isinstance(script_args, Mapping) and script_args.get(RUN_ID_ARG):
        return str(script_args[RUN_ID_ARG])
    return None


def failure_message(context: Mapping[str, Any], quality: Sequence[str] = ()) -> tuple[str, str]:
    """(subject ≤ 100 chars, body) for one failed task attempt; ``quality``: the lines of
    :func:`quality_of` (what the load found about its data), added after the error."""
    ti = context["ti"]
    dag_run = context.get("dag_run")
    map_index = getattr(ti, "map_index", -1)
    task = ti.task_id if map_index in (None, -1) else f"{ti.task_id}[{map_index}]"
    error = context.get("exception")
    lines = [
        "csv2ddb task failed",
        f"DAG:      {ti.dag_id}",
        f"Run:      {ti.run_id} ({getattr(dag_run, 'run_type', '?')})",
        f"Task:     {task} (try {getattr(ti, 'try_number', '?')})",
        f"File:     {file_of(context)}",
        f"Error:    {type(error).__name__ + ': ' + str(error) if error else 'unknown'}",
        f"Log:      {getattr(ti, 'log_url', '(no log URL)')}",
        *quality,
    ]
    run_id = load_run_id_of(context)
    if run_id and ti.dag_id != DAG_ID_ROLLBACK:
        lines.append(f"Undo:     {rollback_hint(run_id)}")
    body = "\n".join(lines)
    said = " (checks failed)" if any(line.startswith(CHECKS_FAILED) for line in quality) else ""
    subject = f"[csv2ddb] {ti.dag_id} failed: {task}{said}"[:100]
    return subject, body


CHECKS_FAILED = "Checks:   failed"


def quality_lines(
    found: Mapping[str, Any], declared: Mapping[str, Any] | None = None, file: str | None = None
) -> list[str]:
    """The alert's lines about one file's data: its failed checks, one a line with a short reason
    (a row check: its rows failing and the rule as declared; a file check: by how much), its
    conflicting duplicates, and a key taken only for its name. ``found``: a manifest's ``checks``,
    ``duplicates`` and ``key_by_default`` (an audit record's are turned into these by the caller);
    ``declared``: the load's checks declaration, for the rules' arguments; ``file``: named when the
    alert covers several files."""
    lines: list[str] = []
    head = f" ({file})" if file else ""
    checks = found.get("checks") or {}
    failed = [r for r in checks.get("results") or [] if r.get("status") == "failed"]
    if failed:
        lines.append(f"{CHECKS_FAILED}{head}: {', '.join(str(r.get('check')) for r in failed)}")
        for result in failed[:CHECKS_LISTED]:
            lines.append(f"  - {result.get('check')}: {check_reason(result, declared)}")
        if len(failed) > CHECKS_LISTED:
            lines.append(f"  ... and {len(failed) - CHECKS_LISTED} more (the manifest has every result)")
    duplicates = found.get("duplicates") or {}
    if duplicates.get("conflicting"):
        policy = duplicates.get("on_conflict")
        what = "rejected as conflicting_duplicate" if policy == "reject" else "not written"
        lines.append(
            f"Duplicates{head}: {duplicates['conflicting']:,} conflicting (a key an earlier row has with "
            f"other cells; on_conflict {policy}: {what}), {duplicates.get('exact', 0):,} exact"
        )
    if found.get("key_by_default"):
        lines.append(
            f"Key{head}: the column id, only because of its name (no partition key was given): "
            "name the key if id is not one row's id"
        )
    return lines


def check_reason(result: Mapping[str, Any], declared: Mapping[str, Any] | None) -> str:
    """``2 row(s) failing; rule between {"max": 500, "min": 0}`` or a file check's detail."""
    if result.get("kind") != "row":
        return str(result.get("detail") or "failed")
    reason = f"{result.get('rows_failing', 0):,} row(s) failing"
    rule, _, column = str(result.get("check")).partition(":")
    arg = ((declared or {}).get("columns") or {}).get(column, {}).get(rule)
    if arg is not None:
        reason += f"; rule {rule} {json.dumps(arg, sort_keys=True)}"
    return reason


def record_quality(record: Mapping[str, Any]) -> dict[str, Any]:
    """An audit record's quality fields (``audit.quality_fields``) back in the manifest's shape."""
    found: dict[str, Any] = {"key_by_default": bool(record.get("key_by_default"))}
    if "checks_passed" in record:
        found["checks"] = {"results": json.loads(record.get("check_results") or "[]")}
    if record.get("duplicates_conflicting") is not None:
        found["duplicates"] = {
            "on_conflict": record.get("on_conflict"),
            "exact": record.get("duplicates_exact") or 0,
            "conflicting": record["duplicates_conflicting"],
        }
    return found


def declared_checks(load: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A load's checks declaration (its plan's canonical JSON text), or None."""
    checks = load.get("checks")
    return json.loads(checks) if isinstance(checks, str) and checks else None


def quality_of(context: Mapping[str, Any], settings: Settings) -> list[str]:
    """The alert's lines about the data (:func:`quality_lines`), read where the failing task's
    load left them: a per-file task's manifest (``manifests/<run>.json``), else, for a load DAG's
    summary (``SUMMARY_TASK``), the run's audit records; other tasks have none. Reading them never
    fails the alert: an error becomes a line saying so."""
    ti = context["ti"]
    try:
        files = group_files(context)
        if len(files) > 1:  # a group task: each file's own manifest, named
            return [
                line
                for load in files
                for line in quality_lines(
                    stored_manifest.fetch(settings, str(load["run_id"]))[0] or {},
                    declared_checks(load),
                    file=str(load.get("key")),
                )
            ]
        run_id = load_run_id_of(context)
        if run_id:
            manifest, _ = stored_manifest.fetch(settings, run_id)
            return quality_lines(manifest or {}, declared_checks(load_of(context) or {}))
        load_dag = ti.dag_id == DAG_ID_LOAD or ti.dag_id.startswith(f"{DAG_ID_LOAD}__")
        if load_dag and ti.task_id == SUMMARY_TASK:
            from csv2ddb.history import audit
            from csv2ddb.provider_clients import dynamodb_client

            records = audit.records_of_dag_run(dynamodb_client(settings), settings.audit_table, ti.run_id)
            return [
                line
                for record in records
                for line in quality_lines(record_quality(record), file=record.get("source_key"))
            ]
    except Exception as exc:  # the alert goes out without them
        log.warning("could not read the load's checks for the alert", exc_info=True)
        return [f"Checks:   (could not be read: {type(exc).__name__}: {exc})"]
    return []


def topic_arn(settings: Settings) -> str:
    """``arn:<partition>:sns:<region>:<account>:<alerts topic>`` from the Airflow AWS connection."""
    from airflow.providers.amazon.aws.hooks.sns import SnsHook
    from airflow.providers.amazon.aws.hooks.sts import StsHook

    sns = SnsHook(aws_conn_id=settings.aws_conn_id)
    account = StsHook(aws_conn_id=settings.aws_conn_id).get_account_number()
    return f"arn:{sns.conn_partition}:sns:{sns.conn_region_name}:{account}:{settings.alerts_topic_name}"


def publish_failure(context: Mapping[str, Any], settings: Settings | None = None) -> str:
    """Publish the alert; returns the SNS MessageId."""
    from airflow.providers.amazon.aws.hooks.sns import SnsHook

    settings = settings or load_settings()
    subject, body = failure_message(context, quality_of(context, settings))
    arn = topic_arn(settings)
    response = SnsHook(aws_conn_id=settings.aws_conn_id).publish_to_target(arn, body, subject=subject)
    log.info("alert published to %s (MessageId %s)", arn, response.get("MessageId"))
    return response["MessageId"]


def on_failure(context: Mapping[str, Any]) -> None:
    """Task failure callback. An alert that cannot be sent is logged loudly, never raised:
    the task has already failed for its own reason, which must stay the visible one."""
    try:
        publish_failure(context)
    except Exception:
        subject, body = failure_message(context)
        log.exception("could not publish the failure alert to SNS; the alert was:\n%s\n%s", subject, body)


def publish_analytics_failure(settings: Settings, table: str, run_id: str, error: str) -> None:
    """Publish a load's failed analytics step (``csv2ddb.analytics.step``) to the alerts topic; a
    failed publish is logged, not raised: the DynamoDB load stays verified either way."""
    from airflow.providers.amazon.aws.hooks.sns import SnsHook

    subject = f"[csv2ddb] analytics failed: {table}"[:100]
    body = (
        f"The analytics step of load {run_id} into {table} failed "
        f"(the DynamoDB load stays verified):\n{error}"
    )
    try:
        SnsHook(aws_conn_id=settings.aws_conn_id).publish_to_target(
            topic_arn(settings), body, subject=subject
        )
    except Exception:
        log.exception("could not publish the analytics alert; it was:\n%s\n%s", subject, body)
