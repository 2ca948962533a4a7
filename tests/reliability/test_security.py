"""Security checks of issue 6 that the component suites do not already make.

- Least privilege: tests/bootstrap/test_bootstrap_least_privilege.py proves the roles' single
  calls allowed and denied under AUTH=true; here the REAL job runs with the Glue role's temporary
  credentials (its module-scoped AUTH emulator and stack are reused): the load it needs succeeds,
  and what it must not do is denied, with the denial named in the manifest. More denied calls
  for the Lambda role complete the list the issue asks for.
- Loopback: every emulator process (and its Lambda / Glue children) listens on 127.0.0.1 only
  (Airflow's processes: tests/local/test_local_airflow.py).
- No credentials in the repository's files.
- Teardown deletes only resources tagged as the stack's own: tests/bootstrap/test_bootstrap_stack.py.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from csv2ddb_core.clients import make_clients
from csv2ddb_core.load import run
from csv2ddb_core.options import parse_job_args
from csv2ddb_dev.emulator import Emulator
from csv2ddb_dev.processes import group_members, listening_sockets

from tests.bootstrap.test_bootstrap_least_privilege import AuthStack, allowed
from tests.reliability.conftest import Results

pytestmark = pytest.mark.emulator

REPO = Path(__file__).resolve().parents[2]


def run_job_as(stack: AuthStack, role: str, monkeypatch: pytest.MonkeyPatch, **args: str) -> dict:
    """The job's own clients (make_clients) with the role's temporary credentials."""
    account = stack.root("sts").get_caller_identity()["Account"]
    creds = stack.root("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="reliability-job"
    )["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.emulator.endpoint_url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    argv: list[str] = []
    for name, value in args.items():
        argv += [f"--{name}", value]
    parsed = parse_job_args(argv, env={})
    s3, ddb = make_clients(parsed)
    return run(parsed, s3, ddb).to_dict(with_location=True)


def test_the_real_job_under_the_glue_role_does_its_job_and_nothing_more(
    auth_stack: AuthStack, monkeypatch: pytest.MonkeyPatch, results: Results
) -> None:
    s = auth_stack.settings
    root_s3 = auth_stack.root("s3")
    root_s3.put_object(Bucket=s.bucket, Key="raw/lp.csv", Body=b"id,v\nlp1,1\nlp2\n")
    common = {"source_bucket": s.bucket, "table": s.table, "reject_tolerance": "1"}

    ok = run_job_as(
        auth_stack, s.glue.role_name, monkeypatch, source_key="raw/lp.csv", run_id="lp-ok", **common
    )
    assert ok["status"] == "succeeded", ok["error"]
    assert [ok["rows_read"], ok["rows_written"], ok["rows_rejected"]] == [2, 1, 1]
    assert ok["manifest_location"] == f"s3://{s.bucket}/manifests/lp-ok.json"
    assert ok["rejected_location"] == f"s3://{s.bucket}/rejected/lp-ok/rejects.csv"

    # a source outside raw/: the read is denied, and the manifest says so
    outside = run_job_as(
        auth_stack,
        s.glue.role_name,
        monkeypatch,
        source_key="scripts/other.py",
        run_id="lp-out",
        **common,
    )
    assert outside["status"] == "failed"
    assert "AccessDenied" in outside["error"]
    assert outside["rows_written"] == 0

    # another table (the audit table): denied before anything is read
    other = {**common, "table": s.audit_table}
    wrong_table = run_job_as(
        auth_stack, s.glue.role_name, monkeypatch, source_key="raw/lp.csv", run_id="lp-tbl", **other
    )
    assert wrong_table["status"] == "failed"
    assert "AccessDenied" in wrong_table["error"]

    # manifests and rejects elsewhere than their prefixes: the uploads are denied
    elsewhere = {**common, "manifest_prefix": "raw/", "rejected_prefix": "scripts/"}
    misplaced = run_job_as(
        auth_stack, s.glue.role_name, monkeypatch, source_key="raw/lp.csv", run_id="lp-loc", **elsewhere
    )
    assert misplaced["status"] == "failed"
    # the rejects' reasons could not be stored: the load fails saying so (finding F8)
    assert "rejected row(s) could not be stored at" in misplaced["error"]
    assert "AccessDenied" in misplaced["error"]
    assert misplaced["manifest_location"] is None  # could not write raw/lp-loc.json
    assert misplaced["rejected_location"] is None  # nor scripts/lp-loc/rejects.csv
    keys = [o["Key"] for o in root_s3.list_objects_v2(Bucket=s.bucket)["Contents"]]
    assert "raw/lp-loc.json" not in keys
    assert not [k for k in keys if k.startswith("scripts/lp-loc")]
    monkeypatch.undo()
    items = auth_stack.root("dynamodb").scan(TableName=s.table)["Items"]
    loaded = {i["id"]["S"]: i["load_run_id"]["S"] for i in items if "load_run_id" in i}
    assert loaded == {"lp1": "lp-loc"}  # written by lp-ok, rewritten by lp-loc; the denied runs wrote nothing
    results.record(
        "security",
        "glue_role_runs_the_real_job",
        input="the job with the Glue role's STS credentials, AUTH=true emulator",
        via="job run() under AUTH=true",
        outcome=(
            "raw/ load succeeded (manifest + rejects written); source outside raw/, the audit table, "
            "manifest/rejects outside their prefixes: AccessDenied, reported in the manifest"
        ),
        rows_lost=0,
        defect="F8",
    )


def test_lambda_role_can_do_nothing_but_read_its_secret(auth_stack: AuthStack, results: Results) -> None:
    """tests/bootstrap proves the secret read; these are the other calls a Lambda role must not make."""
    s = auth_stack.settings
    ddb = auth_stack.as_role(s.lambda_role_name, "dynamodb")
    s3 = auth_stack.as_role(s.lambda_role_name, "s3")
    glue = auth_stack.as_role(s.lambda_role_name, "glue")
    denied = {
        "dynamodb:PutItem items table": lambda: ddb.put_item(TableName=s.table, Item={"id": {"S": "x"}}),
        "dynamodb:Scan audit table": lambda: ddb.scan(TableName=s.audit_table),
        "s3:PutObject raw/": lambda: s3.put_object(Bucket=s.bucket, Key="raw/evil.csv", Body=b"x"),
        "s3:GetObject manifests/": lambda: s3.get_object(Bucket=s.bucket, Key="manifests/old.json"),
        "glue:StartJobRun": lambda: glue.start_job_run(JobName=s.glue.job_name),
    }
    allowed_calls = [name for name, call in denied.items() if allowed(call)]
    assert allowed_calls == []
    results.record(
        "security",
        "lambda_role_denied_calls",
        input="Lambda role's STS credentials, AUTH=true emulator",
        via="boto3 under AUTH=true",
        outcome="denied: " + ", ".join(denied),
        rows_lost=0,
    )


def test_emulators_listen_on_loopback_only(
    emulator: Emulator, auth_stack: AuthStack, results: Results
) -> None:
    checked = 0
    for em in (emulator, auth_stack.emulator):
        pids = set(group_members(em.pid)) | {em.pid}
        sockets = listening_sockets(pids)
        assert ("127.0.0.1", em.port) in sockets
        assert [s for s in sockets if s[0] != "127.0.0.1"] == [], sockets
        checked += len(sockets)
    results.record(
        "security",
        "servers_bind_loopback",
        input="listening TCP sockets of both test emulators' process groups (/proc/net/tcp{,6})",
        via="/proc",
        outcome="all on 127.0.0.1 (Airflow's processes: tests/local)",
        rows_lost=0,
    )
    assert checked >= 2


CREDENTIAL_PATTERNS = {
    "AWS access key id": re.compile(rb"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS secret key assignment": re.compile(rb"(?i)aws_secret_access_key\s*[=:]\s*[\"']?[A-Za-z0-9/+]{40}\b"),
}


def test_no_credentials_in_the_repository(results: Results) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    files = [REPO / name.decode() for name in listed if name]
    found = []
    for path in files:
        if not path.is_file():
            continue
        body = path.read_bytes()
        found += [
            f"{label}: {path.relative_to(REPO)}"
            for label, rx in CREDENTIAL_PATTERNS.items()
            if rx.search(body)
        ]
    assert found == []
    assert len(files) > 50  # the scan saw the repository
    results.record(
        "security",
        "no_credentials_in_repository",
        input="every tracked and untracked (not ignored) file",
        via="git ls-files + patterns",
        outcome="no AWS key ids, private keys or secret-key assignments",
        rows_lost=0,
    )
