"""The claims ledger (lambda/claims.py) on a real DynamoDB table (emulator): a file named again in a
later batch starts nothing new; a claim whose run is not created yet makes the invocation retry; an
orphan claim (its run never came) is taken over."""

from __future__ import annotations

import time
import uuid
from types import ModuleType

import boto3
import pytest
from fake_airflow_api import FakeAirflow, s3_event

pytestmark = pytest.mark.emulator


@pytest.fixture
def claims_env(lambda_env: FakeAirflow, boto_session: boto3.Session, monkeypatch: pytest.MonkeyPatch) -> str:
    table = f"claims-{uuid.uuid4().hex[:8]}"
    ddb = boto_session.client("dynamodb")
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "object", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "object", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("CSV2DDB_EVENT_CLAIMS_TABLE", table)
    monkeypatch.setenv("CSV2DDB_EVENT_CLAIM_GRACE_SECONDS", "180")
    return table


def test_a_file_in_a_later_batch_is_not_loaded_again(
    trigger_dag: ModuleType, lambda_env: FakeAirflow, claims_env: str
) -> None:
    first = trigger_dag.handler(s3_event("raw/a.csv", "raw/b.csv"), None)
    later = trigger_dag.handler(s3_event("raw/b.csv", "raw/c.csv"), None)  # raw/b.csv delivered again
    assert later["duplicates"] == [{"key": "raw/b.csv", "dag_run_id": first["dag_run_ids"]["csv2ddb_load"]}]
    assert [o["key"] for o in lambda_env.runs[later["dag_run_ids"]["csv2ddb_load"]]["conf"]["objects"]] == [
        "raw/c.csv"
    ]
    # The first batch delivered again: same run id, its claims are its own -> 409, nothing new.
    again = trigger_dag.handler(s3_event("raw/a.csv", "raw/b.csv"), None)
    assert [t["key"] for t in again["already_triggered"]] == ["raw/a.csv", "raw/b.csv"]
    assert len(lambda_env.runs) == 2
    # Every object of a batch already loaded elsewhere: no run at all.
    only_dups = trigger_dag.handler(s3_event("raw/c.csv"), None)
    assert only_dups["triggered"] == only_dups["already_triggered"] == []
    assert len(lambda_env.runs) == 2


def test_a_claim_in_flight_retries_and_an_orphan_is_taken_over(
    trigger_dag: ModuleType,
    lambda_env: FakeAirflow,
    claims_env: str,
    boto_session: boto3.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ddb = boto_session.client("dynamodb")
    ghost = "s3batch__0000000000000000__2files"  # another collection's run, not created (yet)
    item = {
        "object": {"S": "b/raw/d.csv/abc123"},
        "dag_run_id": {"S": ghost},
        "claimed_at": {"N": f"{time.time():.3f}"},
    }
    ddb.put_item(TableName=claims_env, Item=item)
    with pytest.raises(trigger_dag.TriggerError) as info:
        trigger_dag.handler(s3_event("raw/d.csv"), None)
    assert "claimed by run s3batch__0000000000000000__2files, not created yet" in str(info.value.__cause__)
    assert lambda_env.runs == {}

    monkeypatch.setenv("CSV2DDB_EVENT_CLAIM_GRACE_SECONDS", "0")  # the ghost's time is up: an orphan
    summary = trigger_dag.handler(s3_event("raw/d.csv"), None)
    assert [t["key"] for t in summary["triggered"]] == ["raw/d.csv"]
    held = ddb.get_item(TableName=claims_env, Key={"object": item["object"]}, ConsistentRead=True)["Item"]
    assert held["dag_run_id"]["S"] == summary["dag_run_ids"]["csv2ddb_load"] != ghost
