"""Files grouped per Glue run (csv2ddb.load.groups), end to end under dag.test(): real Airflow, the
real emulator, the real Glue job script.

A prefix of 10 small files and one bad file (a ragged row, over the tolerance 0) is ONE Glue run and
one bulk verify: every good file verified with exact counts, the bad one recorded failed with its
manifest's reason, each file its own audit record carrying the group id and the shared JobRunId.
With ``CSV2DDB_GROUP_MAX_FILES=4`` the same 11 files are 3 Glue runs.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from csv2ddb.settings import Settings
from csv2ddb_dev.emulator import Emulator

from tests.dags.test_load_dag_runs import audit_records, generated_csv, items_of_run, upload

pytestmark = [pytest.mark.emulator, pytest.mark.airflow]
GOOD = 10
BAD_KEY = "f04b.csv"  # sorts between f04 and f05: the bad file sits inside a group


def upload_good(s3: Any, stack: Settings, prefix: str, files: int, first_rows: int = 3) -> dict[str, int]:
    """``files`` good files ``f00.csv``, ``f01.csv``, ... of ``first_rows``, ``first_rows + 1``, ...
    rows under ``prefix``; the source key -> rows of each."""
    rows = {}
    for n in range(files):
        key = f"{prefix}f{n:02d}.csv"
        upload(s3, stack, key, generated_csv(first_rows + n, f"{prefix}{n}"))
        rows[key] = first_rows + n
    return rows


def upload_prefix(s3: Any, stack: Settings, prefix: str) -> dict[str, int]:
    """10 good files (rows 3..12) and one bad; the source key -> rows of each good file."""
    rows = upload_good(s3, stack, prefix, GOOD)
    upload(s3, stack, f"{prefix}{BAD_KEY}", b"id,name,amount\nbad-0,x,1\nbad-1,ragged\n")
    return rows


def glue_runs_of(glue: Any, s3: Any, stack: Settings, run_ids: set[str]) -> list[dict[str, Any]]:
    """The Glue runs that loaded these load run ids: one-file runs by ``--run_id``, group runs by
    the entries of their group file (``--files``)."""
    found = []
    for run in glue.get_job_runs(JobName=stack.glue.job_name)["JobRuns"]:
        args = run.get("Arguments") or {}
        if args.get("--run_id") in run_ids:
            found.append({"id": run["Id"], "state": run["JobRunState"], "run_ids": [args["--run_id"]]})
        elif args.get("--files"):
            bucket, _, key = args["--files"][len("s3://") :].partition("/")
            entries = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            ids = [e["run_id"] for e in entries]
            if set(ids) <= run_ids:
                found.append({"id": run["Id"], "state": run["JobRunState"], "run_ids": ids})
    return found


def assert_each_verified(records: list[dict[str, Any]], rows: dict[str, int]) -> None:
    """One record per file, each verified with its exact counts (read = written = counted)."""
    assert sorted(r["source_key"] for r in records) == sorted(rows)
    for record in records:
        expected = rows[record["source_key"]]
        assert record["status"] == "verified", record
        assert (record["rows_read"], record["rows_written"], record["items_counted"]) == (expected,) * 3


def run_prefix(dag_runner: Any, stack: Settings, prefix: str, table: str, **env: str) -> Any:
    conf = {"prefix": prefix, "table": table, "reject_tolerance": "0"}
    return dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf), extra_env=env)


def check_records(
    records: list[dict[str, Any]], rows: dict[str, int], prefix: str, ddb: Any, ran: str = "Glue job"
) -> None:
    """Every good file verified with exact counts (table included), the bad one failed with its
    manifest's reason; each file one record of its own."""
    assert sorted(r["source_key"] for r in records) == sorted([*rows, f"{prefix}{BAD_KEY}"])
    for record in records:
        if record["source_key"] == f"{prefix}{BAD_KEY}":
            assert record["status"] == "failed"
            assert record["error"].startswith(f"{ran} failed: ")  # what ran it: a Glue job, or inline
            assert "above the tolerance '0'" in record["error"]
            assert record["rows_written"] == 0
            assert items_of_run(ddb, record["table"], record["run_id"]) == 0
            continue
        expected = rows[record["source_key"]]
        assert record["status"] == "verified", record
        assert (record["rows_read"], record["rows_written"], record["items_counted"]) == (expected,) * 3
        assert (record["rows_rejected"], record["rows_duplicate"]) == (0, 0)
        assert items_of_run(ddb, record["table"], record["run_id"]) == expected
    assert len({r["run_id"] for r in records}) == len(records)


