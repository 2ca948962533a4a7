"""Each Glue engine's job, as the platform sets it: its names, script, runtime and capacity.

One group per engine (``CSV2DDB_GLUE_*`` for the Python shell, ``CSV2DDB_SPARK_*`` for Spark),
read by its :class:`csv2ddb.engines.EngineSpec`. A job name left empty derives from the stack's
prefix (``Settings``). Which engine loads a file is a load default (``LoadDefaults.engine``), not
a setting of the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from csv2ddb.setting_fields import ENV_PREFIX, setting

SPARK_COMMANDS = ("glueetl", "pythonshell")  # AWS runs Spark as glueetl; the emulator only pythonshell


@dataclass(frozen=True)
class PythonShellJob:
    """The Python-shell load job. Field ``x`` is overridden by env var ``CSV2DDB_GLUE_X``."""

    env_prefix: ClassVar[str] = f"{ENV_PREFIX}GLUE_"

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


@dataclass(frozen=True)
class SparkJob:
    """The Spark (Glue ETL) load job (docs/spark.md). Field ``x`` is overridden by env var
    ``CSV2DDB_SPARK_X``."""

    env_prefix: ClassVar[str] = f"{ENV_PREFIX}SPARK_"

    job_name: str = setting(
        "",
        "the Spark (Glue ETL) load job",
        shown="`<prefix>-load-spark`",
    )
    role_name: str = setting(
        "",
        "its IAM role (its own least-privilege policy)",
        shown="`<prefix>-glue-spark-role`",
    )
    script_name: str = setting(
        "csv2ddb_spark_job.py",
        "its script in `glue/`, uploaded under `scripts/`",
    )
    # "glueetl" on AWS. The local emulator only runs pythonshell jobs (it marks glueetl runs
    # SUCCEEDED without running them): the local stack registers the same script as pythonshell,
    # and the script brings Spark up in local mode itself.
    job_command: str = setting(
        "glueetl",
        "`glueetl` on AWS; the local stack sets `pythonshell`: the emulator runs only Python-shell "
        "jobs, and the script starts Spark in local mode itself",
    )
    worker_type: str = setting(
        "G.1X",
        "Glue worker type of the Spark job (G.1X = 1 DPU: 4 vCPU, 16 GB)",
    )
    workers: int = setting(
        10,
        "number of Glue workers of the Spark job",
    )
    timeout_minutes: int = setting(
        2880,
        "Spark job timeout (the emulator caps any run at 600 s)",
    )
    # local mode only: local[N,4]
    local_cores: int = setting(
        2,
        "local mode only (`CSV2DDB_SPARK_JOB_COMMAND=pythonshell`): the script runs Spark as `local[N,4]`",
    )

    def __post_init__(self) -> None:
        if self.job_command not in SPARK_COMMANDS:
            raise ValueError(
                f"{self.env_prefix}JOB_COMMAND must be glueetl (AWS) or pythonshell (the local "
                f"emulator), got {self.job_command!r}"
            )
