"""Process groups on Linux (/proc): who is alive, and does a recorded group still run our program.

Every server of the local stack leads its own process group, recorded by PID in a state file that
another process (``make down``) reads; these checks keep it from signalling a recycled PID.
"""

from __future__ import annotations

from pathlib import Path


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a dead child not yet reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def group_members(pgid: int) -> list[int]:
    """Live processes (not zombies) whose process group is ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def group_runs(pgid: int, marker: str) -> bool:
    """Does the group still exist and run ``marker`` (guards against a recycled PID after a reboot)?"""
    for pid in group_members(pgid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if marker in cmdline:
            return True
    return False


def socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets ``pid`` holds open now.

    Each descriptor is read on its own: a busy server closes connections while we list its fds, and a
    descriptor gone between listing and reading is simply no longer one of its sockets (reading them
    all in one try once dropped the emulator's listening socket with the rest: CI, stop 27).
    """
    inodes: set[str] = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except (FileNotFoundError, PermissionError):
        return inodes  # the process is gone, or not ours to read
    for fd in fds:
        try:
            link = str(fd.readlink())
        except FileNotFoundError:
            continue  # closed since the listing
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    return inodes


def listening_sockets(pids: set[int]) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state owned by ``pids`` (Linux /proc)."""
    inodes = set().union(*(socket_inodes(pid) for pid in pids)) if pids else set()
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and inode in inodes:  # 0A = LISTEN
                addr_hex, port_hex = local.split(":")
                found.append((_address(addr_hex, width), int(port_hex, 16)))
    return found


def _address(hex_addr: str, width: int) -> str:
    if width == 8:
        return ".".join(str(int(hex_addr[i : i + 2], 16)) for i in (6, 4, 2, 0))
    return hex_addr  # IPv6: compared raw; any IPv6 listener fails a loopback check
