"""The "new engine" recipe of docs/architecture.md is true: one new module in
``plugins/csv2ddb/engines/`` is all the plugins need. A copy of the plugins gets a made-up engine
module (``flink``) and nothing else; a fresh interpreter then finds it in every place a user or the
bootstrap meets an engine: ``CSV2DDB_ENGINE``, its own settings and their docs, its Glue job
definition, the Glue task's operator arguments, the trigger form, the file plan, and the stack's
script, role (with its own policy) and job."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FLINK_MODULE = '''
"""A made-up engine for the recipe test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from csv2ddb.engine_spec import EngineSpec
from csv2ddb.setting_fields import ENV_PREFIX, setting


@dataclass(frozen=True)
class FlinkJob:
    env_prefix: ClassVar[str] = f"{ENV_PREFIX}FLINK_"
    title: ClassVar[str] = "The Flink engine's Glue job"
    job_suffix: ClassVar[str] = "-load-flink"
    role_suffix: ClassVar[str] = "-glue-flink-role"

    job_name: str = setting("", "the Flink load job", shown="`<prefix>-load-flink`")
    role_name: str = setting("", "its IAM role", shown="`<prefix>-glue-flink-role`")
    script_name: str = setting("csv2ddb_flink_job.py", "its script in `glue/`")
    workers: int = setting(4, "Flink workers")
    timeout_minutes: int = setting(60, "its timeout")

    def glue_command(self) -> tuple[str, str]:
        return "gluestreaming", "3"

    def capacity(self) -> dict[str, Any]:
        return {"NumberOfWorkers": self.workers, "WorkerType": "G.1X", "GlueVersion": "5.0"}

    def arguments(self, core_wheel_uri: str) -> dict[str, str]:
        return {"--additional-python-modules": core_wheel_uri}

    def shape(self) -> str:
        return f"{self.workers} workers"


SPEC = EngineSpec(
    name="flink",
    description=" (Flink engine)",
    summary="the made-up Flink job",
    stages_imports=False,
    job=FlinkJob,
    job_kind="glue-flink-job",
    script_kind="glue-flink-script",
    policy_name="csv2ddb-glue-flink-job",
    role_title="Glue Flink load job",
)
'''

CHECKS = """
from csv2ddb.bootstrap.context import Sources, StackContext
import csv2ddb.bootstrap.stack as stack
from csv2ddb.engines import ENGINES
from csv2ddb.job_definitions import job_definition
from csv2ddb.load.file_plan import choose_engine
from csv2ddb.load.glue_task import engine_kwargs
from csv2ddb.load.trigger_form import engine_params
from csv2ddb.load_defaults import ENGINES as CHOICES
from csv2ddb.settings import configuration_table, load_settings

assert "flink" in ENGINES and "flink" in CHOICES, (list(ENGINES), CHOICES)
s = load_settings({"CSV2DDB_ENGINE": "flink", "CSV2DDB_FLINK_WORKERS": "3"})
assert s.job("flink").workers == 3 and s.job("flink").job_name == "csv2ddb-load-flink"
assert "### The Flink engine's Glue job" in configuration_table()
assert "`CSV2DDB_FLINK_WORKERS`" in configuration_table()
job = job_definition(s, "arn:role", "flink")
assert job["Command"] == {
    "Name": "gluestreaming",
    "ScriptLocation": "s3://csv2ddb-data/scripts/csv2ddb_flink_job.py",
    "PythonVersion": "3",
}, job
assert job["NumberOfWorkers"] == 3 and job["Timeout"] == 60
assert engine_kwargs(s, "flink")["job_name"] == "csv2ddb-load-flink"
assert choose_engine(None, 10, s) == "flink"
form = engine_params(s)["engine"]
assert "flink" in form["enum"], form["enum"]
assert form["values_display"]["flink"] == "flink: the made-up Flink job (3 workers)"
stack.analytics_resources = lambda ctx: []  # they read AWS; not an engine's
identity = {"Account": "123456789012", "Arn": "arn:aws:sts::123456789012:assumed-role/x"}
ctx = StackContext(s, Sources(), None, identity=identity)
found = {(r.kind, r.name): r for r in stack.resources(ctx)}
assert ("glue-flink-job", "csv2ddb-load-flink") in found, sorted(found)
assert ("glue-flink-script", "s3://csv2ddb-data/scripts/csv2ddb_flink_job.py") in found
role = found[("iam-role", "csv2ddb-glue-flink-role")]
assert role.policy_name == "csv2ddb-glue-flink-job"
scripts = [r for st in role.policy(ctx)["Statement"] for r in st["Resource"] if "/scripts/" in r]
assert "arn:aws:s3:::csv2ddb-data/scripts/csv2ddb_flink_job.py" in scripts, scripts
assert "arn:aws:s3:::csv2ddb-data/scripts/csv2ddb_load_job.py" not in scripts
print("flink found everywhere")
"""


def copy_of_plugins(tmp_path: Path) -> Path:
    plugins = tmp_path / "plugins"
    shutil.copytree(
        ROOT / "plugins" / "csv2ddb", plugins / "csv2ddb", ignore=shutil.ignore_patterns("__pycache__")
    )
    return plugins


def test_a_new_engine_is_one_module(tmp_path: Path) -> None:
    plugins = copy_of_plugins(tmp_path)
    (plugins / "csv2ddb" / "engines" / "flink_etl.py").write_text(textwrap.dedent(FLINK_MODULE))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins), str(ROOT / "glue"), str(ROOT)])}
    run = subprocess.run(
        [sys.executable, "-c", CHECKS], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "flink found everywhere" in run.stdout


def test_the_copy_is_what_the_interpreter_imports(tmp_path: Path) -> None:
    """The check above runs the copy, not the installed plugins (else it would pass for nothing)."""
    plugins = copy_of_plugins(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(plugins)}
    code = "import csv2ddb.engines as e; print(e.__file__)"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == str(plugins / "csv2ddb" / "engines" / "__init__.py"), run.stderr
