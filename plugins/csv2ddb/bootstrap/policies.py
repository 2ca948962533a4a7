"""IAM policy documents: least privilege, every statement scoped to the stack's own ARNs.

Wildcards appear only where AWS offers no narrower form, each said at its statement:
object keys under a prefix (``raw/*``), CloudWatch log groups/streams the service names at run
time, and the 6 random characters Secrets Manager appends to a secret's ARN.
"""

from __future__ import annotations

from typing import Any

from csv2ddb.bootstrap.analytics_stack import glue_job_statements
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.lambda_function import claims_table_name, queue_name
from csv2ddb.bootstrap.model import BootstrapError
from csv2ddb.engines import PYTHONSHELL, engine_spec
from csv2ddb.job_definitions import script_key

VERSION = "2012-10-17"
Policy = dict[str, Any]

LAMBDA_POLICY_NAME = "csv2ddb-trigger"


def trust_policy(service_principal: str) -> Policy:
    """Who may assume the role: only the one AWS service that runs our code."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service_principal},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def glue_trust_policy() -> Policy:
    return trust_policy("glue.amazonaws.com")


def lambda_trust_policy() -> Policy:
    return trust_policy("lambda.amazonaws.com")


# What the load job does to a table it loads.
ITEM_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:PutItem",
    "dynamodb:DescribeTable",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
)


def job_policy(ctx: StackContext, engine: str = PYTHONSHELL) -> Policy:
    """What an engine's load job does: read raw CSVs and its own script, write rejects and
    manifests, write items into the items table (or a table the stack's pattern names, never the
    audit table), and log; plus what the engine alone needs (its spec's ``role_statements``: the
    Spark driver merges its splits' parts)."""
    s = ctx.settings
    bucket = ctx.bucket_arn
    return {
        "Version": VERSION,
        "Statement": [
            {
                # "<prefix>*" is the only way to name the objects under a prefix.
                # GetObjectVersion: the job pins its re-reads to the version it started with.
                "Sid": "ReadRawFilesAndScript",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [
                    f"{bucket}/{s.raw_prefix}*",
                    f"{bucket}/{script_key(s, engine)}",
                    f"{bucket}/{s.core_wheel_key}",
                ],
            },
            {
                "Sid": "WriteRejectsAndManifests",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                "Resource": [
                    f"{bucket}/{s.rejected_prefix}*",
                    f"{bucket}/{s.manifests_prefix}*",
                    f"{bucket}/{s.staging_prefix}*",  # the import path's staged DynamoDB JSON
                ],
            },
            {
                # A group run (csv2ddb_core.group) reads its group file (manifests/groups/<id>.json)
                # and, to skip what a first attempt loaded, each file's stored manifest.
                "Sid": "ReadGroupFilesAndManifests",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{bucket}/{s.manifests_prefix}*.json"],
            },
            {
                # Listing is a bucket-level action; the condition limits it to our prefixes.
                "Sid": "ListOwnPrefixes",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [bucket],
                "Condition": {
                    "StringLike": {
                        "s3:prefix": [
                            f"{s.raw_prefix}*",
                            f"{s.rejected_prefix}*",
                            f"{s.manifests_prefix}*",
                        ]
                    }
                },
            },
            {
                # PutItem: the job retries a batch DynamoDB refused item by item to reject only the
                # bad rows. PartiQL Insert/Update: the conditional write modes (insert, upsert_newer).
                "Sid": "WriteItemsTable",
                "Effect": "Allow",
                "Action": list(ITEM_ACTIONS),
                "Resource": sorted({ctx.table_arn(s.table), ctx.table_arn(s.table_pattern)}),
            },
            {
                # The pattern ("<prefix>-*") would cover the audit table: an explicit Deny wins.
                "Sid": "NeverTheAuditTable",
                "Effect": "Deny",
                "Action": list(ITEM_ACTIONS),
                "Resource": [ctx.table_arn(s.audit_table)],
            },
            {
                # Glue names its log groups under /aws-glue/ (python-jobs/output, jobs/error, ...)
                # and its streams per run id: only a wildcard below /aws-glue/ can name them.
                "Sid": "GlueJobLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [
                    ctx.log_group_arn("/aws-glue/*"),
                    ctx.log_group_arn("/aws-glue/*:log-stream:*"),
                ],
            },
            # The processed zone (docs/analytics.md): write processed/*, read back its own rejects.
            *glue_job_statements(ctx),
            *engine_spec(engine).role_statements(bucket, s.manifests_prefix),
        ],
    }


def lambda_policy(ctx: StackContext) -> Policy:
    """What the S3-event Lambda does: consume the events queue, read the Airflow API login, log, and
    (MWAA mode) call MWAA."""
    s = ctx.settings
    log_group = f"/aws/lambda/{s.lambda_function_name}"
    statements: list[dict[str, Any]] = [
        {
            # The event source mapping receives and deletes through the function's role; the
            # handler drains the queue itself (lambda/queue_drain.py).
            "Sid": "ConsumeEventQueue",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            ],
            "Resource": [ctx.arn("sqs", queue_name(s))],
        },
        {
            # The ledger of which run each object went to (lambda/claims.py): conditional puts.
            "Sid": "ClaimEventObjects",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
            "Resource": [ctx.table_arn(claims_table_name(s))],
        },
        {
            # A file no dataset claims is recorded, never loaded (lambda/routes.py): one PutItem.
            "Sid": "RecordUnroutedFiles",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem"],
            "Resource": [ctx.table_arn(s.audit_table)],
        },
        {
            # "-??????": the random suffix Secrets Manager adds to the secret's ARN.
            "Sid": "ReadAirflowApiSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [ctx.secret_arn_pattern],
        },
        {
            # Which dataset's DAG a key goes to (bootstrap/routing_table.py): that one object.
            "Sid": "ReadRoutingTable",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{ctx.bucket_arn}/{s.routes_key}"],
        },
        {
            # Lambda creates one stream per execution environment, named at run time.
            "Sid": "FunctionLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [ctx.log_group_arn(log_group), ctx.log_group_arn(f"{log_group}:*")],
        },
    ]
    if s.trigger_mode == "mwaa":
        if not s.mwaa_environment:
            raise BootstrapError("CSV2DDB_TRIGGER_MODE=mwaa needs CSV2DDB_MWAA_ENVIRONMENT (its name)")
        statements.append(
            {
                "Sid": "InvokeMwaaRestApi",
                "Effect": "Allow",
                "Action": ["airflow:InvokeRestApi"],
                "Resource": [ctx.mwaa_rest_api_arn()],
            }
        )
    return {"Version": VERSION, "Statement": statements}
