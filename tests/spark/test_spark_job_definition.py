"""The Spark engine's Glue job as AWS gets it, its least-privilege role, and the engine choice.
Pure functions of the settings: no emulator, no Spark."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from csv2ddb.bootstrap.policies import job_policy
from csv2ddb.job_definitions import job_definition
from csv2ddb.load.file_plan import choose_engine
from csv2ddb.load.glue_task import engine_kwargs
from csv2ddb.settings import load_settings

ROLE = "arn:aws:iam::123456789012:role/x"


def test_the_aws_spark_job_is_glueetl_with_the_worker_settings() -> None:
    s = load_settings({}, spark_worker_type="G.2X", spark_workers=25, spark_timeout_minutes=600)
    job = job_definition(s, ROLE, "spark")
    assert job["Command"] == {
        "Name": "glueetl",
        "ScriptLocation": "s3://csv2ddb-data/scripts/csv2ddb_spark_job.py",
        "PythonVersion": "3",
    }
    assert (job["GlueVersion"], job["WorkerType"], job["NumberOfWorkers"]) == ("5.0", "G.2X", 25)
    assert job["Timeout"] == 600
    assert job["MaxRetries"] == 0
    assert "MaxCapacity" not in job  # Glue ETL takes workers, not MaxCapacity
    args = job["DefaultArguments"]
    assert args["--additional-python-modules"] == s.core_wheel_s3_uri  # pip-installed on every worker
    assert "--extra-py-files" not in args
    assert (args["--worker_type"], args["--number_of_workers"]) == ("G.2X", "25")
    # the Python-shell job is unchanged
    shell = job_definition(s, ROLE)
    assert shell["Command"]["Name"] == "pythonshell"
    assert shell["MaxCapacity"] == s.glue.max_capacity


def test_the_local_spark_job_differs_only_in_its_command_and_local_cores() -> None:
    aws = job_definition(load_settings({}), ROLE, "spark")
    local = job_definition(load_settings({"CSV2DDB_SPARK_JOB_COMMAND": "pythonshell"}), ROLE, "spark")
    assert local["Command"]["Name"] == "pythonshell"
    assert {k: v for k, v in local.items() if k not in ("Command", "DefaultArguments")} == {
        k: v for k, v in aws.items() if k not in ("Command", "DefaultArguments")
    }
    assert local["DefaultArguments"]["--spark_local_cores"] == "2"
    assert "--additional-python-modules" not in local["DefaultArguments"]


def test_engine_choice() -> None:
    s = load_settings({}, spark_threshold_mb=100)
    assert choose_engine(None, 50 << 20, s) == "pythonshell"
    assert choose_engine(None, 101 << 20, s) == "spark"
    assert choose_engine("auto", None, s) == "pythonshell"  # a size not known is not known small
    assert choose_engine("auto", s.load.inline_max_bytes, s) == "inline"
    assert choose_engine("auto", s.load.inline_max_bytes + 1, s) == "pythonshell"
    assert choose_engine("auto", 10, load_settings({"CSV2DDB_INLINE_MAX_BYTES": "0"})) == "pythonshell"
    assert choose_engine("inline", 10**12, s) == "inline"  # asked for by name
    assert choose_engine("spark", 10, s) == "spark"
    assert choose_engine("pythonshell", 10**12, s) == "pythonshell"
    assert choose_engine(None, 10, load_settings({"CSV2DDB_ENGINE": "spark"})) == "spark"
    with pytest.raises(ValueError, match="engine must be one of"):
        choose_engine("flink", 1, s)
    kw = engine_kwargs(s, "spark")
    assert (kw["job_name"], kw["iam_role_name"], kw["num_of_dpus"]) == (
        "csv2ddb-load-spark",
        "csv2ddb-glue-spark-role",
        None,
    )
    with pytest.raises(ValueError, match="ENGINE"):
        load_settings({"CSV2DDB_ENGINE": "fast"})


def test_the_spark_role_is_the_load_policy_with_its_own_script_and_parts() -> None:
    ctx = SimpleNamespace(
        settings=load_settings({}),
        bucket_arn="arn:aws:s3:::csv2ddb-data",
        table_arn=lambda name: f"arn:aws:dynamodb:us-east-1:1:table/{name}",
        log_group_arn=lambda group: f"arn:aws:logs:us-east-1:1:log-group:{group}",
    )
    shell, spark = job_policy(ctx), job_policy(ctx, "spark")  # type: ignore[arg-type]
    resources = [r for st in spark["Statement"] for r in st["Resource"]]
    assert "arn:aws:s3:::csv2ddb-data/scripts/csv2ddb_spark_job.py" in resources
    assert "arn:aws:s3:::csv2ddb-data/scripts/csv2ddb_load_job.py" not in resources
    (parts,) = [st for st in spark["Statement"] if st["Sid"] == "MergeSplitParts"]
    assert parts["Action"] == ["s3:GetObject", "s3:DeleteObject"]
    assert parts["Resource"] == ["arn:aws:s3:::csv2ddb-data/manifests/*.parts/*"]
    assert "*" not in resources  # every statement scoped to the stack's own ARNs
    assert len(spark["Statement"]) == len(shell["Statement"]) + 1
