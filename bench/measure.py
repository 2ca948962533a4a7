"""Measuring processes on Linux: a child's own CPU and peak RSS, the emulator's CPU, the load.

Every contender runs in its own child process, so ``os.wait4`` hands us that child's CPU seconds
and peak RSS alone (not the harness's, not the emulator's). The emulator is a separate process
we started; its CPU is read from ``/proc/<pid>/stat`` before and after each contender, so we can
say how much of the 2 cores the server took for the same load. A Spark job's JVM and Python workers
are not waited for by the job's process, so its CPU is summed over the process tree (``TreeCpu``).
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class ChildResult:
    """What one finished child process cost: wall time, CPU, peak memory, exit code."""

    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    stdout_tail: str

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def run_child(
    argv: Sequence[str],
    env: Mapping[str, str],
    log_path: Path,
    cwd: Path | None = None,
    timeout_s: float = 7200.0,
) -> ChildResult:
    """Run ``argv`` to completion and return its own rusage (``wait4``), not the harness's.

    Output goes to ``log_path`` (a benchmark must not be slowed by a full pipe); its tail is
    kept for error messages.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), env=dict(env), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd
        )
        deadline = time.monotonic() + timeout_s
        peak_kib = 0
        while True:
            peak_kib = max(peak_kib, _vm_hwm_kib(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it; tell Popen
    text = log_path.read_text(errors="replace")
    return ChildResult(
        returncode=proc.returncode,
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        max_rss_mb=(peak_kib or usage.ru_maxrss) / 1024.0,
        stdout_tail="\n".join(text.splitlines()[-25:]),
    )


def _vm_hwm_kib(pid: int) -> int:
    """Peak RSS of ``pid``'s current program (VmHWM, KiB); 0 once it has exited.

    Not ``ru_maxrss`` from ``wait4``: Linux carries the forking parent's high-water mark across
    ``exec`` into the child's, so every small child would report at least the harness's RSS.
    VmHWM belongs to the exec'd program's own memory map; polled every 50 ms, it is a running
    maximum, so only growth in the last 50 ms of a child's life could be missed.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return 0


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` plus its waited-for children (fields 14-17 of /proc/pid/stat)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    # The command name (field 2) may contain spaces; everything after the last ')' is fixed.
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / _CLK_TCK


def process_rss_mb(pid: int) -> float:
    """Current resident set size of ``pid`` (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def self_cpu_seconds() -> float:
    """CPU seconds of this process so far, all threads (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


class TreeCpu:
    """CPU seconds of a process and all its descendants, sampled from /proc (the JVM and the Python
    workers are not waited for by our child, so getrusage(RUSAGE_CHILDREN) would miss them)."""

    def __init__(self, root: int, every: float = 0.25) -> None:
        self.root, self.every = root, every
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def sample(self) -> None:
        parents: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / _CLK_TCK
        tree = {self.root}
        grew = True
        while grew:
            grew = False
            for pid, parent in parents.items():
                if parent in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        for pid in tree & cpu.keys():
            self.seen[pid] = max(self.seen.get(pid, 0.0), cpu[pid])

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return sum(self.seen.values())


@dataclass
class ScriptRun:
    """One job script run as a process: its exit code, stdout (the manifest), stderr (when
    captured), the CPU of its whole process tree and its wall seconds."""

    returncode: int
    out: str
    err: str
    cpu_s: float
    wall_s: float


def run_script(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    capture_stderr: bool = False,
    timeout: float | None = None,
) -> ScriptRun:
    """Run ``argv`` to the end with its process tree's CPU sampled (``TreeCpu``): a Spark job's
    JVM and Python workers count, which ``os.wait4`` of the script alone would miss."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        env=None if env is None else dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if capture_stderr else None,
        text=True,
    )
    sampler = TreeCpu(proc.pid)
    out, err = proc.communicate(timeout=timeout)
    sampler.sample()
    cpu = sampler.stop()
    return ScriptRun(proc.returncode, out, err or "", cpu, time.perf_counter() - started)
