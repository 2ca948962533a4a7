"""The file plan and the requests it is decided from, without AWS: what a run's params become."""

from __future__ import annotations

import pytest
from csv2ddb.load import file_plan
from csv2ddb.load.file_plan import FilePlan, InvalidPlan, SourceObject, decide, engine_for
from csv2ddb.load.trigger_form import InvalidLoadRequest, plan_request
from csv2ddb.settings import load_settings
from csv2ddb_core.contract import WriteOptions

SETTINGS = load_settings({}, prefix="unit")


def plan(**changes: object) -> FilePlan:
    base = FilePlan(
        source=SourceObject("b", "raw/x.csv", "e1", 10, None),
        table="unit-items",
        run_id="r1",
        reject_tolerance="0",
        write=WriteOptions(),
        csv={"delimiter": ";", "encoding": "latin-1"},
        engine="pythonshell",
    )
    return FilePlan(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_a_plan_survives_its_xcom_form_and_names_every_job_argument() -> None:
    one = plan()
    assert FilePlan.from_xcom(one.to_xcom()) == one
    args = one.job_arguments()
    assert args["--source_key"] == "raw/x.csv"
    assert (args["--delimiter"], args["--encoding"], args["--write_mode"]) == (";", "latin-1", "overwrite")
    assert "--na_values" not in args  # not chosen: the job's default


def test_the_batch_fallback_is_a_new_plan() -> None:
    imported = plan(write=WriteOptions(load_method="import"), auto_import=True)
    batch = imported.as_batch("table t was created by another load")
    assert (imported.write.load_method, batch.write.load_method) == ("import", "batch")
    assert batch.write.load_method_reason == "batch: table t was created by another load"
    assert batch.job_arguments()["--load_method_reason"] == batch.write.load_method_reason
    assert not batch.auto_import
    assert imported.auto_import
    assert batch.csv == imported.csv
    assert batch.source == imported.source


def planned(size: int) -> FilePlan:
    """The plan ``prepare`` decides for a one-file first load of ``size`` bytes into a new table."""
    resolved = {
        "bucket": "b",
        "key": "raw/x.csv",
        "etag": "e1",
        "size": size,
        "table": "unit-items",
        "run_id": "r1",
        "reject_tolerance": "0",
    }
    decision = file_plan.decide_write({}, SETTINGS, None, files=1, size=size)
    return decide(resolved, decision, {}, None, SETTINGS)


@pytest.mark.parametrize(
    ("size", "method", "says"),
    [
        (2_431, "batch", "batch: 2.4 KiB below the import threshold 64.0 MiB"),
        (SETTINGS.load.import_min_bytes - 1, "batch", "below the import threshold"),
        (SETTINGS.load.import_min_bytes, "import", "at or above the import threshold"),
        (200 << 20, "import", "import: a new table, 200.0 MiB at or above the import threshold 64.0 MiB"),
    ],
)
def test_the_plan_of_a_first_load_imports_from_the_threshold_up_and_says_why(
    size: int, method: str, says: str
) -> None:
    """Issue 24: the plan of a small first load into a new table writes in batches; from the
    threshold up it imports. The reason travels with the plan to the job (its manifest) and back."""
    one = planned(size)
    reason = one.write.load_method_reason
    imports = method == "import"
    assert (one.write.load_method, one.imports, one.auto_import) == (method, imports, imports)
    assert reason.startswith(f"{method}: ")
    assert says in reason
    args = one.job_arguments()
    assert (args["--load_method"], args["--load_method_reason"]) == (method, reason)
    assert FilePlan.from_xcom(one.to_xcom()) == one
    # 200 MiB is below the Spark threshold; an import is staged on the Python shell; a batch file of
    # at most CSV2DDB_INLINE_MAX_BYTES loads inline, in the Airflow worker.
    small = size <= SETTINGS.load.inline_max_bytes and method == "batch"
    assert one.engine == ("inline" if small else "pythonshell")


def test_an_import_never_runs_on_spark() -> None:
    big = 10 << 30
    assert engine_for(None, big, "import", SETTINGS) == "pythonshell"  # auto would pick Spark
    assert engine_for(None, big, "batch", SETTINGS) == "spark"
    with pytest.raises(InvalidPlan, match="engine spark writes with the batch path"):
        engine_for("spark", 1, "import", SETTINGS)


def test_an_import_never_runs_inline() -> None:
    """A small first load that imports (CSV2DDB_IMPORT_MIN_BYTES 0) is staged by the Python shell;
    asked for inline by name, the plan is refused and says what to pass instead."""
    assert engine_for(None, 10, "import", SETTINGS) == "pythonshell"  # auto would load it inline
    assert engine_for(None, 10, "batch", SETTINGS) == "inline"
    with pytest.raises(InvalidPlan, match=r"engine inline writes with the batch path.*load_method batch"):
        engine_for("inline", 10, "import", SETTINGS)


def test_csv_options_in_the_params_are_checked_by_the_core() -> None:
    request = plan_request(
        {"key": "raw/x.csv", "delimiter": "tab", "na_values": "NA,N/A", "empty_cells": "null"},
        "manual",
        None,
        SETTINGS,
    )
    assert request.csv_options == {"delimiter": "tab", "na_values": "NA,N/A", "empty_cells": "null"}
    for bad, says in (
        ({"delimiter": ";;"}, "--delimiter must be one character"),
        ({"encoding": "klingon-8"}, "unknown encoding 'klingon-8'"),
        ({"type_map": '{"a": "DATE"}'}, "column 'a' has unknown type 'DATE'"),
        ({"empty_cells": "zero"}, "--empty_cells must be one of"),
        ({"engine": "flink"}, "engine must be one of"),
        ({"header": False}, "--header false needs --columns"),
        ({"columns": ["a", "a"]}, "more than once"),
    ):
        with pytest.raises(InvalidLoadRequest, match=says):
            plan_request({"key": "raw/x.csv", **bad}, "manual", None, SETTINGS)
    # The column options, from a conf as JSON values (or text), reach the job as JSON text.
    conf = {"key": "raw/x.csv", "header": False, "columns": ["Item No", "qty"], "rename": {"Item No": "id"}}
    assert plan_request(conf, "manual", None, SETTINGS).csv_options == {
        "header": "false",
        "columns": '["Item No", "qty"]',
        "rename": '{"Item No": "id"}',
    }


def test_an_event_batch_keeps_what_it_may_load_and_says_why_not_the_rest() -> None:
    objects = [
        {"bucket": SETTINGS.bucket, "key": "raw/a.csv", "etag": '"e1"', "uploaded_by": "AWS:AIDA1"},
        {"bucket": SETTINGS.bucket, "key": "raw/b.csv.gz", "etag": "e2", "version_id": "v2"},
        {"bucket": SETTINGS.bucket, "key": "other/c.csv", "etag": "e3"},
        {"bucket": SETTINGS.bucket, "key": "raw/notes.txt", "etag": "e4"},
        {"bucket": "someone-else", "key": "raw/d.csv", "etag": "e5"},
    ]
    request = plan_request({"objects": objects, "key": "raw/a.csv"}, "manual", None, SETTINGS)
    assert request.mode == "objects"
    assert [(o["key"], o["etag"], o["version_id"]) for o in request.objects] == [
        ("raw/a.csv", "e1", None),
        ("raw/b.csv.gz", "e2", "v2"),
    ]
    assert request.objects[0]["uploaded_by"] == "AWS:AIDA1"
    assert len(request.ignored) == 3
    assert any("other/c.csv" in why and "outside raw/" in why for why in request.ignored)
    assert any("not a CSV object" in why for why in request.ignored)
    assert any("not in this run's bucket" in why for why in request.ignored)
    with pytest.raises(InvalidLoadRequest, match=r"objects\[0\] names no key"):
        plan_request({"objects": [{"bucket": SETTINGS.bucket}]}, "manual", None, SETTINGS)
    with pytest.raises(InvalidLoadRequest, match="objects must be a list"):
        plan_request({"objects": {"key": "raw/a.csv"}}, "manual", None, SETTINGS)


def test_resolve_inputs_hands_each_file_to_the_group_of_its_path() -> None:
    """``steps.by_path``: batch files map over ``load_file``, files planned as imports over
    ``import_file``; each list keeps the run's order."""
    from csv2ddb.load import steps

    first = plan(run_id="r1").to_xcom()
    imported = plan(run_id="r2", write=WriteOptions(load_method="import")).to_xcom()
    last = plan(run_id="r3").to_xcom()
    assert steps.by_path([first, imported, last]) == ([first, last], [imported])
    assert steps.by_path([]) == ([], [])


class XComs:
    """What a task instance's ``xcom_pull`` answers: {(task_id, key): value} at one map index."""

    def __init__(self, values: dict[tuple[str, str], object], map_index: int = 3) -> None:
        self.values, self.map_index = values, map_index

    def xcom_pull(self, task_ids: str, key: str = "return_value", map_indexes: int = -1) -> object:
        assert map_indexes == self.map_index  # always the file's own instance of the step
        return self.values.get((task_ids, key))


def test_verify_learns_from_the_import_group_whether_and_how_the_file_was_loaded() -> None:
    from csv2ddb.load import steps

    done = steps.Done(
        finished=("g.import_table", "g.batch_instead"), glue_runs=("g.batch_instead", "g.stage")
    )
    imported = XComs({("g.import_table", "return_value"): "arn:1", ("g.stage", "glue_job_run_id"): "jr_1"})
    assert (done.loaded(imported), done.glue_run(imported)) == (True, "jr_1")
    nothing_staged = XComs({("g.import_table", "return_value"): ""})  # a header-only file: still loaded
    assert done.loaded(nothing_staged)
    handed_over = XComs(
        {
            ("g.stage", "glue_job_run_id"): "jr_1",
            ("g.batch_instead", "return_value"): "jr_2",
            ("g.batch_instead", "glue_job_run_id"): "jr_2",
        }
    )
    assert (done.loaded(handed_over), done.glue_run(handed_over)) == (True, "jr_2")
    failed_import = XComs({("g.stage", "glue_job_run_id"): "jr_1"})
    assert (done.loaded(failed_import), done.glue_run(failed_import)) == (False, "jr_1")
