"""The tests' client of airflow_runner.py: one fork server per Airflow home, a forked child per
command (see airflow_runner.py). A module of its own so that every importer shares one registry of
servers (tests/dags/conftest.py is imported both as ``conftest`` and as ``tests.dags.conftest``).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

RUNNER = Path(__file__).with_name("airflow_runner.py")


@dataclass
class AirflowRun:
    """Result of one airflow_runner.py invocation."""

    result: dict[str, Any]
    output: str

    @property
    def state(self) -> str:
        return self.result.get("state", "")

    @property
    def tasks(self) -> dict[str, str]:
        return self.result.get("tasks", {})


class ForkServer:
    """One ``airflow_runner.py serve`` per Airflow home: it imports Airflow once and forks a child
    per command (see airflow_runner.py); each command still runs in a process of its own."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, str(RUNNER), "serve"],
            env={**os.environ, **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(log, "w"),  # noqa: SIM115
            text=True,
        )
        self.answers: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self._answer(600)  # {"ready": true}: Airflow imported, nothing connected yet
        except (TimeoutError, RuntimeError):
            self.stop()
            raise

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.answers.put(line)
        self.answers.put("")  # the server ended

    def _answer(self, timeout: float) -> dict[str, Any]:
        try:
            line = self.answers.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer from airflow_runner serve in {timeout:.0f} s") from None
        if not line:
            raise RuntimeError("airflow_runner serve ended (see runner-server-*.log in the Airflow home)")
        return json.loads(line)

    def run(self, args: list[str], env: dict[str, str], out: Path, timeout: int) -> tuple[int, str, str]:
        """Run one command in a forked child; (exit code, stdout, stderr)."""
        assert self.proc.stdin is not None
        with self.lock:
            stdout, stderr = out.with_suffix(".out"), out.with_suffix(".err")
            request = {"args": args, "env": env, "stdout": str(stdout), "stderr": str(stderr)}
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            pid = self._answer(60)["pid"]
            try:
                rc = self._answer(timeout)["rc"]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)  # our own grandchild, by PID
                self._answer(60)
                rc = -9
            texts = [path.read_text(errors="replace") for path in (stdout, stderr)]
            stdout.unlink()
            stderr.unlink()
            return rc, texts[0], texts[1]

    def stop(self) -> None:
        """End of input ends the server; one that does not end in 30 s is killed (by its PID)."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_SERVERS: dict[tuple[str, str], ForkServer] = {}


@atexit.register
def _stop_servers() -> None:
    for server in _SERVERS.values():
        server.stop()


def _server_for(env: dict[str, str]) -> ForkServer:
    """The fork server of this Airflow configuration, started on first use."""
    # One server per Airflow home and database (what Airflow binds at import). A child re-reads the
    # rest of its configuration from its own environment (airflow_runner.py: configure_vars).
    config = {k: v for k, v in env.items() if k == "AIRFLOW_HOME" or k.startswith("AIRFLOW__")}
    key = (config["AIRFLOW_HOME"], config.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", ""))
    if key not in _SERVERS or _SERVERS[key].proc.poll() is not None:
        log = Path(env["AIRFLOW_HOME"]) / f"runner-server-{len(_SERVERS)}.log"
        _SERVERS[key] = ForkServer(config, log)
    return _SERVERS[key]


def run_airflow(args: list[str], env: dict[str, str], timeout: int = 900) -> AirflowRun:
    # Whole output kept next to the Airflow home: the assertion messages show only its tail.
    log_dir = Path(env["AIRFLOW_HOME"]) / "runner-logs"
    log_dir.mkdir(exist_ok=True)
    log = log_dir / f"{len(list(log_dir.glob('*.log'))):03d}-{args[0]}.log"
    rc, stdout, stderr = _server_for(env).run(args, {**os.environ, **env}, log, timeout)
    output = stdout + "\n--- stderr ---\n" + stderr
    log.write_text(output)
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if rc != 0 or not lines:
        pytest.fail(f"airflow_runner {args} failed (rc {rc}):\n{output[-8000:]}")
    return AirflowRun(json.loads(lines[-1]), output)
