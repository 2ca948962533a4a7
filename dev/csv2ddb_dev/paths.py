"""Where the local stack keeps its state, and how it finds free loopback ports."""

from __future__ import annotations

import os
import socket
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Git-ignored home of everything the demo runs: emulator data, AIRFLOW_HOME, PID files, logs.
LOCAL_DIR = Path(os.environ.get("CSV2DDB_LOCAL_DIR", REPO_ROOT / ".local"))


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free on loopback right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) != 0
