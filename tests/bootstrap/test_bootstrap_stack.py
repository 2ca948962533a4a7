"""create → status → create again → delete → status, drift repair and tag-checked delete,
against the real local emulator (ministack)."""

from __future__ import annotations

import dataclasses
import io
import json
import time
import zipfile
from typing import Any

import boto3
import pytest
from csv2ddb.bootstrap import ForeignResourceError, Sources, create_stack, delete_stack, stack_status
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.model import ABSENT, CREATED, DELETED, KEPT, SKIPPED, UNCHANGED, UPDATED
from csv2ddb.bootstrap.stack import ensure, resources
from csv2ddb.datasets.registry import load_all
from csv2ddb.job_definitions import script_key, script_uri
from csv2ddb.settings import Settings, load_settings

pytestmark = pytest.mark.emulator

# The tables of the dataset files every stack of these tests deploys (the default folder: the
# repo's dags/datasets/, unless CSV2DDB_DATASETS_DIR says otherwise): a staleness alarm each.
DATASET_TABLES = load_all(Sources().datasets_dir, load_settings({})).tables
KINDS = [
    "s3-bucket",
    "glue-script",
    "glue-spark-script",
    "glue-core-wheel",
    "routing-table",
    "iam-role",
    "iam-role",
    "iam-role",
    "dynamodb-table",
    "dynamodb-table",
    "sns-topic",
    # the analytics side (docs/analytics.md), after the topic its alarms page
    "glue-database",
    "glue-table",
    "athena-workgroup",
    "athena-queries",
    "cloudwatch-alarm",  # a failed load
    "cloudwatch-alarm",  # the reject rate
    *["cloudwatch-alarm"] * (len(DATASET_TABLES) + 1),  # staleness: each dataset's table, the items table
    "cloudwatch-dashboard",
    "secret",
    "glue-job",
    "glue-spark-job",
    "sqs-queue",
    "sqs-queue",
    "dynamodb-table",
    "lambda-function",
    "lambda-event-source",
    "s3-notification",
]
LOGIN = {"CSV2DDB_AIRFLOW_API_USERNAME": "alice", "CSV2DDB_AIRFLOW_API_PASSWORD": "pw-local-test"}


def by_kind_name(items: list[Any]) -> dict[tuple[str, str], Any]:
    return {(i.kind, i.name): i for i in items}


def assert_all_match(settings: Settings, sources: Sources) -> None:
    statuses = stack_status(settings, sources=sources, env=LOGIN)
    assert [s.kind for s in statuses] == KINDS
    # Every managed resource exists and matches; one the settings leave unmanaged (the analytics
    # side when off) exists nowhere.
    bad = [s for s in statuses if not (s.exists and s.matches if s.enabled else not s.exists)]
    assert bad == []


