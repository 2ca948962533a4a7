"""The stack's names, and the groups of options a deployment sets: one source of truth.

Every component (DAGs, infra_bootstrap.py, tests, the demo) builds its resource names here, from one
stack prefix plus documented ``CSV2DDB_*`` environment overrides. The options are split by who sets
them:

- :class:`Settings` itself: the stack's names (bucket, tables, roles, prefixes), set by the platform;
- ``settings.load``: the data team's load defaults (:mod:`csv2ddb.load_defaults`), each written once;
- ``settings.job(engine)``: each Glue engine's job, its group defined in the engine's own module
  (:mod:`csv2ddb.engines`; ``settings.glue`` and ``settings.spark`` name the two there are).

The Glue job and the Lambda are self-contained and receive what they need as job arguments /
environment variables written by the bootstrap, so no name is typed twice. Importing this module
never touches the network or Airflow Variables: ``load_settings()`` only reads the environment
mapping it is given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

import csv2ddb_core
from csv2ddb_core.contract import (
    GROUPS_PREFIX,
    MANIFESTS_PREFIX,
    REJECTED_PREFIX,
    STAGING_PREFIX,
    ArgumentError,
    KeySchema,
)
from csv2ddb_core.options import check_options, key_schema_from, parse_ttl, parse_write_mode

from csv2ddb.engine_spec import GlueJobSettings
from csv2ddb.engines import PYTHONSHELL, SPARK, job_groups
from csv2ddb.engines.python_shell import PythonShellJob
from csv2ddb.engines.spark_etl import SparkJob
from csv2ddb.load_defaults import LoadDefaults
from csv2ddb.setting_fields import ENV_PREFIX, describe, read_env, setting, setting_factory

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


def core_wheel_name() -> str:
    """The wheel file name of the installed load core (PEP 427: name-version-py3-none-any)."""
    return f"csv2ddb_core-{csv2ddb_core.__version__}-py3-none-any.whl"


@dataclass(frozen=True)
class Settings:
    """The stack's names, and its groups of options. Field ``x`` is overridden by env var
    ``CSV2DDB_X``; a group's field by its group's variable (``LoadDefaults``, ``PythonShellJob``,
    ``SparkJob``)."""

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
        REJECTED_PREFIX,
        "rejected rows, `rejected/<run>/`",
    )
    manifests_prefix: str = setting(
        MANIFESTS_PREFIX,
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

    # the import path's DynamoDB JSON, staging/<run>/
    staging_prefix: str = setting(
        STAGING_PREFIX,
        "the import path's gzip'd DynamoDB JSON, `staging/<run>/part-NNNNN.json.gz`; deleted after "
        "a verified import, expired by a lifecycle rule after 7 days otherwise",
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

    # --- the analytics side's alarms (docs/analytics.md) ----------------------------------------
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

    # --- the groups, each with its own variables (docs/configuration.md) ------------------------
    load: LoadDefaults = field(default_factory=LoadDefaults)
    # Each Glue engine's job (csv2ddb.engines), by engine name: ``job(engine)``.
    jobs: Mapping[str, GlueJobSettings] = field(
        default_factory=lambda: {name: group() for name, group in job_groups().items()}
    )

    def __post_init__(self) -> None:
        derived = {
            "bucket": f"{self.prefix}-data",
            "table": f"{self.prefix}-items",
            "audit_table": f"{self.prefix}-audit",
            "table_pattern": f"{self.prefix}-*",
            "lambda_function_name": f"{self.prefix}-trigger",
            "lambda_role_name": f"{self.prefix}-lambda-role",
            "airflow_api_secret_name": f"{self.prefix}/airflow-api",
            "alerts_topic_name": f"{self.prefix}-alerts",
        }
        for name, default in derived.items():
            if not getattr(self, name):
                object.__setattr__(self, name, default)
        object.__setattr__(self, "jobs", {name: _named(job, self.prefix) for name, job in self.jobs.items()})
        for name in ("raw_prefix", "rejected_prefix", "manifests_prefix", "scripts_prefix", "staging_prefix"):
            value = getattr(self, name)
            if not value.endswith("/") or value.startswith("/"):
                raise ValueError(f"{ENV_PREFIX}{name.upper()} must look like 'name/', got {value!r}")
        # The load defaults' write options must fit the items table's keys: the core's validator.
        try:
            check_options(
                self.key_schema,
                parse_write_mode(self.load.write_mode),
                self.load.version_column,
                parse_ttl(self.load.ttl_column),
            )
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

    def with_load(self, **changes: Any) -> Settings:
        """These settings with some load defaults changed (a dataset's own, a test's)."""
        return replace(self, load=replace(self.load, **changes))

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

    def job(self, engine: str) -> GlueJobSettings | None:
        """The engine's Glue job, or None for an engine that loads in the Airflow worker."""
        return self.jobs.get(engine)

    @property
    def glue(self) -> PythonShellJob:
        """The Python shell's job (it also holds what every Glue run shares: concurrency, polling)."""
        return cast(PythonShellJob, self.jobs[PYTHONSHELL])

    @property
    def spark(self) -> SparkJob:
        return cast(SparkJob, self.jobs[SPARK])

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


