"""The write options through the DAG (real Airflow under dag.test(), the emulator, the real job):
a gzip'd file into a new composite-key table with TTL, then the same file again with insert.

What a person sets in the form's "How to write" section arrives as job arguments, the table is
created with those keys and TTL, and the second run writes nothing and skips every row, verified.
"""

from __future__ import annotations

import gzip
import json
import threading
from typing import Any

import boto3
import pytest
from csv2ddb.engines import PYTHONSHELL
from csv2ddb.job_definitions import job_name
from csv2ddb.settings import Settings
from csv2ddb_dev.emulator import Emulator

from tests.dags.test_load_dag_runs import audit_records, upload
from tests.holding_proxy import HoldingProxy

pytestmark = [pytest.mark.emulator, pytest.mark.airflow]

ROWS = 40
# These tests are about the import path: every first load imports, however small (issue 24's
# threshold, CSV2DDB_IMPORT_MIN_BYTES, would write their 40-row files in batches).
IMPORT_EVERY_FIRST_LOAD = {"CSV2DDB_IMPORT_MIN_BYTES": "0"}


def weather_like_gz() -> bytes:
    lines = ["origin,time_hour,temp,expires"]
    lines += [
        f"{'EWR' if i % 2 else 'JFK'},2013-01-01T{i // 2:02d}:00:00Z,{30 + i},2030-01-01" for i in range(ROWS)
    ]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def test_form_options_reach_the_job_and_the_table(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    key = "raw/options/weather.csv.gz"
    upload(s3, stack, key, weather_like_gz())
    table = f"{stack.prefix}-weather"
    conf = {
        "key": key,
        "table": table,
        "partition_key": "origin",
        "sort_key": "time_hour",
        "ttl_column": "expires:iso",
        "write_mode": "insert",
    }
    first = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf))
    assert first.state == "success", first.output[-6000:]
    (record,) = audit_records(ddb, stack, first.result["dag_run_id"])
    assert record["status"] == "verified", record
    assert (record["rows_read"], record["rows_written"], record["rows_skipped"]) == (ROWS, ROWS, 0)
    description = ddb.describe_table(TableName=table)["Table"]
    assert [(k["AttributeName"], k["KeyType"]) for k in description["KeySchema"]] == [
        ("origin", "HASH"),
        ("time_hour", "RANGE"),
    ]
    ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")
    item = ddb.get_item(
        TableName=table, Key={"origin": {"S": "JFK"}, "time_hour": {"S": "2013-01-01T00:00:00Z"}}
    )
    assert item["Item"]["expires"] == {"N": "1893456000"}

    # Again, naming no keys: the existing table's keys are used; insert skips every row.
    again = {k: v for k, v in conf.items() if k not in ("partition_key", "sort_key")}
    second = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(again))
    assert second.state == "success", second.output[-6000:]
    (record,) = audit_records(ddb, stack, second.result["dag_run_id"])
    assert record["status"] == "verified", record
    assert (record["rows_read"], record["rows_written"], record["rows_skipped"]) == (ROWS, 0, ROWS)


