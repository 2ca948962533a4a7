"""The S3-event Lambda: record parsing, key filtering, run-id determinism, 409s, errors, MWAA mode."""

from __future__ import annotations

import json
import logging
import re
from types import ModuleType

import boto3
import pytest
from fake_airflow_api import PASSWORD, TOKEN, USERNAME, FakeAirflow, s3_event
from hypothesis import given
from hypothesis import strategies as st

RUN_ID = re.compile(r"^s3__[0-9a-f]{16}__[A-Za-z0-9._-]+$")


# --- pure functions --------------------------------------------------------------------------------
def test_parse_records_decodes_every_key(trigger_dag: ModuleType) -> None:
    event = s3_event("raw/my file (1).csv", "raw/dt=2024-01-01/ü.csv", etag='"e1"')
    objects = trigger_dag.parse_records(event)
    assert [o.key for o in objects] == ["raw/my file (1).csv", "raw/dt=2024-01-01/ü.csv"]
    assert objects[0].etag == "e1"  # quotes stripped
    assert objects[0].conf() == {
        "bucket": "b",
        "key": "raw/my file (1).csv",
        "etag": "e1",
        "version_id": "v1",
        "size": 42,
        "sequencer": "0055AED6DCD90281E5",
    }


def test_parse_records_ignores_test_events_and_removals(trigger_dag: ModuleType) -> None:
    assert trigger_dag.parse_records({"Event": "s3:TestEvent", "Bucket": "b"}) == []
    assert trigger_dag.parse_records(s3_event("raw/a.csv", event_name="ObjectRemoved:Delete")) == []


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("raw/a.csv", None),
        ("raw/dt=2024-01-01/a.csv", None),
        ("rejected/a.csv", "outside raw/"),
        ("a.csv", "outside raw/"),
        ("raw/a.txt", "not a .csv file"),
        ("raw/a.csv.gz", None),
        ("raw/a.csv.bz2", None),
        ("raw/a.csv.zip", "not a .csv file"),
        ("raw/../secrets/a.csv", "contains a '..' path segment"),
        ("raw/x/../a.csv", "contains a '..' path segment"),
        ("raw/.csv", "no file name"),
    ],
)
def test_skip_reason(trigger_dag: ModuleType, key: str, reason: str | None) -> None:
    assert trigger_dag.skip_reason(key, "raw/") == reason


def test_dag_run_id_is_deterministic_and_changes_with_the_object(trigger_dag: ModuleType) -> None:
    first = trigger_dag.dag_run_id("b", "raw/flights 2024.csv", "e1")
    assert first == trigger_dag.dag_run_id("b", "raw/flights 2024.csv", "e1")
    assert RUN_ID.match(first)
    assert first.endswith("__flights_2024.csv")
    # a new version of the file (new etag), another bucket or key -> another run
    assert first != trigger_dag.dag_run_id("b", "raw/flights 2024.csv", "e2")
    assert first != trigger_dag.dag_run_id("c", "raw/flights 2024.csv", "e1")
    assert first != trigger_dag.dag_run_id("b", "raw/other/flights 2024.csv", "e1")


@given(key=st.text(min_size=1, max_size=600), etag=st.text(max_size=40))
def test_dag_run_id_is_always_safe(trigger_dag: ModuleType, key: str, etag: str) -> None:
    run_id = trigger_dag.dag_run_id("bucket", key, etag)
    assert RUN_ID.match(run_id)
    assert len(run_id) <= 200


