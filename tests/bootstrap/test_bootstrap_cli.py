"""``infra_bootstrap.py`` as a user runs it: a subprocess, settings from the environment."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from csv2ddb.bootstrap import Sources

pytestmark = pytest.mark.emulator

PASSWORD = "cli-secret-pw-7f3a"


@pytest.fixture
def cli_env(aws_env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSV2DDB_")}
    return {
        **env,
        **aws_env,
        "CSV2DDB_PREFIX": f"c{uuid.uuid4().hex[:10]}",
        "CSV2DDB_AIRFLOW_API_USERNAME": "cli-user",
        "CSV2DDB_AIRFLOW_API_PASSWORD": PASSWORD,
    }


def run(
    repo_root: Path, env: dict[str, str], sources: Sources | None, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; ``sources=None`` deploys the repo's own glue/ and lambda/ (the defaults)."""
    options = (
        []
        if sources is None
        else ["--glue-script", str(sources.glue_script), "--lambda-dir", str(sources.lambda_dir)]
    )
    command = [sys.executable, str(repo_root / "infra_bootstrap.py"), "--verbose", *options, *args]
    # input= makes stdin a pipe, i.e. not a TTY, as in CI and scripts.
    result = subprocess.run(command, env=env, input=stdin, capture_output=True, text=True, timeout=180)
    assert PASSWORD not in result.stdout + result.stderr  # secrets never reach the output
    return result


def test_status_create_status_delete_exit_codes(
    repo_root: Path, cli_env: dict[str, str], boto_session: boto3.Session
) -> None:
    """The user's path, deploying the repo's real Glue script and Lambda handler."""
    sources = None
    prefix = cli_env["CSV2DDB_PREFIX"]
    missing = run(repo_root, cli_env, sources, "status")
    assert missing.returncode == 1, missing.stderr
    assert "missing" in missing.stdout
    assert missing.stdout.splitlines()[1].split() == ["resource", "name", "exists", "matches", "detail"]

    created = run(repo_root, cli_env, sources, "create")
    assert created.returncode == 0, created.stderr
    # Every resource but the items table: the first load creates it (CSV2DDB_CREATE_TABLE_IN_BOOTSTRAP).
    assert "19 resource(s) changed" in created.stdout
    items_table = [line for line in created.stdout.splitlines() if f"{prefix}-items" in line]
    assert items_table, created.stdout
    assert all("skipped" in line for line in items_table), items_table

    again = run(repo_root, cli_env, sources, "create")
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout

    ok = run(repo_root, cli_env, sources, "status")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert " NO " not in ok.stdout

    # Drift behind its back: status fails and names the resource.
    glue = boto_session.client("glue", endpoint_url=cli_env["AWS_ENDPOINT_URL"])
    glue.delete_job(JobName=f"{prefix}-load")
    drifted = run(repo_root, cli_env, sources, "status")
    assert drifted.returncode == 1
    (row,) = [line for line in drifted.stdout.splitlines() if line.startswith("glue-job")]
    assert row.split()[1:4] == [f"{prefix}-load", "NO", "NO"]

    refused = run(repo_root, cli_env, sources, "delete", stdin="y\n")
    assert refused.returncode == 1
    assert "refusing to delete" in refused.stderr
    assert run(repo_root, cli_env, sources, "status").returncode == 1  # still there (job missing)
    s3 = boto_session.client("s3", endpoint_url=cli_env["AWS_ENDPOINT_URL"])
    s3.head_bucket(Bucket=f"{prefix}-data")

    deleted = run(repo_root, cli_env, sources, "delete", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "absent" in deleted.stdout  # the job we removed by hand
    gone = run(repo_root, cli_env, sources, "status")
    assert gone.returncode == 1
    assert " yes " not in gone.stdout


def test_bad_settings_are_a_clear_usage_error(
    repo_root: Path, cli_env: dict[str, str], sources: Sources
) -> None:
    result = run(repo_root, {**cli_env, "CSV2DDB_ENGINE": "flink"}, sources, "status")
    assert result.returncode == 2
    assert "CSV2DDB_ENGINE" in result.stderr


@pytest.mark.parametrize(("answer", "returncode"), [("n\n", 1), ("yes\n", 0)])
def test_delete_on_a_terminal_asks_first(
    repo_root: Path, cli_env: dict[str, str], sources: Sources, answer: str, returncode: int
) -> None:
    """A real pseudo-terminal as stdin: the prompt appears and only a yes deletes (here: nothing)."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, answer.encode())
        command = [sys.executable, str(repo_root / "infra_bootstrap.py"), "delete"]
        result = subprocess.run(
            command, env=cli_env, stdin=terminal, capture_output=True, text=True, timeout=120
        )
    finally:
        os.close(controller)
        os.close(terminal)
    assert "Delete stack" in result.stdout
    assert result.returncode == returncode, result.stderr
    if returncode:
        assert "nothing deleted" in result.stderr
    else:
        assert "absent" in result.stdout  # a fresh prefix: nothing existed
