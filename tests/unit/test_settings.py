"""Settings: one prefix builds every name; CSV2DDB_* variables override with clear errors."""

from __future__ import annotations

import pytest
from csv2ddb.engines import script_uri
from csv2ddb.settings import STACK_TAG_KEY, load_settings


def test_defaults_derive_every_name_from_the_prefix() -> None:
    s = load_settings({})
    assert s.bucket == "csv2ddb-data"
    assert s.table == "csv2ddb-items"
    assert s.glue_job_name == "csv2ddb-load"
    assert s.lambda_function_name == "csv2ddb-trigger"
    assert s.airflow_api_secret_name == "csv2ddb/airflow-api"
    assert s.endpoint_url is None  # real AWS unless told otherwise
    assert s.tags[STACK_TAG_KEY] == "csv2ddb"


def test_prefix_override_renames_the_whole_stack() -> None:
    s = load_settings({"CSV2DDB_PREFIX": "acme"})
    assert (s.bucket, s.table, s.audit_table, s.glue_role_name) == (
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
    assert s.glue_verbose is True
    assert s.write_concurrency == 4
    assert s.glue_max_capacity == 1.0
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
    """``CSV2DDB_ENGINE`` takes ``auto`` or an engine the contract names, and the registry holds
    one spec for each of those (the settings cannot import the registry: it reads the settings)."""
    from csv2ddb.engines import ENGINES as REGISTERED
    from csv2ddb.settings import ENGINES as CHOICES
    from csv2ddb_core.contract import ENGINE_NAMES

    assert tuple(REGISTERED) == ENGINE_NAMES
    assert ("auto", *ENGINE_NAMES) == CHOICES
