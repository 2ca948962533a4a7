"""A representative subset of the bad inputs through the whole DAG (csv2ddb_load under dag.test(),
real Glue job in the emulator), then a scan of everything the run left behind for secrets.

One DAG run loads three case files (a prefix conf: one mapped Glue task per file), so Airflow's
start-up is paid once. Fixtures (Airflow home, child-process runner, bootstrap stack) are the DAG
suite's own, imported in conftest.py.
"""

from __future__ import annotations

import gzip
import json
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import boto3
import pytest
from csv2ddb.history.audit import from_item
from csv2ddb.settings import Settings
from csv2ddb_dev.emulator import Emulator

from tests.reliability.casegen import load_cases
from tests.reliability.conftest import Results

pytestmark = [pytest.mark.emulator, pytest.mark.airflow]

SUBSET = ("bom", "ragged_short", "invalid_utf8")
CASES = {c.name: c for c in load_cases() if c.name in SUBSET}


@pytest.fixture
def secret_values() -> dict[str, str]:
    """Unique secrets for this run: the Airflow API login in Secrets Manager (read by the DAG's
    note step; set on the stack's secret below, as an operator rotating it would) and the AWS
    secret key of Airflow's aws_default connection."""
    return {
        "airflow_api_password": f"relapi{secrets.token_hex(12)}",
        "aws_secret_access_key": f"relaws{secrets.token_hex(12)}",
    }


def scan_for(values: dict[str, str], text: str, where: str) -> list[str]:
    return [f"{name} in {where}" for name, value in values.items() if value in text]


def test_bad_inputs_through_the_dag_and_no_secret_left_behind(
    secret_values: dict[str, str],
    stack: Settings,
    emulator: Emulator,
    dag_runner: Any,
    airflow_home: dict[str, str],
    boto_session: boto3.Session,
    results: Results,
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    sm = boto_session.client("secretsmanager", endpoint_url=emulator.endpoint_url)
    login = {"username": "reliability-user", "password": secret_values["airflow_api_password"]}
    sm.put_secret_value(SecretId=stack.airflow_api_secret_name, SecretString=json.dumps(login))
    for case in CASES.values():
        s3.put_object(Bucket=stack.bucket, Key=f"raw/rel/{case.name}.csv", Body=case.body)

    connection = {"conn_type": "aws", "login": "test", "password": secret_values["aws_secret_access_key"]}
    connection["extra"] = {"region_name": stack.region, "endpoint_url": emulator.endpoint_url}
    extra_env = {
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
        "AWS_SECRET_ACCESS_KEY": secret_values["aws_secret_access_key"],
    }
    conf = {"prefix": "raw/rel/", "reject_tolerance": "1"}
    run = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf), extra_env=extra_env)
    assert run.state == "success", run.output[-6000:]

    records = {
        r["source_key"]: r
        for r in (from_item(i) for i in ddb.scan(TableName=stack.audit_table, ConsistentRead=True)["Items"])
    }
    assert set(records) == {f"raw/rel/{name}.csv" for name in SUBSET}
    table_items = {}
    for page in ddb.get_paginator("scan").paginate(TableName=stack.table, ConsistentRead=True):
        table_items.update({i["id"]["S"]: i for i in page["Items"]})
    expected_all: set[str] = set()
    for name, case in CASES.items():
        record = records[f"raw/rel/{name}.csv"]
        read, written, rejected, duplicate = case.figures
        # the audit record tells the truth: the case's exact figures, verified against the table
        assert record["status"] == "verified", record
        assert [record[k] for k in ("rows_read", "rows_written", "rows_rejected", "rows_duplicate")] == [
            read,
            written,
            rejected,
            duplicate,
        ]
        assert record["items_counted"] == written
        assert record["dag_run_id"] == run.result["dag_run_id"]
        assert record.get("error") is None
        assert (record.get("rejected_location") is not None) == (rejected > 0)
        mine = {i for i, item in table_items.items() if item["load_run_id"]["S"] == record["run_id"]}
        assert mine == case.expected_ids()
        expected_all |= case.expected_ids()
        results.record(
            "case",
            f"{name} (DAG)",
            input=f"raw/rel/{name}.csv in one prefix run of 3 files",
            via="csv2ddb_load dag.test()",
            outcome=f"verified; audit {record['status']}, items_counted {record['items_counted']}",
            rows_lost=read - written - rejected - duplicate,
            figures=[read, written, rejected, duplicate],
        )
    assert set(table_items) == expected_all

    # No secret in the task logs (the runner's output holds dag.test()'s task logs, and any log
    # files under AIRFLOW_HOME), in XCom or anywhere in the metadata DB, in the audit table, in
    # the manifests, or in the emulator's log.
    leaks = scan_for(secret_values, run.output, "dag.test() output / task logs")
    home = Path(airflow_home["AIRFLOW_HOME"])
    for path in home.rglob("*"):
        if path.is_file() and path.suffix != ".db":
            leaks += scan_for(secret_values, path.read_text(errors="replace"), str(path.relative_to(home)))
    with sqlite3.connect(home / "airflow.db") as db:
        xcom = db.execute("SELECT key, value FROM xcom").fetchall()
    assert xcom  # the scan looks at real XCom rows
    leaks += scan_for(secret_values, repr(xcom), "XCom")
    leaks += scan_for(secret_values, (home / "airflow.db").read_bytes().decode("latin-1"), "metadata DB")
    audit_items = ddb.scan(TableName=stack.audit_table, ConsistentRead=True)["Items"]
    leaks += scan_for(secret_values, json.dumps(audit_items), "audit table")
    for obj in s3.list_objects_v2(Bucket=stack.bucket, Prefix="manifests/").get("Contents", []):
        raw = s3.get_object(Bucket=stack.bucket, Key=obj["Key"])["Body"].read()
        body = (gzip.decompress(raw) if obj["Key"].endswith(".gz") else raw).decode()  # + the key lists
        leaks += scan_for(secret_values, body, obj["Key"])
    leaks += scan_for(secret_values, emulator.log_path.read_text(errors="replace"), "emulator log")
    assert leaks == []
    results.record(
        "security",
        "no_secret_in_logs_xcom_audit",
        input="unique API password (Secrets Manager) and AWS secret key (aws_default) during a DAG run",
        via="csv2ddb_load dag.test()",
        outcome="in none of: task logs, XCom rows, the metadata DB, the audit table, manifests, emulator log",
        rows_lost=0,
    )
