"""The whole chain on the real local stack, timed: S3 upload -> S3 notification -> trigger Lambda
(routes the file to its dataset) -> Airflow REST API -> the e2e dataset's load DAG (scheduler,
LocalExecutor) -> Glue job run by the emulator -> count
check from the key list -> audit record; then a rollback triggered through the REST API.

The suite loads the full flights file into a table once, here, through the DAG (the Glue job's
and the Spark engine's flights tests pin the items each sends, captured, not stored). The 2-row
file then goes through the same chain while the items table holds all 336,776 flights items: its
check must cost what the 2-row load cost (2 keys), not the table.

Speed is measured, not asserted (the machine is shared): the timings are printed, and the
issue's targets (flights through the DAG at most 1.25x its Glue job; a 2-row file end to end in
30 s on an idle machine) are reported in docs/benchmarks.md and the closing notes.
"""

from __future__ import annotations

import dataclasses
import gzip
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from csv2ddb.bootstrap import create_stack, delete_stack
from csv2ddb.history.audit import from_item
from csv2ddb.history.lineage import keys_of
from csv2ddb.keyreads import count_keys
from csv2ddb.settings import DAG_ID_ROLLBACK, Settings, load_settings
from csv2ddb_dev.airflow_api import AirflowApi
from csv2ddb_dev.airflow_runner import AirflowProcesses, start_airflow
from csv2ddb_dev.burst import queue_depth, wait_for
from csv2ddb_dev.dataset_files import dag_id_of, deploy_datasets, event_dataset, schedule_dataset
from csv2ddb_dev.datasets import FLIGHTS_ROWS, write_flights_csv
from csv2ddb_dev.emulator import Emulator
from csv2ddb_dev.scripts import lambda_module
from csv2ddb_dev.timings import run_timings

pytestmark = [pytest.mark.airflow, pytest.mark.emulator, pytest.mark.scale]
TIMINGS: dict[str, Any] = {}
# The files of this test arrive under their own dataset, loaded into the stack's items table.
E2E_PREFIX = "raw/e2e/"
E2E_DAG = dag_id_of("e2e")
# Two datasets whose files arrive by schedule, the second header-less with a renamed column: their
# day's files are loaded by a backfill, once each, and never by their S3 events.
DAILY = {
    "daily_a": schedule_dataset("daily_a", "raw/daily_a/"),
    "daily_b": schedule_dataset(
        "daily_b", "raw/daily_b/", read="{header: false, columns: [order, item], rename: {order: id}}"
    ),
}
DAILY_DAY = "2024-03-01"
DAILY_FILES = {
    "daily_a": (f"raw/daily_a/dt={DAILY_DAY}/a.csv", b"id,item\na-1,apple\na-2,pear\n"),
    "daily_b": (f"raw/daily_b/dt={DAILY_DAY}/b.csv", b"b-1,plum\nb-2,fig\nb-3,kiwi\n"),
}


