"""Spark files grouped per Glue run (csv2ddb.load.groups), end to end under dag.test(): real Airflow,
the real emulator, the stack's Spark job running glue/csv2ddb_spark_job.py in local Spark.

A prefix of three small files and one bad one (a ragged row, over the tolerance 0), planned on the
Spark engine, is ONE run of the Spark job (``--files``: one Spark session, each file its own load,
run id, manifest and audit record) and one bulk verify: the good files verified with exact counts,
the bad one failed with its manifest's reason, past which the group went on.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from csv2ddb.settings import Settings
from csv2ddb_dev.emulator import Emulator

from tests.dags.test_load_dag_runs import audit_records, generated_csv, items_of_run, upload

pytestmark = [pytest.mark.emulator, pytest.mark.airflow, pytest.mark.spark]
GOOD = 3
BAD_KEY = "f01b.csv"  # sorts between f01 and f02: the group goes on past it


def group_runs(glue: Any, s3: Any, job_name: str, run_ids: set[str]) -> list[dict[str, Any]]:
    """The runs of ``job_name`` whose group file (``--files``) names only these load run ids."""
    found = []
    for run in glue.get_job_runs(JobName=job_name)["JobRuns"]:
        args = run.get("Arguments") or {}
        if not args.get("--files"):
            continue
        bucket, _, key = args["--files"][len("s3://") :].partition("/")
        ids = [e["run_id"] for e in json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())]
        if set(ids) <= run_ids:
            found.append(
                {"id": run["Id"], "state": run["JobRunState"], "run_ids": ids, "engine": args.get("--engine")}
            )
    return found


def test_a_prefix_of_spark_files_is_one_spark_run(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    glue = boto_session.client("glue", endpoint_url=emulator.endpoint_url)
    prefix = "raw/sparkgroup/"
    rows = {}
    for n in range(GOOD):
        key = f"{prefix}f{n:02d}.csv"
        upload(s3, stack, key, generated_csv(4 + n, f"{prefix}{n}"))
        rows[key] = 4 + n
    bad = f"{prefix}{BAD_KEY}"
    upload(s3, stack, bad, b"id,name,amount\nbad-0,x,1\nbad-1,ragged\n")
    conf = {
        "prefix": prefix,
        "table": f"{stack.prefix}-sparkgroup",
        "reject_tolerance": "0",
        "engine": "spark",
        "load_method": "batch",  # a new table would otherwise be imported (a Python-shell path)
    }
    run = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf))

    assert run.state == "failed", run.output[-6000:]  # the bad file fails the run, after the others
    assert {k: v for k, v in run.tasks.items() if k.startswith("load_file.")} == {
        "load_file.run_glue[0]": "failed",  # refused input only: not retried
        "load_file.verify[0]": "failed",
    }
    records = audit_records(ddb, stack, run.result["dag_run_id"])
    assert sorted(r["source_key"] for r in records) == sorted([*rows, bad])
    for record in records:
        assert record["glue_job_name"] == stack.spark.job_name
        if record["source_key"] == bad:
            assert record["status"] == "failed"
            assert "above the tolerance '0'" in record["error"]
            assert items_of_run(ddb, record["table"], record["run_id"]) == 0
            continue
        expected = rows[record["source_key"]]
        assert record["status"] == "verified", record
        assert (record["rows_read"], record["rows_written"], record["items_counted"]) == (expected,) * 3
        assert items_of_run(ddb, record["table"], record["run_id"]) == expected
        manifest = json.loads(
            s3.get_object(Bucket=stack.bucket, Key=stack.manifest_key(record["run_id"]))["Body"].read()
        )
        assert manifest["engine"] == "spark"
    assert len({r["group_id"] for r in records}) == 1
    assert {r["group_files"] for r in records} == {GOOD + 1}

    (spark_run,) = group_runs(glue, s3, stack.spark.job_name, {r["run_id"] for r in records})
    assert spark_run["engine"] == "spark"
    assert spark_run["state"] == "FAILED"  # exit 1: one file of the group failed
    in_key_order = sorted(records, key=lambda r: r["source_key"])
    assert spark_run["run_ids"] == [r["run_id"] for r in in_key_order]  # one run, in the run's order
    assert {r["glue_job_run_id"] for r in records} == {spark_run["id"]}
    assert group_runs(glue, s3, stack.glue.job_name, {r["run_id"] for r in records}) == []
