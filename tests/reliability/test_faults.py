"""Faults during a load, and what survives them: after each, the table holds exactly the expected
items and the job's account (manifest) tells the truth.

Destructive faults (stopping the emulator) use an emulator of their own, never the session's.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import Any

import botocore.exceptions
import pytest
from csv2ddb_core.clients import make_clients
from csv2ddb_core.contract import BATCH_SIZE
from csv2ddb_core.load import run
from csv2ddb_core.options import parse_job_args
from csv2ddb_dev.emulator import Emulator, endpoint_env, start_emulator, stop_process_group

from tests.holding_proxy import HoldingProxy
from tests.reliability.conftest import Results
from tests.reliability.faults import HELD_AFTER, WRITE_CALL, Place, ids_of, numbered_csv, printed_manifest

pytestmark = pytest.mark.emulator

FIGURES = ("rows_read", "rows_written", "rows_rejected", "rows_duplicate")
FAULT_ROWS = 3000


@contextmanager
def job_held_mid_load(
    place: Place, argv: list[str], log: Path
) -> Iterator[tuple[Popen[bytes], HoldingProxy]]:
    """The job, its endpoint a HoldingProxy's, yielded once its write call ``HELD_AFTER + 1`` is held
    (every earlier one answered). Leaving closes the proxy: the held call is dropped unanswered and
    later ones find no server. A job still running after a failure here is stopped."""
    with HoldingProxy(place.emulator.endpoint_url, WRITE_CALL, allow=HELD_AFTER) as proxy:
        proc = place.start_job(argv, log, endpoint_env(proxy.url))
        try:
            held = proxy.wait_held(lambda: proc.poll() is None)
            assert held, f"the job ended (rc {proc.poll()}) before its write was held"
            yield proc, proxy
        except BaseException:
            stop_process_group(proc.pid)
            raise


def forwarded_ids(proxy: HoldingProxy) -> set[str]:
    return {item["id"]["S"] for item in proxy.put_items()}


def figures(manifest: dict[str, Any]) -> list[int]:
    return [manifest[k] for k in FIGURES]


def assert_exact_load(place: Place, manifest: dict[str, Any], expected: set[str], run_id: str) -> None:
    """Succeeded, identity exact, and the table holds exactly ``expected``, all from ``run_id``."""
    assert manifest["status"] == "succeeded", manifest["error"]
    assert (
        manifest["rows_read"]
        == manifest["rows_written"] + manifest["rows_rejected"] + manifest["rows_duplicate"]
    )
    items = place.items()
    assert set(items) == expected
    assert {item["load_run_id"]["S"] for item in items.values()} == {run_id}


@dataclass
class Restartable:
    """An emulator of one test's own that can be stopped and started again on its port and state."""

    state_dir: Path
    current: Emulator

    def restart(self) -> Emulator:
        self.current = start_emulator(self.state_dir, port=self.current.port, keep_objects=True)
        return self.current


@pytest.fixture
def persistent_emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Restartable]:
    """ministack holds its services' state in memory unless PERSIST_STATE=1 (saved to STATE_DIR on a
    clean shutdown, reloaded at start; ministack/core/persistence.py); object bodies are on disk in
    every emulator (csv2ddb_dev.emulator), kept across the restart: it then behaves like a service
    coming back, not a new account.
    """
    monkeypatch.setenv("PERSIST_STATE", "1")
    state = tmp_path / "ministack"
    box = Restartable(state, start_emulator(state))
    try:
        yield box
    finally:
        box.current.stop()


