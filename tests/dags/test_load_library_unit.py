"""Unit tests of the load DAG's library: run ids, the trigger form, manifest checks, audit
records, the Glue job definition. Pure functions: no AWS, no Airflow scheduler."""

from __future__ import annotations

import re

import pytest
from csv2ddb import run_notes, stored_manifest
from csv2ddb.engines import PYTHONSHELL
from csv2ddb.history import audit
from csv2ddb.history.audit_cli import render_table
from csv2ddb.job_definitions import script_uri
from csv2ddb.load import counts, glue_task
from csv2ddb.load.file_plan import FilePlan
from csv2ddb.load.trigger_form import TOLERANCE_PATTERN, InvalidLoadRequest, load_params, plan_request
from csv2ddb.run_identity import RunStamp
from csv2ddb.settings import load_settings
from csv2ddb_core.contract import MAX_RUN_ID_LENGTH, load_run_id, sanitize
from hypothesis import given
from hypothesis import strategies as st

SETTINGS = load_settings({}, prefix="unit")
SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


# --- run ids -----------------------------------------------------------------------------------
def test_run_id_is_readable_and_deterministic() -> None:
    rid = load_run_id("manual__2026-01-02T03:04:05+00:00", "b", "raw/dt=2026-01-02/My File.csv")
    assert rid.startswith("manual__2026-01-02T03_04_05_00_00__My_File.csv__")
    assert rid == load_run_id("manual__2026-01-02T03:04:05+00:00", "b", "raw/dt=2026-01-02/My File.csv")


def test_run_ids_differ_per_file_and_per_run_even_when_names_sanitize_alike() -> None:
    ids = {
        load_run_id("run1", "b", "raw/a b.csv"),
        load_run_id("run1", "b", "raw/a_b.csv"),
        load_run_id("run2", "b", "raw/a b.csv"),
        load_run_id("run1", "other", "raw/a b.csv"),
    }
    assert len(ids) == 4


@given(st.text(min_size=0, max_size=400), st.text(min_size=1, max_size=1100))
def test_run_id_is_always_safe_and_bounded(dag_run_id: str, key: str) -> None:
    rid = load_run_id(dag_run_id, "bucket", key)
    assert SAFE.match(rid)
    assert len(rid) <= MAX_RUN_ID_LENGTH


def test_sanitize_collapses_unsafe_runs() -> None:
    assert sanitize("a::b//c d+e") == "a_b_c_d_e"


# --- the trigger form / request planning ----------------------------------------------------------
def test_params_have_descriptions_and_stack_defaults() -> None:
    params = load_params(SETTINGS)
    for name in ("bucket", "key", "prefix", "table", "reject_tolerance"):
        assert params[name]["description"], name
    assert params["bucket"]["default"] == SETTINGS.bucket
    assert params["table"]["default"] == SETTINGS.table


@pytest.mark.parametrize("value", ["0", "25", "0.01", ".5"])
def test_tolerance_pattern_accepts_counts_and_fractions(value: str) -> None:
    assert re.fullmatch(TOLERANCE_PATTERN, value)


@pytest.mark.parametrize("value", ["", "-1", "1%", "abc", "0.1.2"])
def test_tolerance_pattern_rejects_garbage(value: str) -> None:
    assert not re.fullmatch(TOLERANCE_PATTERN, value)


def test_event_conf_plans_one_object_with_its_etag() -> None:
    conf = {"bucket": "b", "key": "raw/x.csv", "etag": '"abc"', "version_id": "v1", "size": 3}
    req = plan_request(conf, "manual", None, SETTINGS)
    assert (req.mode, req.bucket, req.key, req.expected_etag, req.version_id) == (
        "object",
        "b",
        "raw/x.csv",
        "abc",
        "v1",
    )
    assert req.table == SETTINGS.table


def test_prefix_from_the_form() -> None:
    req = plan_request(
        {"prefix": "raw/batch/", "table": f"{SETTINGS.prefix}-t1", "reject_tolerance": "0.1"},
        "manual",
        None,
        SETTINGS,
    )
    assert (req.mode, req.prefix, req.table, req.reject_tolerance, req.recursive) == (
        "prefix",
        "raw/batch/",
        f"{SETTINGS.prefix}-t1",
        "0.1",
        True,
    )


@pytest.mark.parametrize("run_type", ["scheduled", "backfill"])
def test_scheduled_runs_default_to_their_partition(run_type: str) -> None:
    req = plan_request({}, run_type, "2024-03-05", SETTINGS)
    assert (req.mode, req.prefix, req.recursive) == ("partition", "raw/dt=2024-03-05/", False)


def test_airflow_run_type_enums_are_understood() -> None:
    from airflow.utils.types import DagRunType  # str(DagRunType.SCHEDULED) == "DagRunType.SCHEDULED"

    assert plan_request({}, DagRunType.SCHEDULED, "2024-03-05", SETTINGS).mode == "partition"
    assert plan_request({}, DagRunType.BACKFILL_JOB, "2024-03-05", SETTINGS).mode == "partition"


