"""Everything a resource module needs at run time: settings, clients, account, partition, ARNs.

The account id and partition come from STS (``GetCallerIdentity``), never from code, so the
same bootstrap works against real AWS (standard credential chain) and the local emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from csv2ddb import aws
from csv2ddb.engines import PYTHONSHELL
from csv2ddb.settings import Settings

if TYPE_CHECKING:
    from csv2ddb.datasets.registry import Datasets

# The checkout this file lives in (plugins/csv2ddb/bootstrap/ -> the root): the bootstrap deploys
# what lies beside it. Deployed code never imports the laptop harness (csv2ddb_dev) to find it.
SOURCE_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_GLUE_DIR = SOURCE_ROOT / "glue"
DEFAULT_LAMBDA_DIR = SOURCE_ROOT / "lambda"


def _deployed_datasets_dir() -> Path:
    # Imported here: the registry reads YAML, which the bench's venv (importing the bootstrap for
    # its names) lacks; only a stack create needs it.
    from csv2ddb.datasets.registry import deployed_dir

    return deployed_dir(SOURCE_ROOT / "dags")


@dataclass(frozen=True)
class Sources:
    """Local code the stack deploys: the Glue script, the load core and the Lambda package directory.

    Parameters (not constants) so tests and forks can deploy other files.
    """

    glue_script: Path | None = None  # the Python shell's; default: glue/<settings.glue.script_name>
    lambda_dir: Path = DEFAULT_LAMBDA_DIR
    glue_dir: Path = DEFAULT_GLUE_DIR  # holds pyproject.toml + csv2ddb_core/: the core's wheel
    # The dataset files the routing table is built from: the DAG factory's (registry.deployed_dir).
    datasets_dir: Path = field(default_factory=lambda: _deployed_datasets_dir())

    def glue_script_path(self, settings: Settings, engine: str = PYTHONSHELL) -> Path:
        """An engine's entry script: ``glue/<its script_name>`` (the Python shell's may be given)."""
        if engine == PYTHONSHELL and self.glue_script is not None:
            return self.glue_script
        job = settings.job(engine)
        if job is None:
            raise ValueError(f"engine {engine} runs in the Airflow worker: it has no entry script")
        return self.glue_dir / job.script_name


@dataclass
class StackContext:
    settings: Settings
    sources: Sources = field(default_factory=Sources)
    # Values for the Airflow API secret; default: os.environ at create time.
    env: dict[str, str] | None = None
    # STS GetCallerIdentity answer ({"Account", "Arn"}); looked up on first use when None.
    identity: dict[str, str] | None = None
    _session: boto3.Session | None = field(default=None, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _datasets: Datasets | None = field(default=None, repr=False)

    def datasets(self) -> Datasets:
        """The deployment's dataset files (``sources.datasets_dir``), read once per stack operation:
        the routing table and the per-dataset staleness alarms come from the same reading."""
        if self._datasets is None:
            # Imported here: reading dataset files needs YAML and JSON Schema (Airflow's own
            # dependencies), which the bench's venv, importing the bootstrap for its names, lacks.
            from csv2ddb.datasets.registry import load_all

            self._datasets = load_all(self.sources.datasets_dir, self.settings)
        return self._datasets

    def client(self, service: str) -> Any:
        if service not in self._clients:
            if self._session is None:
                self._session = aws.session(self.settings)
            self._clients[service] = aws.client(self.settings, service, self._session)
        return self._clients[service]

    @property
    def _identity(self) -> dict[str, str]:
        if self.identity is None:
            answer = self.client("sts").get_caller_identity()
            self.identity = {"Account": answer["Account"], "Arn": answer["Arn"]}
        return self.identity

    @property
    def account(self) -> str:
        return self._identity["Account"]

    @property
    def partition(self) -> str:
        # "arn:aws:sts::123:assumed-role/..." -> "aws" (or aws-cn, aws-us-gov)
        return self._identity["Arn"].split(":")[1]

    @property
    def region(self) -> str:
        return self.settings.region

    # --- ARNs ---------------------------------------------------------------------------------
    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )

    @property
    def bucket_arn(self) -> str:
        return self.arn("s3", self.settings.bucket, region=False, account=False)

    def table_arn(self, name: str) -> str:
        return self.arn("dynamodb", f"table/{name}")

    def role_arn(self, name: str) -> str:
        return self.arn("iam", f"role/{name}", region=False)

    @property
    def glue_job_arn(self) -> str:
        return self.arn("glue", f"job/{self.settings.glue.job_name}")

    @property
    def topic_arn(self) -> str:
        return self.arn("sns", self.settings.alerts_topic_name)

    @property
    def function_arn(self) -> str:
        return self.arn("lambda", f"function:{self.settings.lambda_function_name}")

    @property
    def secret_arn_pattern(self) -> str:
        # Secrets Manager appends "-" and 6 random characters to every secret ARN; AWS documents
        # "-??????" as the way to scope a policy to one secret before its ARN is known.
        return self.arn("secretsmanager", f"secret:{self.settings.airflow_api_secret_name}-??????")

    def log_group_arn(self, group: str) -> str:
        return self.arn("logs", f"log-group:{group}")

    def mwaa_rest_api_arn(self, airflow_role: str = "User") -> str:
        # airflow:InvokeRestApi is authorized per MWAA environment *and* Airflow role.
        return self.arn("airflow", f"role/{self.settings.mwaa_environment}/{airflow_role}")