# The groups Settings holds, each as (where: "load" or an engine's name, class); each class names
# its own variables' prefix. The engines' come from the registry (csv2ddb.engines).
GROUPS: tuple[tuple[str, type[Any]], ...] = (("load", LoadDefaults), *job_groups().items())


def _named(job: GlueJobSettings, prefix: str) -> GlueJobSettings:
    """An engine's job with its names derived from the stack's prefix where none is set."""
    return cast(
        GlueJobSettings,
        replace(
            cast(Any, job),
            job_name=job.job_name or f"{prefix}{job.job_suffix}",
            role_name=job.role_name or f"{prefix}{job.role_suffix}",
        ),
    )


def _setting_names() -> dict[str, tuple[str | None, str]]:
    """Every setting by its variable's name without ``CSV2DDB_``, lower-case (``spark_workers``):
    where it lives, (group or None for the stack, field). Two settings may not share one
    variable: that is refused here, at import."""
    names: dict[str, tuple[str | None, str]] = {}
    places: list[tuple[str | None, type, str]] = [(None, Settings, ENV_PREFIX)]
    places += [(where, cls, cls.env_prefix) for where, cls in GROUPS]
    for where, cls, env_prefix in places:
        for variable, _, _ in describe(cls, env_prefix):
            name = variable[len(ENV_PREFIX) :].lower()
            if name in names:
                raise TypeError(f"two settings read {variable}")
            names[name] = (where, variable[len(env_prefix) :].lower())
    return names


SETTING_NAMES = _setting_names()


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from ``CSV2DDB_*`` variables (``os.environ`` by default), then overrides,
    each named as its variable without ``CSV2DDB_`` (``write_mode``, ``spark_workers``).

    The region also falls back to ``AWS_DEFAULT_REGION`` / ``AWS_REGION`` and the endpoint to
    ``AWS_ENDPOINT_URL``, so the standard AWS variables work too.
    """
    env = os.environ if env is None else env
    values = read_env(Settings, env, ENV_PREFIX)
    group_values = {attr: read_env(cls, env, cls.env_prefix) for attr, cls in GROUPS}
    if "region" not in values:
        region = env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION")
        if region:
            values["region"] = region
    if "endpoint_url" not in values and env.get("AWS_ENDPOINT_URL"):
        values["endpoint_url"] = env["AWS_ENDPOINT_URL"]
    for name, value in overrides.items():
        if name not in SETTING_NAMES:
            raise TypeError(f"load_settings: no setting is named {name!r}")
        attr, field_name = SETTING_NAMES[name]
        (values if attr is None else group_values[attr])[field_name] = value
    return Settings(
        **values,
        load=LoadDefaults(**group_values["load"]),
        jobs={name: group(**group_values[name]) for name, group in job_groups().items()},
    )


# The sections of docs/configuration.md: who sets them, and their class.
SECTIONS: tuple[tuple[str, type, str], ...] = (
    ("The stack (the platform's names)", Settings, ENV_PREFIX),
    (
        "Load defaults (the data team's; a dataset, form or run conf may override most)",
        LoadDefaults,
        ENV_PREFIX,
    ),
    *((group.title, group, group.env_prefix) for group in job_groups().values()),
)


def describe_settings() -> list[tuple[str, str, str]]:
    """(env var, default as the docs show it, what it means), one row per setting of every group."""
    return [row for _, cls, env_prefix in SECTIONS for row in describe(cls, env_prefix)]


def configuration_table() -> str:
    """docs/configuration.md's tables of every setting, a section per group (generated:
    ``python -m csv2ddb.settings``)."""
    lines: list[str] = []
    for title, cls, env_prefix in SECTIONS:
        lines += [""] if lines else []
        lines += [f"### {title}", "", "| variable | default | meaning |", "|---|---|---|"]
        for env, shown, doc in describe(cls, env_prefix):
            lines.append(
                f"| `{env}` | {shown.replace('|', chr(92) + '|')} | {doc.replace('|', chr(92) + '|')} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(configuration_table(), end="")
