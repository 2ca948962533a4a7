"""What a run was measured on: the machine, the package versions and the loader's version.

Read both when a run starts and when a page is rebuilt from a cut-short run's records, so the
page names the same facts either way.
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from csv2ddb_dev.emulator import EMULATOR_VENV
from csv2ddb_dev.paths import REPO_ROOT
from csv2ddb_dev.timings import host_gauge_ms

from bench import job


def machine_facts() -> dict[str, object]:
    """nproc, RAM, CPU model and the host gauge: what the numbers were measured on. The same
    guest did the same work in about a third of the CPU-seconds on 2026-12-02 as on 2026-12-06,
    so a page's seconds are read beside the gauge of the day (lower: a faster host)."""
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
            break
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu_model": cpu_model or platform.processor(),
        "kernel": platform.release(),
        "host_gauge_ms": round(host_gauge_ms(), 1),
    }


def versions() -> dict[str, str]:
    """The client libraries of this venv and the emulator's version (from its own venv)."""

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    ministack = subprocess.run(
        [
            str(EMULATOR_VENV / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('ministack'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {
        "python": platform.python_version(),
        "boto3": version("boto3"),
        "botocore": version("botocore"),
        "ministack": ministack,
        "awswrangler": version("awswrangler"),
        "pandas": version("pandas"),
    }


def job_facts() -> dict[str, str]:
    """The loader script the page names: its repository path and sha256."""
    return {"path": str(job.JOB_PATH.relative_to(REPO_ROOT)), "sha256": job.job_sha256()}
