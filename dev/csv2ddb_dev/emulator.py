"""Start and stop the local AWS emulator (ministack) on loopback.

ministack lives in its own virtualenv (``.venv-emulator``) because it pins its own botocore.
It runs Glue Python-shell jobs as ``python3`` subprocesses with *its own* environment, so we
put the project venv's ``bin`` first on its PATH (the job then has our boto3) and give it
``AWS_ENDPOINT_URL`` plus dummy credentials, so the job talks to the emulator, never to AWS.

Object bodies live on disk (``S3_PERSIST=1``), not only in memory: ministack's Glue then runs a
job's script from its on-disk object, written once and atomically at upload. Held in memory only,
the script is copied to one shared temp path at every run start, and runs starting in the same
instant run each other's half-written copy: the run reports SUCCEEDED and loads nothing (9 and 11
of 50 simultaneous runs on 2026-12-06; 0 of 50, twice, with ``S3_PERSIST=1``; docs/local-stack.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from csv2ddb_dev.paths import REPO_ROOT, free_port

EMULATOR_VENV = REPO_ROOT / ".venv-emulator"
PROJECT_VENV = REPO_ROOT / ".venv"
# The services csv2ddb uses; ministack starts only these. The analytics side (docs/analytics.md)
# needs glue (its Data Catalog), athena (the reconciliation count, on DuckDB: requirements-emulator.in)
# and cloudwatch (metrics, alarms, the dashboard).
SERVICES = "s3,dynamodb,glue,lambda,iam,sts,secretsmanager,sns,sqs,logs,athena,cloudwatch"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
HOST = "127.0.0.1"
# Where, under an emulator's state directory, object bodies are kept (S3_DATA_DIR).
OBJECTS_DIR = "s3"


class EmulatorError(RuntimeError):
    """The emulator could not be started or did not become healthy."""


@dataclass
class Emulator:
    """A running ministack process (its own process group) and where to reach it."""

    pid: int
    port: int
    log_path: Path
    region: str = "us-east-1"

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def client_env(self) -> dict[str, str]:
        """Environment for a boto3 client (or Airflow) that must talk to this emulator."""
        return {
            **LOCAL_CREDENTIALS,
            "AWS_DEFAULT_REGION": self.region,
            **endpoint_env(self.endpoint_url),
            "CSV2DDB_REGION": self.region,
            # The emulator runs only Python-shell jobs (a glueetl run is marked SUCCEEDED unrun):
            # the Spark job is registered as one, and its script starts Spark in local mode.
            "CSV2DDB_SPARK_JOB_COMMAND": "pythonshell",
        }

    def is_healthy(self) -> bool:
        return _healthy(self.endpoint_url)

    def stop(self, timeout: float = 15.0) -> None:
        stop_process_group(self.pid, timeout)


def endpoint_env(url: str) -> dict[str, str]:
    """The variables that point boto3 (``AWS_ENDPOINT_URL``) and csv2ddb's settings at ``url``: the
    emulator, or a test's proxy in front of it."""
    return {"AWS_ENDPOINT_URL": url, "CSV2DDB_ENDPOINT_URL": url}


def _healthy(endpoint_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint_url}/_ministack/health", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def start_emulator(
    state_dir: Path,
    port: int | None = None,
    *,
    auth: bool = False,
    region: str = "us-east-1",
    health_timeout: float = 60.0,
    keep_objects: bool = False,
    job_endpoint: str | None = None,
) -> Emulator:
    """Start ministack bound to 127.0.0.1 and wait until it answers its health check.

    It starts with no S3 objects unless ``keep_objects`` (a restart that must find them again):
    ministack reloads every object body left under the state directory, and a fresh emulator
    with old objects but no tables would describe loads that never happened.

    The Glue jobs it runs talk to ``job_endpoint`` (default: itself); a test puts a proxy in front
    of it there (tests/holding_proxy.py) to stop a running job at a point it knows.
    """
    ministack = EMULATOR_VENV / "bin" / "ministack"
    if not ministack.exists():
        raise EmulatorError(f"{ministack} not found: run `make setup` first")
    port = port or free_port()
    state_dir.mkdir(parents=True, exist_ok=True)
    if not keep_objects and (state_dir / OBJECTS_DIR).exists():
        shutil.rmtree(state_dir / OBJECTS_DIR)
    log_path = state_dir / f"ministack-{port}.log"
    env = {
        **os.environ,
        **LOCAL_CREDENTIALS,
        "GATEWAY_PORT": str(port),
        "BIND_HOST": HOST,
        "SERVICES": SERVICES,
        "AUTH": "true" if auth else "false",
        "MINISTACK_REGION": region,
        "AWS_DEFAULT_REGION": region,
        # Glue Python-shell jobs run `python3` from this PATH with this environment.
        "PATH": f"{PROJECT_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "AWS_ENDPOINT_URL": job_endpoint or f"http://{HOST}:{port}",
        "S3_DATA_DIR": str(state_dir / OBJECTS_DIR),
        "S3_PERSIST": "1",  # the Glue script race (module docstring)
        "STATE_DIR": str(state_dir / "state"),
        "TMPDIR": str(state_dir),
        "LOG_LEVEL": os.environ.get("CSV2DDB_EMULATOR_LOG_LEVEL", "WARNING"),
    }
    for leak in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(leak, None)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [str(ministack)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() takes its children too
            cwd=state_dir,
        )
    emulator = Emulator(pid=proc.pid, port=port, log_path=log_path, region=region)
    deadline = time.monotonic() + health_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmulatorError(
                f"ministack exited with code {proc.returncode} before becoming healthy; "
                f"last log lines:\n{tail(log_path)}"
            )
        if emulator.is_healthy():
            return emulator
        time.sleep(0.2)
    emulator.stop()
    raise EmulatorError(
        f"ministack did not answer {emulator.endpoint_url}/_ministack/health within "
        f"{health_timeout:.0f}s; last log lines:\n{tail(log_path)}"
    )


def stop_process_group(pid: int, timeout: float = 15.0) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL what is left after ``timeout``."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            _reap(pid)
            return
        _reap(pid)
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our child, so it does not linger as a zombie."""
    # Not our child (started by another process, e.g. `make demo`): nothing to reap.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"
