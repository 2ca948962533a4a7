"""Analytics names and knobs come from the stack's Settings (CSV2DDB_* variables; no emulator)."""

from __future__ import annotations

import pytest
from csv2ddb.analytics.config import analytics_config, catalog_name
from csv2ddb.engines import PYTHONSHELL, SPARK, default_arguments
from csv2ddb.settings import load_settings


def test_names_follow_the_stack_prefix_and_the_cores_layout() -> None:
    cfg = analytics_config(load_settings({"CSV2DDB_PROCESSED": "true"}, prefix="my-stack"))
    assert cfg.database == "my_stack_analytics"
    assert cfg.items_table("my-stack-items") == "my_stack_items"
    assert cfg.items_location("my-stack-items") == "s3://my-stack-data/processed/my-stack-items/"
    assert cfg.rejects_location == "s3://my-stack-data/rejected/parquet/"
    assert cfg.workgroup == "my-stack-analytics"
    assert cfg.namespace == "csv2ddb/my-stack"
    assert cfg.job_arguments == {"--processed": "true", "--processed_prefix": "processed/"}


def test_the_zone_is_off_by_default() -> None:
    assert analytics_config(load_settings({}, prefix="p")).job_arguments["--processed"] == "false"


def test_knobs_are_read_and_checked() -> None:
    env = {
        "CSV2DDB_PROCESSED": "false",
        "CSV2DDB_STALE_AFTER_HOURS": "6",
        "CSV2DDB_ATHENA_SCAN_LIMIT_MB": "50",
    }
    cfg = analytics_config(load_settings(env, prefix="p"))
    assert cfg.job_arguments["--processed"] == "false"
    assert cfg.stale_after_hours == 6
    assert cfg.athena_scan_limit_mb == 50
    with pytest.raises(ValueError, match="ATHENA_SCAN_LIMIT_MB >= 10"):
        load_settings({"CSV2DDB_ATHENA_SCAN_LIMIT_MB": "5"}, prefix="p")
    with pytest.raises(ValueError, match="CSV2DDB_PROCESSED"):
        load_settings({"CSV2DDB_PROCESSED": "sometimes"}, prefix="p")


def test_a_name_without_letters_is_refused() -> None:
    with pytest.raises(ValueError, match="no letter or digit"):
        catalog_name("---")


def test_the_glue_jobs_get_the_zone_arguments_and_the_shell_its_library_set() -> None:
    settings = load_settings({"CSV2DDB_PROCESSED": "true"}, prefix="p")
    shell, spark = default_arguments(settings, PYTHONSHELL), default_arguments(settings, SPARK)
    assert shell["--processed"] == spark["--processed"] == "true"
    assert shell["--processed_prefix"] == "processed/"
    assert shell["library-set"] == "analytics"  # Glue's own key (no "--"): the preloaded pyarrow
    assert "library-set" not in spark  # Glue 5.0 Spark ships pyarrow


def test_with_the_analytics_side_off_the_bootstrap_skips_its_resources() -> None:
    from csv2ddb.bootstrap.analytics_stack import analytics_resources
    from csv2ddb.bootstrap.context import StackContext
    from csv2ddb.bootstrap.model import SKIPPED
    from csv2ddb.bootstrap.stack import ensure

    identity = {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/t"}
    ctx = StackContext(load_settings({}, prefix="p"), identity=identity)  # no client is ever made
    changes = [ensure(resource) for resource in analytics_resources(ctx)]
    assert {c.action for c in changes} == {SKIPPED}
    assert len(changes) == 8
