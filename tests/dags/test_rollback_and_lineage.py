"""Rollback and lineage against the real emulator, through their CLIs as a person runs them.

One module-scoped stack: a 10,000-row load ``R1`` and a later 100-row load ``R2`` that overwrites
100 of R1's items, both written by the real Glue job script (run as Glue runs it), with R1's audit
record as the load DAG writes it. Lineage questions come first (read only); the rollback tests
run last, in file order: refusals, then a rollback killed mid-way (SIGKILL) and run again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from csv2ddb.history import audit, rollback
from csv2ddb.run_identity import RunStamp
from csv2ddb.settings import DAG_ID_LOAD, DAG_ID_ROLLBACK, Settings, load_settings
from csv2ddb.tables import audit_table_spec, ensure_table, items_table_spec
from csv2ddb_dev.emulator import Emulator, endpoint_env

from tests.holding_proxy import HoldingProxy

pytestmark = pytest.mark.emulator

JOB = Path(__file__).resolve().parents[2] / "glue" / "csv2ddb_load_job.py"
ROWS = 10_000
OVERWRITTEN = 100  # R2 rewrites the last 100 ids of R1's file


@dataclass
class World:
    settings: Settings
    env: dict[str, str]
    s3: Any
    ddb: Any
    r1: dict[str, Any]  # manifests
    r2: dict[str, Any]

    def cli(self, module: str, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", module, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=check,
        )

    def items_of(self, run_id: str) -> int:
        pages = self.ddb.get_paginator("scan").paginate(
            TableName=self.settings.table,
            Select="COUNT",
            FilterExpression="load_run_id = :r",
            ExpressionAttributeValues={":r": {"S": run_id}},
            ConsistentRead=True,
        )
        return sum(page["Count"] for page in pages)


def run_job(world_env: dict[str, str], settings: Settings, key: str, run_id: str) -> dict[str, Any]:
    """The Glue job script as a process, as Glue (and ministack) runs it; its manifest."""
    argv = ["--source_bucket", settings.bucket, "--source_key", key, "--table", settings.table]
    done = subprocess.run(
        [sys.executable, str(JOB), *argv, "--run_id", run_id],
        env=world_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads(done.stdout)
    assert manifest["status"] == "succeeded", manifest
    return manifest


@pytest.fixture(scope="module")
def world(emulator: Emulator) -> Iterator[World]:
    env = {**os.environ, **emulator.client_env()}
    for leak in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(leak, None)
    settings = load_settings(env, prefix=f"rb{uuid.uuid4().hex[:8]}")
    env["CSV2DDB_PREFIX"] = settings.prefix
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=settings.region,
    )
    s3 = session.client("s3", endpoint_url=emulator.endpoint_url)
    ddb = session.client("dynamodb", endpoint_url=emulator.endpoint_url)
    s3.create_bucket(Bucket=settings.bucket)
    for spec in (items_table_spec(settings), audit_table_spec(settings)):
        ensure_table(ddb, spec, delay_seconds=0.2)
    first = "id,name,amount\n" + "".join(f"k{i:05d},item {i},{i}.5\n" for i in range(ROWS))
    later = "id,name,amount\n" + "".join(f"k{i:05d},newer {i},{i}\n" for i in range(ROWS - OVERWRITTEN, ROWS))
    s3.put_object(Bucket=settings.bucket, Key="raw/first.csv", Body=first.encode())
    s3.put_object(Bucket=settings.bucket, Key="raw/later.csv", Body=later.encode())
    r1 = run_job(env, settings, "raw/first.csv", "manual__r1__first.csv__0000000000000001")
    time.sleep(0.01)  # R2 starts after R1: its items are a later load's
    r2 = run_job(env, settings, "raw/later.csv", "manual__r2__later.csv__0000000000000002")
    load = {
        "run_id": r1["run_id"],
        "bucket": settings.bucket,
        "key": "raw/first.csv",
        "source_uri": f"s3://{settings.bucket}/raw/first.csv",
        "table": settings.table,
    }
    record = audit.build_record(
        RunStamp(DAG_ID_LOAD, "manual__r1", "manual", "tester"),
        load,
        audit.Outcome(audit.STATUS_VERIFIED, None, r1, ROWS),
        settings.glue.job_name,
        None,
    )
    audit.put_record(ddb, settings.audit_table, record)
    try:
        yield World(settings, env, s3, ddb, r1, r2)
    finally:
        for table in (settings.table, settings.audit_table):
            ddb.delete_table(TableName=table)


# --- lineage ---------------------------------------------------------------------------------------
def test_which_load_wrote_a_key(world: World) -> None:
    done = world.cli("csv2ddb.history.audit_cli", "who-wrote", "k00007", "--json", check=True)
    found = json.loads(done.stdout)
    assert found["load_run_id"] == world.r1["run_id"]
    assert found["source_file"] == f"s3://{world.settings.bucket}/raw/first.csv"
    assert found["ingestion_timestamp"] == world.r1["started_at"]
    assert (found["dag_run_id"], found["status"]) == ("manual__r1", "verified")

    overwritten = world.cli("csv2ddb.history.audit_cli", "who-wrote", f"k{ROWS - 1:05d}", check=True).stdout
    assert f"load_run_id          {world.r2['run_id']}" in overwritten
    assert "dag_run_id           None" in overwritten  # R2 has no audit record

    missing = world.cli("csv2ddb.history.audit_cli", "who-wrote", "no-such-key")
    assert missing.returncode == 1
    assert f"no item with key no-such-key in table {world.settings.table}" in missing.stderr


def test_which_keys_a_load_wrote(world: World) -> None:
    done = world.cli("csv2ddb.history.audit_cli", "keys-of", world.r1["run_id"], check=True)
    listed = done.stdout.split()
    assert len(listed) == ROWS
    assert set(listed) == {f"k{i:05d}" for i in range(ROWS)}
    assert f"wrote {ROWS} key(s)" in done.stderr
    assert "count and sha256 verified" in done.stderr

    states = world.cli(
        "csv2ddb.history.audit_cli", "keys-of", world.r1["run_id"], "--state", "--json", check=True
    )
    rows = [json.loads(line) for line in states.stdout.splitlines()]
    by_state: dict[str, int] = {}
    for row in rows:
        by_state[row["state"]] = by_state.get(row["state"], 0) + 1
    assert by_state == {"ours": ROWS - OVERWRITTEN, "later": OVERWRITTEN}
    assert {row["load_run_id"] for row in rows if row["state"] == "later"} == {world.r2["run_id"]}

    unknown = world.cli("csv2ddb.history.audit_cli", "keys-of", "never-loaded")
    assert unknown.returncode == 1
    assert "no load never-loaded" in unknown.stderr


# --- rollback --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("run_id", "message"),
    [
        ("never-loaded", "no load with run id never-loaded: no manifest"),
        ("not a run id", "not a load run id"),
    ],
)
def test_rollback_of_bad_input_is_refused_and_deletes_nothing(
    world: World, run_id: str, message: str
) -> None:
    done = world.cli("csv2ddb.history.rollback_cli", run_id)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "nothing was deleted" in done.stderr or "not a load run id" in done.stderr
    assert world.items_of(world.r1["run_id"]) == ROWS - OVERWRITTEN


def test_rollback_killed_mid_way_then_run_again_finishes(world: World) -> None:
    run_id = world.r1["run_id"]
    dry = world.cli("csv2ddb.history.rollback_cli", run_id, "--dry-run", "--json", check=True)
    assert json.loads(dry.stdout) == {
        "run_id": run_id,
        "table": world.settings.table,
        "would_delete": ROWS - OVERWRITTEN,
        "left_other_loads": OVERWRITTEN,
        "already_gone": 0,
    }
    assert world.items_of(run_id) == ROWS - OVERWRITTEN  # a dry run deletes nothing
    # One thread, through a proxy that lets its first 4 BatchExecuteStatement calls (the first
    # chunk's 100 deletes, 25 a call) reach the emulator and holds the 5th: the kill lands at a
    # point the test knows, whatever the machine's speed.
    with HoldingProxy(world.env["AWS_ENDPOINT_URL"], "BatchExecuteStatement", allow=4) as proxy:
        env = {**world.env, **endpoint_env(proxy.url)}
        first = subprocess.Popen(
            [sys.executable, "-m", "csv2ddb.history.rollback_cli", run_id, "--threads", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert first.stderr is not None
        line = first.stderr.readline()  # printed after the first 100 keys were read and deleted
        # until the 5th call is held (or the rollback ended: the assertion below says so)
        held = proxy.wait_held(lambda: first.poll() is None)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    assert line.startswith("rollback progress: 100/"), line + first.stderr.read()
    assert held, "the rollback never reached its 5th BatchExecuteStatement"
    assert (proxy.forwarded, proxy.statements) == (4, 100)
    left_after_kill = world.items_of(run_id)
    assert left_after_kill == ROWS - OVERWRITTEN - proxy.statements, "the kill did not land mid-way"
    (interrupted,) = [
        r
        for r in audit.records_of_load(world.ddb, world.settings.audit_table, run_id)
        if r["dag_id"] == DAG_ID_ROLLBACK
    ]
    assert interrupted["status"] == rollback.ROLLING_BACK

    again = world.cli("csv2ddb.history.rollback_cli", run_id, "--json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["deleted"] == left_after_kill
    assert report["absent"] == ROWS - OVERWRITTEN - left_after_kill  # deleted by the killed run
    assert report["left_overwritten"] == OVERWRITTEN
    assert report["overwritten_by"] == {world.r2["run_id"]: OVERWRITTEN}
    assert report["remaining"] == 0
    assert world.items_of(run_id) == 0
    assert world.items_of(world.r2["run_id"]) == OVERWRITTEN  # the later load's items stay

    records = audit.records_of_load(world.ddb, world.settings.audit_table, run_id)
    (load,) = [r for r in records if r["dag_id"] == DAG_ID_LOAD]
    rollbacks = {r["status"]: r for r in records if r["dag_id"] == DAG_ID_ROLLBACK}
    assert set(rollbacks) == {rollback.ROLLED_BACK, rollback.ROLLBACK_INTERRUPTED}
    done = rollbacks[rollback.ROLLED_BACK]
    assert load["rolled_back_by"] == done["dag_run_id"]
    assert done["rolls_back_dag_run_id"] == "manual__r1"
    assert (done["items_deleted"], done["items_left_overwritten"], done["items_remaining"]) == (
        left_after_kill,
        OVERWRITTEN,
        0,
    )
    assert rollbacks[rollback.ROLLBACK_INTERRUPTED]["resumed_by"] == done["dag_run_id"]

    twice = world.cli("csv2ddb.history.rollback_cli", run_id)
    assert twice.returncode == 2
    assert f"load {run_id} was already rolled back by {done['dag_run_id']}" in twice.stderr
    assert world.items_of(world.r2["run_id"]) == OVERWRITTEN
