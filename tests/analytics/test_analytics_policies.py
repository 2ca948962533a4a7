"""The analytics side's IAM is least privilege: the Glue job may write only the processed zone,
Airflow's analytics step only the stack's catalog, workgroup, namespace and topic (no emulator)."""

from __future__ import annotations

import re
from typing import Any

from csv2ddb.bootstrap.analytics_stack import airflow_analytics_policy, glue_job_statements
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.settings import load_settings

ACCOUNT = "123456789012"
IDENTITY = {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/tester"}
# Each wildcard because AWS offers nothing narrower: objects under one prefix, a table per dataset.
ALLOWED_WILDCARDS = [
    r"arn:aws:s3:::p1-data/(processed|rejected|athena-results)/\*",
    r"arn:aws:glue:us-east-1:123456789012:table/p1_analytics/\*",
]


def context() -> StackContext:
    return StackContext(load_settings({}, prefix="p1"), identity=IDENTITY)


def _resources(statements: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(s["Sid"], r) for s in statements for r in s["Resource"]]


def test_the_glue_job_writes_only_the_processed_zone() -> None:
    statements = glue_job_statements(context())
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["WriteProcessedZone"]["Resource"] == ["arn:aws:s3:::p1-data/processed/*"]
    assert by_sid["ReadOwnRejects"]["Action"] == ["s3:GetObject"]
    assert by_sid["ListProcessedZone"]["Condition"] == {"StringLike": {"s3:prefix": ["processed/*"]}}


def test_every_resource_is_the_stacks_own() -> None:
    policy = airflow_analytics_policy(context())
    for sid, resource in _resources(policy["Statement"]) + _resources(glue_job_statements(context())):
        if resource == "*":
            assert sid == "OwnMetrics"  # PutMetricData has no resource-level form
            continue
        assert resource.startswith("arn:aws:"), resource
        # Glue authorizes every table call on the account's catalog ARN too (it has no name).
        assert "p1" in resource or resource == f"arn:aws:glue:us-east-1:{ACCOUNT}:catalog", resource
        if "*" in resource:
            assert any(re.fullmatch(p, resource) for p in ALLOWED_WILDCARDS), resource
    metrics = next(s for s in policy["Statement"] if s["Sid"] == "OwnMetrics")
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "csv2ddb/p1"}}
    for statement in policy["Statement"]:
        assert all("*" not in action for action in statement["Action"])
