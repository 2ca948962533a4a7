"""Fixtures for the bootstrap tests: tiny deployable sources in a temp dir.

The stack deploys files (the Glue script, the Lambda package); tests deploy small ones of their
own so they do not depend on glue/ and lambda/ (other components, tested on their own).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from csv2ddb.bootstrap import Sources

# Writes a marker object when S3 invokes it, so a test can see the notification wiring work.
HANDLER = """
import os
import boto3


def handler(event, context):
    s3 = boto3.client("s3")
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = record["s3"]["object"]["key"]
        s3.put_object(Bucket=bucket, Key="manifests/seen/" + key, Body=os.environ["CSV2DDB_DAG_ID"].encode())
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
    return Sources(glue_script=script, lambda_dir=lambda_dir)
