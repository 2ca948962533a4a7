"""Job argument parsing: Glue's argv form, the emulator's env-var form, defaults and errors."""

from __future__ import annotations

import pytest
from csv2ddb_core.cli import main
from csv2ddb_core.contract import ArgumentError
from csv2ddb_core.options import parse_job_args

REQUIRED = ["--source_bucket", "b", "--source_key", "raw/x.csv", "--table", "t", "--run_id", "r-1"]


def test_argv_form_with_defaults() -> None:
    args = parse_job_args(REQUIRED, env={})
    assert (args.source_bucket, args.source_key, args.table, args.run_id) == ("b", "raw/x.csv", "t", "r-1")
    assert args.manifest_bucket == "b"
    assert args.manifest_key == "manifests/r-1.json"
    assert args.rejects_key == "rejected/r-1/rejects.csv"
    assert args.tolerance.count == 0
    assert str(args.write.keys) == "id:S"
    assert (args.delimiter, args.encoding, args.empty_cells) == (",", "utf-8", "omit")
    assert (args.write.write_mode, args.write.version_column) == ("overwrite", "")
    assert (args.write.max_write_rate, args.write.ttl) == (None, None)
    assert args.write.validate_first is True
    assert args.write_concurrency == 8
    assert args.type_map == {}
    assert args.job_run_id is None


def test_unknown_arguments_are_ignored() -> None:
    argv = [
        "--job-bookmark-option", "job-bookmark-disable",
        *REQUIRED,
        "--airflow_task_uuid", "0b5a",
        "--enable-metrics",
        "--JOB_RUN_ID", "jr_123",
    ]  # fmt: skip
    args = parse_job_args(argv, env={})
    assert args.table == "t"
    assert args.job_run_id == "jr_123"


def test_equals_form_and_optional_values() -> None:
    argv = [
        *REQUIRED,
        "--reject_tolerance=0.05",
        "--manifest_bucket",
        "m",
        "--manifest_prefix",
        "man",
        "--type_map",
        '{"zip": "S", "*": "auto"}',
        "--delimiter",
        "tab",
        "--empty_cells",
        "null",
        "--write_concurrency",
        "4",
    ]
    args = parse_job_args(argv, env={})
    assert args.tolerance.fraction == pytest.approx(0.05)
    assert args.tolerance.allowed(200) == 10
    assert args.manifest_key == "man/r-1.json"
    assert args.manifest_bucket == "m"
    assert args.type_map == {"zip": "S", "*": "auto"}
    assert args.delimiter == "\t"
    assert args.empty_cells == "null"
    assert args.write_concurrency == 4


def test_env_var_mode_of_the_local_emulator() -> None:
    """ministack passes Python-shell job arguments as env vars named without the leading '--'."""
    env = {
        "source_bucket": "eb",
        "source_key": "raw/e.csv",
        "table": "et",
        "run_id": "env-run",
        "reject_tolerance": "3",
        "PATH": "/usr/bin",
    }
    args = parse_job_args([], env=env)
    assert (args.source_bucket, args.source_key, args.table, args.run_id) == (
        "eb",
        "raw/e.csv",
        "et",
        "env-run",
    )
    assert args.tolerance.count == 3


def test_argv_wins_over_env() -> None:
    args = parse_job_args(REQUIRED, env={"table": "from-env", "delimiter": ";"})
    assert args.table == "t"
    assert args.delimiter == ";"


def test_missing_required_arguments_name_them() -> None:
    with pytest.raises(ArgumentError, match=r"--table, --run_id"):
        parse_job_args(["--source_bucket", "b", "--source_key", "k"], env={})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--reject_tolerance", "lots"], "reject_tolerance"),
        (["--reject_tolerance", "1.5"], "reject_tolerance"),
        (["--reject_tolerance", "-1"], "reject_tolerance"),
        (["--empty_cells", "drop"], "empty_cells"),
        (["--delimiter", ";;"], "delimiter"),
        (["--encoding", "klingon"], "encoding"),
        (["--write_concurrency", "0"], "write_concurrency"),
        (["--type_map", "[1]"], "type_map"),
        (["--type_map", '{"a": "date"}'], "unknown type"),
        (["--type_map", "{nope"], "not valid JSON"),
    ],
)
def test_invalid_optional_values_fail_clearly(extra: list[str], message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        parse_job_args(REQUIRED + extra, env={})


@pytest.mark.parametrize("run_id", ["a/b", "x" * 201, "has space", "../up"])
def test_run_id_must_be_safe(run_id: str) -> None:
    argv = [*REQUIRED[:-1], run_id]
    with pytest.raises(ArgumentError, match="run_id"):
        parse_job_args(argv, env={})


def test_main_returns_2_on_bad_arguments(caplog: pytest.LogCaptureFixture) -> None:
    assert main(["--source_bucket", "b"], env={}) == 2
    assert "missing required job argument(s): --source_key, --table, --run_id" in caplog.text