def test_create_status_create_again_delete_status(
    stack_settings: Settings, sources: Sources, boto_session: boto3.Session
) -> None:
    # The whole stack as the product's default makes it: the analytics side on (the harness
    # passes it off elsewhere).
    stack_settings = stack_settings.with_load(processed=True)
    first = create_stack(stack_settings, sources=sources, env=LOGIN)
    assert [c.action for c in first] == [CREATED] * len(KINDS)
    assert_all_match(stack_settings, sources)

    before = fingerprint(stack_settings, boto_session)
    again = create_stack(stack_settings, sources=sources, env=LOGIN)
    assert [c.action for c in again] == [UNCHANGED] * len(KINDS)
    assert not any(c.changed for c in again)
    assert fingerprint(stack_settings, boto_session) == before  # really no write: same versions/times

    # What was created is what the spec says (read back through plain boto3, not our code).
    s3 = boto_session.client("s3", endpoint_url=stack_settings.endpoint_url)
    assert s3.get_bucket_versioning(Bucket=stack_settings.bucket)["Status"] == "Enabled"
    job = boto_session.client("glue", endpoint_url=stack_settings.endpoint_url).get_job(
        JobName=stack_settings.glue.job_name
    )["Job"]
    assert job["Command"]["Name"] == "pythonshell"
    assert job["Command"]["PythonVersion"] == "3.9"
    assert job["DefaultArguments"]["--manifest_prefix"] == "manifests/"
    # Glue installs the load core from the wheel the bootstrap built and uploaded.
    wheel = job["DefaultArguments"]["--extra-py-files"]
    assert wheel == stack_settings.core_wheel_s3_uri
    assert wheel.endswith(".whl")
    body = s3.get_object(Bucket=stack_settings.bucket, Key=stack_settings.core_wheel_key)["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert "csv2ddb_core/contract.py" in names
    assert "csv2ddb_core/load.py" in names
    secret = boto_session.client("secretsmanager", endpoint_url=stack_settings.endpoint_url)
    value = json.loads(
        secret.get_secret_value(SecretId=stack_settings.airflow_api_secret_name)["SecretString"]
    )
    assert value == {"username": "alice", "password": "pw-local-test"}

    deleted = delete_stack(stack_settings, sources=sources)
    assert {c.action for c in deleted} == {DELETED}
    after = stack_status(stack_settings, sources=sources)
    assert [s for s in after if s.exists] == []
    assert not s3.list_buckets().get("Buckets") or stack_settings.bucket not in {
        b["Name"] for b in s3.list_buckets()["Buckets"]
    }


def test_delete_empties_a_versioned_bucket_and_copes_with_a_half_created_stack(
    stack_settings: Settings, sources: Sources, boto_session: boto3.Session
) -> None:
    ctx = StackContext(stack_settings, sources)
    # Half a stack: only the first four resources (bucket, script, wheel, Glue role).
    for resource in resources(ctx)[:4]:
        assert ensure(resource).action == CREATED
    s3 = boto_session.client("s3", endpoint_url=stack_settings.endpoint_url)
    for body in (b"a,b\n1,2\n", b"a,b\n3,4\n"):  # two versions of one key ...
        s3.put_object(Bucket=stack_settings.bucket, Key="raw/x.csv", Body=body)
    s3.delete_object(Bucket=stack_settings.bucket, Key="raw/x.csv")  # ... and a delete marker

    changes = by_kind_name(delete_stack(stack_settings, sources=sources))
    assert changes[("s3-bucket", stack_settings.bucket)].action == DELETED
    assert changes[("glue-job", stack_settings.glue.job_name)].action == ABSENT
    assert changes[("lambda-function", stack_settings.lambda_function_name)].action == ABSENT
    assert [s for s in stack_status(stack_settings, sources=sources) if s.exists] == []


def test_delete_after_resources_vanished_behind_its_back(
    stack_settings: Settings, sources: Sources, boto_session: boto3.Session
) -> None:
    create_stack(stack_settings, sources=sources)
    endpoint = stack_settings.endpoint_url
    boto_session.client("lambda", endpoint_url=endpoint).delete_function(
        FunctionName=stack_settings.lambda_function_name
    )
    boto_session.client("dynamodb", endpoint_url=endpoint).delete_table(TableName=stack_settings.audit_table)

    changes = by_kind_name(delete_stack(stack_settings, sources=sources))
    assert changes[("lambda-function", stack_settings.lambda_function_name)].action == ABSENT
    assert changes[("dynamodb-table", stack_settings.audit_table)].action == ABSENT
    assert changes[("glue-job", stack_settings.glue.job_name)].action == DELETED
    assert [s for s in stack_status(stack_settings, sources=sources) if s.exists] == []


def test_drift_is_reported_and_create_repairs_it(
    stack_settings: Settings, sources: Sources, boto_session: boto3.Session
) -> None:
    create_stack(stack_settings, sources=sources, env=LOGIN)
    endpoint = stack_settings.endpoint_url
    glue = boto_session.client("glue", endpoint_url=endpoint)
    job = glue.get_job(JobName=stack_settings.glue.job_name)["Job"]
    glue.update_job(
        JobName=stack_settings.glue.job_name,
        JobUpdate={
            "Role": job["Role"],
            "Command": {**job["Command"], "PythonVersion": "3"},
            "MaxCapacity": 1.0,
            "DefaultArguments": {"--manifest_prefix": "elsewhere/"},
        },
    )
    assert sources.glue_script is not None
    sources.glue_script.write_text(sources.glue_script.read_text() + "\n# edited\n")
    core = sources.glue_dir / "csv2ddb_core" / "contract.py"
    core.write_text(core.read_text() + "\n# edited\n")
    iam = boto_session.client("iam", endpoint_url=endpoint)
    iam.attach_role_policy(
        RoleName=stack_settings.glue.role_name, PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess"
    )

    statuses = by_kind_name(stack_status(stack_settings, sources=sources, env=LOGIN))
    job_status = statuses[("glue-job", stack_settings.glue.job_name)]
    assert job_status.exists
    assert not job_status.matches
    assert "PythonVersion" in job_status.detail
    assert "MaxCapacity" in job_status.detail
    assert not statuses[("glue-script", script_uri(stack_settings))].matches
    wheel = statuses[("glue-core-wheel", stack_settings.core_wheel_s3_uri)]
    assert not wheel.matches
    assert "content sha256" in wheel.detail
    role = statuses[("iam-role", stack_settings.glue.role_name)]
    assert not role.matches
    assert "AmazonS3FullAccess" in role.detail
    assert [s.kind for s in statuses.values() if not s.matches] == [
        "glue-script",
        "glue-core-wheel",
        "iam-role",
        "glue-job",
        "lambda-function",  # its zip bundles the core's contract, which was edited too
    ]

    changes = by_kind_name(create_stack(stack_settings, sources=sources, env=LOGIN))
    assert changes[("glue-job", stack_settings.glue.job_name)].action == UPDATED
    assert changes[("glue-script", script_uri(stack_settings))].action == UPDATED
    assert changes[("glue-core-wheel", stack_settings.core_wheel_s3_uri)].action == UPDATED
    assert changes[("iam-role", stack_settings.glue.role_name)].action == UPDATED
    assert_all_match(stack_settings, sources)
    assert iam.list_attached_role_policies(RoleName=stack_settings.glue.role_name)["AttachedPolicies"] == []
    delete_stack(stack_settings, sources=sources)


def test_secret_value_drift_is_detected_without_showing_it(
    stack_settings: Settings, sources: Sources, boto_session: boto3.Session
) -> None:
    create_stack(stack_settings, sources=sources, env=LOGIN)
    new_login = {**LOGIN, "CSV2DDB_AIRFLOW_API_PASSWORD": "rotated-pw"}
    (secret,) = [
        s for s in stack_status(stack_settings, sources=sources, env=new_login) if s.kind == "secret"
    ]
    assert not secret.matches
    assert "rotated-pw" not in secret.detail
    assert "pw-local-test" not in secret.detail
    create_stack(stack_settings, sources=sources, env=new_login)
    sm = boto_session.client("secretsmanager", endpoint_url=stack_settings.endpoint_url)
    value = json.loads(sm.get_secret_value(SecretId=stack_settings.airflow_api_secret_name)["SecretString"])
    assert value["password"] == "rotated-pw"
    delete_stack(stack_settings, sources=sources)


def test_delete_and_create_leave_a_same_named_untagged_resource_alone(
    stack_settings: Settings, sources: Sources, boto_session: boto3.Session
) -> None:
    stack_settings = stack_settings.with_load(processed=True)  # every resource managed: none skipped
    endpoint = stack_settings.endpoint_url
    sns = boto_session.client("sns", endpoint_url=endpoint)
    foreign_arn = sns.create_topic(Name=stack_settings.alerts_topic_name)["TopicArn"]
    ddb = boto_session.client("dynamodb", endpoint_url=endpoint)
    ddb.create_table(
        TableName=stack_settings.table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "csv2ddb:stack", "Value": "someone-else"}],
    )

    with pytest.raises(ForeignResourceError, match="not tagged") as refused:
        create_stack(stack_settings, sources=sources)
    assert stack_settings.alerts_topic_name in str(refused.value)
    assert stack_settings.table in str(refused.value)
    assert [s.name for s in stack_status(stack_settings, sources=sources) if s.exists] == [
        stack_settings.table,
        stack_settings.alerts_topic_name,
    ]  # create refused before changing anything

    changes = by_kind_name(delete_stack(stack_settings, sources=sources))
    assert changes[("sns-topic", stack_settings.alerts_topic_name)].action == KEPT
    assert changes[("dynamodb-table", stack_settings.table)].action == KEPT
    assert {c.action for c in changes.values()} == {KEPT, ABSENT}
    sns.get_topic_attributes(TopicArn=foreign_arn)  # still there
    ddb.describe_table(TableName=stack_settings.table)
    statuses = by_kind_name(stack_status(stack_settings, sources=sources))
    topic = statuses[("sns-topic", stack_settings.alerts_topic_name)]
    assert topic.exists
    assert not topic.matches
    assert "not tagged" in topic.detail
    sns.delete_topic(TopicArn=foreign_arn)
    ddb.delete_table(TableName=stack_settings.table)