def test_a_first_load_into_a_new_table_is_an_import_reconciled_exactly(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    """load_method auto: the table does not exist (and the file is at least the import threshold,
    here 0), so the job stages DynamoDB JSON and the DAG imports it with ImportTable; the count check
    and audit run as for any load."""
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    key = "raw/options/first.csv.gz"
    size = upload(s3, stack, key, weather_like_gz())["ContentLength"]
    table = f"{stack.prefix}-imported"
    conf = {"key": key, "table": table, "partition_key": "origin", "sort_key": "time_hour"}
    run = dag_runner.run(
        stack, "test", "csv2ddb_load", "--conf", json.dumps(conf), extra_env=IMPORT_EVERY_FIRST_LOAD
    )
    assert run.state == "success", run.output[-6000:]
    (record,) = audit_records(ddb, stack, run.result["dag_run_id"])
    assert record["status"] == "verified", record
    assert record["load_method"] == "import"
    said = f"import: a new table, {size} bytes at or above the import threshold 0 bytes"
    assert (record["load_method_reason"], record["write_options"]["load_method_reason"]) == (said, said)
    assert (record["rows_written"], record["items_counted"]) == (ROWS, ROWS)
    manifest = json.loads(
        s3.get_object(Bucket=stack.bucket, Key=f"manifests/{record['run_id']}.json")["Body"].read()
    )
    assert (manifest["imported_count"], manifest["error_count"]) == (ROWS, 0)
    assert manifest["import_arn"]
    assert manifest["load_method_reason"] == said
    staged = s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"staging/{record['run_id']}/")
    assert staged.get("KeyCount", 0) == 0  # deleted after the verified load
    backups = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"

    # An explicit import into the table that now exists is refused before any work.
    refused = dag_runner.run(
        stack, "test", "csv2ddb_load", "--conf", json.dumps({**conf, "load_method": "import"})
    )
    assert refused.state == "failed"
    assert refused.tasks["resolve_inputs"] == "failed"
    assert "exists already" in refused.output