def test_a_prefix_of_small_files_is_one_glue_run_and_one_bulk_verify(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    glue = boto_session.client("glue", endpoint_url=emulator.endpoint_url)
    prefix = "raw/grouped/"
    rows = upload_prefix(s3, stack, prefix)

    run = run_prefix(dag_runner, stack, prefix, f"{stack.prefix}-grouped")
    assert run.state == "failed", run.output[-6000:]  # the bad file fails the run...
    # ...after one Glue task and one verify for all 11 files: the run refused only the bad file's
    # input, so the Glue task is not retried; verify fails having recorded every file.
    assert {k: v for k, v in run.tasks.items() if k.startswith("load_file.")} == {
        "load_file.run_glue[0]": "failed",
        "load_file.verify[0]": "failed",
    }
    assert run.tasks["summarize"] == "failed"
    assert "so none is made" in run.output  # GuardedGlueJobOperator.refused_input: no retry
    records = audit_records(ddb, stack, run.result["dag_run_id"])
    check_records(records, rows, prefix, ddb)

    (glue_run,) = glue_runs_of(glue, s3, stack, {r["run_id"] for r in records})
    assert glue_run["state"] == "FAILED"  # exit 1: one file of the group failed
    assert glue_run["run_ids"] == [r["run_id"] for r in records]  # in the run's (key) order
    assert {r["glue_job_run_id"] for r in records} == {glue_run["id"]}
    assert len({r["group_id"] for r in records}) == 1
    assert {r["group_files"] for r in records} == {GOOD + 1}


def test_group_max_files_splits_the_prefix_into_glue_runs(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    glue = boto_session.client("glue", endpoint_url=emulator.endpoint_url)
    prefix = "raw/by-four/"
    rows = upload_prefix(s3, stack, prefix)

    run = run_prefix(dag_runner, stack, prefix, f"{stack.prefix}-by-four", CSV2DDB_GROUP_MAX_FILES="4")
    assert run.state == "failed", run.output[-6000:]
    tasks = {k: v for k, v in run.tasks.items() if k.startswith("load_file.")}
    # f00-f03 | f04, f04b (bad), f05, f06 | f07-f09: only the second group fails. A group that
    # loads verifies its files in its own task; only the failed group's verify task runs.
    assert tasks == {
        "load_file.run_glue[0]": "success",
        "load_file.verify[0]": "skipped",
        "load_file.run_glue[1]": "failed",
        "load_file.verify[1]": "failed",
        "load_file.run_glue[2]": "success",
        "load_file.verify[2]": "skipped",
    }
    records = audit_records(ddb, stack, run.result["dag_run_id"])
    check_records(records, rows, prefix, ddb)

    runs = glue_runs_of(glue, s3, stack, {r["run_id"] for r in records})
    assert sorted(len(r["run_ids"]) for r in runs) == [3, 4, 4]
    assert sorted(r["state"] for r in runs) == ["FAILED", "SUCCEEDED", "SUCCEEDED"]
    by_run = {run_id: r["id"] for r in runs for run_id in r["run_ids"]}
    assert all(record["glue_job_run_id"] == by_run[record["run_id"]] for record in records)
    assert len({r["group_id"] for r in records}) == 3


def test_bulk_verify_records_every_file_before_it_fails(
    stack: Settings,
    emulator: Emulator,
    boto_session: boto3.Session,
    airflow_conn: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``steps.verify_group`` in-process (a stand-in task instance; the job, S3, DynamoDB and the
    audit table real): after a failed group run each file is judged by its own manifest; an AWS
    error in one file's check is recorded and raised only once every file is recorded (the task
    retries); the retry records the whole group again and fails, without retries, on the bad file."""
    from botocore.exceptions import ClientError
    from csv2ddb.load import groups, steps, verdict
    from csv2ddb.load.file_plan import FilePlan, SourceObject
    from csv2ddb_core.cli import main
    from csv2ddb_core.contract import load_run_id

    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    from csv2ddb import tables

    dag_run_id, table = "manual__bulk-verify", f"{stack.prefix}-bulk-verify"
    tables.ensure_table(ddb, tables.items_table_spec(stack, table))
    bodies = [generated_csv(4, "bv0"), b"id,name,amount\nbv1-0,x,1\nbv1-1,ragged\n", generated_csv(6, "bv2")]
    loads = []
    for n, body in enumerate(bodies):
        key = f"raw/bulk-verify/f{n}.csv"
        upload(s3, stack, key, body)
        source = SourceObject(stack.bucket, key, "", len(body))
        plan = FilePlan(source, table, load_run_id(dag_run_id, stack.bucket, key), "0")
        loads.append(plan.to_xcom())
    (group,) = groups.group_loads(loads, dag_run_id, stack)
    key = stack.group_key(group["group_id"])
    s3.put_object(Bucket=stack.bucket, Key=key, Body=groups.group_file(group).encode())
    argv = ["--table", table, "--files", f"s3://{stack.bucket}/{key}", "--source_bucket", stack.bucket]
    assert main(argv, env={}) == 1  # the second file fails; the first and the third are loaded
    manifests = [
        json.loads(s3.get_object(Bucket=stack.bucket, Key=stack.manifest_key(f["run_id"]))["Body"].read())
        for f in loads
    ]
    assert [m["status"] for m in manifests] == ["succeeded", "failed", "succeeded"]

    ti = SimpleNamespace(dag_id="csv2ddb_load", run_id=dag_run_id, map_index=0, xcom_pull=lambda **_: None)
    dag_run = SimpleNamespace(run_type="manual", logical_date=None, triggering_user_name="tester")
    done = steps.Done(("load_file.run_glue",), ("load_file.run_glue",))  # no XCom: the run failed
    check = verdict.check

    def flaky(load: Any, *args: Any) -> Any:
        if load["run_id"] == loads[0]["run_id"]:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "BatchGetItem"
            )
        return check(load, *args)

    monkeypatch.setattr(verdict, "check", flaky)
    with pytest.raises(ClientError, match="slow down"):
        steps.verify_group(group, stack, ti, dag_run, done)
    first = {r["run_id"]: r for r in audit_records(ddb, stack, dag_run_id)}
    assert [first[f["run_id"]]["status"] for f in loads] == ["failed", "failed", "verified"]
    assert "count check could not run" in first[loads[0]["run_id"]]["error"]
    assert "above the tolerance" in first[loads[1]["run_id"]]["error"]
    assert {r["group_id"] for r in first.values()} == {group["group_id"]}

    monkeypatch.setattr(verdict, "check", check)  # the task's retry
    made = verdict.Clients.of
    sets: list[verdict.Clients] = []

    def counted(settings: Any) -> verdict.Clients:
        sets.append(made(settings))
        return sets[-1]

    monkeypatch.setattr(verdict.Clients, "of", counted)
    with pytest.raises(Exception, match="1 of 3 file\\(s\\) not verified") as failed:
        steps.verify_group(group, stack, ti, dag_run, done)
    assert len(sets) == 1  # one set of AWS clients for the group's three files, not one per file
    assert type(failed.value).__name__ == "AirflowFailException"  # no retries
    again = {r["run_id"]: r for r in audit_records(ddb, stack, dag_run_id)}
    assert [again[f["run_id"]]["status"] for f in loads] == ["verified", "failed", "verified"]
    assert [again[f["run_id"]].get("items_counted") for f in loads] == [4, None, 6]


def test_a_deferred_group_run_is_verified_in_its_load_step(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    """Deferrable mode (``AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE``): the group's Glue task starts its
    run and hands it to the provider's Glue trigger (``dag.test()`` runs the trigger in-line, as a
    triggerer would); when the run ends, ``GroupGlueOperator.execute_complete`` verifies the group in
    the same task: every file verified there with its Glue run id, the group's verify task skipped."""
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    glue = boto_session.client("glue", endpoint_url=emulator.endpoint_url)
    prefix = "raw/deferred/"
    rows = upload_good(s3, stack, prefix, 3)

    run = run_prefix(
        dag_runner, stack, prefix, f"{stack.prefix}-deferred", AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE="true"
    )
    assert run.state == "success", run.output[-6000:]
    tasks = {k: v for k, v in run.tasks.items() if k.startswith("load_file.")}
    assert tasks.pop("load_file.run_glue[0]") == "success"
    assert set(tasks.values()) == {"skipped"}  # the group's verify task: not started
    # the task deferred, the trigger waited for the Glue run, and the task resumed to verify
    assert "Pausing task as DEFERRED" in run.output
    assert "[DAG TEST] Trigger completed" in run.output
    records = audit_records(ddb, stack, run.result["dag_run_id"])
    assert_each_verified(records, rows)
    (glue_run,) = glue_runs_of(glue, s3, stack, {r["run_id"] for r in records})
    assert glue_run["state"] == "SUCCEEDED"
    assert {r["glue_job_run_id"] for r in records} == {glue_run["id"]}
