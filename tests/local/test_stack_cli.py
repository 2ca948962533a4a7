"""``csv2ddb_dev.local_stack`` bookkeeping without starting Airflow (that is test_local_airflow's job):
``down`` is idempotent and stops only process groups that still run what was recorded."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from csv2ddb_dev import local_stack as stack
from csv2ddb_dev.airflow_runner import group_members


@pytest.fixture
def local_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(stack, "STACK_FILE", tmp_path / "stack.json")
    monkeypatch.setattr(stack, "AIRFLOW_HOME", tmp_path / "airflow")
    monkeypatch.setattr(stack, "EMULATOR_DIR", tmp_path / "emulator")
    return tmp_path


@pytest.fixture
def stranger() -> Iterator[int]:
    """A process group that is neither Airflow nor ministack (as after a PID was reused)."""
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_down_without_a_stack_is_a_no_op(local_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert stack.down() == []
    assert "nothing was running" in capsys.readouterr().out


def test_down_never_stops_a_process_that_is_not_the_recorded_program(local_dir: Path, stranger: int) -> None:
    record = {
        "emulator": {"pid": stranger, "port": 1, "endpoint_url": "http://127.0.0.1:1", "log": "x"},
        "airflow": {"home": str(local_dir / "airflow"), "port": 2, "pids": {"scheduler": stranger}},
    }
    (local_dir / "stack.json").write_text(json.dumps(record))
    assert stack.down() == []
    assert group_members(stranger) == [stranger]  # still running
    assert not (local_dir / "stack.json").exists()
    assert stack.down() == []  # idempotent


def test_up_explains_a_taken_port(local_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("CSV2DDB_EMULATOR_PORT", str(port))
        with pytest.raises(stack.StackError, match=rf"port {port} .* CSV2DDB_EMULATOR_PORT=<port>"):
            stack.up(log=lambda _msg: None)
    assert stack.main(["status"]) == 1  # nothing recorded -> not running


@pytest.fixture
def lookalike() -> Iterator[int]:
    """A process group whose command line names both programs (stands in for a running stack)."""
    code = "import time; time.sleep(60)  # airflow ministack"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def _record(local_dir: Path, pgid: int) -> None:
    record = {
        "emulator": {"pid": pgid, "port": 1, "endpoint_url": "http://127.0.0.1:1", "log": "x"},
        "airflow": {"home": str(local_dir / "airflow"), "port": 1, "pids": {"api-server": pgid}},
    }
    (local_dir / "stack.json").write_text(json.dumps(record))


def test_up_never_restarts_a_running_but_unhealthy_stack(
    local_dir: Path, lookalike: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy emulator answers late; restarting would kill the DAG runs in progress."""
    monkeypatch.setattr(stack, "REUSE_HEALTH_TIMEOUT", 0.0)

    def never(*_: object, **__: object) -> None:
        # Once (a full run on a loaded machine) this test saw up() return: it had judged the recorded
        # stack not running and started a real one. Starting anything here is the failure, named.
        raise AssertionError(f"up() started a stack: it judged {stack.load_stack()} not running")

    monkeypatch.setattr(stack, "start_emulator", never)
    _record(local_dir, lookalike)
    with pytest.raises(stack.StackError, match=r"running but not healthy .* Run `make down`"):
        stack.up(log=lambda _msg: None)
    assert group_members(lookalike) == [lookalike]
    assert (local_dir / "stack.json").exists()


def test_down_stops_the_recorded_process_groups(local_dir: Path, lookalike: int) -> None:
    _record(local_dir, lookalike)
    stopped = stack.down(log=lambda _msg: None)
    assert stopped == [f"api-server (pgid {lookalike})"]  # the emulator entry is the same group
    assert group_members(lookalike) == []
    assert not (local_dir / "stack.json").exists()


def test_status_names_a_dead_component_and_why_from_its_log(
    local_dir: Path, lookalike: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """A component whose process group is gone is reported DEAD with its log's last traceback."""
    gone = subprocess.Popen(["true"], start_new_session=True)
    gone.wait()  # a reaped group: nothing runs under that id any more
    logs = local_dir / "airflow" / "process-logs"
    logs.mkdir(parents=True)
    (logs / "scheduler.log").write_text(
        'starting\nTraceback (most recent call last):\n  File "x.py", line 1, in run\n'
        "sqlite3.OperationalError: database is locked\nshutting down\n"
    )
    record = {
        "emulator": {"pid": lookalike, "port": 1, "endpoint_url": "http://127.0.0.1:1", "log": "x"},
        "airflow": {
            "home": str(local_dir / "airflow"),
            "port": 1,
            "pids": {"api-server": lookalike, "scheduler": gone.pid},
        },
    }
    (local_dir / "stack.json").write_text(json.dumps(record))
    assert stack.main(["status"]) == 1
    out = capsys.readouterr().out
    assert "scheduler      DEAD" in out
    assert "api-server     running" in out
    assert "scheduler is not running; the end of its log says:" in out
    assert "sqlite3.OperationalError: database is locked" in out