def test_an_auto_import_whose_table_another_load_created_meanwhile_loads_in_batches(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    """Two first loads of one new table at once (a backfill): both plan ImportTable, and the one
    whose ImportTable finds the table made by the other loads in batches instead of failing.

    The other load is played by this test. The run's AWS calls go through a HoldingProxy
    (tests/holding_proxy.py) that holds its ImportTable call; the test creates the table, then lets
    the call through. That is exactly what the second of two racing imports sees, at a point the test
    knows whatever the machine's speed. (Before: the test created the table when the staged file
    appeared and bet on doing so within the Glue task's one-second poll.)"""
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    key = "raw/options/raced.csv.gz"
    upload(s3, stack, key, weather_like_gz())
    table = f"{stack.prefix}-raced"
    conf = {"key": key, "table": table, "partition_key": "origin", "sort_key": "time_hour"}
    outcome: dict[str, Any] = {}
    with HoldingProxy(emulator.endpoint_url, "ImportTable", allow=0) as proxy:
        runner = threading.Thread(
            target=lambda: outcome.update(
                run=dag_runner.run(
                    stack,
                    "test",
                    "csv2ddb_load",
                    "--conf",
                    json.dumps(conf),
                    extra_env=IMPORT_EVERY_FIRST_LOAD,
                    endpoint=proxy.url,
                )
            )
        )
        runner.start()
        # until the import step's ImportTable is held (or the run ended: asserted)
        assert proxy.wait_held(runner.is_alive), outcome.get("run")
        ddb.create_table(
            TableName=table,
            KeySchema=[
                {"AttributeName": "origin", "KeyType": "HASH"},
                {"AttributeName": "time_hour", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "origin", "AttributeType": "S"},
                {"AttributeName": "time_hour", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        proxy.release()
        runner.join(timeout=600)
    run = outcome["run"]
    assert run.state == "success", run.output[-6000:]
    assert "loading in batches instead" in run.output
    (record,) = audit_records(ddb, stack, run.result["dag_run_id"])
    assert record["status"] == "verified", record
    assert record["load_method"] == "batch"
    assert record["load_method_reason"] == (
        f"batch: table {table} was created by another load after this one planned to import it; "
        "ImportTable only creates new tables"
    )
    assert record["write_options"]["load_method"] == "import"  # what was planned, before the race
    assert (record["rows_read"], record["rows_written"], record["items_counted"]) == (ROWS, ROWS, ROWS)
    assert (
        ddb.list_imports(TableArn=ddb.describe_table(TableName=table)["Table"]["TableArn"])[
            "ImportSummaryList"
        ]
        == []
    )
    left = s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"staging/{record['run_id']}/")
    assert left.get("KeyCount", 0) == 0  # the staged parts it no longer imports are gone
    # The second Glue run of the task used the job as defined (not the hook's default glueetl).
    glue = boto_session.client("glue", endpoint_url=emulator.endpoint_url)
    assert glue.get_job(JobName=job_name(stack, PYTHONSHELL))["Job"]["Command"]["Name"] == PYTHONSHELL


def test_a_small_first_load_into_a_new_table_is_written_in_batches_and_says_why(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    """Issue 24: under the stack's default threshold (64 MiB), load_method auto writes a first load
    of a small file into a new table in batches, not through an import whose start-up it would not
    pay back: the table is created by the DAG, the rows written by the job, verified, and the audit
    record and the manifest say which method and why."""
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    key = "raw/options/small-first.csv.gz"
    size = upload(s3, stack, key, weather_like_gz())["ContentLength"]
    table = f"{stack.prefix}-small-first"
    assert table not in ddb.list_tables()["TableNames"]
    conf = {"key": key, "table": table, "partition_key": "origin", "sort_key": "time_hour"}
    run = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf))
    assert run.state == "success", run.output[-6000:]
    (record,) = audit_records(ddb, stack, run.result["dag_run_id"])
    assert record["status"] == "verified", record
    said = f"batch: {size} bytes below the import threshold 64.0 MiB"
    assert (record["load_method"], record["load_method_reason"]) == ("batch", said)
    assert record["write_options"]["load_method_reason"] == said
    assert (record["rows_read"], record["rows_written"], record["items_counted"]) == (ROWS, ROWS, ROWS)
    assert "imported_count" not in record
    manifest = json.loads(
        s3.get_object(Bucket=stack.bucket, Key=f"manifests/{record['run_id']}.json")["Body"].read()
    )
    assert (manifest["load_method"], manifest["load_method_reason"], manifest["staging"]) == (
        "batch",
        said,
        None,
    )
    assert s3.list_objects_v2(Bucket=stack.bucket, Prefix=f"staging/{record['run_id']}/").get("KeyCount") == 0
    arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    assert ddb.list_imports(TableArn=arn)["ImportSummaryList"] == []  # no ImportTable made it
    backups = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_csv_options_from_the_conf_read_a_semicolon_latin1_file(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    """delimiter, encoding, na_values, empty_cells and type_map set by the run (they had no way in
    before the file plan): the job reads the file as asked, and the audit record keeps them."""
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    key = "raw/options/planes.csv"
    text = "tailnum;manufacturer;seats;year\nN10156;EMBRAER;55;2004\nN102UW;AIRBUS INDUSTRIE;NA;1998\n"
    text += "N103US;AÉROSPATIALE;182;NA\n"
    upload(s3, stack, key, text.encode("latin-1"))
    table = f"{stack.prefix}-planes"
    csv_options = {
        "delimiter": ";",
        "encoding": "latin-1",
        "na_values": "NA",
        "empty_cells": "null",
        "type_map": json.dumps({"tailnum": "S", "year": "S"}),
    }
    conf = {"key": key, "table": table, "partition_key": "tailnum", "load_method": "batch", **csv_options}
    run = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps(conf))
    assert run.state == "success", run.output[-6000:]
    (record,) = audit_records(ddb, stack, run.result["dag_run_id"])
    assert record["status"] == "verified", record
    assert (record["rows_read"], record["rows_written"]) == (3, 3)
    assert record["csv_options"] == csv_options
    assert record["write_options"]["partition_key"] == "tailnum:S"
    got = {
        item["tailnum"]["S"]: item
        for item in ddb.scan(TableName=table)["Items"]  # three items: a scan is the plain check
    }
    assert got["N103US"]["manufacturer"] == {"S": "AÉROSPATIALE"}  # decoded from Latin-1
    assert got["N103US"]["year"] == {"NULL": True}  # NA, as empty_cells=null says
    assert got["N102UW"]["seats"] == {"NULL": True}
    assert got["N10156"]["seats"] == {"N": "55"}
    assert got["N10156"]["year"] == {"S": "2004"}  # the type map keeps it a string

    # A bad option fails the run before anything is read, naming the option.
    bad = dag_runner.run(
        stack, "test", "csv2ddb_load", "--conf", json.dumps({**conf, "encoding": "klingon-8"})
    )
    assert bad.state == "failed"
    assert "--encoding: unknown encoding 'klingon-8'" in bad.output
