"""The Python-shell engine: the load core in one Glue Python-shell process (0.0625 or 1 DPU). The
default engine, and the only one that stages ImportTable loads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from csv2ddb_core.contract import ENGINE_PYTHONSHELL

from csv2ddb.engine_spec import EngineSpec
from csv2ddb.setting_fields import ENV_PREFIX, setting

EXTRA_PY_FILES = "--extra-py-files"  # Python shell: the core's wheel on the path


@dataclass(frozen=True)
class PythonShellJob:
    """The Python-shell load job. Field ``x`` is overridden by env var ``CSV2DDB_GLUE_X``."""

    env_prefix: ClassVar[str] = f"{ENV_PREFIX}GLUE_"
    title: ClassVar[str] = "The Python-shell engine's Glue job"
    job_suffix: ClassVar[str] = "-load"
    role_suffix: ClassVar[str] = "-glue-role"

    job_name: str = setting(
        "",
        "Glue job",
        shown="`<prefix>-load`",
    )
    role_name: str = setting(
        "",
        "Glue job's IAM role",
        shown="`<prefix>-glue-role`",
    )
    script_name: str = setting(
        "csv2ddb_load_job.py",
        "script in `glue/`, uploaded under `scripts/`",
    )
    python_version: str = setting(
        "3.9",
        "Python-shell runtime",
    )
    max_capacity: float = setting(
        0.0625,
        "DPUs of a Python-shell run",
    )
    # AWS reads Timeout in minutes. The local emulator reads it as seconds and caps a
    # Python-shell run at 600 s, whatever is set here.
    timeout_minutes: int = setting(
        2880,
        "job timeout (AWS: minutes; the emulator reads seconds and caps a run at 600 s)",
    )
    max_concurrent_runs: int = setting(
        16,
        "must exceed 1: one mapped Glue task per group of files (also the Spark job's)",
    )
    # GlueJobOperator(verbose=True) reads CloudWatch log group names the emulator does not
    # return; keep it off locally.
    verbose: bool = setting(
        False,
        "stream CloudWatch logs into the task log (off locally: the emulator lacks log group names)",
    )
    # GlueJobOperator polls the run this often: every second of it is latency on each load. On AWS
    # with many files per run, raise it (GetJobRun is rate-limited per account).
    poll_seconds: float = setting(
        1.0,
        "how often the Glue task polls its job run (each poll is up to this much latency per load; "
        "raise it on AWS with many files per run: `GetJobRun` is rate-limited)",
    )

    def glue_command(self) -> tuple[str, str]:
        return "pythonshell", self.python_version

    def capacity(self) -> dict[str, Any]:
        return {"MaxCapacity": self.max_capacity}

    def arguments(self, core_wheel_uri: str) -> dict[str, str]:
        # library-set analytics (no "--": Glue's own key): the Python shell's preloaded pyarrow, which
        # the processed zone writes Parquet with (docs/analytics.md).
        return {EXTRA_PY_FILES: core_wheel_uri, "library-set": "analytics"}

    def shape(self) -> str:
        return f"{self.max_capacity} DPU, timeout {self.timeout_minutes} min"


SPEC = EngineSpec(
    name=ENGINE_PYTHONSHELL,
    description="",
    summary="one Glue Python-shell process",
    stages_imports=True,
    job=PythonShellJob,
    job_kind="glue-job",
    script_kind="glue-script",
    policy_name="csv2ddb-glue-job",
    role_title="Glue load job",
)
