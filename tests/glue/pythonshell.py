"""A Glue Python-shell job on the emulator, for the tests that run a script of their own as one."""

from __future__ import annotations

from typing import Any

TEST_ROLE = "arn:aws:iam::000000000000:role/csv2ddb-test-glue"


def create_pythonshell_job(glue: Any, name: str, script_uri: str, **options: Any) -> None:
    """Create job ``name`` running ``script_uri`` (s3://) in Glue's Python shell; ``options`` are
    CreateJob's other fields (MaxCapacity, Timeout, ExecutionProperty, DefaultArguments...)."""
    glue.create_job(
        Name=name,
        Role=TEST_ROLE,
        Command={"Name": "pythonshell", "ScriptLocation": script_uri, "PythonVersion": "3.9"},
        **options,
    )
