"""The IAM documents are least privilege: every Resource scoped to the stack's own ARNs."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from csv2ddb.bootstrap import policies
from csv2ddb.bootstrap.base import canonical_policy
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.model import BootstrapError
from csv2ddb.settings import core_wheel_name, load_settings

ACCOUNT = "123456789012"
# No STS call: these are pure documents, so give the context a fixed identity.
IDENTITY = {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/tester"}

# The only wildcards allowed, each because AWS offers nothing narrower (see policies.py):
ALLOWED_WILDCARDS = [
    r"arn:aws:s3:::p1-data/(raw|rejected|manifests|staging|processed)/\*",  # objects under one prefix
    r"arn:aws:s3:::p1-data/manifests/\*\.json",  # the JSON under manifests/ (not the key lists)
    r"arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/\*(:log-stream:\*)?",  # Glue names them
    r"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/p1-trigger:\*",  # per-run streams
    r"arn:aws:secretsmanager:us-east-1:123456789012:secret:p1/airflow-api-\?\?\?\?\?\?",  # random suffix
    r"arn:aws:dynamodb:us-east-1:123456789012:table/p1-\*",  # tables a run's form may name
]


def context(**overrides: Any) -> StackContext:
    return StackContext(load_settings({}, prefix="p1", **overrides), identity=IDENTITY)


def resources(policy: dict[str, Any]) -> list[str]:
    found = []
    for statement in policy["Statement"]:
        value = statement["Resource"]
        found += [value] if isinstance(value, str) else value
    return found


def all_policies() -> list[dict[str, Any]]:
    mwaa = context(trigger_mode="mwaa", mwaa_environment="prod-airflow")
    return [
        policies.job_policy(context()),
        policies.lambda_policy(context()),
        policies.lambda_policy(mwaa),
    ]


@pytest.mark.parametrize("policy", all_policies())
def test_every_resource_is_scoped_to_the_stack(policy: dict[str, Any]) -> None:
    for resource in resources(policy):
        assert resource != "*"
        assert resource.startswith("arn:aws:"), resource
        assert ACCOUNT in resource or resource.startswith("arn:aws:s3:::p1-data"), resource
        if "*" in resource or "?" in resource:
            assert any(re.fullmatch(p, resource) for p in ALLOWED_WILDCARDS), resource


@pytest.mark.parametrize("policy", all_policies())
def test_no_action_wildcards_and_only_allow(policy: dict[str, Any]) -> None:
    for statement in policy["Statement"]:
        # The one Deny: the table pattern would cover the audit table (asserted below).
        assert statement["Effect"] == "Allow" or statement["Sid"] == "NeverTheAuditTable"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        for action in statement["Action"]:
            assert "*" not in action, action


def test_glue_role_reads_raw_script_and_core_and_writes_only_rejects_and_manifests() -> None:
    policy = policies.job_policy(context())
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadRawFilesAndScript"]["Resource"] == [
        "arn:aws:s3:::p1-data/raw/*",
        "arn:aws:s3:::p1-data/scripts/csv2ddb_load_job.py",
        f"arn:aws:s3:::p1-data/scripts/{core_wheel_name()}",
    ]
    assert by_sid["ReadRawFilesAndScript"]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert by_sid["WriteRejectsAndManifests"]["Resource"] == [
        "arn:aws:s3:::p1-data/rejected/*",
        "arn:aws:s3:::p1-data/manifests/*",
        "arn:aws:s3:::p1-data/staging/*",
    ]
    # a group run reads its group file and the files' stored manifests: JSON under manifests/ only
    assert by_sid["ReadGroupFilesAndManifests"]["Action"] == ["s3:GetObject"]
    assert by_sid["ReadGroupFilesAndManifests"]["Resource"] == ["arn:aws:s3:::p1-data/manifests/*.json"]
    assert by_sid["ListOwnPrefixes"]["Condition"]["StringLike"]["s3:prefix"] == [
        "raw/*",
        "rejected/*",
        "manifests/*",
    ]
    assert by_sid["WriteItemsTable"] == {
        "Sid": "WriteItemsTable",
        "Effect": "Allow",
        "Action": [
            "dynamodb:BatchWriteItem",
            "dynamodb:PutItem",
            "dynamodb:DescribeTable",
            "dynamodb:PartiQLInsert",
            "dynamodb:PartiQLUpdate",
        ],
        # the stack's tables: the items table, and those a run's form may name ("<prefix>-*") ...
        "Resource": [
            "arn:aws:dynamodb:us-east-1:123456789012:table/p1-*",
            "arn:aws:dynamodb:us-east-1:123456789012:table/p1-items",
        ],
    }
    # ... which would cover the audit table, so an explicit Deny keeps the job away from it.
    assert by_sid["NeverTheAuditTable"] == {
        "Sid": "NeverTheAuditTable",
        "Effect": "Deny",
        "Action": by_sid["WriteItemsTable"]["Action"],
        "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/p1-audit"],
    }
    writes = [(s["Sid"], a) for s in policy["Statement"] for a in s["Action"] if a.startswith("s3:Put")]
    # The processed zone (docs/analytics.md) is the one other place the job writes.
    assert writes == [("WriteRejectsAndManifests", "s3:PutObject"), ("WriteProcessedZone", "s3:PutObject")]


def test_lambda_role_reads_one_secret_and_calls_mwaa_only_in_mwaa_mode() -> None:
    plain = policies.lambda_policy(context())
    assert [s["Sid"] for s in plain["Statement"]] == [
        "ConsumeEventQueue",
        "ClaimEventObjects",
        "RecordUnroutedFiles",
        "ReadAirflowApiSecret",
        "ReadRoutingTable",
        "FunctionLogs",
    ]
    by_sid = {s["Sid"]: s for s in plain["Statement"]}
    assert by_sid["ReadRoutingTable"]["Resource"] == ["arn:aws:s3:::p1-data/config/routes.json"]
    assert by_sid["RecordUnroutedFiles"]["Action"] == ["dynamodb:PutItem"]
    assert by_sid["RecordUnroutedFiles"]["Resource"] == [
        "arn:aws:dynamodb:us-east-1:123456789012:table/p1-audit"
    ]
    claims = plain["Statement"][1]
    assert claims["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem"]
    assert claims["Resource"] == ["arn:aws:dynamodb:us-east-1:123456789012:table/p1-event-claims"]
    assert plain["Statement"][0]["Resource"] == ["arn:aws:sqs:us-east-1:123456789012:p1-events"]
    assert not [
        a for a in plain["Statement"][0]["Action"] if a in ("sqs:SendMessage", "sqs:*", "sqs:PurgeQueue")
    ]
    assert by_sid["ReadAirflowApiSecret"]["Action"] == ["secretsmanager:GetSecretValue"]

    mwaa = policies.lambda_policy(context(trigger_mode="mwaa", mwaa_environment="prod-airflow"))
    invoke = mwaa["Statement"][-1]
    assert invoke["Action"] == ["airflow:InvokeRestApi"]
    assert invoke["Resource"] == ["arn:aws:airflow:us-east-1:123456789012:role/prod-airflow/User"]


def test_mwaa_mode_without_environment_is_a_clear_error() -> None:
    with pytest.raises(BootstrapError, match="MWAA_ENVIRONMENT"):
        policies.lambda_policy(context(trigger_mode="mwaa"))


def test_trust_policies_name_one_service_each() -> None:
    for doc, service in [
        (policies.glue_trust_policy(), "glue.amazonaws.com"),
        (policies.lambda_trust_policy(), "lambda.amazonaws.com"),
    ]:
        (statement,) = doc["Statement"]
        assert statement["Principal"] == {"Service": service}
        assert statement["Action"] == "sts:AssumeRole"


def test_arns_follow_the_partition_from_sts() -> None:
    ctx = StackContext(
        load_settings({}, prefix="p1", region="cn-north-1"),
        identity={"Account": ACCOUNT, "Arn": f"arn:aws-cn:iam::{ACCOUNT}:user/tester"},
    )
    assert all(r.startswith("arn:aws-cn:") for r in resources(policies.job_policy(ctx)))
    assert ctx.table_arn("x") == f"arn:aws-cn:dynamodb:cn-north-1:{ACCOUNT}:table/x"


def test_policy_comparison_ignores_form_but_not_content() -> None:
    """IAM may hand back one-item lists as plain strings, or the JSON URL-encoded."""
    ours = policies.glue_trust_policy()
    as_returned = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "glue.amazonaws.com"}, "Action": ["sts:AssumeRole"]}
        ],
    }
    assert canonical_policy(as_returned) == canonical_policy(ours)
    assert canonical_policy(quote(json.dumps(as_returned))) == canonical_policy(ours)
    widened = json.loads(json.dumps(as_returned))
    widened["Statement"][0]["Principal"]["Service"] = "lambda.amazonaws.com"
    assert canonical_policy(widened) != canonical_policy(ours)
