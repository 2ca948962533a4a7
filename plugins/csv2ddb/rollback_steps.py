"""The csv2ddb_rollback DAG's step: roll back one load through the provider's hooks, then say so in
the DAG-run note of the rollback and of the load it undid.

Bad input (unknown run, already rolled back, no whole key list) fails without retries and deletes
nothing; an AWS error fails with retries, and a retry (or any later run) finishes the rollback.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.hooks.secrets_manager import SecretsManagerHook
from airflow.sdk.exceptions import AirflowFailException

from csv2ddb.analytics.zone_rollback import remove_processed_of_load
from csv2ddb.history import rollback
from csv2ddb.provider_clients import dynamodb_client
from csv2ddb.run_identity import run_type_name, triggered_by
from csv2ddb.run_notes import try_set_note
from csv2ddb.settings import DAG_ID_LOAD, Settings

log = logging.getLogger(__name__)


def ui_run_url(settings: Settings, dag_id: str, dag_run_id: str) -> str:
    """The Airflow UI page of a DAG run (the UI is served by the API server)."""
    run = urllib.parse.quote(dag_run_id, safe="")
    return f"{settings.airflow_api_url.rstrip('/')}/dags/{dag_id}/runs/{run}"


def rollback_note(report: rollback.Report, settings: Settings) -> str:
    """Markdown for the rollback's own run: what it undid (linked) and what it did."""
    load_dag = report.load_dag_id or DAG_ID_LOAD
    load = (
        f"[{report.load_dag_run_id}]({ui_run_url(settings, load_dag, report.load_dag_run_id)})"
        if report.load_dag_run_id
        else "(no audit record of the load)"
    )
    lines = [
        f"**csv2ddb: rolled back load `{report.run_id}`**",
        "",
        f"Undid {load_dag} run {load}, file `{report.source}`, table `{report.table}`.",
        "",
        "| keys listed | deleted | left (other loads' items) | already gone | still this load's | s |",
        "|---|---|---|---|---|---|",
        f"| {report.keys} | {report.deleted} | {report.left_overwritten} | {report.absent} "
        f"| {report.remaining} | {report.seconds:.1f} |",
    ]
    if report.overwritten_by:
        lines.append(f"\nLeft alone, overwritten by later loads: {report.overwritten_by}")
    return "\n".join(lines)


def load_note(report: rollback.Report, settings: Settings, dag_id: str) -> str:
    """The line appended to the undone load's own run note."""
    link = ui_run_url(settings, dag_id, report.dag_run_id)
    return (
        f"**Rolled back** by [{report.dag_run_id}]({link}): `{report.source}`: deleted {report.deleted} "
        f"of {report.keys} items, {report.left_overwritten} left (overwritten by later loads)."
    )


def run(run_id: str, settings: Settings, dag_run: Any) -> dict[str, Any]:
    """Roll back load ``run_id`` as DAG run ``dag_run``; the report as a dict."""
    notes = SecretsManagerHook(aws_conn_id=settings.aws_conn_id).get_secret_as_dict

    def note(dag_id: str, dag_run_id: str, text: str, append: bool = False) -> None:
        try_set_note(
            settings.airflow_api_url,
            notes,
            settings.airflow_api_secret_name,
            dag_id,
            dag_run_id,
            text,
            append,
        )

    s3 = S3Hook(aws_conn_id=settings.aws_conn_id).get_conn()
    ddb = dynamodb_client(settings, pool=settings.load.key_read_threads + 2)
    try:
        report = rollback.roll_back(
            s3,
            ddb,
            settings,
            run_id,
            dag_run_id=dag_run.run_id,
            run_type=run_type_name(getattr(dag_run, "run_type", "")),
            triggered_by=triggered_by(dag_run),
            say=log.info,
        )
    except rollback.RollbackRefused as exc:
        note(dag_run.dag_id, dag_run.run_id, f"**csv2ddb: rollback refused**: {exc}")
        raise AirflowFailException(str(exc)) from exc
    except Exception as exc:
        note(
            dag_run.dag_id,
            dag_run.run_id,
            f"**csv2ddb: rollback of `{run_id}` failed** ({type(exc).__name__}: {exc}); it can be run "
            "again and finishes the job",
        )
        raise
    zone = remove_processed_of_load(settings, run_id)  # its Parquet and partitions (docs/analytics.md)
    note(dag_run.dag_id, dag_run.run_id, rollback_note(report, settings))
    if report.load_dag_run_id:
        load_dag = report.load_dag_id or DAG_ID_LOAD
        note(load_dag, report.load_dag_run_id, load_note(report, settings, dag_run.dag_id), append=True)
    return {**report.as_dict(), **zone}
