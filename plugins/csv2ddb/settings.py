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
from collections.abc import Callable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

import csv2ddb_core
from csv2ddb_core.contract import (
    ENGINE_NAMES,
    GROUPS_PREFIX,
    STAGING_PREFIX,
    WRITE_OVERWRITE,
    ArgumentError,
    KeySchema,
)
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
DAG_ID_FRESHNESS = "csv2ddb_freshness"
# The load DAG's task group of a group of batch files, and its load step (a Glue run, or the inline
# engine in the worker): the DAG builds them, the Loads page links a file's group to them.
LOAD_GROUP_ID = "load_file"
LOAD_STEP_ID = "run_glue"
STACK_TAG_KEY = "csv2ddb:stack"
ENGINES = ("auto", *ENGINE_NAMES)  # what CSV2DDB_ENGINE takes: auto or a registered engine
# How the verify step counts a load's items (csv2ddb.load.counts): by its keys, or the whole table.
COUNT_BY_KEYS = "keys"
COUNT_BY_SCAN = "scan"
COUNT_METHODS = (COUNT_BY_KEYS, COUNT_BY_SCAN)
# load_method auto: the smallest object it imports (a new table; see Settings.import_min_bytes).
IMPORT_MIN_BYTES = 64 << 20
# engine auto: the largest object it loads inline, in the Airflow worker (Settings.inline_max_bytes).
INLINE_MAX_BYTES = 4 << 20


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


def setting(default: Any, doc: str, *, shown: str | None = None) -> Any:
    """A Settings field and what it means: docs/configuration.md's table is generated from these
    (``python -m csv2ddb.settings``), so the docs cannot drift from the code. ``shown``: the default
    as the docs show it, when it is derived (``<prefix>-data``) rather than the value itself."""
    return field(default=default, metadata={"doc": doc, "shown": shown})


def setting_factory(factory: Callable[[], Any], doc: str) -> Any:
    """A Settings field with a mutable default (made per instance), and what it means."""
    return field(default_factory=factory, metadata={"doc": doc, "shown": None})


