"""Small files load inline (``engine: inline``), end to end under dag.test(): real Airflow, the real
emulator, the load core run in the Airflow worker (csv2ddb.load.inline), no Glue run.

A prefix of five small files and one bad file (a ragged row, over the tolerance 0) under ``auto``
is ONE load task in the worker and one bulk verify: every good file verified with exact counts, the
bad one recorded failed with its manifest's reason, each its own manifest and audit record saying
``engine: inline``, and no Glue job run at all. A file asked for ``inline`` by name loads inline
whatever the threshold, with its duplicate rows counted. A retry of an inline group loads nothing
twice: in process, and as a real Airflow retry of the group's load task that failed part-way.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from csv2ddb.settings import Settings
from csv2ddb_dev.emulator import Emulator

from tests.dags.test_group_runs import (
    BAD_KEY,
    assert_each_verified,
    check_records,
    glue_runs_of,
    run_prefix,
    upload_good,
    upload_prefix,
)
from tests.dags.test_load_dag_runs import audit_records, items_of_run, upload

pytestmark = [pytest.mark.emulator, pytest.mark.airflow]
INLINE_ON = {"CSV2DDB_INLINE_MAX_BYTES": str(4 << 20)}  # the product's default (the conftest sets 0)


def manifest_of(s3: Any, stack: Settings, run_id: str) -> dict[str, Any]:
    return json.loads(s3.get_object(Bucket=stack.bucket, Key=stack.manifest_key(run_id))["Body"].read())


def test_a_prefix_of_small_files_loads_inline_without_a_glue_run(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    glue = boto_session.client("glue", endpoint_url=emulator.endpoint_url)
    prefix = "raw/inline/"
    rows = upload_prefix(s3, stack, prefix)

    run = run_prefix(dag_runner, stack, prefix, f"{stack.prefix}-inline", **INLINE_ON)
    assert run.state == "failed", run.output[-6000:]  # the bad file fails the run...
    # ...after one load task in the worker and one verify for all 11 files; the bad file refused
    # its input before the first write, so the load task is not retried.
    assert {k: v for k, v in run.tasks.items() if k.startswith("load_file.")} == {
        "load_file.run_glue[0]": "failed",
        "load_file.verify[0]": "failed",
    }
    assert "11 file(s) inline, in this worker (no Glue run)" in run.output
    assert "1 of 11 file(s) failed inline" in run.output
    assert "no retry" in run.output
    records = audit_records(ddb, stack, run.result["dag_run_id"])
    check_records(records, rows, prefix, ddb, ran="the inline load")
    assert {r["engine"] for r in records} == {"inline"}
    assert all("glue_job_run_id" not in r and "glue_job_name" not in r for r in records)
    assert len({r["group_id"] for r in records}) == 1
    for record in records:
        manifest = manifest_of(s3, stack, record["run_id"])
        assert manifest["engine"] == "inline"
        if manifest["status"] == "succeeded":  # every row read is accounted for
            assert manifest["rows_read"] == (
                manifest["rows_written"]
                + manifest["rows_rejected"]
                + manifest["rows_duplicate"]
                + manifest["rows_skipped"]
            )
        else:  # the bad file: refused before its first write, the ragged row rejected with its reason
            assert record["source_key"].endswith(BAD_KEY)
            assert (manifest["nothing_written"], manifest["rows_written"], manifest["rows_rejected"]) == (
                True,
                0,
                1,
            )
    assert glue_runs_of(glue, s3, stack, {r["run_id"] for r in records}) == []


def test_a_file_asked_for_inline_by_name_loads_inline_and_counts_its_duplicates(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    """``engine: inline`` in the conf wins over the threshold (0 here: ``auto`` never inlines)."""
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    key = "raw/inline-named/dups.csv"
    upload(s3, stack, key, b"id,name,amount\nd-0,a,1\nd-1,b,2\nd-0,a,1\nd-2,c,3\n")
    conf = {"key": key, "table": f"{stack.prefix}-inline-named", "engine": "inline"}
    run = dag_runner.run(
        stack, "test", "csv2ddb_load", "--conf", json.dumps(conf), extra_env={"CSV2DDB_INLINE_MAX_BYTES": "0"}
    )
    assert run.state == "success", run.output[-6000:]
    (record,) = audit_records(ddb, stack, run.result["dag_run_id"])
    assert (record["status"], record["engine"]) == ("verified", "inline")
    assert (record["rows_read"], record["rows_written"], record["rows_duplicate"]) == (4, 3, 1)
    assert record["items_counted"] == 3 == items_of_run(ddb, record["table"], record["run_id"])


def test_a_retried_inline_group_loads_nothing_twice(
    stack: Settings, emulator: Emulator, boto_session: boto3.Session, airflow_conn: None
) -> None:
    """``inline.load_group`` in-process, as the load task runs it (S3, DynamoDB and the core real):
    run twice, as a retry would, the second run skips every file its stored manifest says this run
    id loaded, so nothing is written again and each manifest stays the first one."""
    from csv2ddb import tables
    from csv2ddb.load import groups, inline
    from csv2ddb.load.file_plan import FilePlan, SourceObject
    from csv2ddb_core.contract import load_run_id

    from tests.dags.test_load_dag_runs import generated_csv

    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    dag_run_id, table = "manual__inline-retry", f"{stack.prefix}-inline-retry"
    tables.ensure_table(ddb, tables.items_table_spec(stack, table))
    loads = []
    for n in range(3):
        key = f"raw/inline-retry/f{n}.csv"
        body = generated_csv(5 + n, f"ir{n}")
        upload(s3, stack, key, body)
        source = SourceObject(stack.bucket, key, "", len(body))
        loads.append(
            FilePlan(
                source, table, load_run_id(dag_run_id, stack.bucket, key), "0", engine="inline"
            ).to_xcom()
        )
    (group,) = groups.group_loads(loads, dag_run_id, stack)

    first = inline.load_group(group, stack)
    assert [o.status for o in first] == ["succeeded"] * 3
    stored = [manifest_of(s3, stack, load["run_id"]) for load in loads]
    again = inline.load_group(group, stack)
    assert [o.status for o in again] == ["skipped"] * 3
    assert [manifest_of(s3, stack, load["run_id"]) for load in loads] == stored
    assert [items_of_run(ddb, table, load["run_id"]) for load in loads] == [5, 6, 7]


def test_an_airflow_retry_of_an_inline_group_loads_only_what_is_not_done(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    """A real Airflow retry under dag.test(): the group's load task fails part-way (the first read of
    the third file's object is a lost connection: the runner's ``--fail-once``) with the other four
    files loaded; Airflow retries the task, which loads only that file (the others' stored manifests
    say done: skipped, not rewritten), then checks and records every file once, in that same task.
    The group's verify task, which runs only after a failed load step, is skipped."""

    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    prefix = "raw/inline-airflow-retry/"
    rows = upload_good(s3, stack, prefix, 5, first_rows=4)
    blip = f"{prefix}f02.csv"
    conf = {"prefix": prefix, "table": f"{stack.prefix}-inline-airflow-retry"}
    run = dag_runner.run(
        stack, "test", "csv2ddb_load", "--conf", json.dumps(conf), "--fail-once", blip, extra_env=INLINE_ON
    )
    assert run.state == "success", run.output[-6000:]
    assert {k: v for k, v in run.tasks.items() if k.startswith("load_file.")} == {
        "load_file.run_glue[0]": "success",
        "load_file.verify": "skipped",  # skipped whole, before it was expanded: no task start
    }
    assert run.result["tries"]["load_file.run_glue[0]"] == 2  # failed once, then retried by Airflow
    assert "1 of 5 file(s) failed inline" in run.output  # the first try: only the blip's file failed

    records = audit_records(ddb, stack, run.result["dag_run_id"])
    assert_each_verified(records, rows)
    for record in records:
        assert items_of_run(ddb, record["table"], record["run_id"]) == rows[record["source_key"]]
    # Each file checked and recorded once (the load task's second try), not once per try.
    assert run.output.count("audit record written to") == len(rows)
    # Loaded once each: the four files of the first try kept their manifests (finished before the
    # retry's load of the blip's file started), the blip's file loaded by the retry alone.
    manifests = {r["source_key"]: manifest_of(s3, stack, r["run_id"]) for r in records}
    retried = manifests[blip]
    assert retried["status"] == "succeeded"
    assert all(m["finished_at"] < retried["started_at"] for k, m in manifests.items() if k != blip)