def test_emulator_restarted_mid_load_then_retried(
    persistent_emulator: Restartable, tmp_path: Path, results: Results
) -> None:
    """The AWS side goes away mid-load (clean stop), comes back with its state; the retry (same
    run id, as an Airflow retry of the Glue task passes) completes the exact item set."""
    emulator = persistent_emulator.current
    place = Place.create(emulator)
    key = place.put("raw/restart.csv", numbered_csv(FAULT_ROWS, "rs"))
    run_id = "fault-restart"
    argv = place.job_argv(key, run_id, write_concurrency="1", write_max_attempts="3")
    with job_held_mid_load(place, argv, tmp_path / "first.log") as (proc, proxy):
        emulator.stop()  # SIGTERM: ministack saves its state and exits
    # The proxy is closed: the held write is dropped unanswered and every later request finds no
    # server, as when the AWS side goes away.
    try:
        rc = proc.wait(timeout=180)
    finally:
        if proc.poll() is None:
            stop_process_group(proc.pid)
    first = printed_manifest(tmp_path / "first.log")
    assert rc == 1
    assert first["status"] == "failed"
    # it says so, loudly: how many rows it could not confirm, and that the manifest could not be stored
    assert "unconfirmed" in first["error"] or "not confirmed" in first["error"]
    assert first["manifest_location"] is None
    assert (
        first["rows_read"]
        == first["rows_written"]
        + first["rows_duplicate"]
        + first["rows_rejected"]
        + (first["rows_unconfirmed"])
    )

    place = Place(persistent_emulator.restart(), place.settings)
    partial = set(place.items())
    # the state came back: exactly what the forwarded writes put before the stop
    assert partial == forwarded_ids(proxy)
    assert len(partial) == HELD_AFTER * BATCH_SIZE
    assert first["rows_written"] == len(partial)

    rc, second = place.run_job(place.job_argv(key, run_id), tmp_path / "retry.log")
    assert rc == 0
    assert figures(second) == [FAULT_ROWS, FAULT_ROWS, 0, 0]
    assert_exact_load(place, second, ids_of("rs", FAULT_ROWS), run_id)
    assert place.manifest(run_id) == {k: v for k, v in second.items() if k != "manifest_location"}
    results.record(
        "fault",
        "emulator_restarted_mid_load",
        input=(
            f"{FAULT_ROWS} rows, 1 writer; emulator stopped while its write call {HELD_AFTER + 1} was "
            "held, restarted with state"
        ),
        via="job process, own emulator",
        outcome=(
            "first run failed loudly (unconfirmed rows reported, no manifest stored); "
            f"retry with the same run id wrote all {FAULT_ROWS}, table exact"
        ),
        rows_lost=FAULT_ROWS - len(place.items()),
    )


def test_job_process_killed_mid_load_then_rerun(emulator: Emulator, tmp_path: Path, results: Results) -> None:
    """SIGKILL (no cleanup, no manifest) mid-load; the re-run rewrites the same items, nothing more."""
    place = Place.create(emulator)
    key = place.put("raw/killed.csv", numbered_csv(FAULT_ROWS, "kl"))
    run_id = "fault-killed"
    argv = place.job_argv(key, run_id, write_concurrency="1")
    with job_held_mid_load(place, argv, tmp_path / "killed.log") as (proc, proxy):
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    # Every forwarded write was answered before the held one was sent (one writer thread), and the
    # held one never reached the emulator: the table holds exactly what the proxy let through.
    assert place.manifest(run_id) is None  # no account claims success: the DAG's check fails on this
    partial = set(place.items())
    assert partial == forwarded_ids(proxy)
    assert len(partial) == HELD_AFTER * BATCH_SIZE
    assert partial < ids_of("kl", FAULT_ROWS)

    rc, again = place.run_job(place.job_argv(key, run_id), tmp_path / "rerun.log")
    assert rc == 0
    assert figures(again) == [FAULT_ROWS, FAULT_ROWS, 0, 0]
    assert_exact_load(place, again, ids_of("kl", FAULT_ROWS), run_id)
    results.record(
        "fault",
        "job_process_killed_mid_load",
        input=(
            f"{FAULT_ROWS} rows, 1 writer; job process SIGKILLed while its write call {HELD_AFTER + 1} "
            "was held; re-run, same run id"
        ),
        via="job process",
        outcome="killed run left no manifest; re-run wrote the same ids, identity exact, table exact",
        rows_lost=FAULT_ROWS - len(place.items()),
    )


def test_ten_files_at_once_no_cross_talk(emulator: Emulator, tmp_path: Path, results: Results) -> None:
    """10 uploads loaded by 10 concurrent job processes into one table: each account is its own."""
    place = Place.create(emulator)
    sizes = {f"f{n}": 20 + 7 * n for n in range(10)}
    procs = {}
    for tag, rows in sizes.items():
        # each file repeats its first row once: its duplicate count must be exactly 1, not 10
        body = numbered_csv(rows, tag) + f"{tag}-0,item 0,0.5\n".encode()
        key = place.put(f"raw/batch/{tag}.csv", body)
        procs[tag] = place.start_job(place.job_argv(key, f"par-{tag}"), tmp_path / f"{tag}.log")
    try:
        codes = {tag: proc.wait(timeout=300) for tag, proc in procs.items()}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                stop_process_group(proc.pid)
    assert codes == dict.fromkeys(sizes, 0)
    items = place.items()
    expected: set[str] = set()
    for tag, rows in sizes.items():
        manifest = printed_manifest(tmp_path / f"{tag}.log")
        assert manifest["status"] == "succeeded"
        assert figures(manifest) == [rows + 1, rows, 0, 1]
        assert manifest["source"]["key"] == f"raw/batch/{tag}.csv"
        mine = {i for i, item in items.items() if item["load_run_id"]["S"] == f"par-{tag}"}
        assert mine == ids_of(tag, rows)  # the table's items of this run are exactly this file's
        expected |= ids_of(tag, rows)
    assert set(items) == expected
    results.record(
        "fault",
        "ten_files_at_once",
        input="10 files (20-83 rows, one in-file duplicate each), 10 job processes at once, one table",
        via="10 job processes",
        outcome="10 succeeded; each manifest counts only its file; items per run id exact",
        rows_lost=sum(sizes.values()) - len(items),
    )


