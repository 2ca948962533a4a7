"""The real local Airflow stack: loopback only, healthy, login, the Lambda -> REST API path, stop.

Tests run in file order against one module-scoped Airflow; the last one stops it.
"""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.request

import boto3
import pytest
from csv2ddb.bootstrap import create_stack, delete_stack
from csv2ddb.datasets.spec import DAG_ID_PREFIX
from csv2ddb.settings import DAG_ID_LOAD, Settings
from csv2ddb_dev.airflow_api import AirflowApi, AirflowError
from csv2ddb_dev.airflow_runner import COMPONENTS, TRIGGER_USER, AirflowProcesses, health
from csv2ddb_dev.processes import group_members, listening_sockets
from csv2ddb_dev.scripts import lambda_module

pytestmark = [pytest.mark.airflow, pytest.mark.emulator]

WEATHER_DAG = f"{DAG_ID_PREFIX}weather"  # dags/datasets/weather.yaml: its files arrive by event


def test_every_component_runs_and_listens_on_loopback_only(airflow: AirflowProcesses) -> None:
    assert set(airflow.pids) == set(COMPONENTS)
    assert airflow.postgres is not None
    assert airflow.running() == {name: True for name in (*COMPONENTS, "postgres")}
    groups = [*airflow.pids.values(), airflow.postgres.pid]
    pids = {member for pgid in groups for member in group_members(pgid)}
    sockets = listening_sockets(pids)
    assert ("127.0.0.1", airflow.port) in sockets
    assert ("127.0.0.1", airflow.postgres.port) in sockets
    assert [s for s in sockets if s[0] != "127.0.0.1"] == [], f"non-loopback listeners: {sockets}"


def test_the_metadata_database_is_postgres_with_a_password(airflow: AirflowProcesses) -> None:
    """Every component shares one PostgreSQL (SQLite died under a burst: issue 24); TCP logins
    need the generated password, which never appears in a log."""
    import psycopg

    assert airflow.postgres is not None
    assert not (airflow.home / "airflow.db").exists()
    url = airflow.postgres.url("psycopg").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'dag_run'").fetchone()
        assert tables == (1,)  # migrated
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(url.replace(":" + url.split(":")[2].split("@")[0] + "@", ":wrong@")).close()
    password = airflow.postgres.password_file.read_text().strip()
    assert airflow.postgres.password_file.stat().st_mode & 0o077 == 0
    for log in airflow.log_dir.glob("*.log"):
        assert password not in log.read_text(errors="replace"), f"database password leaked into {log}"


def test_health_reports_every_component_healthy(airflow: AirflowProcesses) -> None:
    body = health(airflow.url)
    assert body is not None
    for component in ("metadatabase", "scheduler", "triggerer", "dag_processor"):
        assert body[component]["status"] == "healthy", body


def test_login_works_and_a_wrong_password_is_refused(airflow: AirflowProcesses) -> None:
    api = airflow.api()
    assert len(api.token()) > 20
    assert api.get_dag("no_such_dag") is None
    req = urllib.request.Request(f"{airflow.url}/api/v2/dags")  # no token
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 401
    with pytest.raises(AirflowError, match="HTTP 401"):
        AirflowApi(airflow.url, "admin", "wrong-password").token()
    password_file = airflow.home / "simple_auth_manager_passwords.json"
    assert password_file.stat().st_mode & 0o077 == 0  # readable by the owner only
    passwords = [airflow.credentials()[1], airflow.credentials(TRIGGER_USER)[1]]
    for log in airflow.log_dir.glob("*.log"):
        text = log.read_text(errors="replace")
        assert not [p for p in passwords if p in text], f"password leaked into {log}"
    # The S3-event Lambda's account may start and read DAG runs, nothing an operator or admin may.
    trigger = AirflowApi(airflow.url, *airflow.credentials(TRIGGER_USER))
    assert trigger.request("GET", "/api/v2/dags")[0] == 200
    assert trigger.request("GET", "/api/v2/connections")[0] == 403
    assert trigger.request("GET", "/api/v2/variables")[0] == 403


def _wait_for_run(api: AirflowApi, dag_id: str, run_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in api.list_dag_runs(dag_id) if r["dag_run_id"] == run_id]
        if runs:
            return runs[0]
        time.sleep(1.0)
    raise AssertionError(f"no DAG run {run_id} after {timeout:.0f}s: S3 notification -> Lambda -> API broke")


def test_s3_event_lambda_triggers_exactly_one_dag_run(
    airflow: AirflowProcesses, stack_settings: Settings, boto_session: boto3.Session
) -> None:
    """PUT raw/weather/x.csv -> S3 notification -> Lambda (run by ministack) -> the routing table ->
    real api-server -> one run of the weather dataset's DAG (dags/datasets/weather.yaml).

    The DAG stays paused, so the run is created (queued) but no Glue job runs: this tests the trigger
    path only; the load itself is tested in tests/dags and by `make demo`.
    """
    api = airflow.api()
    api.wait_for_dag(WEATHER_DAG, timeout=180)
    settings = dataclasses.replace(stack_settings, airflow_api_url=airflow.url)
    secret_env = airflow.trigger_secret_env()  # the Lambda's own least-role account
    create_stack(settings, env=secret_env)
    try:
        s3 = boto_session.client("s3")
        key = f"{settings.raw_prefix}weather/e2e weather (1).csv"
        s3.put_object(Bucket=settings.bucket, Key=key, Body=b"id,carrier\n1,AA\n2,UA\n")
        etag = s3.head_object(Bucket=settings.bucket, Key=key)["ETag"].strip('"')
        run_id = lambda_module().dag_run_id(settings.bucket, key, etag)

        run = _wait_for_run(api, WEATHER_DAG, run_id)
        assert run["conf"]["bucket"] == settings.bucket
        assert run["conf"]["key"] == key
        assert run["conf"]["etag"] == etag
        assert run["conf"]["size"] == 21
        assert run["triggered_by"] == "rest_api"
        assert run["triggering_user_name"] == TRIGGER_USER  # who started it: the trigger, not admin

        # S3 delivers at least once: the same record again must not start a second run
        record = {
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {
                "bucket": {"name": settings.bucket},
                "object": {"key": key.replace(" ", "+"), "eTag": etag, "size": 21},
            },
        }
        resp = boto_session.client("lambda").invoke(
            FunctionName=settings.lambda_function_name, Payload=json.dumps({"Records": [record]}).encode()
        )
        summary = json.loads(resp["Payload"].read())
        assert "FunctionError" not in resp, summary
        assert summary["already_triggered"] == [{"key": key, "dag_id": WEATHER_DAG, "dag_run_id": run_id}]
        assert [r["dag_run_id"] for r in api.list_dag_runs(WEATHER_DAG)] == [run_id]
        assert api.list_dag_runs(DAG_ID_LOAD) == []  # the ad-hoc DAG gets no event
    finally:
        delete_stack(settings)


def test_stop_by_process_group_leaves_no_process(airflow: AirflowProcesses) -> None:
    stopped = airflow.stop()
    assert len(stopped) == len(COMPONENTS) + 1  # and postgres, last
    assert stopped[-1].startswith("postgres")
    assert airflow.postgres is not None
    groups = [*airflow.pids.values(), airflow.postgres.pid]
    assert [pgid for pgid in groups if group_members(pgid)] == []
    assert health(airflow.url) is None
    assert not airflow.state_file.exists()
    assert airflow.stop() == []  # idempotent
