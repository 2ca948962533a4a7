"""A run's batch files grouped into Glue runs: one run of the files' engine loads a group, file by file.

Why: every Glue run pays a start (seconds locally, up to a minute or more on AWS) and a mapped task
pair, whatever it loads; a prefix of 100 small files made 100 runs. ``resolve_inputs`` groups
consecutive files that share their job arguments but for the file itself (table, options, checks:
everything but bucket, key and run id), at most ``group_max_files`` files (an inline group:
``inline_group_max_files``) and ``group_max_bytes`` source bytes a group; ``load_file`` maps over
the groups. Each file still is its own load (``csv2ddb_core.group``): its run id, manifest, key
list, rejects and audit record.

Files of one engine share a group: an ``inline`` group loads in the Airflow worker, file by file, in
one task (``csv2ddb.load.inline``); a Spark group in one Spark session of one Glue run (the Spark
script takes ``--files`` too), so it pays one cluster start. A group of one file runs with the
single-file job arguments, exactly as before groups existed.

Between tasks a group travels as XCom: ``{"group_id": ..., "files": [FilePlan.to_xcom(), ...]}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from csv2ddb_core.contract import FILES_ARG, GROUP_ID_ARG, RUN_ID_ARG, check_run_id

from csv2ddb.engines import engine_spec
from csv2ddb.load.file_plan import FilePlan
from csv2ddb.settings import Settings

# The job arguments that differ from file to file of a group (the group file's entries).
PER_FILE_ARGS = ("--source_bucket", "--source_key", RUN_ID_ARG)
GROUP_ID_HASH = 16  # hex digits of the group id's digest


def files_of(group: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(group["files"])


def engine_of(group: Mapping[str, Any]) -> str:
    """The engine every file of the group is planned on (``group_loads`` groups by engine)."""
    return FilePlan.from_xcom(files_of(group)[0]).engine


def group_id(dag_run_id: str, first_run_id: str) -> str:
    """Deterministic (a retry or a replay of the DAG run names the same group, so the same group
    file and Glue run): the first file's run id, cut to fit, plus a digest of the DAG run and it."""
    digest = hashlib.sha256(f"{dag_run_id}\0{first_run_id}".encode()).hexdigest()[:GROUP_ID_HASH]
    return check_run_id(f"{first_run_id[: 200 - len('__group_') - GROUP_ID_HASH]}__group_{digest}")


def file_arguments(plan: FilePlan) -> dict[str, str]:
    """The file's own entry in the group file: its per-file job arguments, named without ``--``."""
    args = plan.job_arguments()
    return {name[2:]: args[name] for name in PER_FILE_ARGS}


def shared_arguments(plan: FilePlan) -> dict[str, str]:
    """The job arguments a file shares with the other files of its group: all but its own."""
    args = {**plan.job_arguments(), **plan.zone_arguments()}
    return {name: value for name, value in args.items() if name not in PER_FILE_ARGS}


def max_files(engine: str, settings: Settings) -> int:
    """How many files a group of ``engine`` holds: an engine that runs in the worker (inline) pays a
    task start per group, not a Glue start, so its groups are larger (``inline_group_max_files``)."""
    if engine_spec(engine).in_worker:
        return settings.load.inline_group_max_files
    return settings.load.group_max_files


def group_loads(
    loads: Sequence[Mapping[str, Any]], dag_run_id: str, settings: Settings
) -> list[dict[str, Any]]:
    """The run's batch files in groups, in the run's order (see the module docstring)."""
    groups: list[list[Mapping[str, Any]]] = []
    shared: dict[str, str] | None = None
    size = 0
    for load in loads:
        plan = FilePlan.from_xcom(load)
        mine = {**shared_arguments(plan), "engine": plan.engine}  # a group runs ONE engine
        joins = (
            bool(groups)
            and mine == shared
            and len(groups[-1]) < max_files(plan.engine, settings)
            and size + plan.source.size <= settings.load.group_max_bytes
        )
        if joins:
            groups[-1].append(load)
            size += plan.source.size
        else:
            groups.append([load])
            shared, size = mine, plan.source.size
    return [{"group_id": group_id(dag_run_id, files[0]["run_id"]), "files": list(files)} for files in groups]


def group_file(group: Mapping[str, Any]) -> str:
    """The group file's text: one entry of per-file arguments per file, in load order."""
    entries = [file_arguments(FilePlan.from_xcom(load)) for load in files_of(group)]
    return json.dumps(entries, indent=1, sort_keys=True)


def group_script_args(group: Mapping[str, Any], location: str, settings: Settings) -> dict[str, str]:
    """The job arguments of a group run: the shared arguments, the stack's, the group file's
    location and the group id (by which a retry finds the run: ``GuardedGlueJobOperator``)."""
    first = FilePlan.from_xcom(files_of(group)[0])
    return {
        **shared_arguments(first),
        **first.stack_arguments(settings, first.engine),
        FILES_ARG: location,
        GROUP_ID_ARG: str(group["group_id"]),
    }
