"""What an engine is: :class:`EngineSpec`, and :class:`GlueJobSettings`, what the settings group of
an engine that runs as a Glue job provides. One module per engine in ``csv2ddb/engines/`` holds
both; the registry (:mod:`csv2ddb.engines`), the job definitions, the settings and the bootstrap
read them, so nothing else names an engine.

Airflow-free and settings-free (the settings hold the engines' groups, so this cannot import them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

Statement = dict[str, Any]


class GlueJobSettings(Protocol):
    """An engine's Glue job as the platform sets it (a frozen dataclass of ``setting`` fields, read
    from ``<env_prefix>*``); its job and role names default from the stack's prefix and the
    suffixes below."""

    env_prefix: ClassVar[str]
    title: ClassVar[str]  # its section of docs/configuration.md
    job_suffix: ClassVar[str]  # the job's default name: <prefix><job_suffix>
    role_suffix: ClassVar[str]  # its role's default name: <prefix><role_suffix>

    @property
    def job_name(self) -> str: ...

    @property
    def role_name(self) -> str: ...

    @property
    def script_name(self) -> str: ...

    @property
    def timeout_minutes(self) -> int: ...

    def glue_command(self) -> tuple[str, str]:
        """Glue's ``Command.Name`` and ``Command.PythonVersion``."""
        ...

    def capacity(self) -> dict[str, Any]:
        """``MaxCapacity``, or the Glue version and workers."""
        ...

    def arguments(self, core_wheel_uri: str) -> dict[str, str]:
        """The engine's own ``DefaultArguments`` (how it gets the core's wheel, its workers)."""
        ...

    def shape(self) -> str:
        """Its capacity and timeout in a few words, for the trigger form."""
        ...


def no_statements(bucket_arn: str, manifests_prefix: str) -> list[Statement]:
    return []


@dataclass(frozen=True)
class EngineSpec:
    """One engine: its name, what it supports, and, when it runs as a Glue job, that job's settings
    group and the names its bootstrap resources carry."""

    name: str
    description: str  # appended to the Glue job's description
    summary: str  # what it is, in a few words (the trigger form's choice)
    # Stages a file for ImportTable (the import path runs in one Python-shell process).
    stages_imports: bool
    # Its Glue job's settings group; None: the engine loads in the Airflow worker, with no Glue job.
    job: type[GlueJobSettings] | None = None
    # Its bootstrap resources: kinds as `infra_bootstrap.py status` lists them, the role's inline
    # policy name and the role's description (the Python shell's predate the engines: kept).
    job_kind: str = ""
    script_kind: str = ""
    policy_name: str = ""
    role_title: str = ""
    # What its role needs beyond the Python shell's, given the bucket's ARN and the manifests prefix.
    role_statements: Callable[[str, str], list[Statement]] = no_statements

    @property
    def in_worker(self) -> bool:
        return self.job is None
