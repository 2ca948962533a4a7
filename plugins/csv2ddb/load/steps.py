"""The steps of the csv2ddb_load DAG, as plain functions the thin DAG file wraps in ``@task``.

Each step takes what it needs explicitly (settings, the load dict, the task instance for
XCom) so it can be unit-tested against the emulator without a scheduler. Bad input raises
``AirflowFailException`` (retrying cannot fix it); AWS hiccups raise normally so the task's
retries apply.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.providers.amazon.aws.hooks.secrets_manager import SecretsManagerHook
from airflow.sdk.exceptions import AirflowFailException
from csv2ddb_core.checks import history_of, with_history
from csv2ddb_core.contract import (
    LOAD_IMPORT,
    STATUS_SUCCEEDED,
    ManifestError,
)

from csv2ddb import stored_manifest, tables
from csv2ddb.analytics.step import audit_fields
from csv2ddb.datasets.spec import Dataset
from csv2ddb.engines import PYTHONSHELL
from csv2ddb.history import audit
from csv2ddb.job_definitions import job_name
from csv2ddb.load import counts, file_plan, groups, inputs, verdict
from csv2ddb.load.staging_cleanup import delete_staging
from csv2ddb.load.trigger_form import InvalidLoadRequest, LoadRequest, plan_request
from csv2ddb.provider_clients import dynamodb_client
from csv2ddb.run_identity import RunStamp
from csv2ddb.run_notes import format_note, try_set_note
from csv2ddb.settings import DAG_ID_LOAD, Settings
from csv2ddb.tables import audit_table_spec

log = logging.getLogger(__name__)


def plan(
    params: Mapping[str, Any],
    run_type: Any,
    ds: str | None,
    settings: Settings,
    dataset: Dataset | None = None,
) -> LoadRequest:
    try:
        return plan_request(params, run_type, ds, settings, dataset)
    except InvalidLoadRequest as exc:
        raise AirflowFailException(f"invalid load request: {exc}") from exc


def resolve(
    request: LoadRequest, dag_run_id: str, settings: Settings, dag_id: str = DAG_ID_LOAD
) -> list[dict[str, Any]]:
    """The run's loads (one dict per file); fails (without retries) when there is nothing to load.

    An event batch leaves out what it must not load (logged): objects outside the raw prefix, gone
    or replaced since their event, and object versions this DAG has verified already (S3 and SQS
    deliver at least once, and a redelivered event may land in another batch, so another run)."""
    for why in request.ignored:
        log.warning("left out of this batch: %s", why)
    try:
        loads = inputs.resolve_inputs(request, S3Hook(aws_conn_id=settings.aws_conn_id), dag_run_id)
    except InvalidLoadRequest as exc:
        raise AirflowFailException(str(exc)) from exc
    if request.mode == "objects":
        done = audit.verified_versions(
            dynamodb_client(settings),
            audit_table_spec(settings).name,
            dag_id,
            [(load["source_uri"], load["etag"]) for load in loads],
        )
        for source, by_run in sorted(done.items()):
            log.info("%s: left out, this version was verified already by run %s", source, by_run)
        loads = [load for load in loads if load["source_uri"] not in done]
    for load in loads:
        log.info(
            "will load %s (etag %s, %s bytes) as run %s",
            load["source_uri"],
            load["etag"],
            load["size"],
            load["run_id"],
        )
    return loads


def prepare(
    request: LoadRequest, dag_run_id: str, settings: Settings, dag_id: str = DAG_ID_LOAD
) -> list[dict[str, Any]]:
    """Resolve the run's files, ensure their tables, and decide each file's plan (``load.file_plan``),
    in one task: no file starts before its table is ready, and the run pays one task start."""
    loads = resolve(request, dag_run_id, settings, dag_id)
    decided: dict[str, file_plan.Decision] = {}
    for table in sorted({load["table"] for load in loads}):
        sizes = [int(load["size"]) for load in loads if load["table"] == table]
        decided[table] = ensure(table, settings, request.options, len(sizes), sum(sizes))
    checks = {table: resolved_checks(request.checks, table, settings, dag_id) for table in decided}
    try:
        plans = [
            file_plan.decide(
                load,
                decided[load["table"]],
                request.csv_options,
                request.engine,
                settings,
                checks[load["table"]],
                request.on_conflict,
                processed=request.processed,
            )
            for load in loads
        ]
    except file_plan.InvalidPlan as exc:
        raise AirflowFailException(f"invalid load request: {exc}") from exc
    for one in plans:
        log.info("%s: engine %s, options %s, csv %s", one.source.uri, one.engine, one.write, one.csv)
    return [one.to_xcom() for one in plans]


def resolved_checks(checks: str, table: str, settings: Settings, dag_id: str) -> str:
    """The run's checks for one table with ``row_count_history`` made a concrete bound: the row
    counts of the last N verified loads into that table, read from the audit table here (the job
    never reads the audit table). No history yet: the check passes and says so."""
    if not checks:
        return ""
    declared = json.loads(checks)
    wanted = history_of(declared)
    if wanted is None:
        return checks
    counts = audit.recent_row_counts(
        dynamodb_client(settings), audit_table_spec(settings).name, dag_id, table, wanted[0]
    )
    resolved = with_history(declared, counts)
    spec = resolved["file"]["row_count_history"]
    log.info("%s: row-count history of %d verified load(s), median %s", table, spec["loads"], spec["median"])
    return json.dumps(resolved, sort_keys=True, separators=(",", ":"))


def ensure(
    table: str, settings: Settings, requested: Mapping[str, str], files: int = 1, size: int = 0
) -> file_plan.Decision:
    """Decide the table's write options (keys: the params', else the existing table's, else the
    settings'; the load method: ``file_plan.choose_method``, from the S3 size of the run's
    file(s), ``size`` bytes in all), then create or check the table with them (an import creates its
    own table); return the decision."""
    client = dynamodb_client(settings)
    existing = tables.describe(client, table)
    try:
        keys = tables.key_schema_of(existing) if existing else None
        decision = file_plan.decide_write(requested, settings, keys, files, size)
        write = decision.write
        log.info("%s: load_method %s", table, write.load_method_reason)
        if write.load_method == LOAD_IMPORT:
            log.info(
                "table %s does not exist: the load imports it (ImportTable); options %s", table, write.texts()
            )
            return decision
        spec = tables.items_table_spec(settings, table, write.keys, write.ttl_attribute)
        result = tables.ensure_table(client, spec, tags=settings.tags)
    except (tables.TableSchemaMismatch, file_plan.InvalidOptions) as exc:
        raise AirflowFailException(str(exc)) from exc
    log.info("table ready: %s; load options %s", result, write)
    return decision


def count_method(params: Mapping[str, Any] | None, settings: Settings) -> str:
    """The run's count method: its conf ``count_method`` (a reconciliation run asks for ``scan``),
    else ``settings.load.count_method``; anything else fails the file without retries."""
    method = (params or {}).get("count_method") or settings.load.count_method
    if method not in counts.METHODS:
        raise AirflowFailException(f"count_method must be one of {counts.METHODS}, got {method!r}")
    return str(method)


@dataclass(frozen=True)
class Done:
    """Where the verify step of a file learns how its steps ended (task ids of its group).

    ``finished``: the file is loaded when one of these returned a value (a Glue task returns its
    JobRunId only when the run succeeded; the import step its ARN, and it skips when it handed the
    file over to a batch load). ``glue_runs``: where its Glue JobRunId is, the first found wins."""

    finished: tuple[str, ...]
    glue_runs: tuple[str, ...]

    def glue_run(self, ti: Any) -> str | None:
        for task_id in self.glue_runs:
            found = ti.xcom_pull(task_ids=task_id, key="glue_job_run_id", map_indexes=_map_index(ti))
            if found is not None:
                return str(found)
        return None

    def loaded(self, ti: Any) -> bool:
        return any(
            ti.xcom_pull(task_ids=task_id, map_indexes=_map_index(ti)) is not None
            for task_id in self.finished
        )


def _map_index(ti: Any) -> int:
    return int(getattr(ti, "map_index", -1))


def by_path(loads: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(batch files, files planned as imports), in the run's order: each is mapped over its own task
    group, so a batch file's steps stay two tasks and only an import pays for the import's steps."""
    batch: list[dict[str, Any]] = []
    imports: list[dict[str, Any]] = []
    for load in loads:
        (imports if file_plan.FilePlan.from_xcom(load).imports else batch).append(load)
    return batch, imports


