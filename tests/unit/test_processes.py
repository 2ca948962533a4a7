"""The /proc readers the loopback-only tests rely on (tests/local, tests/reliability)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from csv2ddb_dev.processes import listening_sockets


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def test_finds_this_process_listening_on_loopback(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    assert ("127.0.0.1", port) in listening_sockets({os.getpid()})


def test_a_descriptor_closed_mid_scan_does_not_hide_the_listener(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy server closes a connection between our fd listing and its readlink: CI (stop 27) once
    saw no socket at all for the emulator because one such fd dropped the whole process."""
    port = listener.getsockname()[1]
    real_readlink = Path.readlink
    vanished = []

    def readlink_one_gone(self: Path) -> Path:
        if not vanished and str(self).startswith(f"/proc/{os.getpid()}/fd/"):
            vanished.append(self)
            raise FileNotFoundError(self)
        return real_readlink(self)

    monkeypatch.setattr(Path, "readlink", readlink_one_gone)
    sockets = listening_sockets({os.getpid()})
    assert vanished  # the race happened
    assert ("127.0.0.1", port) in sockets