def test_manual_run_without_key_or_prefix_is_refused() -> None:
    with pytest.raises(InvalidLoadRequest, match="needs a key or a prefix"):
        plan_request({}, "manual", "2024-03-05", SETTINGS)


def test_key_and_prefix_together_are_refused() -> None:
    with pytest.raises(InvalidLoadRequest, match="not both"):
        plan_request({"key": "raw/a.csv", "prefix": "raw/"}, "manual", None, SETTINGS)


def test_folder_as_key_is_refused() -> None:
    with pytest.raises(InvalidLoadRequest, match="prefix field"):
        plan_request({"key": "raw/folder/"}, "manual", None, SETTINGS)


# --- manifest checks -------------------------------------------------------------------------------
LOAD = {"run_id": "r1", "bucket": "b", "key": "raw/x.csv", "source_uri": "s3://b/raw/x.csv", "table": "t"}


def manifest(**changes: object) -> dict:
    base = {
        "run_id": "r1",
        "status": "succeeded",
        "table": "t",
        "source": {"bucket": "b", "key": "raw/x.csv"},
        "rows_read": 10,
        "rows_written": 7,
        "rows_rejected": 2,
        "rows_duplicate": 1,
        "rows_skipped": 0,
    }
    return {**base, **changes}


def test_a_consistent_manifest_passes() -> None:
    counts.check_manifest(manifest(), LOAD, "m")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rows_read": 11}, "does not add up: rows_read=11"),
        ({"run_id": "other"}, "is for run 'other'"),
        ({"status": "failed", "error": "header invalid"}, "status='failed': header invalid"),
        ({"source": {"bucket": "b", "key": "raw/y.csv"}}, "describes s3://b/raw/y.csv"),
        ({"table": "t2"}, "loaded table 't2'"),
        ({"rows_written": None}, "lacks integer figures"),
    ],
)
def test_a_bad_manifest_fails_with_a_clear_message(changes: dict, message: str) -> None:
    with pytest.raises(counts.ManifestError, match=re.escape(message)):
        counts.check_manifest(manifest(**changes), LOAD, "m")


def test_mismatch_message_names_both_numbers() -> None:
    result = counts.Verification("r1", "t", 10, 7, 2, 1, items_counted=6)
    assert not result.ok
    with pytest.raises(counts.CountMismatch, match=r"rows_written=7.*holds 6 items"):
        counts.raise_on_mismatch(result)


def test_key_list_check_counts_later_overwrites_as_written_but_never_a_missing_key() -> None:
    """The decision documented in csv2ddb.load.counts: an item a later load overwrote was written (verified,
    reported); a missing key, or one holding an earlier load's item, fails."""
    base = {"method": counts.BY_KEYS, "keys_checked": 7}
    superseded = counts.Verification("r1", "t", 10, 7, 2, 1, items_counted=5, items_overwritten=2, **base)
    assert superseded.ok
    missing = counts.Verification("r1", "t", 10, 7, 2, 1, items_counted=6, items_missing=1, **base)
    assert not missing.ok
    stale = counts.Verification(
        "r1", "t", 10, 7, 2, 1, items_counted=6, items_stale=1, stale_from={"r0": 1}, **base
    )
    assert not stale.ok
    message = counts.mismatch(stale)
    assert "rows_written=7" in message
    assert "6 still this load's" in message
    assert "1 holding an earlier load's item {'r0': 1}" in message


def test_who_holds_a_key_is_decided_by_stamp_and_start_time() -> None:
    from csv2ddb import keyreads

    def item(run: str, ts: str) -> dict:
        return {"id": {"S": "k"}, "load_run_id": {"S": run}, "ingestion_timestamp": {"S": ts}}

    started = "2026-01-01T00:00:10.000Z"
    assert keyreads.classify(item("r1", "2026-01-01T00:00:10.000Z"), "r1", started) == ("ours", "r1")
    assert keyreads.classify(item("r2", "2026-01-01T00:00:11.000Z"), "r1", started) == ("later", "r2")
    assert keyreads.classify(item("r0", "2026-01-01T00:00:09.000Z"), "r1", started) == ("stale", "r0")
    assert keyreads.classify({"id": {"S": "k"}}, "r1", started) == ("stale", None)
    census, ours = keyreads.census_of([item("r1", started), item("r2", "2027")], 3, "r1", started)
    assert (census.ours, census.later, census.stale, census.missing) == (1, 1, 0, 1)
    assert len(ours) == 1
    # numbers compare by value and binary by bytes, as DynamoDB compares keys
    assert keyreads.canonical({"n": {"N": "1e3"}}) == keyreads.canonical({"n": {"N": "1000.0"}})
    assert keyreads.canonical({"b": {"B": b"\x00\xff"}}) == keyreads.canonical({"b": {"B": "AP8="}})


def test_manifest_that_is_not_json_is_a_manifest_error() -> None:
    with pytest.raises(counts.ManifestError, match="not JSON"):
        stored_manifest.parse_manifest("{oops", "m")