def verify(
    load: Mapping[str, Any],
    settings: Settings,
    ti: Any,
    dag_run: Any,
    done: Done,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check one file and write its audit record, whatever happened before; return the record.

    Runs after the file's other steps whatever their state (``all_done``). When none of them says
    the file is loaded (``done``), it is recorded ``failed`` (the failed step has already failed and
    alerted). A failed check is recorded first, then fails this task (no retries). An AWS error
    during the check is recorded as ``failed`` too, then raised so the task retries (a successful
    retry overwrites the record).
    """
    return verify_file(load, settings, ti, dag_run, done.loaded(ti), done.glue_run(ti), params)


@dataclass(frozen=True)
class Judged:
    """One file's verdict before its record: the outcome, whether the file reached the table, and an
    AWS error that kept its check (or its record) from completing: recorded, then raised so the task
    retries."""

    load: Mapping[str, Any]
    outcome: audit.Outcome
    loaded: bool
    retry: Exception | None = None


def judge_file(
    load: Mapping[str, Any],
    settings: Settings,
    loaded: bool | None,
    method: str,
    clients: verdict.Clients | None = None,
) -> Judged:
    """Read the file's manifest once and judge it (``load.verdict``); ``loaded`` None: as the file's
    own manifest says (a file of a group run: the run fails when one file does). ``clients``: the
    step's, shared by every file it judges (None: made for this file)."""
    manifest: dict[str, Any] | None = None
    try:
        clients = clients or verdict.Clients.of(settings)
        manifest, where = stored_manifest.fetch(settings, load["run_id"], clients.s3)
        if loaded is None:
            loaded = (manifest or {}).get("status") == STATUS_SUCCEEDED
        outcome = verdict.judge(load, manifest, where, loaded, settings, method, clients)
    except ManifestError as exc:
        return Judged(load, audit.Outcome(audit.STATUS_FAILED, str(exc), manifest), bool(loaded))
    except Exception as exc:  # noqa: BLE001 -- an AWS error: recorded failed, then raised (retries)
        why = f"count check could not run (the task retries): {type(exc).__name__}: {exc}"
        return Judged(load, audit.Outcome(audit.STATUS_FAILED, why, manifest), bool(loaded), exc)
    if outcome.status == audit.STATUS_VERIFIED and manifest and manifest.get("load_method") == LOAD_IMPORT:
        log.info("verified import: deleted %d staging object(s)", delete_staging(manifest, settings))
    return Judged(load, outcome, loaded)


def shared_clients(settings: Settings) -> verdict.Clients | None:
    """The verify step's one set of clients; None when they cannot be made (each file then tries
    its own and, failing, is recorded ``failed`` with the error before the task retries)."""
    try:
        return verdict.Clients.of(settings)
    except Exception:
        log.exception("the verify step's AWS clients could not be made; each file tries its own")
        return None


def verify_files(
    files: Sequence[Mapping[str, Any]],
    settings: Settings,
    ti: Any,
    dag_run: Any,
    loaded: bool | None,
    glue_run: str | None,
    params: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> list[tuple[Judged, dict[str, Any]]]:
    """Judge every file, run the analytics step ONCE for all of them (one Athena count per table and
    day: ``analytics.step``), then write each file's audit record; never raises for one file, so
    every file is recorded. Each (judged, record) in order. One set of AWS clients serves every
    file (``verdict.Clients``); each file is still judged and recorded alone."""
    method = count_method(params, settings)
    run = RunStamp.of(ti, dag_run)
    clients = shared_clients(settings)
    judged = [judge_file(load, settings, loaded, method, clients) for load in files]
    # The analytics side (docs/analytics.md): metrics, catalog partitions, the Athena count; its
    # failure is recorded and alerted, never raised: it leaves each file's status alone.
    checked = [(j.load, j.outcome.manifest, j.outcome.status) for j in judged if j.retry is None]
    analytics = audit_fields(settings, checked) if settings.load.processed and checked else {}
    client = clients.dynamodb if clients else dynamodb_client(settings)
    audit_table = audit_table_spec(settings).name
    done: list[tuple[Judged, dict[str, Any]]] = []
    for one in judged:
        # The job named is the engine's that ran (the manifest says; a run without one: the default's);
        # the inline engine has none (its record says engine inline, with no Glue job name).
        job = job_name(settings, str((one.outcome.manifest or {}).get("engine") or PYTHONSHELL)) or None
        fields = {**(extra or {}), **analytics.get(str(one.load["run_id"]), {})}
        rec = audit.build_record(run, one.load, one.outcome, job, glue_run, fields)
        try:
            audit.put_record(client, audit_table, rec)
            log.info("audit record written to %s: %s", audit_table, rec)
        except Exception as exc:  # noqa: BLE001 -- raised once every file is recorded
            log.error("%s: the audit record was not written: %s", one.load["source_uri"], exc)
            one = dataclasses.replace(one, retry=one.retry or exc)
        done.append((one, rec))
    return done


def verify_file(
    load: Mapping[str, Any],
    settings: Settings,
    ti: Any,
    dag_run: Any,
    loaded: bool | None,
    glue_run: str | None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """:func:`verify` of one file once its steps' outcome is known: ``loaded`` (None: as the file's
    own manifest says) and ``glue_run`` (its Glue JobRunId)."""
    ((judged, rec),) = verify_files([load], settings, ti, dag_run, loaded, glue_run, params)
    if judged.retry is not None:
        raise judged.retry
    if judged.loaded and judged.outcome.status != audit.STATUS_VERIFIED:
        raise AirflowFailException(f"{load['source_uri']}: {judged.outcome.error}")
    return rec


def verify_group(
    group: Mapping[str, Any],
    settings: Settings,
    ti: Any,
    dag_run: Any,
    done: Done,
    params: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Verify in bulk: check and record every file of a group run (``csv2ddb.load.groups``), each
    with its own audit record carrying the group id and the shared Glue JobRunId, the analytics step
    run once for the group (:func:`verify_files`); return the records.

    A file is loaded when the group's Glue task succeeded or, when it failed, when the file's own
    manifest says so: a failed file is recorded ``failed`` with its manifest's reason while the
    group's other files are checked and verified. Every file is recorded before this task fails:
    without retries when a file is not verified, with them (raising the first) when an AWS error
    kept a check or a record from completing.
    """
    whole = done.loaded(ti) or None  # the run succeeded: every file is loaded; else each manifest says
    files = groups.files_of(group)
    extra = {"group_id": group["group_id"], "group_files": len(files)}
    verified = verify_files(files, settings, ti, dag_run, whole, done.glue_run(ti), params, extra)
    errors = [one.retry for one, _ in verified if one.retry is not None]
    failed = [
        f"{rec['source']}: {rec['status']} ({rec.get('error')})"
        for one, rec in verified
        if one.retry is None and rec["status"] != audit.STATUS_VERIFIED
    ]
    log.info(
        "group %s: %d of %d file(s) verified",
        group["group_id"],
        len(files) - len(failed) - len(errors),
        len(files),
    )
    if errors:
        raise errors[0]
    if failed:
        raise AirflowFailException(
            f"{len(failed)} of {len(files)} file(s) not verified:\n" + "\n".join(failed)
        )
    return [rec for _, rec in verified]


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
    loads: Sequence[Mapping[str, Any]] | None,
    dag_id: str,
    dag_run_id: str,
    settings: Settings,
) -> dict[str, Any]:
    """Note the run's figures on the DAG run; fail unless every file of the run is verified.

    The records are read back from the audit table (one Query on the run's key), the durable
    record, so a file whose verify task died without returning still shows up as missing.
    """
    if loads == []:  # an event batch whose every object was loaded already, or is gone
        note = (
            "Nothing new to load: every object of this batch was verified already, or is gone "
            "(see resolve_inputs)"
        )
        reader = SecretsManagerHook(aws_conn_id=settings.aws_conn_id).get_secret_as_dict
        try_set_note(
            settings.airflow_api_url, reader, settings.airflow_api_secret_name, dag_id, dag_run_id, note
        )
        return {"verified": 0, "note": note}
    sources = {load["source_uri"] for load in loads or []}
    stored = audit.records_of_dag_run(dynamodb_client(settings), audit_table_spec(settings).name, dag_run_id)
    records = [r for r in stored if r.get("source") in sources]
    note, problems = summarize(records, len(sources))
    reader = SecretsManagerHook(aws_conn_id=settings.aws_conn_id).get_secret_as_dict
    try_set_note(settings.airflow_api_url, reader, settings.airflow_api_secret_name, dag_id, dag_run_id, note)
    if problems:
        raise AirflowFailException("not every file was verified:\n" + "\n".join(problems))
    return {"verified": len(records), "note": note}