@dataclass(frozen=True)
class Settings:
    """Resolved names and options. Field ``x`` is overridden by env var ``CSV2DDB_X``."""

    # --- the stack ---------------------------------------------------------------------------
    prefix: str = setting(
        "csv2ddb",
        "stack prefix: every default name below derives from it; also the value of the `csv2ddb:stack` tag",
    )
    region: str = setting(
        "us-east-1",
        "AWS region",
    )
    # None = real AWS through the standard credential chain; set for the local emulator.
    endpoint_url: str | None = setting(
        None,
        "AWS endpoint (the local emulator: `http://127.0.0.1:4566`); unset for real AWS",
    )
    aws_conn_id: str = setting(
        "aws_default",
        "Airflow connection the DAGs use",
    )

    # --- S3 -----------------------------------------------------------------------------------
    bucket: str = setting(
        "",
        "data bucket",
        shown="`<prefix>-data`",
    )
    raw_prefix: str = setting(
        "raw/",
        "where CSV files land",
    )
    rejected_prefix: str = setting(
        "rejected/",
        "rejected rows, `rejected/<run>/`",
    )
    manifests_prefix: str = setting(
        "manifests/",
        "job manifests, `manifests/<run>.json`",
    )
    scripts_prefix: str = setting(
        "scripts/",
        "the uploaded Glue script",
    )
    # The routing table the S3-event Lambda reads: one route per dataset file (docs/datasets.md).
    routes_key: str = setting(
        "config/routes.json",
        "the routing table (one route per dataset file) the S3-event Lambda reads; published by the"
        " bootstrap ([datasets.md](datasets.md))",
    )

    # --- DynamoDB -----------------------------------------------------------------------------
    table: str = setting(
        "",
        "target DynamoDB table",
        shown="`<prefix>-items`",
    )
    # The items table's key schema: NAME[:S|N|B] (type S by default). A load whose params leave
    # them out uses the existing table's keys, else these.
    partition_key: str = setting(
        "id",
        "the items table's partition key, `NAME[:S|N|B]` (type `S` by default); a file without "
        "that column gets the content-hash id (`S` keys only)",
    )
    sort_key: str = setting(
        "",
        "its sort key, `NAME[:S|N|B]`; empty = none. A load whose params name no keys uses the "
        "existing table's keys, else these",
    )
    audit_table: str = setting(
        "",
        "audit records",
        shown="`<prefix>-audit`",
    )
    # Which tables a load may write (IAM wildcards * and ?), besides the items table: the Glue
    # roles may write these and no others (the audit table never), and the DAG refuses the rest.
    table_pattern: str = setting(
        "",
        "the other tables a run may load (the form's `table`; IAM wildcards `*` and `?`): the Glue "
        "roles may write the items table and these, never the audit table (an explicit Deny), and "
        "the DAG refuses any other table before any work",
        shown="`<prefix>-*`",
    )
    # False: the first load creates the stack's items table (by ImportTable with load_method auto
    # when its file is big enough; of two first loads at once, the one that finds the table made
    # writes in batches). True: the bootstrap creates it, so every load writes in batches.
    create_table_in_bootstrap: bool = setting(
        False,
        "`false` leaves the items table to the first load (with `load_method` `auto`: by ImportTable "
        "for a file of at least `CSV2DDB_IMPORT_MIN_BYTES`, else created by the DAG and written in "
        "batches; when two first loads of one new table run at once, as in a backfill, the one that "
        "finds the table already made loads in batches instead); `true` also creates it in "
        "`infra_bootstrap.py create`, so every load writes in batches",
    )

    # --- Glue ---------------------------------------------------------------------------------
    glue_job_name: str = setting(
        "",
        "Glue job",
        shown="`<prefix>-load`",
    )
    glue_role_name: str = setting(
        "",
        "Glue job's IAM role",
        shown="`<prefix>-glue-role`",
    )
    glue_script_name: str = setting(
        "csv2ddb_load_job.py",
        "script in `glue/`, uploaded under `scripts/`",
    )
    glue_python_version: str = setting(
        "3.9",
        "Python-shell runtime",
    )
    glue_max_capacity: float = setting(
        0.0625,
        "DPUs of a Python-shell run",
    )
    # AWS reads Timeout in minutes. The local emulator reads it as seconds and caps a
    # Python-shell run at 600 s, whatever is set here.
    glue_timeout_minutes: int = setting(
        2880,
        "job timeout (AWS: minutes; the emulator reads seconds and caps a run at 600 s)",
    )
    glue_max_concurrent_runs: int = setting(
        16,
        "must exceed 1: one mapped Glue task per group of files",
    )
    # GlueJobOperator(verbose=True) reads CloudWatch log group names the emulator does not
    # return; keep it off locally.
    glue_verbose: bool = setting(
        False,
        "stream CloudWatch logs into the task log (off locally: the emulator lacks log group names)",
    )
    # A group run loads several files of a DAG run in one Python-shell Glue run (docs/dags.md):
    # one start instead of one per file, each file still its own load.
    group_max_files: int = setting(
        64,
        "at most this many files in one Glue run (a group); 1 = one run per file",
    )
    group_max_bytes: int = setting(
        256 * 1024 * 1024,
        "at most this many source bytes in one Glue run (a group); a larger file runs alone",
        shown="`268435456` (256 MiB)",
    )
    write_concurrency: int = setting(
        8,
        "writer threads in the Glue job",
    )
    # a count ("25") or a fraction of rows read ("0.01")
    reject_tolerance: str = setting(
        "0",
        "rejected rows allowed before a load fails: a count (`25`) or a fraction (`0.01`, `1.0`)",
    )
    # How loads write, unless a run's params say otherwise (the job arguments of the same names).
    # overwrite | insert | upsert_newer
    write_mode: str = setting(
        WRITE_OVERWRITE,
        "`overwrite` (BatchWriteItem), `insert` (never replace an item) or `upsert_newer` (replace "
        "only when `version_column` is greater); rows not written count as `rows_skipped`",
    )
    # upsert_newer: replace only when this column's value is greater
    version_column: str = setting(
        "",
        "the column `upsert_newer` compares (its cells must be numbers)",
    )
    # items/s ("500") or write capacity units/s ("500 wcu"); "" = no cap
    max_write_rate: str = setting(
        "",
        "write-rate cap shared by all writer threads: items/s (`500`) or write capacity units/s "
        "(`500 wcu`); empty = none",
    )
    # NAME[:epoch|iso]: written as an N epoch; ensure-table turns TTL on
    ttl_column: str = setting(
        "",
        "`NAME[:epoch|iso]`: written as an `N` epoch; ensure-table turns TTL on for it",
    )
    # parse the whole file before the first write (all-or-nothing)
    validate_first: bool = setting(
        True,
        "parse the whole file before the first write, so a file over its tolerance writes nothing "
        "(`false`: one streaming pass)",
    )
    # auto: ImportTable (no write capacity) when the target table does not exist yet, else batch
    # auto | import | batch
    load_method: str = setting(
        "auto",
        "`auto` (ImportTable when the target table does not exist yet, the run loads one file into "
        "it, that file is at least `CSV2DDB_IMPORT_MIN_BYTES`, and the load is a plain `overwrite` "
        "without a rate cap; else batch), `import` (refused for an existing table) or `batch`",
    )
    # An import has a fixed start-up (minutes on AWS): below this, auto writes a first load in
    # batches. Chosen from the bench's crossover measurement (docs/import.md, docs/benchmarks.md).
    import_min_bytes: int = setting(
        IMPORT_MIN_BYTES,
        "`auto` imports a first load only when its object is at least this many bytes (as S3 "
        "stores it: a `.csv.gz` counts compressed); smaller files are written in batches. `0`: "
        "import every first load. Chosen by measurement "
        "([import.md](import.md#when-a-load-imports-load_method))",
        shown=f"`{IMPORT_MIN_BYTES}` ({IMPORT_MIN_BYTES >> 20} MiB)",
    )
    # the import path's DynamoDB JSON, staging/<run>/
    staging_prefix: str = setting(
        STAGING_PREFIX,
        "the import path's gzip'd DynamoDB JSON, `staging/<run>/part-NNNNN.json.gz`; deleted after "
        "a verified import, expired by a lifecycle rule after 7 days otherwise",
    )
    # GlueJobOperator polls the run this often: every second of it is latency on each load. On AWS
    # with many files per run, raise it (GetJobRun is rate-limited per account).
    glue_poll_seconds: float = setting(
        1.0,
        "how often the Glue task polls its job run (each poll is up to this much latency per load; "
        "raise it on AWS with many files per run: `GetJobRun` is rate-limited)",
    )
    # How often the import path asks DynamoDB whether its ImportTable finished (DescribeImport),
    # and for how long: 5 s x 1440 = 2 hours.
    import_poll_seconds: int = setting(
        5,
        "how often the import path asks whether its ImportTable finished (`DescribeImport`; the "
        "provider's default is 30 s)",
    )
    import_poll_attempts: int = setting(
        1440,
        "how many times (5 s × 1440 = 2 hours) before the load fails; also how long a load waits "
        "for another load's import of its table",
    )

    # --- the Spark engine (glue/csv2ddb_spark_job.py, docs/spark.md) ---------------------------
    # auto | pythonshell | spark; a run's params/conf "engine" overrides it
    engine: str = setting(
        "auto",
        "what loads a file: `pythonshell` (a Glue Python-shell run), `spark` (the Glue Spark job), "
        "`inline` (the same core inside the Airflow worker, no Glue run), or `auto` (inline up to "
        "`inline_max_bytes`, Spark over `spark_threshold_mb`, else the Python shell); a run's "
        "params/conf `engine` overrides it ([Spark engine](spark.md), "
        "[inline](dags.md#small-files-load-inline))",
    )
    # auto loads a file this small inline: a Glue start costs more than such a load (docs/dags.md)
    inline_max_bytes: int = setting(
        INLINE_MAX_BYTES,
        "`auto` loads an object of at most this many bytes inline, in the Airflow worker, without a "
        "Glue run; 0 = never",
        shown=f"`{INLINE_MAX_BYTES}` ({INLINE_MAX_BYTES >> 20} MiB)",
    )
    # auto picks Spark for an object larger than this
    spark_threshold_mb: int = setting(
        1024,
        "`auto` picks the Spark engine for an object larger than this many MiB",
    )
    spark_job_name: str = setting(
        "",
        "the Spark (Glue ETL) load job",
        shown="`<prefix>-load-spark`",
    )
    spark_role_name: str = setting(
        "",
        "its IAM role (its own least-privilege policy)",
        shown="`<prefix>-glue-spark-role`",
    )
    spark_script_name: str = setting(
        "csv2ddb_spark_job.py",
        "its script in `glue/`, uploaded under `scripts/`",
    )
    # "glueetl" on AWS. The local emulator only runs pythonshell jobs (it marks glueetl runs
    # SUCCEEDED without running them): the local stack registers the same script as pythonshell,
    # and the script brings Spark up in local mode itself.
    spark_job_command: str = setting(
        "glueetl",
        "`glueetl` on AWS; the local stack sets `pythonshell`: the emulator runs only Python-shell "
        "jobs, and the script starts Spark in local mode itself",
    )
    spark_worker_type: str = setting(
        "G.1X",
        "Glue worker type of the Spark job (G.1X = 1 DPU: 4 vCPU, 16 GB)",
    )
    spark_workers: int = setting(
        10,
        "number of Glue workers of the Spark job",
    )
    spark_timeout_minutes: int = setting(
        2880,
        "Spark job timeout (the emulator caps any run at 600 s)",
    )
    # local mode only: local[N,4]
    spark_local_cores: int = setting(
        2,
        "local mode only (`spark_job_command=pythonshell`): the script runs Spark as `local[N,4]`",
    )

    # --- the count check and rollback (csv2ddb.load.counts, csv2ddb.history.rollback) ------------
    # "keys": look up the load's key list (cost follows the load); "scan": count the whole table
    # (the reconciliation count; a run's conf {"count_method": "scan"} asks for it once).
    count_method: str = setting(
        "keys",
        "the count check: `keys` (look up the load's key list: cost follows the load) or `scan` "
        '(parallel full-table Scan: the reconciliation count). A run\'s conf `{"count_method": '
        '"scan"}` asks for it once',
    )
    # parallel BatchGetItem (and rollback) threads
    key_read_threads: int = setting(
        8,
        "parallel `BatchGetItem` threads of the count check, the rollback and `audit_cli keys-of --state`",
    )
    # parallel Scan segments of the full-table count
    scan_segments: int = setting(
        8,
        "parallel `Scan` segments (`TotalSegments`) of the full-table count",
    )

    # --- Lambda + Airflow API -----------------------------------------------------------------
    lambda_function_name: str = setting(
        "",
        "S3-event Lambda",
        shown="`<prefix>-trigger`",
    )
    lambda_role_name: str = setting(
        "",
        "its IAM role",
        shown="`<prefix>-lambda-role`",
    )
    lambda_handler: str = setting(
        "trigger_dag.handler",
        "handler in `lambda/`",
    )
    airflow_api_url: str = setting(
        "http://127.0.0.1:8080",
        "Airflow REST API the Lambda calls",
    )
    airflow_api_secret_name: str = setting(
        "",
        "Secrets Manager secret with the API login",
        shown="`<prefix>/airflow-api`",
    )
    # "airflow" (REST API) or "mwaa" (invoke_rest_api)
    trigger_mode: str = setting(
        "airflow",
        "`airflow` (REST API) or `mwaa` (`invoke_rest_api`)",
    )
    mwaa_environment: str = setting(
        "",
        "MWAA environment name in `mwaa` mode",
    )

    # --- the load DAG's S3KeySensor (scheduled runs) ---------------------------------------------
    # Deferrable frees the worker slot while waiting but needs a running triggerer (docker
    # compose and `airflow standalone` run one; under dag.test() triggers run in-line).
    sensor_deferrable: bool = setting(
        True,
        "scheduled runs wait for files with a deferrable `S3KeySensor` (needs a triggerer)",
    )

    # --- alerts -------------------------------------------------------------------------------
    alerts_topic_name: str = setting(
        "",
        "SNS topic for failure alerts",
        shown="`<prefix>-alerts`",
    )

    # --- the analytics side (docs/analytics.md) ------------------------------------------------
    # Write the processed zone (the job's --processed) and run the analytics step (catalog, Athena,
    # metrics); the bootstrap makes the analytics resources. On: every verified load also lands
    # as Parquet (issue 22). A dataset turns it off with `processed: false` (docs/datasets.md).
    processed: bool = setting(
        True,
        "write the processed zone (Parquet per load) and run the analytics step: catalog "
        "partitions, the Athena count, CloudWatch metrics ([analytics.md](analytics.md)); needs "
        "Athena and CloudWatch (the local emulator starts both). `false`: no zone, no analytics "
        "resources; a dataset turns it off alone with `processed: false`",
    )
    # the reject-rate alarm's threshold
    reject_rate_alarm_percent: float = setting(
        5.0,
        "the reject-rate alarm fires above this share of a load's rows",
    )
    # a dataset's expected load interval (the staleness check)
    stale_after_hours: float = setting(
        24.0,
        "a dataset with no verified load for this long is stale (its alarm fires)",
    )
    # the Athena workgroup's per-query scan cutoff (at least 10)
    athena_scan_limit_mb: int = setting(
        1024,
        "the Athena workgroup's per-query scan cutoff (at least 10)",
    )

    # --- tags put on every resource the bootstrap creates --------------------------------------
    extra_tags: Mapping[str, str] = setting_factory(
        dict,
        "extra tags on every resource, `k1=v1,k2=v2`",
    )

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
        for name in ("import_min_bytes", "inline_max_bytes"):
            if getattr(self, name) < 0:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} must be 0 or more, got {getattr(self, name)}")
        for name in ("group_max_files", "group_max_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} must be 1 or more, got {getattr(self, name)}")
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

    def group_key(self, group_id: str) -> str:
        """Where a group run's file list goes (``csv2ddb_core.group``), beside the manifests."""
        return f"{self.manifests_prefix}{GROUPS_PREFIX}{group_id}.json"

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


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value in ("", {}):
        return "empty"
    return f"`{value}`"


def describe_settings() -> list[tuple[str, str, str]]:
    """(env var, default as the docs show it, what it means), one row per Settings field."""
    rows = []
    for f in fields(Settings):
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        shown = f.metadata.get("shown") or _shown(default)
        rows.append((f"{ENV_PREFIX}{f.name.upper()}", shown, str(f.metadata["doc"])))
    return rows


def configuration_table() -> str:
    """docs/configuration.md's table of every setting (generated: ``python -m csv2ddb.settings``)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for env, shown, doc in describe_settings():
        lines.append(f"| `{env}` | {shown.replace('|', chr(92) + '|')} | {doc.replace('|', chr(92) + '|')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(configuration_table(), end="")
