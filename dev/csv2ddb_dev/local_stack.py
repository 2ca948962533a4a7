"""The demo's long-running local stack: ministack + Airflow, recorded in ``.local/stack.json``.

``python -m csv2ddb_dev.local_stack up|down|status``. ``up`` reuses a healthy stack; ``down`` runs in
another process than ``up`` (``make down``), so it stops what ``stack.json`` recorded, by process
group, and only groups that still run the program recorded there (a PID can be reused).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csv2ddb_dev.airflow_api import AirflowError
from csv2ddb_dev.airflow_runner import (
    AirflowProcesses,
    group_runs,
    health,
    load_state,
    start_airflow,
    stop_recorded,
    unhealthy_components,
)
from csv2ddb_dev.diagnosis import cause_from_log
from csv2ddb_dev.emulator import Emulator, EmulatorError, start_emulator
from csv2ddb_dev.paths import LOCAL_DIR, port_is_free

STACK_FILE = LOCAL_DIR / "stack.json"
# The local stack's CSV2DDB_IMPORT_MIN_BYTES (the product's default is 64 MiB, set for AWS, where an
# import starts in minutes). On the emulator an import starts at once and was the faster from about
# 100,000 flights rows (9.3 MB) up (docs/import.md, "the crossover"), and the emulator stops a Glue
# Python-shell run after 600 s whatever its Timeout: on a busy laptop a 30 MB batch load can run
# longer than that (seen: flights timed out twice in a fresh-clone demo beside `make test`), while
# an import's Glue run only stages the file. A value in the caller's environment wins.
LOCAL_IMPORT_MIN_BYTES = 8 << 20
EMULATOR_DIR = LOCAL_DIR / "emulator"
AIRFLOW_HOME = LOCAL_DIR / "airflow"
DEFAULT_EMULATOR_PORT = 4566
DEFAULT_AIRFLOW_PORT = 8080
REUSE_HEALTH_TIMEOUT = 120.0


class StackError(RuntimeError):
    """The local stack could not be brought up (e.g. a port is taken)."""


@dataclass
class LocalStack:
    """What ``up`` started: the emulator and the Airflow components (all by process group)."""

    emulator: Emulator
    airflow: AirflowProcesses | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "emulator": {
                "pid": self.emulator.pid,
                "port": self.emulator.port,
                "endpoint_url": self.emulator.endpoint_url,
                "log": str(self.emulator.log_path),
            },
            "airflow": None if self.airflow is None else self.airflow.to_json(),
            "airflow_ui": None if self.airflow is None else self.airflow.url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LocalStack:
        em = data["emulator"]
        emulator = Emulator(pid=int(em["pid"]), port=int(em["port"]), log_path=Path(em["log"]))
        airflow = AirflowProcesses.from_json(data["airflow"]) if data.get("airflow") else None
        return cls(emulator=emulator, airflow=airflow)

    def running(self) -> dict[str, bool]:
        """Which recorded process groups still run their program (alive != answering)."""
        alive = {"emulator": group_runs(self.emulator.pid, "ministack")}
        if self.airflow is not None:
            alive.update(self.airflow.running())
        return alive

    def log_of(self, component: str) -> Path:
        """The log file a component writes (stdout and stderr)."""
        if component == "emulator":
            return self.emulator.log_path
        assert self.airflow is not None
        if component == "postgres" and self.airflow.postgres is not None:
            return self.airflow.postgres.log_path
        return self.airflow.log_dir / f"{component}.log"

    def dead(self) -> dict[str, str]:
        """Each component that is no longer running, with why (from its own log)."""
        return {name: cause_from_log(self.log_of(name)) for name, up in self.running().items() if not up}

    def problems(self) -> list[str]:
        """Empty when every part answers its health check."""
        found = []
        if not _emulator_answers(self.emulator.endpoint_url):
            found.append(f"emulator at {self.emulator.endpoint_url} does not answer")
        found += [f"{name} is not running" for name in self.dead()]
        if self.airflow is None:
            found.append("Airflow was never started")
        else:
            bad = unhealthy_components(health(self.airflow.url))
            if bad:
                found.append(f"Airflow at {self.airflow.url}: not healthy: {', '.join(bad)}")
        return found

    def save(self, path: Path | None = None) -> None:
        path = path or STACK_FILE  # looked up at call time (tests point it elsewhere)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")


def _emulator_answers(endpoint_url: str, timeout: float = 10.0) -> bool:
    """Health check with a long timeout: ministack answers late while it scans a big table."""
    try:
        with urllib.request.urlopen(f"{endpoint_url}/_ministack/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def load_stack(path: Path | None = None) -> LocalStack | None:
    path = path or STACK_FILE
    if not path.exists():
        return None
    return LocalStack.from_json(json.loads(path.read_text()))


def _port(env_var: str, default: int, what: str) -> int:
    raw = os.environ.get(env_var, str(default))
    try:
        port = int(raw)
    except ValueError as exc:
        raise StackError(f"{env_var}={raw!r} is not a port number") from exc
    if not port_is_free(port):
        raise StackError(
            f"port {port} for the {what} is already in use on 127.0.0.1 (another emulator, Airflow "
            f"or a stale `make demo`?). Run `make down`, stop whatever holds it, or choose another "
            f"port with {env_var}=<port>."
        )
    return port


def up(log: Any = print) -> LocalStack:
    """Start (or reuse) the emulator and Airflow; record them in ``.local/stack.json``."""
    existing = load_stack()
    if existing is not None:
        if all(existing.running().values()):
            # Everything still runs: never restart it (that would kill DAG runs in progress);
            # a busy emulator or scheduler answers late, so give it time.
            problems = _wait_healthy(existing, REUSE_HEALTH_TIMEOUT)
            if problems:
                raise StackError(
                    f"the stack recorded in {STACK_FILE} is running but not healthy after "
                    f"{REUSE_HEALTH_TIMEOUT:.0f}s ({'; '.join(problems)}). Run `make down` to stop it."
                )
            log(f"reusing the running stack from {STACK_FILE}")
            return existing
        gone = [name for name, alive in existing.running().items() if not alive]
        log(f"recorded stack is incomplete ({', '.join(gone)} not running): restarting it")
        down(log)
    emulator_port = _port("CSV2DDB_EMULATOR_PORT", DEFAULT_EMULATOR_PORT, "AWS emulator")
    airflow_port = _port("CSV2DDB_AIRFLOW_PORT", DEFAULT_AIRFLOW_PORT, "Airflow api-server")
    started = time.monotonic()
    emulator = start_emulator(EMULATOR_DIR, emulator_port)
    stack = LocalStack(emulator=emulator)
    stack.save()  # recorded before Airflow starts, so `make down` can stop it if Airflow fails
    log(f"emulator up at {emulator.endpoint_url} (pid {emulator.pid}) in {time.monotonic() - started:.1f}s")
    # ministack starts empty: DAG runs left in Airflow's database would describe buckets, tables
    # and manifests that no longer exist (and a re-uploaded file would hit its old run's id: 409).
    reset_airflow_db()
    started = time.monotonic()
    import_min = os.environ.get("CSV2DDB_IMPORT_MIN_BYTES", str(LOCAL_IMPORT_MIN_BYTES))
    stack.airflow = start_airflow(
        AIRFLOW_HOME,
        port=airflow_port,
        aws_env=emulator.client_env(),
        extra_env={"CSV2DDB_IMPORT_MIN_BYTES": import_min},
    )
    stack.save()
    log(f"Airflow up at {stack.airflow.url} {stack.airflow.pids} in {time.monotonic() - started:.1f}s")
    return stack


def _wait_healthy(stack: LocalStack, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    problems = stack.problems()
    while problems and time.monotonic() < deadline:
        time.sleep(5.0)
        problems = stack.problems()
    return problems


def reset_airflow_db() -> None:
    """Drop the task logs and a metadata DB of an older layout (the admin password file stays).
    The PostgreSQL cluster is created afresh by ``start_airflow`` itself."""
    (AIRFLOW_HOME / "airflow.db").unlink(missing_ok=True)  # SQLite, before issue 24
    if (AIRFLOW_HOME / "logs").exists():
        shutil.rmtree(AIRFLOW_HOME / "logs")


def down(log: Any = print) -> list[str]:
    """Stop everything recorded (idempotent); returns what was stopped."""
    stack = load_stack()
    airflow_pids: dict[str, int] = {}
    postgres = []
    if stack is not None and stack.airflow is not None:
        airflow_pids.update(stack.airflow.pids)
        postgres.append(stack.airflow.postgres)
    recorded = load_state(AIRFLOW_HOME)  # written while Airflow starts, even if up() failed later
    if recorded is not None:
        airflow_pids.update(recorded.pids)
        postgres.append(recorded.postgres)
    stopped = stop_recorded(airflow_pids, marker="airflow")
    for server in {p.pid: p for p in postgres if p is not None}.values():  # after its clients
        if server.stop():
            stopped.append(f"postgres (pgid {server.pid})")
    if stack is not None:
        stopped += stop_recorded({"emulator": stack.emulator.pid}, marker="ministack")
    (AIRFLOW_HOME / "processes.json").unlink(missing_ok=True)
    STACK_FILE.unlink(missing_ok=True)
    log(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return stopped


def status(log: Any = print) -> int:
    """Where everything runs, each component alive or not, and for a dead one why (its log)."""
    stack = load_stack()
    if stack is None:
        log(f"not running (no {STACK_FILE})")
        return 1
    log(json.dumps(stack.to_json(), indent=2))
    dead = stack.dead()
    for name, up in stack.running().items():
        log(f"  {name:<14} {'running' if up else 'DEAD'}   log: {stack.log_of(name)}")
    for name, cause in dead.items():
        log(f"\n{name} is not running; the end of its log says:\n  " + cause.replace("\n", "\n  "))
    problems = stack.problems()
    log("healthy" if not problems else "\nNOT healthy: " + "; ".join(problems))
    return 0 if not problems else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csv2ddb_dev.local_stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            up()
            return status()
        if args.command == "down":
            down()
            return 0
        return status()
    except (StackError, EmulatorError, AirflowError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
