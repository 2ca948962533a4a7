"""Failure alerts: every csv2ddb task's ``on_failure_callback`` publishes to the SNS alerts topic.

The message names the DAG, the run, the task (with map index), the file and the log URL, so
whoever is on call can open the failing attempt straight from the alert. The topic is the one
the bootstrap creates (``settings.alerts_topic_name``); its ARN is derived from the account and
region of the Airflow AWS connection, so no ARN is configured twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from csv2ddb.history.rollback import rollback_hint
from csv2ddb.load.glue_run import RUN_ID_ARG
from csv2ddb.settings import DAG_ID_ROLLBACK, Settings, load_settings

log = logging.getLogger(__name__)


def file_of(context: Mapping[str, Any]) -> str:
    """The source file a failing task was working on, or what the run asked for."""
    task = context.get("task")
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


def load_of(context: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The load dict of a per-file task (``load`` argument of a @task or of the Glue operator)."""
    task = context.get("task")
    for load in ((getattr(task, "op_kwargs", None) or {}).get("load"), getattr(task, "load", None)):
        if isinstance(load, Mapping):
            return load
    return None


def load_run_id_of(context: Mapping[str, Any]) -> str | None:
    """The load run id a failing task worked on (its items carry it), if it worked on one file."""
    load = load_of(context)
    if load and load.get("run_id"):
        return str(load["run_id"])
    script_args = getattr(context.get("task"), "script_args", None)
    if isinstance(script_args, Mapping) and script_args.get(RUN_ID_ARG):
        return str(script_args[RUN_ID_ARG])
    return None


def failure_message(context: Mapping[str, Any]) -> tuple[str, str]:
    """(subject ≤ 100 chars, body) for one failed task attempt."""
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
    ]
    run_id = load_run_id_of(context)
    if run_id and ti.dag_id != DAG_ID_ROLLBACK:
        lines.append(f"Undo:     {rollback_hint(run_id)}")
    body = "\n".join(lines)
    subject = f"[csv2ddb] {ti.dag_id} failed: {task}"[:100]
    return subject, body


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
    subject, body = failure_message(context)
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