# --- the handler against Secrets Manager (emulator) and a stand-in Airflow API ----------------------
def test_handler_triggers_one_run_for_the_batch(
    trigger_dag: ModuleType, lambda_env: FakeAirflow, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="csv2ddb.trigger_dag")
    event = s3_event("raw/sub/b c.csv", "raw/a.csv", "raw/notes.txt", "other/x.csv", "raw/a.csv")
    summary = trigger_dag.handler(event, None)
    assert [t["key"] for t in summary["triggered"]] == ["raw/a.csv", "raw/sub/b c.csv"]
    assert [s["key"] for s in summary["skipped"]] == ["raw/notes.txt", "other/x.csv"]
    assert summary["already_triggered"] == []

    run_id = trigger_dag.batch_dag_run_id([("b", "raw/a.csv", "abc123"), ("b", "raw/sub/b c.csv", "abc123")])
    assert summary["dag_run_ids"] == {"csv2ddb_load": run_id}
    assert list(lambda_env.runs) == [run_id]  # one run, the repeated raw/a.csv record once
    body = lambda_env.runs[run_id]
    assert body["logical_date"] is None
    assert [o["key"] for o in body["conf"]["objects"]] == ["raw/a.csv", "raw/sub/b c.csv"]
    assert body["conf"]["objects"][1] == {
        "bucket": "b",
        "key": "raw/sub/b c.csv",
        "etag": "abc123",
        "version_id": "v1",
        "size": 42,
        "sequencer": "0055AED6DCD90281E5",
    }
    assert "key" not in body["conf"]  # several objects: only conf.objects
    trigger_calls = [r for r in lambda_env.requests if r[1] == "/api/v2/dags/csv2ddb_load/dagRuns"]
    assert all(headers["Authorization"] == f"Bearer {TOKEN}" for _, _, headers, _ in trigger_calls)

    # S3 delivers at least once: the same events again (in any order) start nothing new
    again = trigger_dag.handler(s3_event("raw/a.csv", "raw/sub/b c.csv"), None)
    assert [t["key"] for t in again["already_triggered"]] == ["raw/a.csv", "raw/sub/b c.csv"]
    assert again["triggered"] == []
    assert len(lambda_env.runs) == 1
    assert "already triggered" in caplog.text
    assert PASSWORD not in caplog.text
    assert TOKEN not in caplog.text


def test_handler_reraises_airflow_errors_with_the_key(
    trigger_dag: ModuleType, lambda_env: FakeAirflow, caplog: pytest.LogCaptureFixture
) -> None:
    lambda_env.fail_with = 500
    with pytest.raises(trigger_dag.TriggerError, match=r"2 of 2 records failed \(raw/a.csv, raw/b.csv\)"):
        trigger_dag.handler(s3_event("raw/a.csv", "raw/b.csv"), None)
    assert "for 2 file(s) (raw/a.csv, raw/b.csv) failed" in caplog.text
    assert PASSWORD not in caplog.text
    assert TOKEN not in caplog.text


def test_handler_fails_clearly_on_a_wrong_login(
    trigger_dag: ModuleType, lambda_env: FakeAirflow, boto_session: boto3.Session
) -> None:
    boto_session.client("secretsmanager").put_secret_value(
        SecretId=lambda_env.secret_id, SecretString=json.dumps({"username": USERNAME, "password": "wrong"})
    )
    with pytest.raises(trigger_dag.TriggerError, match="1 of 1 records failed") as info:
        trigger_dag.handler(s3_event("raw/a.csv"), None)
    assert "login" in str(info.value.__cause__)
    assert "HTTP 401" in str(info.value.__cause__)
    assert lambda_env.runs == {}


def test_handler_needs_its_configuration(trigger_dag: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSV2DDB_AIRFLOW_API_URL", raising=False)
    monkeypatch.delenv("CSV2DDB_SECRET_ID", raising=False)
    monkeypatch.setenv("CSV2DDB_TRIGGER_MODE", "airflow")
    with pytest.raises(trigger_dag.TriggerError) as info:
        trigger_dag.handler(s3_event("raw/a.csv"), None)
    assert "CSV2DDB_AIRFLOW_API_URL and CSV2DDB_SECRET_ID must be set" in str(info.value.__cause__)
    # nothing to load -> nothing to configure, no error
    assert trigger_dag.handler(s3_event("elsewhere/a.csv"), None)["skipped"]
