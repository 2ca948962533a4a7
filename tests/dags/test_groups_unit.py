"""How ``resolve_inputs`` groups a run's batch files into Glue runs (csv2ddb.load.groups), and what
a group run is handed: its group file and its job arguments."""

from __future__ import annotations

import dataclasses
import json

from csv2ddb.load import groups
from csv2ddb.load.file_plan import FilePlan, SourceObject
from csv2ddb.settings import load_settings
from csv2ddb_core.contract import FILES_ARG, GROUP_ID_ARG, RUN_ID_ARG, check_run_id

from tests.dags.test_file_plan_unit import plan

SETTINGS = load_settings({}, prefix="unit")


def file(n: int, size: int = 10, **changes: object) -> dict:
    one = plan(run_id=f"manual__x__f{n}__{n:016x}", **changes)
    source = dataclasses.replace(one.source, key=f"raw/f{n}.csv", size=size)
    return dataclasses.replace(one, source=source).to_xcom()


def sizes(grouped: list[dict]) -> list[int]:
    return [len(g["files"]) for g in grouped]


def test_consecutive_files_sharing_their_arguments_are_one_group_in_order() -> None:
    loads = [file(n) for n in range(5)]
    (group,) = groups.group_loads(loads, "manual__x", SETTINGS)
    assert group["files"] == loads
    assert SETTINGS.load.group_max_files == 64
    assert SETTINGS.load.group_max_bytes == 256 << 20


def test_groups_are_capped_by_files_and_by_bytes() -> None:
    loads = [file(n) for n in range(11)]
    by_four = SETTINGS.with_load(group_max_files=4)
    assert sizes(groups.group_loads(loads, "manual__x", by_four)) == [4, 4, 3]
    by_bytes = SETTINGS.with_load(group_max_bytes=25)
    assert sizes(groups.group_loads(loads[:5], "manual__x", by_bytes)) == [2, 2, 1]
    big = [file(0), file(1, size=100), file(2)]  # a file over the cap runs alone
    assert sizes(groups.group_loads(big, "manual__x", by_bytes)) == [1, 1, 1]


def test_files_with_other_options_or_another_engine_are_not_grouped_together() -> None:
    """Spark files group among themselves (one Spark session per group), never with Python-shell
    files: a group is one Glue run of ONE job."""
    other_table = file(2, table="other-items")
    other_csv = file(3, csv={"delimiter": ","})
    spark = [file(5, engine="spark"), file(6, engine="spark")]
    loads = [file(0), file(1), other_table, other_csv, file(4), *spark, file(7)]
    grouped = groups.group_loads(loads, "manual__x", SETTINGS)
    assert sizes(grouped) == [2, 1, 1, 1, 2, 1]
    assert [groups.engine_of(g) for g in grouped][-2:] == ["spark", "pythonshell"]


def test_inline_files_group_among_themselves_never_with_glue_files() -> None:
    """An inline group loads in the worker, a Glue group in one Glue run: a group has ONE engine."""
    inline = [file(n, engine="inline") for n in range(3)]
    loads = [*inline, file(3), file(4), file(5, engine="inline")]
    grouped = groups.group_loads(loads, "manual__x", SETTINGS)
    assert sizes(grouped) == [3, 2, 1]
    assert [groups.engine_of(g) for g in grouped] == ["inline", "pythonshell", "inline"]
    by_two = SETTINGS.with_load(inline_group_max_files=2)  # an inline group's own cap
    assert sizes(groups.group_loads(inline, "manual__x", by_two)) == [2, 1]
    glue_by_two = SETTINGS.with_load(group_max_files=2)  # the Glue groups' cap leaves inline alone
    assert sizes(groups.group_loads(inline, "manual__x", glue_by_two)) == [3]


def test_a_group_id_is_deterministic_and_a_valid_run_id() -> None:
    loads = [file(n) for n in range(3)]
    first = groups.group_loads(loads, "manual__x", SETTINGS)
    assert groups.group_loads(loads, "manual__x", SETTINGS) == first  # a retry names the same group
    assert groups.group_loads(loads, "manual__y", SETTINGS)[0]["group_id"] != first[0]["group_id"]
    long_id = groups.group_id("d" * 300, "r" * 200)
    assert check_run_id(long_id) == long_id
    assert len(long_id) == 200


def test_a_group_run_gets_its_shared_arguments_and_each_file_its_own() -> None:
    loads = [file(n) for n in range(3)]
    (group,) = groups.group_loads(loads, "manual__x", SETTINGS)
    entries = json.loads(groups.group_file(group))
    assert entries == [
        {"source_bucket": "b", "source_key": f"raw/f{n}.csv", "run_id": loads[n]["run_id"]} for n in range(3)
    ]
    args = groups.group_script_args(group, "s3://b/manifests/groups/g.json", SETTINGS)
    assert args[FILES_ARG] == "s3://b/manifests/groups/g.json"
    assert args[GROUP_ID_ARG] == group["group_id"]
    assert RUN_ID_ARG not in args
    assert "--source_key" not in args
    one = FilePlan.from_xcom(loads[0]).job_arguments()
    shared = {k: v for k, v in one.items() if k not in groups.PER_FILE_ARGS}
    assert shared.items() <= args.items()  # table, tolerance, options, CSV dialect
    assert SETTINGS.group_key(group["group_id"]) == f"manifests/groups/{group['group_id']}.json"


def test_source_object_size_drives_the_byte_cap() -> None:
    assert FilePlan.from_xcom(file(1, size=7)).source == SourceObject("b", "raw/f1.csv", "e1", 7, None)
