"""Analytics names and knobs come from the stack's Settings (CSV2DDB_* variables; no emulator)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from csv2ddb.analytics.config import analytics_config, catalog_name
from csv2ddb.engines import PYTHONSHELL, SPARK
from csv2ddb.job_definitions import default_arguments
from csv2ddb.settings import load_settings
from csv2ddb_dev.emulator import SERVICES

REPO = Path(__file__).resolve().parents[2]


def test_names_follow_the_stack_prefix_and_the_cores_layout() -> None:
    cfg = analytics_config(load_settings({"CSV2DDB_PROCESSED": "true"}, prefix="my-stack"))
    assert cfg.database == "my_stack_analytics"
    assert cfg.items_table("my-stack-items") == "my_stack_items"
    assert cfg.items_location("my-stack-items") == "s3://my-stack-data/processed/my-stack-items/"
    assert cfg.rejects_location == "s3://my-stack-data/rejected/parquet/"
    assert cfg.workgroup == "my-stack-analytics"
    assert cfg.namespace == "csv2ddb/my-stack"
    assert cfg.job_arguments == {"--processed": "true", "--processed_prefix": "processed/"}


def test_the_zone_is_on_by_default_and_the_setting_turns_it_off() -> None:
    assert analytics_config(load_settings({}, prefix="p")).job_arguments["--processed"] == "true"
    off = load_settings({"CSV2DDB_PROCESSED": "false"}, prefix="p")
    assert analytics_config(off).job_arguments["--processed"] == "false"


# The AWS service each client of the analytics side reaches: boto3 clients by name, provider hooks
# by class.
HOOK_SERVICES = {
    "AthenaHook": "athena",
    "GlueCatalogHook": "glue",
    "SnsHook": "sns",
    "S3Hook": "s3",
    "StsHook": "sts",
}
ANALYTICS_SOURCES = [
    *sorted((REPO / "plugins" / "csv2ddb" / "analytics").glob("*.py")),
    *sorted((REPO / "plugins" / "csv2ddb" / "bootstrap").glob("analytics_*.py")),
    REPO / "plugins" / "csv2ddb" / "alerts.py",  # the analytics step's failure alert (SNS)
]


def services_called(text: str) -> set[str]:
    named = re.findall(r"""(?:client\(|client_type=)["']([a-z0-9-]+)["']""", text)
    hooks = [HOOK_SERVICES[h] for h in re.findall(r"\b(\w+Hook)\(", text) if h in HOOK_SERVICES]
    unknown = {h for h in re.findall(r"\b(\w+Hook)\(", text)} - set(HOOK_SERVICES) - {"AwsBaseHook"}
    assert not unknown, f"map {unknown} to their AWS service in HOOK_SERVICES"
    return {*named, *hooks}


def test_the_local_stack_starts_every_service_the_analytics_side_calls() -> None:
    """The emulator the local stack and the harness start (``SERVICES``), and docker compose's,
    run every AWS service the analytics side's code calls: with the zone on by default, a missing
    one would fail (and alert) every local load's analytics step."""
    called: set[str] = set()
    for path in ANALYTICS_SOURCES:
        called |= services_called(path.read_text())
    assert {"athena", "cloudwatch", "glue", "s3", "sns"} <= called  # the scan finds them
    assert called <= set(SERVICES.split(","))
    compose = yaml.safe_load((REPO / "docker-compose.yaml").read_text())
    assert compose["services"]["ministack"]["environment"]["SERVICES"] == SERVICES


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
    off = load_settings({"CSV2DDB_PROCESSED": "false"}, prefix="p")
    ctx = StackContext(off, identity=identity)  # no client is ever made
    changes = [ensure(resource) for resource in analytics_resources(ctx)]
    assert {c.action for c in changes} == {SKIPPED}
    # database, rejects table, workgroup, queries, two stack alarms, dashboard, and a staleness
    # alarm per watched table: the items table and each dataset of dags/datasets/
    watched = [c.name for c in changes if c.name.startswith("p-stale-")]
    assert watched == ["p-stale-p-flights", "p-stale-p-items", "p-stale-p-planes", "p-stale-p-weather"]
    assert len(changes) == 7 + len(watched)


def test_the_watched_tables_are_the_items_table_and_each_dataset_s_once() -> None:
    cfg = analytics_config(load_settings({}, prefix="p"))
    assert cfg.watched_tables(["p-orders", "p-items", "p-orders"]) == ("p-items", "p-orders")
    assert cfg.stale_alarm("p-orders") == f"{cfg.stale_alarm_prefix}p-orders" == "p-stale-p-orders"