def test_items_table_is_skipped_when_not_managed_by_the_bootstrap(
    stack_settings: Settings, sources: Sources
) -> None:
    settings = dataclasses.replace(stack_settings, create_table_in_bootstrap=False)
    changes = by_kind_name(create_stack(settings, sources=sources))
    assert changes[("dynamodb-table", settings.table)].action == SKIPPED
    statuses = by_kind_name(stack_status(settings, sources=sources))
    items = statuses[("dynamodb-table", settings.table)]
    assert items.ok
    assert not items.exists
    assert all(s.ok for s in statuses.values())
    delete_stack(settings, sources=sources)


def test_created_stack_works_notification_invokes_lambda_and_glue_job_runs(
    stack_settings: Settings, sources: Sources, boto_session: boto3.Session
) -> None:
    create_stack(stack_settings, sources=sources)
    endpoint = stack_settings.endpoint_url
    s3 = boto_session.client("s3", endpoint_url=endpoint)
    s3.put_object(Bucket=stack_settings.bucket, Key="raw/in.csv", Body=b"id\n1\n")
    s3.put_object(Bucket=stack_settings.bucket, Key="raw/ignored.txt", Body=b"x")
    seen = wait_for_object(s3, stack_settings.bucket, "manifests/seen/raw/in.csv")
    assert seen == b"csv2ddb_load"  # the handler read CSV2DDB_DAG_ID set by the bootstrap

    glue = boto_session.client("glue", endpoint_url=endpoint)
    run_id = glue.start_job_run(JobName=stack_settings.glue.job_name)["JobRunId"]
    deadline = time.monotonic() + 120
    while (state := glue.get_job_run(JobName=stack_settings.glue.job_name, RunId=run_id)["JobRun"])[
        "JobRunState"
    ] in {"STARTING", "RUNNING", "WAITING"} and time.monotonic() < deadline:
        time.sleep(0.5)
    assert state["JobRunState"] == "SUCCEEDED", state
    # DefaultArguments from the bootstrap reached the job.
    marker = s3.get_object(Bucket=stack_settings.bucket, Key="manifests/glue-ran.json")["Body"].read()
    assert marker == str(stack_settings.load.write_concurrency).encode()
    assert "manifests/seen/raw/ignored.txt" not in {
        o["Key"] for o in s3.list_objects_v2(Bucket=stack_settings.bucket).get("Contents", [])
    }
    delete_stack(stack_settings, sources=sources)


def wait_for_object(s3: Any, bucket: str, key: str, timeout: float = 60) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def fingerprint(settings: Settings, session: boto3.Session) -> dict[str, Any]:
    """Server-side versions and modification times that any write would change."""
    endpoint = settings.endpoint_url
    s3 = session.client("s3", endpoint_url=endpoint)
    versions = s3.list_object_versions(Bucket=settings.bucket, Prefix=script_key(settings)).get(
        "Versions", []
    )
    function = session.client("lambda", endpoint_url=endpoint).get_function_configuration(
        FunctionName=settings.lambda_function_name
    )
    job = session.client("glue", endpoint_url=endpoint).get_job(JobName=settings.glue.job_name)["Job"]
    secret = session.client("secretsmanager", endpoint_url=endpoint).list_secret_version_ids(
        SecretId=settings.airflow_api_secret_name
    )
    return {
        "script_versions": [v["VersionId"] for v in versions],
        "lambda": (function["LastModified"], function["CodeSha256"], function["RevisionId"]),
        "glue_job": job["LastModifiedOn"],
        "secret_versions": sorted(v["VersionId"] for v in secret["Versions"]),
    }
