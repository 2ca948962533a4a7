"""Settings: one prefix builds every name; CSV2DDB_* variables override with clear errors."""

from __future__ import annotations

import pytest
from csv2ddb.job_definitions import script_uri
from csv2ddb.settings import SETTING_NAMES, STACK_TAG_KEY, describe_settings, load_settings


def test_defaults_derive_every_name_from_the_prefix() -> None:
    s = load_settings({})
    assert s.bucket == "csv2ddb-data"
    assert s.table == "csv2ddb-items"
    assert s.glue.job_name == "csv2ddb-load"
    assert s.lambda_function_name == "csv2ddb-trigger"
    assert s.airflow_api_secret_name == "csv2ddb/airflow-api"
    assert s.endpoint_url is None  # real AWS unless told otherwise
    assert s.tags[STACK_TAG_KEY] == "csv2ddb"


def test_prefix_override_renames_the_whole_stack() -> None:
    s = load_settings({"CSV2DDB_PREFIX": "acme"})
    assert (s.bucket, s.table, s.audit_table, s.glue.role_name) == (
        "acme-data",
        "acme-items",
        "acme-audit",
        "acme-glue-role",
    )


def test_explicit_names_and_typed_values_override_defaults() -> None:
    s = load_settings(
        {
            "CSV2DDB_BUCKET": "my-bucket",
            "CSV2DDB_GLUE_VERBOSE": "true",
            "CSV2DDB_WRITE_CONCURRENCY": "4",
            "CSV2DDB_GLUE_MAX_CAPACITY": "1",
            "CSV2DDB_EXTRA_TAGS": "team=data, cost=42",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        }
    )
    assert s.bucket == "my-bucket"
    assert s.table == "csv2ddb-items"
    assert s.glue.verbose is True
    assert s.load.write_concurrency == 4
    assert s.glue.max_capacity == 1.0
    assert s.tags["team"] == "data"
    assert s.tags["cost"] == "42"
    assert s.region == "eu-west-1"
    assert s.endpoint_url == "http://127.0.0.1:4566"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CSV2DDB_GLUE_VERBOSE": "maybe"}, "CSV2DDB_GLUE_VERBOSE"),
        ({"CSV2DDB_WRITE_CONCURRENCY": "many"}, "expected int"),
        ({"CSV2DDB_RAW_PREFIX": "raw"}, "CSV2DDB_RAW_PREFIX"),
        ({"CSV2DDB_ENGINE": "flink"}, "ENGINE must be one of"),
        ({"CSV2DDB_EXTRA_TAGS": "novalue"}, "k=v"),
    ],
)
def test_bad_values_fail_with_the_variable_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_settings(env)


def test_derived_keys() -> None:
    s = load_settings({})
    assert script_uri(s) == "s3://csv2ddb-data/scripts/csv2ddb_load_job.py"
    assert s.manifest_key("r1") == "manifests/r1.json"
    assert s.rejected_key_prefix("r1") == "rejected/r1/"


def test_the_engine_setting_names_the_registered_engines() -> None:
    """``CSV2DDB_ENGINE`` takes ``auto`` or an engine of the registry, which holds one module per
    engine (the Python shell first: the default), and the settings hold each Glue engine's job."""
    from csv2ddb.engines import ENGINES as REGISTERED
    from csv2ddb.load_defaults import ENGINES as CHOICES

    assert tuple(REGISTERED) == ("pythonshell", "inline", "spark")
    assert ("auto", *REGISTERED) == CHOICES
    s = load_settings({})
    assert set(s.jobs) == {"pythonshell", "spark"}
    assert s.job("inline") is None
    assert (s.job("pythonshell"), s.job("spark")) == (s.glue, s.spark)


def test_settings_are_split_by_who_sets_them() -> None:
    """The stack's names on Settings; the load defaults, and each engine's job, in their own group,
    each read from its own variables (the variable names did not change)."""
    s = load_settings(
        {
            "CSV2DDB_WRITE_MODE": "insert",
            "CSV2DDB_SPARK_WORKERS": "3",
            "CSV2DDB_SPARK_THRESHOLD_MB": "7",
            "CSV2DDB_GLUE_JOB_NAME": "my-load",
        }
    )
    assert (s.load.write_mode, s.load.spark_threshold_mb) == ("insert", 7)
    assert (s.spark.workers, s.spark.job_name) == (3, "csv2ddb-load-spark")
    assert (s.glue.job_name, s.glue.role_name) == ("my-load", "csv2ddb-glue-role")
    assert not hasattr(s, "write_mode")
    assert not hasattr(s, "glue_job_name")


def test_overrides_are_named_as_their_variables() -> None:
    s = load_settings({}, prefix="acme", spark_workers=2, write_mode="insert", glue_verbose=True)
    assert (s.bucket, s.spark.workers, s.load.write_mode, s.glue.verbose) == ("acme-data", 2, "insert", True)
    with pytest.raises(TypeError, match="no setting is named 'workers'"):
        load_settings({}, workers=2)


def test_every_setting_has_one_variable_of_its_own() -> None:
    variables = [variable for variable, _, _ in describe_settings()]
    assert len(variables) == len(set(variables))
    assert len(SETTING_NAMES) == len(variables)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CSV2DDB_SPARK_JOB_COMMAND": "flink"}, "CSV2DDB_SPARK_JOB_COMMAND must be glueetl"),
        ({"CSV2DDB_GROUP_MAX_FILES": "0"}, "CSV2DDB_GROUP_MAX_FILES must be 1 or more"),
        ({"CSV2DDB_WRITE_MODE": "upsert_newer"}, "version_column"),
        ({"CSV2DDB_SPARK_WORKERS": "ten"}, "CSV2DDB_SPARK_WORKERS='ten': expected int"),
    ],
)
def test_a_bad_group_value_names_its_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_settings(env)
