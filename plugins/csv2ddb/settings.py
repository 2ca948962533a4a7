"""The one source of truth for csv2ddb names and options.

Every component (DAGs, infra_bootstrap.py, tests, the demo) builds its resource names here,
from one stack prefix plus documented ``CSV2DDB_*`` environment overrides. The Glue job and
the Lambda are self-contained and receive what they need as job arguments / environment
variables written by the bootstrap, so no name is typed twice.

Importing this module never touches the network or Airflow Variables: ``load_settings()``
only reads the environment mapping it is given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import csv2ddb_core
from csv2ddb_core.contract import ENGINE_NAMES, ArgumentError, KeySchema
from csv2ddb_core.options import (
    check_options,
    key_schema_from,
    parse_load_method,
    parse_ttl,
    parse_write_mode,
    parse_write_rate,
)

ENV_PREFIX = "CSV2DDB_"
DAG_ID_LOAD = "csv2ddb_load"
DAG_ID_BOOTSTRAP = "csv2ddb_bootstrap"
DAG_ID_TEARDOWN = "csv2ddb_teardown"
DAG_ID_ROLLBACK = "csv2ddb_rollback"
STACK_TAG_KEY = "csv2ddb:stack"
ENGINES = ("auto", *ENGINE_NAMES)  # what CSV2DDB_ENGINE takes: auto or a registered engine
# How the verify step counts a load's items (csv2ddb.load.counts): by its keys, or the whole table.
COUNT_BY_KEYS = "keys"
COUNT_BY_SCAN = "scan"
COUNT_METHODS = (COUNT_BY_KEYS, COUNT_BY_SCAN)


def core_wheel_name() -> str:
    """The wheel file name of the installed load core (PEP 427: name-version-py3-none-any)."""
    return f"csv2ddb_core-{csv2ddb_core.__version__}-py3-none-any.whl"


def _env_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r} (use true/false)")


@dataclass(frozen=True)
class Settings:
    """Resolved names and options. Field ``x`` is overridden by env var ``CSV2DDB_X``."""

    # --- the stack ---------------------------------------------------------------------------
    prefix: str = "csv2ddb"
    region: str = "us-east-1"
    # None = real AWS through the standard credential chain; set for the local emulator.
    endpoint_url: str | None = None
    aws_conn_id: str = "aws_default"

    # --- S3 -----------------------------------------------------------------------------------
    bucket: str = ""  # default: "<prefix>-data"
    raw_prefix: str = "raw/"
    rejected_prefix: str = "rejected/"
    manifests_prefix: str = "manifests/"
    scripts_prefix: str = "scripts/"
    # The routing table the S3-event Lambda reads: one route per dataset file (docs/datasets.md).
    routes_key: str = "config/routes.json"

    # --- DynamoDB -----------------------------------------------------------------------------
    table: str = ""  # default: "<prefix>-items"
    # The items table's key schema: NAME[:S|N|B] (type S by default). A load whose params leave
    # them out uses the existing table's keys, else these.
    partition_key: str = "id"
    sort_key: str = ""
    audit_table: str = ""  # default: "<prefix>-audit"
    # Which tables a load may write (IAM wildcards * and ?), besides the items table: the Glue
    # roles may write these and no others (the audit table never), and the DAG refuses the rest.
    table_pattern: str = ""  # default: "<prefix>-*"
    # False: the first load creates the stack's items table (by ImportTable with load_method auto;
    # of two first loads at once, the one that finds the table made writes in batches). True: the
    # bootstrap creates it, so every load writes in batches.
    create_table_in_bootstrap: bool = False

    # --- Glue ---------------------------------------------------------------------------------
    glue_job_name: str = ""  # default: "<prefix>-load"
    glue_role_name: str = ""  # default: "<prefix>-glue-role"
    glue_script_name: str = "csv2ddb_load_job.py"
    glue_python_version: str = "3.9"
    glue_max_capacity: float = 0.0625
    # AWS reads Timeout in minutes. The local emulator reads it as seconds and caps a
    # Python-shell run at 600 s, whatever is set here.
    glue_timeout_minutes: int = 2880
    glue_max_concurrent_runs: int = 16
    # GlueJobOperator(verbose=True) reads CloudWatch log group names the emulator does not
    # return; keep it off locally.
    glue_verbose: bool = False
    write_concurrency: int = 8
    reject_tolerance: str = "0"  # a count ("25") or a fraction of rows read ("0.01")
    # How loads write, unless a run's params say otherwise (the job arguments of the same names).
    write_mode: str = "overwrite"  # overwrite | insert | upsert_newer
    version_column: str = ""  # upsert_newer: replace only when this column's value is greater
    max_write_rate: str = ""  # items/s ("500") or write capacity units/s ("500 wcu"); "" = no cap
    ttl_column: str = ""  # NAME[:epoch|iso]: written as an N epoch; ensure-table turns TTL on
    validate_first: bool = True  # parse the whole file before the first write (all-or-nothing)
    # auto: ImportTable (no write capacity) when the target table does not exist yet, else batch
    load_method: str = "auto"  # auto | import | batch
    staging_prefix: str = "staging/"  # the import path's DynamoDB JSON, staging/<run>/
    # GlueJobOperator polls the run this often: every second of it is latency on each load. On AWS
    # with many files per run, raise it (GetJobRun is rate-limited per account).
    glue_poll_seconds: float = 1.0
    # How often the import path asks DynamoDB whether its ImportTable finished (DescribeImport),
    # and for how long: 5 s x 1440 = 2 hours.
    import_poll_seconds: int = 5
    import_poll_attempts: int = 1440

    # --- the Spark engine (glue/csv2ddb_spark_job.py, docs/spark.md) ---------------------------
    engine: str = "auto"  # auto | pythonshell | spark; a run's params/conf "engine" overrides it
    spark_threshold_mb: int = 1024  # auto picks Spark for an object larger than this
    spark_job_name: str = ""  # default: "<prefix>-load-spark"
    spark_role_name: str = ""  # default: "<prefix>-glue-spark-role"
    spark_script_name: str = "csv2ddb_spark_job.py"
    # "glueetl" on AWS. The local emulator only runs pythonshell jobs (it marks glueetl runs
    # SUCCEEDED without running them): the local stack registers the same script as pythonshell,
    # and the script brings Spark up in local mode itself.
    spark_job_command: str = "glueetl"
    spark_worker_type: str = "G.1X"
    spark_workers: int = 10
    spark_timeout_minutes: int = 2880
    spark_local_cores: int = 2  # local mode only: local[N,4]

    # --- the count check and rollback (csv2ddb.load.counts, csv2ddb.history.rollback) ------------
    # "keys": look up the load's key list (cost follows the load); "scan": count the whole table
    # (the reconciliation count; a run's conf {"count_method": "scan"} asks for it once).
    count_method: str = "keys"
    key_read_threads: int = 8  # parallel BatchGetItem (and rollback) threads
    scan_segments: int = 8  # parallel Scan segments of the full-table count

    # --- Lambda + Airflow API -----------------------------------------------------------------
    lambda_function_name: str = ""  # default: "<prefix>-trigger"
    lambda_role_name: str = ""  # default: "<prefix>-lambda-role"
    lambda_handler: str = "trigger_dag.handler"
    airflow_api_url: str = "http://127.0.0.1:8080"
    airflow_api_secret_name: str = ""  # default: "<prefix>/airflow-api"
    trigger_mode: str = "airflow"  # "airflow" (REST API) or "mwaa" (invoke_rest_api)
    mwaa_environment: str = ""

    # --- the load DAG's S3KeySensor (scheduled runs) ---------------------------------------------
    # Deferrable frees the worker slot while waiting but needs a running triggerer (docker
    # compose and `airflow standalone` run one; under dag.test() triggers run in-line).
    sensor_deferrable: bool = True

    # --- alerts -------------------------------------------------------------------------------
    alerts_topic_name: str = ""  # default: "<prefix>-alerts"

    # --- the analytics side (docs/analytics.md) ------------------------------------------------
    # Write the processed zone (the job's --processed) and run the analytics step (catalog, Athena,
    # metrics). Off until the local emulator starts Athena and CloudWatch (dev SERVICES).
    processed: bool = False
    reject_rate_alarm_percent: float = 5.0  # the reject-rate alarm's threshold
    stale_after_hours: float = 24.0  # a dataset's expected load interval (the staleness check)
    athena_scan_limit_mb: int = 1024  # the Athena workgroup's per-query scan cutoff (at least 10)

    # --- tags put on every resource the bootstrap creates --------------------------------------
    extra_tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        defaults = {
            "bucket": f"{self.prefix}-data",
            "table": f"{self.prefix}-items",
            "audit_table": f"{self.prefix}-audit",
            "table_pattern": f"{self.prefix}-*",
            "glue_job_name": f"{self.prefix}-load",
            "glue_role_name": f"{self.prefix}-glue-role",
            "spark_job_name": f"{self.prefix}-load-spark",
            "spark_role_name": f"{self.prefix}-glue-spark-role",
            "lambda_function_name": f"{self.prefix}-trigger",
            "lambda_role_name": f"{self.prefix}-lambda-role",
            "airflow_api_secret_name": f"{self.prefix}/airflow-api",
            "alerts_topic_name": f"{self.prefix}-alerts",
        }
        for name, default in defaults.items():
            if not getattr(self, name):
                object.__setattr__(self, name, default)
        for name in ("raw_prefix", "rejected_prefix", "manifests_prefix", "scripts_prefix", "staging_prefix"):
            value = getattr(self, name)
            if not value.endswith("/") or value.startswith("/"):
                raise ValueError(f"{ENV_PREFIX}{name.upper()} must look like 'name/', got {value!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"{ENV_PREFIX}ENGINE must be one of {ENGINES}, got {self.engine!r}")
        if self.spark_job_command not in {"glueetl", "pythonshell"}:
            raise ValueError(
                f"{ENV_PREFIX}SPARK_JOB_COMMAND must be glueetl (AWS) or pythonshell (the local emulator), "
                f"got {self.spark_job_command!r}"
            )
        if self.count_method not in COUNT_METHODS:
            raise ValueError(
                f"{ENV_PREFIX}COUNT_METHOD must be one of {COUNT_METHODS}, got {self.count_method!r}"
            )
        # One validator per option, the load core's (a bad setting fails at start, naming it).
        try:
            key_schema_from(self.partition_key, self.sort_key)
            check_options(
                self.key_schema,
                parse_write_mode(self.write_mode),
                self.version_column,
                parse_ttl(self.ttl_column),
            )
            parse_write_rate(self.max_write_rate)
            parse_load_method(self.load_method)
        except ArgumentError as exc:
            raise ValueError(f"{ENV_PREFIX}*: {exc}") from exc
        if self.trigger_mode not in {"airflow", "mwaa"}:
            raise ValueError(f"{ENV_PREFIX}TRIGGER_MODE must be airflow or mwaa, got {self.trigger_mode!r}")
        if (
            self.reject_rate_alarm_percent < 0
            or self.stale_after_hours <= 0
            or self.athena_scan_limit_mb < 10
        ):
            raise ValueError(
                f"{ENV_PREFIX}REJECT_RATE_ALARM_PERCENT must be >= 0, {ENV_PREFIX}STALE_AFTER_HOURS > 0 and "
                f"{ENV_PREFIX}ATHENA_SCAN_LIMIT_MB >= 10 (Athena's smallest cutoff), got "
                f"{self.reject_rate_alarm_percent}, {self.stale_after_hours}, {self.athena_scan_limit_mb}"
            )

    # --- derived names ------------------------------------------------------------------------
    @property
    def key_schema(self) -> KeySchema:
        return key_schema_from(self.partition_key, self.sort_key)

    def may_load(self, table: str) -> bool:
        """A load may write ``table``: the items table, or a name the pattern covers (not the audit
        table). The same rule as the Glue roles' policy (``bootstrap/policies.py``)."""
        if table == self.audit_table:
            return False
        wildcard = re.escape(self.table_pattern).replace(r"\*", ".*").replace(r"\?", ".")
        return table == self.table or re.fullmatch(wildcard, table) is not None

    @property
    def tags(self) -> dict[str, str]:
        """Tags on every created resource; teardown deletes only what carries the stack tag."""
        return {STACK_TAG_KEY: self.prefix, "app": "csv2ddb", **dict(self.extra_tags)}

    @property
    def script_key(self) -> str:
        return f"{self.scripts_prefix}{self.glue_script_name}"

    @property
    def spark_script_key(self) -> str:
        return f"{self.scripts_prefix}{self.spark_script_name}"

    @property
    def core_wheel_key(self) -> str:
        """Where the load core's wheel goes (the job's ``--extra-py-files``); versioned by name."""
        return f"{self.scripts_prefix}{core_wheel_name()}"

    @property
    def core_wheel_s3_uri(self) -> str:
        return f"s3://{self.bucket}/{self.core_wheel_key}"

    def manifest_key(self, run_id: str) -> str:
        return f"{self.manifests_prefix}{run_id}.json"

    def rejected_key_prefix(self, run_id: str) -> str:
        return f"{self.rejected_prefix}{run_id}/"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["extra_tags"] = dict(self.extra_tags)
        return data


