"""The failure alert (``csv2ddb.alerts``): what it names, and what the failed load found about its
data (docs/checks.md): which checks failed and why, conflicting duplicates, a key taken by its name.
Pure: the manifest, the audit records and SNS are stand-ins."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from csv2ddb import alerts
from csv2ddb.history import audit
from csv2ddb.settings import load_settings

SETTINGS = load_settings({}, prefix="unit")


def test_alert_names_dag_run_task_file_and_log_url() -> None:
    from csv2ddb.alerts import failure_message

    # A stand-in task instance: the message is pure formatting of these attributes.
    ti = SimpleNamespace(
        dag_id="csv2ddb_load",
        run_id="manual__1",
        task_id="load_file.verify",
        map_index=2,
        try_number=3,
        log_url="http://127.0.0.1:8080/log",
    )
    task = SimpleNamespace(op_kwargs={"load": {"source_uri": "s3://b/raw/x.csv", "run_id": "manual__1__x"}})
    subject, body = failure_message(
        {
            "ti": ti,
            "task": task,
            "dag_run": SimpleNamespace(run_type="manual"),
            "exception": ValueError("boom"),
        }
    )
    assert "csv2ddb_load" in subject
    assert len(subject) <= 100
    for text in (
        "manual__1",
        "load_file.verify[2]",
        "s3://b/raw/x.csv",
        "http://127.0.0.1:8080/log",
        "boom",
        "Undo:     to delete what load manual__1__x wrote, trigger csv2ddb_rollback with run_id=manual__1__x",
    ):
        assert text in body


def test_alert_of_the_glue_operator_names_its_load_and_how_to_undo_it() -> None:
    from csv2ddb.alerts import failure_message

    ti = SimpleNamespace(dag_id="csv2ddb_load", run_id="m", task_id="load_file.run_glue", map_index=0)
    task = SimpleNamespace(load={"source_uri": "s3://b/raw/y.csv", "run_id": "m__y"}, script_args={})
    _, body = failure_message({"ti": ti, "task": task, "exception": RuntimeError("x")})
    assert "File:     s3://b/raw/y.csv" in body
    assert "run_id=m__y" in body
    # a rollback's own failure is not told to roll itself back
    ti = SimpleNamespace(dag_id="csv2ddb_rollback", run_id="m", task_id="roll_back", map_index=-1)
    _, body = failure_message({"ti": ti, "task": None, "params": {"run_id": "m__y"}, "exception": None})
    assert "(the items of load m__y)" in body
    assert "Undo:" not in body


CHECKS = {
    "columns": {"amount": {"between": {"min": 0, "max": 500}}, "id": {"not_null": True}},
    "file": {"row_count_history": {"last": 7, "within_pct": 30}},
}
HISTORY = "row count 4,120 is 48 % of the median of the last 7 loads (8,530); allowed ±30 %"
# What a job whose file failed a row and a file check, with conflicting duplicates, wrote down.
MANIFEST = {
    "run_id": "m__y",
    "status": "failed",
    "key_by_default": True,
    "duplicates": {"on_conflict": "reject", "exact": 1, "conflicting": 2},
    "checks": {
        "passed": False,
        "failed": ["between:amount", "row_count_history"],
        "results": [
            {"check": "between:amount", "kind": "row", "status": "failed", "rows_failing": 2},
            {"check": "not_null:id", "kind": "row", "status": "passed", "rows_failing": 0},
            {"check": "row_count_history", "kind": "file", "status": "failed", "detail": HISTORY},
        ],
    },
}


def _glue_context(load: dict[str, Any]) -> dict[str, Any]:
    ti = SimpleNamespace(dag_id="csv2ddb_load", run_id="m", task_id="load_file.run_glue", map_index=0)
    task = SimpleNamespace(load=load, script_args={})
    return {"ti": ti, "task": task, "exception": RuntimeError("check row_count_history failed")}


def _fetching(monkeypatch: pytest.MonkeyPatch, manifest: dict[str, Any] | None) -> list[str]:
    """``stored_manifest.fetch`` answering ``manifest``; returns the run ids it was asked for."""
    from csv2ddb import stored_manifest as manifests

    asked: list[str] = []

    def fetch(settings: Any, run_id: str) -> tuple[dict[str, Any] | None, str]:
        asked.append(run_id)
        return manifest, f"s3://unit-data/manifests/{run_id}.json"

    monkeypatch.setattr(manifests, "fetch", fetch)
    return asked


def test_alert_of_a_file_says_which_checks_failed_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _fetching(monkeypatch, MANIFEST)
    load = {"source_uri": "s3://b/raw/y.csv", "run_id": "m__y", "checks": json.dumps(CHECKS)}
    context = _glue_context(load)
    subject, body = alerts.failure_message(context, alerts.quality_of(context, SETTINGS))
    assert asked == ["m__y"]  # the failing file's own manifest
    assert subject.endswith("(checks failed)")
    assert len(subject) <= 100
    lines = body.splitlines()
    start = lines.index("Checks:   failed: between:amount, row_count_history")
    assert lines[start + 1 : start + 3] == [
        '  - between:amount: 2 row(s) failing; rule between {"max": 500, "min": 0}',
        f"  - row_count_history: {HISTORY}",
    ]
    assert "not_null:id" not in body  # a passed check is not news
    assert (
        "Duplicates: 2 conflicting (a key an earlier row has with other cells; on_conflict reject: " in body
    )
    assert "rejected as conflicting_duplicate), 1 exact" in body
    assert "Key: the column id, only because of its name" in body
    assert body.index("Error:") < body.index("Checks:") < body.index("Undo:")


def test_alert_of_a_file_whose_checks_passed_adds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    passed = {
        "run_id": "m__y",
        "checks": {"passed": True, "failed": [], "results": MANIFEST["checks"]["results"][1:2]},
    }
    for manifest in (passed, None):  # checks passed; no manifest at all (the job died first)
        _fetching(monkeypatch, manifest)
        context = _glue_context({"source_uri": "s3://b/raw/y.csv", "run_id": "m__y"})
        quality = alerts.quality_of(context, SETTINGS)
        assert quality == []
        subject, body = alerts.failure_message(context, quality)
        assert "checks failed" not in subject
        assert "Checks:" not in body
        assert "Duplicates" not in body


def test_many_failed_checks_are_listed_up_to_a_bound() -> None:
    results = [
        {"check": f"not_null:c{i}", "kind": "row", "status": "failed", "rows_failing": i} for i in range(25)
    ]
    lines = alerts.quality_lines({"checks": {"results": results}})
    assert len(lines) == 1 + alerts.CHECKS_LISTED + 1
    assert lines[-1] == "  ... and 5 more (the manifest has every result)"
    assert lines[1] == "  - not_null:c0: 0 row(s) failing"  # no declaration at hand: no rule shown


def test_alert_of_the_runs_summary_reads_the_audit_records(monkeypatch: pytest.MonkeyPatch) -> None:
    from csv2ddb import provider_clients

    records = [
        {
            "source_key": "raw/a.csv",
            "status": "verified",
            **audit.quality_fields({"checks": {"passed": True, "results": []}}),
        },
        {"source_key": "raw/b.csv", "status": "failed", **audit.quality_fields(MANIFEST)},
    ]
    asked: list[tuple[str, str]] = []

    def records_of_dag_run(client: Any, table: str, dag_run_id: str) -> list[dict[str, Any]]:
        asked.append((table, dag_run_id))
        return records

    monkeypatch.setattr(provider_clients, "dynamodb_client", lambda settings: object())
    monkeypatch.setattr(audit, "records_of_dag_run", records_of_dag_run)
    ti = SimpleNamespace(dag_id="csv2ddb_load__weather", run_id="m", task_id="summarize", map_index=-1)
    context = {"ti": ti, "task": SimpleNamespace(op_kwargs={}), "params": {}, "exception": RuntimeError("x")}
    subject, body = alerts.failure_message(context, alerts.quality_of(context, SETTINGS))
    assert asked == [(SETTINGS.audit_table, "m")]
    assert "Checks:   failed (raw/b.csv): between:amount, row_count_history" in body
    assert "  - between:amount: 2 row(s) failing" in body
    assert f"  - row_count_history: {HISTORY}" in body
    assert "Duplicates (raw/b.csv): 2 conflicting" in body
    assert "Key (raw/b.csv): the column id" in body
    assert "raw/a.csv" not in body  # its checks passed
    assert subject.endswith("(checks failed)")


def test_alert_goes_out_when_the_checks_cannot_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.amazon.aws.hooks.sns import SnsHook
    from csv2ddb import stored_manifest as manifests

    def broken(settings: Any, run_id: str) -> None:
        raise OSError("S3 is down")

    monkeypatch.setattr(manifests, "fetch", broken)
    published: list[tuple[str, str, str]] = []

    def publish_to_target(
        self: Any, target_arn: str, message: str, subject: str | None = None
    ) -> dict[str, str]:
        published.append((target_arn, message, subject or ""))
        return {"MessageId": "id-1"}

    monkeypatch.setattr(SnsHook, "publish_to_target", publish_to_target)
    monkeypatch.setattr(
        alerts, "topic_arn", lambda settings: "arn:aws:sns:us-east-1:000000000000:unit-alerts"
    )
    context = _glue_context({"source_uri": "s3://b/raw/y.csv", "run_id": "m__y"})
    assert alerts.publish_failure(context, SETTINGS) == "id-1"
    [(arn, message, subject)] = published
    assert arn.endswith(":unit-alerts")
    assert "Checks:   (could not be read: OSError: S3 is down)" in message
    assert "File:     s3://b/raw/y.csv" in message
    assert "checks failed" not in subject


def test_the_summary_alert_knows_the_load_dags_summary_task(monkeypatch: pytest.MonkeyPatch) -> None:
    from csv2ddb import provider_clients
    from csv2ddb.load.dag_builder import build_load_dag

    dag = build_load_dag("csv2ddb_load", SETTINGS, description="unit", schedule=None)
    assert alerts.SUMMARY_TASK in dag.task_ids
    # a task before any file (no audit record yet) reads nothing
    monkeypatch.setattr(provider_clients, "dynamodb_client", lambda settings: pytest.fail("read"))
    ti = SimpleNamespace(dag_id="csv2ddb_load", run_id="m", task_id="resolve_inputs", map_index=-1)
    context = {"ti": ti, "task": SimpleNamespace(op_kwargs={}), "params": {}, "exception": None}
    assert alerts.quality_of(context, SETTINGS) == []


def test_alert_of_a_group_names_its_files_and_each_file_its_failed_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A group task (csv2ddb.load.groups) works on several loads: the alert names them, reads each
    file's own manifest, and gives no single undo hint (the run's note has one per file)."""
    asked = _fetching(monkeypatch, MANIFEST)
    files = [
        {"source_uri": f"s3://b/raw/{n}.csv", "key": f"raw/{n}.csv", "run_id": f"m__{n}", "checks": ""}
        for n in range(7)
    ]
    ti = SimpleNamespace(dag_id="csv2ddb_load", run_id="m", task_id="load_file.verify", map_index=0)
    for task in (
        SimpleNamespace(op_kwargs={"group": {"group_id": "g", "files": files}}),  # the bulk verify
        SimpleNamespace(group={"group_id": "g", "files": files}, load={}, script_args={}),  # run_glue
    ):
        context = {"ti": ti, "task": task, "exception": RuntimeError("x")}
        _, body = alerts.failure_message(context, alerts.quality_of(context, SETTINGS))
        assert "File:     7 files of one Glue run: s3://b/raw/0.csv, " in body
        assert "s3://b/raw/4.csv and 2 more" in body
        assert "Undo:" not in body
        assert "raw/6.csv" in body  # named on its failed checks' line
    assert asked == [f"m__{n}" for n in range(7)] * 2
    # a group of one is that file's task, with its undo hint
    one = SimpleNamespace(op_kwargs={"group": {"group_id": "g", "files": files[:1]}})
    _, body = alerts.failure_message({"ti": ti, "task": one, "exception": RuntimeError("x")})
    assert "File:     s3://b/raw/0.csv" in body
    assert "run_id=m__0" in body
