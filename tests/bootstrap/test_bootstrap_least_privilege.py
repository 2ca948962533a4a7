"""The roles grant what the job and the Lambda need and nothing more, proven by a real policy engine.

ministack evaluates IAM policies when started with AUTH=true: these tests assume the bootstrap's
roles through STS and try allowed and forbidden calls with the temporary credentials.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from csv2ddb.bootstrap import Sources, create_stack
from csv2ddb.job_definitions import script_key
from csv2ddb.settings import Settings, load_settings
from csv2ddb_dev.emulator import Emulator, start_emulator

pytestmark = pytest.mark.emulator


@dataclass
class AuthStack:
    emulator: Emulator
    settings: Settings

    def root(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.emulator.endpoint_url, region_name="us-east-1")

    def as_role(self, role_name: str, service: str) -> Any:
        account = self.root("sts").get_caller_identity()["Account"]
        creds = self.root("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{role_name}", RoleSessionName="least-privilege-test"
        )["Credentials"]
        return boto3.client(
            service,
            endpoint_url=self.emulator.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )


@pytest.fixture(scope="module")
def auth_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthStack]:
    """Its own emulator with IAM enforcement on (the shared one runs without), stopped at the end."""
    workdir = tmp_path_factory.mktemp("auth-stack")
    emulator = start_emulator(workdir / "ministack", auth=True)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in emulator.client_env().items():
                patch.setenv(key, value)
            patch.delenv("AWS_PROFILE", raising=False)
            patch.delenv("AWS_SESSION_TOKEN", raising=False)
            settings = load_settings(prefix=f"lp{uuid.uuid4().hex[:8]}", create_table_in_bootstrap=True)
            lambda_dir = workdir / "lambda"
            lambda_dir.mkdir()
            (lambda_dir / "trigger_dag.py").write_text("def handler(event, context):\n    return event\n")
            (workdir / "job.py").write_text("print('job')\n")
            create_stack(settings, sources=Sources(glue_script=workdir / "job.py", lambda_dir=lambda_dir))
            stack = AuthStack(emulator, settings)
            s3 = stack.root("s3")
            for key in ("raw/in.csv", "manifests/old.json", "scripts/other.py"):
                s3.put_object(Bucket=settings.bucket, Key=key, Body=b"id\n1\n")
            stack.root("secretsmanager").create_secret(Name=f"{settings.prefix}-other", SecretString="{}")
            yield stack
    finally:
        emulator.stop()


def allowed(call: Callable[[], Any]) -> bool:
    try:
        call()
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"AccessDenied", "AccessDeniedException"}:
            return False
        raise
    return True


def test_glue_role_reads_raw_and_manifests_writes_manifests_and_rejects(auth_stack: AuthStack) -> None:
    s = auth_stack.settings
    s3 = auth_stack.as_role(s.glue.role_name, "s3")
    assert allowed(lambda: s3.get_object(Bucket=s.bucket, Key="raw/in.csv"))
    assert allowed(lambda: s3.get_object(Bucket=s.bucket, Key=script_key(s)))
    assert allowed(lambda: s3.put_object(Bucket=s.bucket, Key="manifests/run-1.json", Body=b"{}"))
    assert allowed(lambda: s3.put_object(Bucket=s.bucket, Key="rejected/run-1/rows.csv", Body=b"x"))
    assert allowed(lambda: s3.list_objects_v2(Bucket=s.bucket, Prefix="raw/"))

    # A group run (csv2ddb_core.group) reads its group file and, to skip the files a first attempt
    # loaded, their stored manifests: so the role now reads the JSON under manifests/ (before groups
    # it read nothing there). Nothing else under manifests/: not the key lists.
    assert allowed(lambda: s3.get_object(Bucket=s.bucket, Key="manifests/run-1.json"))
    s3.put_object(Bucket=s.bucket, Key="manifests/groups/g-1.json", Body=b"[]")
    assert allowed(lambda: s3.get_object(Bucket=s.bucket, Key="manifests/groups/g-1.json"))
    s3.put_object(Bucket=s.bucket, Key="manifests/run-1.keys.jsonl.gz", Body=b"x")
    assert not allowed(lambda: s3.get_object(Bucket=s.bucket, Key="manifests/run-1.keys.jsonl.gz"))
    assert not allowed(lambda: s3.get_object(Bucket=s.bucket, Key="scripts/other.py"))
    assert not allowed(lambda: s3.put_object(Bucket=s.bucket, Key="raw/new.csv", Body=b"x"))
    assert not allowed(lambda: s3.put_object(Bucket=s.bucket, Key=script_key(s), Body=b"x"))
    assert not allowed(lambda: s3.delete_object(Bucket=s.bucket, Key="raw/in.csv"))
    assert not allowed(lambda: s3.list_objects_v2(Bucket=s.bucket))


def test_glue_role_writes_only_the_items_table(auth_stack: AuthStack) -> None:
    s = auth_stack.settings
    ddb = auth_stack.as_role(s.glue.role_name, "dynamodb")
    item = {"id": {"S": "1"}}
    assert allowed(lambda: ddb.batch_write_item(RequestItems={s.table: [{"PutRequest": {"Item": item}}]}))
    assert allowed(lambda: ddb.put_item(TableName=s.table, Item=item))
    assert allowed(lambda: ddb.describe_table(TableName=s.table))

    audit_item = {"dag_run_id": {"S": "r"}, "source": {"S": "s"}}
    assert not allowed(lambda: ddb.put_item(TableName=s.audit_table, Item=audit_item))
    # A table a run's form names: allowed when CSV2DDB_TABLE_PATTERN ("<prefix>-*") covers it.
    root = auth_stack.root("dynamodb")
    for name in (f"{s.prefix}-orders", f"x{s.prefix}-orders"):
        root.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert allowed(lambda: ddb.put_item(TableName=f"{s.prefix}-orders", Item=item))
    assert not allowed(lambda: ddb.put_item(TableName=f"x{s.prefix}-orders", Item=item))
    assert not allowed(lambda: ddb.scan(TableName=s.table))
    assert not allowed(lambda: ddb.delete_table(TableName=s.table))


def test_lambda_role_reads_only_its_secret(auth_stack: AuthStack) -> None:
    s = auth_stack.settings
    secrets = auth_stack.as_role(s.lambda_role_name, "secretsmanager")
    assert allowed(lambda: secrets.get_secret_value(SecretId=s.airflow_api_secret_name))
    assert not allowed(lambda: secrets.get_secret_value(SecretId=f"{s.prefix}-other"))
    assert not allowed(
        lambda: secrets.put_secret_value(SecretId=s.airflow_api_secret_name, SecretString="{}")
    )
    s3 = auth_stack.as_role(s.lambda_role_name, "s3")
    assert not allowed(lambda: s3.get_object(Bucket=s.bucket, Key="raw/in.csv"))
