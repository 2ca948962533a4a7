"""The Spark engine (docs/spark.md): the load core per split of the file, on Glue ETL workers (on
the local emulator, registered as a Python-shell job whose script starts Spark in local mode)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from csv2ddb_core.contract import ENGINE_SPARK

from csv2ddb.engine_spec import EngineSpec, Statement
from csv2ddb.setting_fields import ENV_PREFIX, setting

SPARK_COMMANDS = ("glueetl", "pythonshell")  # AWS runs Spark as glueetl; the emulator only pythonshell
GLUE_ETL_VERSION = "5.0"  # Glue 5.0: Spark 3.5, Python 3.11
ADDITIONAL_PYTHON_MODULES = "--additional-python-modules"  # Glue ETL: pip-installs the wheel


@dataclass(frozen=True)
class SparkJob:
    """The Spark (Glue ETL) load job (docs/spark.md). Field ``x`` is overridden by env var
    ``CSV2DDB_SPARK_X``."""

    env_prefix: ClassVar[str] = f"{ENV_PREFIX}SPARK_"
    title: ClassVar[str] = "The Spark engine's Glue job"
    job_suffix: ClassVar[str] = "-load-spark"
    role_suffix: ClassVar[str] = "-glue-spark-role"

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

    def glue_command(self) -> tuple[str, str]:
        return self.job_command, "3"

    def capacity(self) -> dict[str, Any]:
        return {
            "GlueVersion": GLUE_ETL_VERSION,
            "WorkerType": self.worker_type,
            "NumberOfWorkers": self.workers,
        }

    def arguments(self, core_wheel_uri: str) -> dict[str, str]:
        """The Spark job records its worker settings in the manifest; Glue ETL installs the core's
        wheel with pip on the driver and every worker; run locally, the script gets its local cores."""
        args = {"--worker_type": self.worker_type, "--number_of_workers": str(self.workers)}
        if self.job_command == "glueetl":
            return {**args, ADDITIONAL_PYTHON_MODULES: core_wheel_uri}
        return {**args, "--spark_local_cores": str(self.local_cores)}

    def shape(self) -> str:
        return f"{self.workers} x {self.worker_type}, timeout {self.timeout_minutes} min"


def split_parts_statements(bucket_arn: str, manifests_prefix: str) -> list[Statement]:
    """The per-split parts its driver reads back, merges into rejects.csv and the key list, and
    deletes (``<manifests>/<run>.parts/``; the ``*`` is the run id)."""
    return [
        {
            "Sid": "MergeSplitParts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:DeleteObject"],
            "Resource": [f"{bucket_arn}/{manifests_prefix}*.parts/*"],
        }
    ]


SPEC = EngineSpec(
    name=ENGINE_SPARK,
    description=" (Spark engine)",
    summary="the Glue ETL job",
    stages_imports=False,
    job=SparkJob,
    job_kind="glue-spark-job",
    script_kind="glue-spark-script",
    policy_name="csv2ddb-glue-spark-job",
    role_title="Glue Spark load job",
    role_statements=split_parts_statements,
)