# --- audit records ------------------------------------------------------------------------------------
def test_audit_record_round_trips_through_dynamodb_types() -> None:
    rec = audit.build_record(
        RunStamp("csv2ddb_load", "manual__x", "manual", "alice"),
        {**LOAD, "etag": "e", "size": 123, "version_id": None, "reject_tolerance": "0"},
        audit.Outcome(
            audit.STATUS_VERIFIED,
            None,
            {
                **manifest(),
                "seconds": 1.25,
                "rows_per_second": 8.0,
                "started_at": "2026-01-01T00:00:00Z",
            },
            7,
        ),
        "j",
        "jr_1",
    )
    assert "source_version_id" not in rec
    assert "error" not in rec
    assert rec["load_seconds"] == 1.25
    assert rec["load_started_at"] == "2026-01-01T00:00:00Z"
    assert audit.from_item(audit.to_item(rec)) == rec
    table = render_table([rec])
    assert "manual__x" in table
    assert "verified" in table
    assert "jr_1" in table


def test_note_lists_every_file_and_the_missing_ones() -> None:
    note = run_notes.format_note(
        [{"source_key": "raw/a.csv", "status": "verified", "rows_read": 3}], expected=2
    )
    assert "1/2 file(s) verified" in note
    assert "raw/a.csv" in note
    assert "1 file(s) have no audit record" in note
    assert "Roll back" not in note


def test_note_of_a_failed_load_says_how_to_roll_it_back() -> None:
    records = [
        {"source_key": "raw/a.csv", "status": "verified", "run_id": "ra"},
        {"source_key": "raw/b.csv", "status": "failed", "run_id": "rb", "error": "Glue job failed"},
    ]
    note = run_notes.format_note(records, expected=2)
    assert "- `raw/b.csv`: to delete what load rb wrote, trigger csv2ddb_rollback with run_id=rb" in note
    assert "python -m csv2ddb.history.rollback_cli rb" in note
    assert "load ra" not in note


def test_rollback_form_takes_exactly_a_run_id() -> None:
    import jsonschema
    from csv2ddb.history.rollback import rollback_params

    schema = rollback_params()["run_id"]
    jsonschema.validate("manual__2026-01-01T00_00_00__x.csv__0123456789abcdef", schema)
    for bad in ("", "a b", "x" * 201, "../etc"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_lineage_types_a_key_as_the_table_does() -> None:
    from csv2ddb.history.lineage import LineageError, key_text, typed_key

    table = {
        "TableName": "t",
        "KeySchema": [{"AttributeName": "n", "KeyType": "RANGE"}, {"AttributeName": "p", "KeyType": "HASH"}],
        "AttributeDefinitions": [
            {"AttributeName": "p", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
    }
    assert typed_key(table, ["a", "12"]) == {"p": {"S": "a"}, "n": {"N": "12"}}
    with pytest.raises(LineageError, match="give 2 value"):
        typed_key(table, ["a"])
    with pytest.raises(LineageError, match="is a number"):
        typed_key(table, ["a", "twelve"])
    assert key_text({"id": {"S": "k1"}}) == "k1"
    assert key_text({"p": {"S": "a"}, "n": {"N": "12"}}) == "n=12 p=a"


# --- the Glue job definition -------------------------------------------------------------------------
def test_glue_operator_settings_come_from_settings() -> None:
    kwargs = glue_task.operator_kwargs(SETTINGS)
    job = kwargs["create_job_kwargs"]
    assert job["Command"] == {
        "Name": "pythonshell",
        "ScriptLocation": script_uri(SETTINGS),
        "PythonVersion": SETTINGS.glue.python_version,
    }
    assert kwargs["num_of_dpus"] == job["MaxCapacity"] == SETTINGS.glue.max_capacity
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": SETTINGS.glue.max_concurrent_runs}
    assert kwargs["update_config"]
    assert kwargs["wait_for_completion"]
    assert kwargs["retry_limit"] == 0
    assert kwargs["verbose"] is SETTINGS.glue.verbose


def test_script_args_follow_the_glue_contract() -> None:
    plan = FilePlan.from_xcom({**LOAD, "reject_tolerance": "0.01"})
    args = plan.run_arguments(SETTINGS, PYTHONSHELL)
    assert args["--source_bucket"] == "b"
    assert args["--source_key"] == "raw/x.csv"
    assert args["--table"] == "t"
    assert args["--run_id"] == "r1"
    assert args["--reject_tolerance"] == "0.01"
    assert args["--manifest_bucket"] == SETTINGS.bucket
    assert all(isinstance(v, str) for v in args.values())


# --- teardown confirmation ------------------------------------------------------------------------
@pytest.mark.parametrize("confirm", ["", None, "yes", "Delete", " delete"])
def test_teardown_confirmation_must_be_exactly_delete(confirm: object) -> None:
    from airflow.sdk.exceptions import AirflowFailException
    from csv2ddb.bootstrap.dag_tasks import require_confirmation

    with pytest.raises(AirflowFailException, match="Nothing was deleted"):
        require_confirmation(confirm, SETTINGS)
    require_confirmation("delete", SETTINGS)