@dataclass
class Chain:
    settings: Settings
    airflow: AirflowProcesses
    api: AirflowApi
    s3: Any
    ddb: Any
    glue: Any
    trigger: ModuleType  # the Lambda's own module: its dag_run_id rule
    sqs: Any  # the stack's events queue

    def upload(self, key: str, body: bytes | None = None, path: Path | None = None) -> str:
        """Upload; the DAG run id the Lambda gives this object."""
        if path is not None:
            self.s3.upload_file(str(path), self.settings.bucket, key)
        else:
            self.s3.put_object(Bucket=self.settings.bucket, Key=key, Body=body)
        etag = self.s3.head_object(Bucket=self.settings.bucket, Key=key)["ETag"].strip('"')
        return self.trigger.dag_run_id(self.settings.bucket, key, etag)

    def records(self, dag_run_id: str) -> list[dict[str, Any]]:
        items = self.ddb.query(
            TableName=self.settings.audit_table,
            KeyConditionExpression="dag_run_id = :d",
            ExpressionAttributeValues={":d": {"S": dag_run_id}},
            ConsistentRead=True,
        )["Items"]
        return [from_item(i) for i in items]

    def wait_run(self, dag_id: str, dag_run_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout

        def listed() -> set[str]:
            return {r["dag_run_id"] for r in self.api.polled(self.api.list_dag_runs, dag_id) or []}

        while dag_run_id not in listed():
            assert time.monotonic() < deadline, f"no {dag_id} run {dag_run_id}: S3 -> Lambda -> API broke"
            time.sleep(0.5)
        return self.api.wait_dag_run(dag_id, dag_run_id, timeout=timeout, poll=1.0)

    def items_of(self, run_id: str) -> int:
        """Items still carrying ``run_id``, by the load's key list (a Scan of this table would cost
        minutes on ministack: it re-sorts the whole table for every page)."""
        manifest, keys = keys_of(self.s3, self.settings, run_id)
        return count_keys(self.ddb, self.settings.table, keys, run_id, manifest.get("started_at")).ours


@pytest.fixture(scope="module")
def chain(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    datasets = deploy_datasets(
        tmp_path_factory.mktemp("datasets"),
        {"e2e": event_dataset("e2e", E2E_PREFIX, table="{prefix}-items"), **DAILY},
    )
    env = {**emulator.client_env(), **datasets}  # the bootstrap's routing table: the e2e dataset
    settings = load_settings(env, prefix=f"e2e{uuid.uuid4().hex[:8]}")
    airflow = start_airflow(
        tmp_path_factory.mktemp("airflow") / "home",
        aws_env=emulator.client_env(),
        # IMPORT_MIN_BYTES 0: the flights load below is the suite's end-to-end test of the import
        # path (docs/import.md); under the default threshold (64 MiB) its 30 MB would be batch-written.
        extra_env={"CSV2DDB_PREFIX": settings.prefix, "CSV2DDB_IMPORT_MIN_BYTES": "0", **datasets},
    )
    settings = dataclasses.replace(settings, airflow_api_url=airflow.url)
    secret_env = airflow.trigger_secret_env()
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=settings.region,
    )
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        try:
            create_stack(settings, env=secret_env)
            api = airflow.api()
            for dag_id in (E2E_DAG, DAG_ID_ROLLBACK):
                api.wait_for_dag(dag_id, timeout=300)
                api.unpause_dag(dag_id)
            names = ("s3", "dynamodb", "glue", "sqs")
            clients = {name: session.client(name, endpoint_url=emulator.endpoint_url) for name in names}
            yield Chain(
                settings,
                airflow,
                api,
                clients["s3"],
                clients["dynamodb"],
                clients["glue"],
                lambda_module(),
                clients["sqs"],
            )
        finally:
            delete_stack(settings)
            airflow.stop()


def report(capsys: pytest.CaptureFixture[str], title: str, lines: list[str]) -> None:
    with capsys.disabled():
        print(f"\n[e2e] {title}")
        for line in lines:
            print(f"[e2e]   {line}")


@pytest.mark.timeout(2400)
def test_flights_through_the_dag_verified_by_its_key_list(
    chain: Chain, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_flights_csv(tmp_path / "flights.csv")
    dag_run_id = chain.upload(f"{E2E_PREFIX}flights.csv", path=path)
    run = chain.wait_run(E2E_DAG, dag_run_id, timeout=2100)
    assert run["state"] == "success", chain.api.run_report(E2E_DAG, dag_run_id)
    (record,) = chain.records(dag_run_id)
    assert record["status"] == "verified"
    assert record["rows_read"] == record["rows_written"] == FLIGHTS_ROWS
    # The stack's table did not exist yet (the bootstrap leaves it to the first load): ImportTable.
    assert (record["load_method"], record["imported_count"]) == ("import", FLIGHTS_ROWS)
    assert (record["count_method"], record["keys_checked"], record["items_counted"]) == (
        "keys",
        FLIGHTS_ROWS,
        FLIGHTS_ROWS,
    )
    timings = run_timings(chain.api, chain.glue, E2E_DAG, dag_run_id, [record])
    # A first load of a new table: the import group's four steps ran, each its own task; no file
    # took the batch group (mapped over an empty list, it has no mapped task instance).
    import_steps = {f"import_file.{step}[0]" for step in ("stage", "import_table", "batch_instead", "verify")}
    assert {"choose_source", "wait_for_partition", "resolve_inputs", "summarize"} | import_steps <= set(
        timings.tasks
    ), timings.tasks
    assert not [name for name in timings.tasks if name.startswith("load_file.") and "[" in name]
    TIMINGS["flights"] = timings.as_dict()
    TIMINGS["flights_run_id"] = record["run_id"]
    report(capsys, f"flights ({FLIGHTS_ROWS:,} rows) through {E2E_DAG}", timings.lines())


def test_two_row_file_end_to_end_while_the_table_holds_flights(
    chain: Chain, capsys: pytest.CaptureFixture[str]
) -> None:
    if "flights_run_id" not in TIMINGS:
        pytest.skip("needs the flights load of the previous test in the table")
    started = time.monotonic()
    # Gzip'd, as most exports arrive: the bucket's `.csv.gz` event rule starts the Lambda.
    dag_run_id = chain.upload(
        f"{E2E_PREFIX}two rows.csv.gz", body=gzip.compress(b"id,carrier\ne2e-1,AA\ne2e-2,UA\n")
    )
    record: dict[str, Any] = {}
    while time.monotonic() - started < 600:
        records = chain.records(dag_run_id)
        if records and records[0]["status"] in ("verified", "count_mismatch", "failed"):
            record = records[0]
            break
        time.sleep(0.25)
    end_to_end = time.monotonic() - started
    assert record.get("status") == "verified", record
    # The check read the 2 keys this load wrote, not the 336,776 other items of the table.
    assert (record["keys_checked"], record["items_counted"]) == (2, 2)
    run = chain.wait_run(E2E_DAG, dag_run_id, timeout=300)
    assert run["state"] == "success"
    assert record["source_key"].endswith("two rows.csv.gz")
    assert (record["rows_read"], record["rows_written"], record["load_method"]) == (2, 2, "batch")
    timings = run_timings(chain.api, chain.glue, E2E_DAG, dag_run_id, [record])
    TIMINGS["two_rows"] = {"upload_to_verified_audit_record_s": end_to_end, **timings.as_dict()}
    TIMINGS["two_rows_record"] = record
    lines = [f"{end_to_end:7.1f}s  S3 upload -> verified audit record (target: 30 s on an idle machine)"]
    report(capsys, "a gzip'd 2-row file, the items table holding flights", lines + timings.lines())


def test_rollback_through_the_rest_api_is_audited_and_noted(
    chain: Chain, capsys: pytest.CaptureFixture[str]
) -> None:
    record = TIMINGS.get("two_rows_record")
    if record is None:
        pytest.skip("needs the 2-row load of the previous test")
    rollback_run = f"manual__rollback_{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    status, body = chain.api.trigger_dag_run(DAG_ID_ROLLBACK, rollback_run, {"run_id": record["run_id"]})
    assert status == 200, body
    run = chain.api.wait_dag_run(DAG_ID_ROLLBACK, rollback_run, timeout=600, poll=1.0)
    seconds = time.monotonic() - started
    assert run["state"] == "success"
    assert chain.items_of(record["run_id"]) == 0
    assert chain.items_of(TIMINGS["flights_run_id"]) == FLIGHTS_ROWS  # the other load is untouched
    # ministack's ItemCount is live (AWS refreshes it every ~6 h): nothing else was deleted either.
    assert chain.ddb.describe_table(TableName=chain.settings.table)["Table"]["ItemCount"] == FLIGHTS_ROWS
    (done,) = chain.records(rollback_run)
    assert (done["status"], done["items_deleted"], done["rolls_back_dag_run_id"]) == (
        "rolled_back",
        2,
        record["dag_run_id"],
    )
    # The notes, set through the REST API: the rollback's links to the load's run, and the load's
    # own note now says it was rolled back.
    note = chain.api.get_dag_run(DAG_ID_ROLLBACK, rollback_run)["note"]
    assert f"rolled back load `{record['run_id']}`" in note
    assert f"/dags/{E2E_DAG}/runs/" in note  # the dataset DAG that ran the load, from its audit record
    load_note = chain.api.get_dag_run(E2E_DAG, record["dag_run_id"])["note"]
    assert "1/1 file(s) verified" in load_note
    assert f"**Rolled back** by [{rollback_run}]" in load_note
    report(
        capsys, "rollback of the 2-row load via the REST API", [f"{seconds:7.1f}s  trigger -> rolled back"]
    )


@pytest.mark.timeout(1500)
def test_two_scheduled_datasets_load_their_day_by_backfill_once_never_by_event(
    chain: Chain, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each way in for files that arrive by schedule: their uploads fire S3 events, which the Lambda
    leaves to the day run; a backfill of the day (REST API, as the UI's Backfill does) loads each
    dataset's file into its own table, once, the header-less one by its declared columns."""
    sqs = chain.sqs
    queue_url = sqs.get_queue_url(QueueName=f"{chain.settings.prefix}-events")["QueueUrl"]
    for key, body in DAILY_FILES.values():
        chain.upload(key, body=body)
    wait_for("the uploads' events handled", lambda: True if queue_depth(sqs, queue_url) == 0 else None, 600)
    started = time.monotonic()
    user = chain.airflow.credentials()[0]
    for name in DAILY:  # both backfills first: the two days load side by side
        dag_id = dag_id_of(name)
        chain.api.wait_for_dag(dag_id, timeout=300)
        chain.api.unpause_dag(dag_id)
        day = f"{DAILY_DAY}T00:00:00Z"
        status, body = chain.api.request(
            "POST",
            "/api/v2/backfills",
            {"dag_id": dag_id, "from_date": day, "to_date": day, "max_active_runs": 1, "dag_run_conf": {}},
        )
        assert status == 200, body
    backfill_runs: dict[str, dict[str, Any]] = {}
    for name in DAILY:

        def backfill_run(dag_id: str = dag_id_of(name)) -> dict[str, Any] | None:
            runs = [r for r in chain.api.list_dag_runs(dag_id) if r["run_type"] == "backfill"]
            return runs[0] if runs else None

        run = wait_for(f"{dag_id_of(name)}'s backfill run", backfill_run, 120)
        backfill_runs[name] = chain.api.wait_dag_run(
            dag_id_of(name), run["dag_run_id"], timeout=900, poll=2.0
        )
    seconds = time.monotonic() - started
    for name, run in backfill_runs.items():
        dag_id = dag_id_of(name)
        assert run["state"] == "success", chain.api.run_report(dag_id, run["dag_run_id"])
        # Backfill run ids are the day's in every DAG: the audit table keys records by run id and
        # load, so both datasets' records share this partition; each is told apart by its dataset.
        (record,) = [r for r in chain.records(run["dag_run_id"]) if r["dataset"] == name]
        key = DAILY_FILES[name][0]
        assert (record["status"], record["dataset"], record["source_key"]) == ("verified", name, key)
        assert record["table"] == f"{chain.settings.prefix}-{name}"
        assert record["triggered_by"] == user  # who created the backfill
        # No other run of this DAG loaded the file: the event left it to the day run.
        others = [
            r for r in chain.api.list_dag_runs(dag_id) if r["run_type"] not in ("backfill", "scheduled")
        ]
        assert others == [], others
    audit = chain.ddb.scan(TableName=chain.settings.audit_table)["Items"]
    sources = [from_item(item).get("source_key") for item in audit]
    assert {key: sources.count(key) for key, _ in DAILY_FILES.values()} == {
        k: 1 for k, _ in DAILY_FILES.values()
    }
    (b_record,) = [
        r for r in chain.records(backfill_runs["daily_b"]["dag_run_id"]) if r["dataset"] == "daily_b"
    ]
    assert (b_record["rows_read"], b_record["rows_written"]) == (3, 3)  # line 1 is data: no header
    item = chain.ddb.get_item(TableName=f"{chain.settings.prefix}-daily_b", Key={"id": {"S": "b-1"}})["Item"]
    assert item["item"] == {"S": "plum"}
    report(
        capsys,
        "two scheduled datasets, one backfill each",
        [f"{seconds:7.1f}s  backfills created -> both verified"],
    )