def _parse(name: str, raw: str, annotation: Any) -> Any:
    kind = str(annotation)
    try:
        if kind == "bool":
            return _env_bool(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r}: expected {kind}") from exc
    if kind.startswith("Mapping"):
        # "k1=v1,k2=v2"
        pairs = [p for p in raw.split(",") if p.strip()]
        bad = [p for p in pairs if "=" not in p]
        if bad:
            raise ValueError(f"{ENV_PREFIX}{name.upper()}: expected k=v pairs, got {bad}")
        return {k.strip(): v.strip() for k, v in (p.split("=", 1) for p in pairs)}
    if kind == "str | None":
        return raw or None
    return raw


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from ``CSV2DDB_*`` variables (``os.environ`` by default), then overrides.

    The region also falls back to ``AWS_DEFAULT_REGION`` / ``AWS_REGION`` and the endpoint to
    ``AWS_ENDPOINT_URL``, so the standard AWS variables work too.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f in fields(Settings):
        raw = env.get(f"{ENV_PREFIX}{f.name.upper()}")
        if raw is not None:
            values[f.name] = _parse(f.name, raw, f.type)
    if "region" not in values:
        region = env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION")
        if region:
            values["region"] = region
    if "endpoint_url" not in values and env.get("AWS_ENDPOINT_URL"):
        values["endpoint_url"] = env["AWS_ENDPOINT_URL"]
    values.update(overrides)
    return Settings(**values)


def describe_settings() -> list[tuple[str, str, str]]:
    """(env var, default, field) rows for the docs table."""
    defaults = Settings()
    return [
        (f"{ENV_PREFIX}{f.name.upper()}", repr(getattr(defaults, f.name)), f.name) for f in fields(Settings)
    ]
