"""The analytics resources in creation order, and the IAM statements the analytics side needs:
the Glue job's (write the processed zone) and the Airflow side's (catalog, Athena, metrics).

``stack.resources`` lists :func:`analytics_resources` after the alerts topic (the alarms' action);
``policies.job_policy`` adds :func:`glue_job_statements`. Every statement names the stack's
own ARNs; the one ``*`` is ``cloudwatch:PutMetricData``, which has no resource-level form (AWS),
held to the stack's namespace by a condition.
"""

from __future__ import annotations

from typing import Any

from csv2ddb.analytics.config import ATHENA_RESULTS_PREFIX, analytics_config
from csv2ddb.bootstrap.base import Resource
from csv2ddb.bootstrap.context import StackContext

VERSION = "2012-10-17"


def analytics_resources(ctx: StackContext) -> list[Resource]:
    # Imported here: these resources read the provider's hooks' helpers (Airflow), while the
    # policies that import this module must stay importable without Airflow (the bench venv,
    # infra_bootstrap.py on a machine without Airflow).
    from csv2ddb.bootstrap.analytics_alarms import analytics_alarms
    from csv2ddb.bootstrap.analytics_athena import AthenaWorkgroup, SavedQueries
    from csv2ddb.bootstrap.analytics_catalog import AnalyticsDatabase, RejectsCatalogTable
    from csv2ddb.bootstrap.analytics_dashboard import LoadsDashboard

    return [
        AnalyticsDatabase(ctx),
        RejectsCatalogTable(ctx),
        AthenaWorkgroup(ctx),
        SavedQueries(ctx),
        *analytics_alarms(ctx),
        LoadsDashboard(ctx),
    ]


def glue_job_statements(ctx: StackContext) -> list[dict[str, Any]]:
    """The load job's processed zone: write (and, for a retried run, clear) its Parquet under
    ``processed/`` (the Spark driver also reads back the parts it widens), and read back its own
    ``rejects.csv`` to store it as Parquet."""
    cfg = analytics_config(ctx.settings)
    s = ctx.settings
    bucket = ctx.bucket_arn
    return [
        {
            "Sid": "WriteProcessedZone",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            "Resource": [f"{bucket}/{cfg.processed_prefix}*"],
        },
        {
            "Sid": "ReadOwnRejects",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"{bucket}/{s.rejected_prefix}*"],
        },
        {
            "Sid": "ListProcessedZone",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket],
            "Condition": {"StringLike": {"s3:prefix": [f"{cfg.processed_prefix}*"]}},
        },
    ]


def airflow_analytics_policy(ctx: StackContext) -> dict[str, Any]:
    """What the DAG's analytics step and the rollback need (attach it to Airflow's role)."""
    cfg = analytics_config(ctx.settings)
    s = ctx.settings
    bucket = ctx.bucket_arn
    catalog = [
        ctx.arn("glue", "catalog"),
        ctx.arn("glue", f"database/{cfg.database}"),
        ctx.arn("glue", f"table/{cfg.database}/*"),  # a table per dataset, made by its first load
    ]
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "CatalogTablesAndPartitions",
                "Effect": "Allow",
                "Action": [
                    "glue:GetTable",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchCreatePartition",
                    "glue:DeletePartition",
                    "glue:GetDatabase",
                ],
                "Resource": catalog,
            },
            {
                "Sid": "AthenaInOwnWorkgroup",
                "Effect": "Allow",
                "Action": [
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                ],
                "Resource": [ctx.arn("athena", f"workgroup/{cfg.workgroup}")],
            },
            {
                # Athena reads the zone and writes results with the caller's permissions.
                "Sid": "ReadZoneWriteResults",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [
                    f"{bucket}/{cfg.processed_prefix}*",
                    f"{bucket}/{s.rejected_prefix}*",
                    f"{bucket}/{ATHENA_RESULTS_PREFIX}*",
                ],
            },
            {
                "Sid": "ListZone",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [bucket],
            },
            {
                # PutMetricData has no resource-level permission: the condition holds it to ours.
                "Sid": "OwnMetrics",
                "Effect": "Allow",
                "Action": ["cloudwatch:PutMetricData"],
                "Resource": ["*"],
                "Condition": {"StringEquals": {"cloudwatch:namespace": cfg.namespace}},
            },
            {
                "Sid": "AlertTopic",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": [ctx.topic_arn],
            },
        ],
    }