class FlakyDynamoDB:
    """The real emulator client behind a fault injector: DynamoDB throttles and answers with
    ``UnprocessedItems`` under load, which the emulator never does (a fake only for that part).

    No ``meta`` attribute: the job then sends plain requests, which this wrapper can inspect.
    Script entries: ``"throttle"`` (raise ThrottlingException, write nothing), an int n (write all
    but the last n requests, return those n as unprocessed), ``"ok"`` (pass through).
    """

    def __init__(self, real: Any, script: list[Any], default: Any = "ok") -> None:
        self._real = real
        self._script = list(script)
        self._default = default
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        if name == "meta":
            raise AttributeError(name)
        return getattr(self._real, name)

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        self.calls += 1
        step = self._script.pop(0) if self._script else self._default
        if step == "throttle":
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "BatchWriteItem"
            )
        unprocessed = requests[-step:] if isinstance(step, int) and step else []
        done = requests[: len(requests) - len(unprocessed)]
        if done:
            answer = self._real.batch_write_item(RequestItems={table: done})
            assert not answer.get("UnprocessedItems")
        return {"UnprocessedItems": {table: unprocessed} if unprocessed else {}}


def _run_with(place: Place, client: Any, key: str, run_id: str, **extra: str) -> dict:
    args = parse_job_args(place.job_argv(key, run_id, **extra), env={})
    s3, _ = make_clients(args)
    return run(args, s3, client).to_dict(with_location=True)


def test_throttling_and_unprocessed_items(
    emulator: Emulator, aws_env: dict[str, str], results: Results
) -> None:
    """Writer-level retries are unit-tested in tests/glue/test_retry.py; here the whole job runs
    through throttles and partial batches to the real table, and its figures stay exact."""
    place = Place.create(emulator)
    rows = 200
    key = place.put("raw/throttled.csv", numbered_csv(rows, "th"))
    flaky = FlakyDynamoDB(place.ddb, ["throttle", 5, "throttle", 24, 1, "throttle", 3])
    manifest = _run_with(place, flaky, key, "fault-throttled", write_concurrency="2")
    assert figures(manifest) == [rows, rows, 0, 0]
    assert manifest["write_retries"] == 7
    assert_exact_load(place, manifest, ids_of("th", rows), "fault-throttled")

    # Throttling that never ends: the job gives up loudly, and its figures still tell the truth.
    place2 = Place.create(emulator)
    key2 = place2.put("raw/throttled.csv", numbered_csv(rows, "tn"))
    endless = FlakyDynamoDB(place2.ddb, [], default="throttle")
    failed = _run_with(place2, endless, key2, "fault-endless", write_concurrency="1", write_max_attempts="3")
    assert failed["status"] == "failed"
    assert "still unconfirmed after 3 attempts" in failed["error"]
    assert "ThrottlingException" in failed["error"]
    assert failed["rows_written"] == len(place2.items()) == 0
    assert failed["rows_unconfirmed"] == failed["rows_read"] > 0  # every row read is reported
    assert f"({failed['rows_unconfirmed']} row(s) read but not confirmed written)" in failed["error"]
    results.record(
        "fault",
        "throttling_and_unprocessed_items",
        input=f"{rows} rows; 3 ThrottlingExceptions and 4 partial batches injected; then endless throttling",
        via="job run() + fault-injecting client over the emulator",
        outcome=(
            "retried 7 times, all written, table exact; endless throttling failed loudly after 3 attempts "
            "with every row reported unconfirmed"
        ),
        rows_lost=rows - len(place.items()),
    )
