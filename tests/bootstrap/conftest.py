"""Fixtures for the bootstrap tests: tiny deployable sources in a temp dir.

The stack deploys files (the Glue script, the core's wheel, the Lambda package); tests deploy small
ones of their own (and a copy of the core) so they do not depend on, or change, glue/ and lambda/.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from csv2ddb.bootstrap import Sources
from csv2ddb.settings import Settings, load_settings

REPO_GLUE = Path(__file__).resolve().parents[2] / "glue"

# Writes a marker object per S3 record the events queue hands it (S3 -> SQS -> event source
# mapping -> Lambda), so a test can see the notification wiring work.
HANDLER = """
import json
import os
import boto3


def handler(event, context):
    s3 = boto3.client("s3")
    for message in event.get("Records", []):
        for record in json.loads(message["body"]).get("Records", []):
            bucket = record["s3"]["bucket"]["name"]
            key = record["s3"]["object"]["key"]
            body = os.environ["CSV2DDB_DAG_ID"].encode()
            s3.put_object(Bucket=bucket, Key="manifests/seen/" + key, Body=body)
    return {"ok": True}
"""

# Proves the job definition runs: writes a manifest-like marker from its job arguments.
GLUE_SCRIPT = """
import os
import boto3

boto3.client("s3").put_object(
    Bucket=os.environ["manifest_bucket"],
    Key=os.environ["manifest_prefix"] + "glue-ran.json",
    Body=os.environ.get("write_concurrency", "").encode(),
)
"""


@pytest.fixture
def sources(tmp_path: Path) -> Sources:
    lambda_dir = tmp_path / "lambda"
    lambda_dir.mkdir()
    (lambda_dir / "trigger_dag.py").write_text(HANDLER)
    script = tmp_path / "csv2ddb_load_job.py"
    script.write_text(GLUE_SCRIPT)
    # A copy of the load core, so a test can edit it and see the wheel drift.
    glue_dir = tmp_path / "glue"
    glue_dir.mkdir()
    shutil.copy(REPO_GLUE / "pyproject.toml", glue_dir)
    shutil.copy(REPO_GLUE / "csv2ddb_spark_job.py", glue_dir)  # the Spark job's script
    shutil.copytree(
        REPO_GLUE / "csv2ddb_core", glue_dir / "csv2ddb_core", ignore=shutil.ignore_patterns("__pycache__")
    )
    return Sources(glue_script=script, lambda_dir=lambda_dir, glue_dir=glue_dir)


@pytest.fixture
def stack_settings(aws_env: dict[str, str]) -> Settings:
    """The bootstrap tests manage the items table too (the default leaves it to the first load)."""
    return load_settings(aws_env, prefix=f"t{uuid.uuid4().hex[:10]}", create_table_in_bootstrap=True)
