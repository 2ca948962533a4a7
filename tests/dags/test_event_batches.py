"""A coalesced batch of S3 events through the load DAG (real Airflow under dag.test(), the emulator,
the real job): ``conf.objects`` loads every object of the batch in one run, leaves out what it must
not load (outside raw/, not a CSV, replaced since its event) and never loads an object version twice,
even when a redelivered event lands in another batch.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from csv2ddb.settings import Settings
from csv2ddb_dev.emulator import Emulator

from tests.dags.test_load_dag_runs import assert_verified, audit_records, generated_csv, upload

pytestmark = [pytest.mark.emulator, pytest.mark.airflow]
UPLOADER = "AWS:AIDAEXAMPLEUPLOADER"  # an S3 event record's userIdentity.principalId


def put(s3: Any, settings: Settings, key: str, body: bytes) -> dict[str, Any]:
    """Upload ``body``; the object as its S3 event names it."""
    head = upload(s3, settings, key, body)
    etag = head["ETag"].strip('"')
    return {"bucket": settings.bucket, "key": key, "etag": etag, "size": len(body), "uploaded_by": UPLOADER}


def test_a_batch_loads_each_object_version_once(
    stack: Settings, emulator: Emulator, dag_runner: Any, boto_session: boto3.Session
) -> None:
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = boto_session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    a = put(s3, stack, "raw/batch/a.csv", generated_csv(5, "a"))
    b_old = put(s3, stack, "raw/batch/b.csv", generated_csv(6, "b"))
    outside = {"bucket": stack.bucket, "key": "elsewhere/x.csv", "etag": "e1"}
    not_csv = {"bucket": stack.bucket, "key": "raw/batch/notes.txt", "etag": "e2"}

    first = dag_runner.run(
        stack, "test", "csv2ddb_load", "--conf", json.dumps({"objects": [a, b_old, outside, not_csv]})
    )
    assert first.state == "success", first.output[-6000:]
    records = audit_records(ddb, stack, first.result["dag_run_id"])
    assert [r["source_key"] for r in records] == ["raw/batch/a.csv", "raw/batch/b.csv"]
    for record, rows in zip(records, (5, 6), strict=True):
        assert_verified(record, rows, ddb)
        assert record["uploaded_by"] == UPLOADER  # who uploaded it, beside who triggered the run
    assert "elsewhere/x.csv: key 'elsewhere/x.csv' is outside raw/" in first.output
    assert "raw/batch/notes.txt: not a CSV object" in first.output

    # A redelivered event for a (same version) in a new batch, b replaced after its event, c new.
    b_new = put(s3, stack, "raw/batch/b.csv", generated_csv(7, "b2"))
    c = put(s3, stack, "raw/batch/c.csv", generated_csv(3, "c"))
    second = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps({"objects": [a, b_old, c]}))
    assert second.state == "success", second.output[-6000:]
    (record,) = audit_records(ddb, stack, second.result["dag_run_id"])
    assert record["source_key"] == "raw/batch/c.csv"
    assert_verified(record, 3, ddb)
    assert "raw/batch/a.csv: left out, this version was verified already by run " in second.output
    assert "raw/batch/b.csv: left out, replaced since its event" in second.output

    # The new version of b is a new object version: its own event loads it; a and c are done.
    third = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps({"objects": [a, b_new, c]}))
    assert third.state == "success", third.output[-6000:]
    (record,) = audit_records(ddb, stack, third.result["dag_run_id"])
    assert (record["source_key"], record["source_etag"]) == ("raw/batch/b.csv", b_new["etag"])
    assert_verified(record, 7, ddb)

    # Everything of this batch is verified: the run starts no load and says so.
    again = dag_runner.run(stack, "test", "csv2ddb_load", "--conf", json.dumps({"objects": [a, b_new, c]}))
    assert again.state == "success", again.output[-6000:]
    assert audit_records(ddb, stack, again.result["dag_run_id"]) == []
    assert again.tasks["summarize"] == "success"
