"""The analytics side against the emulator, for real: the bootstrap's catalog, workgroup, saved
queries, alarms and dashboard; a load's partition and its Athena count (DuckDB); the rejects table
queried by reason; schema evolution; metrics; alarms that fire and reach the SNS topic."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from csv2ddb.analytics import athena, metrics
from csv2ddb.analytics.catalog import CatalogError, ensure_items_table, glue_hook
from csv2ddb.analytics.config import analytics_config
from csv2ddb.analytics.status import COUNT_MISMATCH, FAILED, RECONCILED, SKIPPED
from csv2ddb.analytics.step import LoadToAnalyze, analyze_load, analyze_loads
from csv2ddb.analytics.zone_rollback import remove_processed, remove_processed_of_load
from csv2ddb.bootstrap.analytics_alarms import analytics_alarms
from csv2ddb.bootstrap.analytics_athena import AthenaWorkgroup, SavedQueries
from csv2ddb.bootstrap.analytics_catalog import AnalyticsDatabase, RejectsCatalogTable
from csv2ddb.bootstrap.analytics_dashboard import LoadsDashboard
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.dynamodb_tables import audit_table
from csv2ddb.bootstrap.model import CREATED, DELETED, UNCHANGED
from csv2ddb.bootstrap.sns_topic import AlertsTopic
from csv2ddb.bootstrap.stack import ensure, remove
from csv2ddb.history.audit import put_record

from tests.analytics.alerts import subscribe_queue
from tests.analytics.conftest import Place
from tests.analytics.loads import job_args, write_load

JOB_SCRIPT = Path(__file__).resolve().parents[2] / "glue" / "csv2ddb_load_job.py"


def analytics_resources(ctx: StackContext) -> list[Any]:
    return [
        AnalyticsDatabase(ctx),
        RejectsCatalogTable(ctx),
        AthenaWorkgroup(ctx),
        SavedQueries(ctx),
        *analytics_alarms(ctx),
        LoadsDashboard(ctx),
    ]


@pytest.fixture
def stack(place: Place, airflow_aws: None) -> Iterator[StackContext]:
    """The alerts topic, the audit table and the analytics resources, made by the bootstrap."""
    ctx = StackContext(place.settings)
    base = [AlertsTopic(ctx), audit_table(ctx)]
    changes = [ensure(r) for r in [*base, *analytics_resources(ctx)]]
    assert {c.action for c in changes} == {CREATED}, changes
    yield ctx
    for resource in reversed([*base, *analytics_resources(ctx)]):
        remove(resource)


@pytest.fixture
def inbox(stack: StackContext) -> Any:
    """An SQS queue subscribed to the alerts topic: what SNS delivers lands here."""
    return subscribe_queue(stack)


def items_of(run_id: str, count: int, **extra: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "id": {"S": f"{run_id}-{i}"},
            "qty": {"N": str(i)},
            "carrier": {"S": "UA" if i % 2 else "AA"},
            "load_run_id": {"S": run_id},
            **extra,
        }
        for i in range(count)
    ]


def test_the_bootstrap_resources_are_idempotent(stack: StackContext) -> None:
    changes = [ensure(r) for r in analytics_resources(stack)]
    assert {c.action for c in changes} == {UNCHANGED}, changes
    glue = stack.client("glue")
    cfg = analytics_config(stack.settings)
    rejects = glue.get_table(DatabaseName=cfg.database, Name=cfg.rejects_table)["Table"]
    assert [k["Name"] for k in rejects["PartitionKeys"]] == ["dataset", "load_date"]
    group = stack.client("athena").get_work_group(WorkGroup=cfg.workgroup)["WorkGroup"]
    assert group["Configuration"]["ResultConfiguration"]["OutputLocation"] == cfg.athena_output
    body = json.loads(stack.client("cloudwatch").get_dashboard(DashboardName=cfg.dashboard)["DashboardBody"])
    assert body["widgets"][-1]["type"] == "alarm"
    removed = [remove(r) for r in reversed(analytics_resources(stack))]
    assert {c.action for c in removed} == {DELETED}, removed


def test_a_load_is_registered_and_reconciled_by_athena(place: Place, stack: StackContext, inbox: Any) -> None:
    cfg = analytics_config(stack.settings)
    run_id = f"r-{uuid.uuid4().hex[:8]}"
    manifest = write_load(
        job_args(place.bucket, place.table, run_id),
        items_of(run_id, 120),
        [(5, "ragged_row", "2 cells", ["a", "b"]), (9, "type_mismatch", "qty: 'x'", ["x"])],
    )
    fields = analyze_load(stack.settings, place.table, run_id, manifest, verified=True, cfg=cfg)
    assert fields["analytics_status"] == RECONCILED, fields
    assert fields["athena_count"] == manifest["rows_written"] == 120
    assert fields["table_change"] == "created"
    assert fields["partition"] == "created"
    hook = glue_hook(cfg)
    parts = hook.conn.get_partitions(DatabaseName=cfg.database, TableName=cfg.items_table(place.table))
    assert [p["Values"] for p in parts["Partitions"]] == [["2026-12-05"]]
    # The rejects table answers "which rows did that load reject, and why".
    by_reason = athena.run(
        cfg,
        f"SELECT reason, count(*) FROM {athena.quoted(cfg.database, cfg.rejects_table)} "
        f"WHERE dataset = {athena.literal(place.table)} AND load_run_id = {athena.literal(run_id)} "
        "GROUP BY reason ORDER BY reason",
    )
    assert by_reason.rows == [["ragged_row", "1"], ["type_mismatch", "1"]]
    # Metrics appear, per table.
    cw = stack.client("cloudwatch")
    listed = cw.list_metrics(Namespace=cfg.namespace, MetricName=metrics.ROWS_WRITTEN)["Metrics"]
    assert {"Name": metrics.TABLE, "Value": place.table} in listed[0]["Dimensions"]
    assert inbox(wait=2) == []  # a reconciled load alerts no one


def test_a_new_column_widens_the_table_and_a_changed_type_is_refused(
    place: Place, stack: StackContext
) -> None:
    cfg = analytics_config(stack.settings)
    hook = glue_hook(cfg)
    assert ensure_items_table(hook, cfg, place.table, [("id", "string"), ("qty", "bigint")]) == "created"
    assert ensure_items_table(hook, cfg, place.table, [("id", "string"), ("note", "string")]) == "added note"
    columns = hook.get_table(cfg.database, cfg.items_table(place.table))["StorageDescriptor"]["Columns"]
    assert [(c["Name"], c["Type"]) for c in columns] == [
        ("id", "string"),
        ("qty", "bigint"),
        ("note", "string"),
    ]
    with pytest.raises(CatalogError, match="qty is bigint in the table, double in this load"):
        ensure_items_table(hook, cfg, place.table, [("qty", "double")])


def test_an_analytics_failure_is_reported_and_alerted_never_raised(
    place: Place, stack: StackContext, inbox: Any
) -> None:
    cfg = analytics_config(stack.settings)
    ensure_items_table(glue_hook(cfg), cfg, place.table, [("qty", "string")])  # the next load has bigint
    run_id = f"r-{uuid.uuid4().hex[:8]}"
    manifest = write_load(job_args(place.bucket, place.table, run_id), items_of(run_id, 10))
    fields = analyze_load(stack.settings, place.table, run_id, manifest, verified=True, cfg=cfg)
    assert fields["analytics_status"] == FAILED
    assert "qty is string in the table, bigint in this load" in fields["analytics_error"]
    assert any("analytics step of load" in body and run_id in body for body in inbox())
    # A count that differs from rows_written is a mismatch (here: the manifest claims one more).
    other = f"r-{uuid.uuid4().hex[:8]}"
    manifest = write_load(job_args(place.bucket, f"{place.table}", other), [])
    assert (
        analyze_load(stack.settings, place.table, other, manifest, verified=False, cfg=cfg)[
            "analytics_status"
        ]
        == SKIPPED
    )


def test_a_count_mismatch_is_flagged(place: Place, stack: StackContext) -> None:
    cfg = analytics_config(stack.settings)
    run_id = f"r-{uuid.uuid4().hex[:8]}"
    manifest = write_load(job_args(place.bucket, place.table, run_id), items_of(run_id, 30))
    manifest["rows_written"] = 31
    fields = analyze_load(stack.settings, place.table, run_id, manifest, verified=True, cfg=cfg)
    assert fields["analytics_status"] == COUNT_MISMATCH
    assert fields["athena_count"] == 30


def test_a_group_s_loads_are_counted_by_one_athena_query_each_judged_alone(
    place: Place, stack: StackContext, inbox: Any
) -> None:
    """A group run's files (bulk verify): ONE Athena query counts every verified load of a table and
    day; each load still gets its own status (here one claims a row more: only it mismatches and
    alerts), a load not verified is skipped, and each carries its share of the step's seconds."""
    cfg = analytics_config(stack.settings)
    runs = [f"r-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    manifests = {
        run: write_load(job_args(place.bucket, place.table, run, key=f"raw/g{n}.csv"), items_of(run, 5 + n))
        for n, run in enumerate(runs)
    }
    manifests[runs[2]]["rows_written"] += 1
    loads = [LoadToAnalyze(place.table, run, manifests[run], verified=run != runs[3]) for run in runs]
    fields = analyze_loads(stack.settings, loads, cfg)
    assert [fields[run]["analytics_status"] for run in runs] == [
        RECONCILED,
        RECONCILED,
        COUNT_MISMATCH,
        SKIPPED,
    ]
    assert [fields[run].get("athena_count") for run in runs] == [5, 6, 7, None]
    assert len({fields[run]["athena_query_id"] for run in runs[:3]}) == 1  # one query for the three
    assert fields[runs[0]]["partition"] == "created"
    assert fields[runs[1]]["partition"] == "exists"  # the same day, registered once
    assert len({fields[run]["analytics_seconds"] for run in runs}) == 1
    alerts = inbox()
    assert [run for run in runs if any(run in body for body in alerts)] == [runs[2]]


def _state(stack: StackContext, name: str) -> str:
    found = stack.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return found[0]["StateValue"]


def test_a_failed_load_drives_its_alarm_to_alarm_and_sns(stack: StackContext, inbox: Any) -> None:
    cfg = analytics_config(stack.settings)
    metrics.publish_load(cfg, stack.settings.table, {"rows_read": 10, "rows_written": 10}, verified=True)
    assert _state(stack, cfg.failure_alarm) != "ALARM"
    metrics.publish_load(cfg, stack.settings.table, None, verified=False)
    assert _state(stack, cfg.failure_alarm) == "ALARM"
    bodies = inbox()
    assert any(json.loads(b).get("AlarmName") == cfg.failure_alarm for b in bodies), bodies


def test_a_reject_rate_over_the_threshold_alarms(stack: StackContext) -> None:
    cfg = analytics_config(stack.settings)
    manifest = {"rows_read": 100, "rows_written": 90, "rows_rejected": 10}  # 10 % > 5 %
    metrics.publish_load(cfg, stack.settings.table, manifest, verified=True)
    assert _state(stack, cfg.reject_rate_alarm) == "ALARM"


def test_the_staleness_alarm_fires_for_a_dataset_with_no_load(stack: StackContext, inbox: Any) -> None:
    cfg = analytics_config(stack.settings)
    figures = metrics.publish_staleness(cfg, [stack.settings.table], stack.client("dynamodb"))
    assert figures == {stack.settings.table: {metrics.STALE: 1.0}}
    assert _state(stack, cfg.stale_alarm(stack.settings.table)) == "ALARM"
    bodies = inbox()
    assert any(json.loads(b).get("AlarmName") == cfg.stale_alarm(stack.settings.table) for b in bodies), (
        bodies
    )


def test_a_rolled_back_load_leaves_the_zone_and_its_day_goes_with_the_last_one(
    place: Place, stack: StackContext
) -> None:
    cfg = analytics_config(stack.settings)
    runs = [f"r-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    manifests = [
        write_load(
            job_args(place.bucket, place.table, run), items_of(run, 20), [(3, "ragged_row", "x", ["x"])]
        )
        for run in runs
    ]
    for run, manifest in zip(runs, manifests, strict=True):
        assert (
            analyze_load(stack.settings, place.table, run, manifest, verified=True, cfg=cfg)[
                "analytics_status"
            ]
            == RECONCILED
        )
    first = remove_processed(cfg, place.table, manifests[0]["processed"])
    assert first == {"processed_removed": 2, "partition_dropped": False}  # one part, one rejects file
    assert athena.reconcile(cfg, place.table, "2026-12-05", runs[0], 0)["athena_count"] == 0
    assert athena.reconcile(cfg, place.table, "2026-12-05", runs[1], 20)["athena_matches"]
    # The rollback's call: by run id, through the load's stored manifest.
    s3 = stack.client("s3")
    s3.put_object(
        Bucket=place.bucket, Key=stack.settings.manifest_key(runs[1]), Body=json.dumps(manifests[1])
    )
    assert remove_processed_of_load(stack.settings, runs[1])["partition_dropped"] is True
    assert remove_processed_of_load(stack.settings, "never-loaded") == {"processed_removed": 0}
    parts = glue_hook(cfg).conn.get_partitions(
        DatabaseName=cfg.database, TableName=cfg.items_table(place.table)
    )
    assert parts["Partitions"] == []


def test_the_staleness_check_watches_every_cataloged_dataset(
    place: Place, stack: StackContext, tmp_path: Path
) -> None:
    """One dataset verified an hour ago (fresh), one cataloged but never verified (stale). No
    dataset file is deployed here (declared datasets: test_dataset_alarms.py)."""
    cfg = analytics_config(stack.settings)
    hook = glue_hook(cfg)
    ensure_items_table(hook, cfg, "other-dataset", [("id", "string")])
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds").replace("+00:00", "Z")
    record = {"dag_run_id": "d1", "source": "s3://b/raw/x.csv", "table": place.table}
    record |= {"status": "verified", "recorded_at": hour_ago, "dag_id": "csv2ddb_load"}
    put_record(stack.client("dynamodb"), stack.settings.audit_table, record)
    figures = metrics.staleness_step(stack.settings, tmp_path / "no-dataset-files")
    assert set(figures) == {place.table, "other-dataset"}
    assert figures["other-dataset"] == {metrics.STALE: 1.0}
    assert figures[place.table][metrics.STALE] == 0.0
    assert 3500 < figures[place.table][metrics.FRESHNESS] < 3700


def test_a_glue_job_run_lands_the_zone_and_athena_reconciles_it(place: Place, stack: StackContext) -> None:
    """The real Python-shell job, run by the emulator's Glue with ``--processed true`` (and the
    analytics library set AWS needs for pyarrow), then the analytics step on its stored manifest."""
    cfg = analytics_config(stack.settings)
    on = analytics_config(stack.settings.with_load(processed=True))
    assert on.job_arguments["--processed"] == "true"
    s3, glue = stack.client("s3"), stack.client("glue")
    s3.upload_file(str(JOB_SCRIPT), place.bucket, "scripts/csv2ddb_load_job.py")
    s3.put_object(Bucket=place.bucket, Key="raw/g.csv", Body=b"id,v,w\na,1,x\nb,2.5,y\nc,3\n")
    job = f"{stack.settings.prefix}-load"
    glue.create_job(
        Name=job,
        Role="arn:aws:iam::000000000000:role/csv2ddb-test-glue",
        Command={"Name": "pythonshell", "ScriptLocation": f"s3://{place.bucket}/scripts/csv2ddb_load_job.py"},
        DefaultArguments={"library-set": "analytics", **on.job_arguments},
        MaxCapacity=0.0625,
        Timeout=300,  # minutes on AWS; ministack reads it as seconds (capped at 600): room for a busy machine
    )
    run_id = f"g-{uuid.uuid4().hex[:8]}"
    args = {"--source_bucket": place.bucket, "--source_key": "raw/g.csv", "--table": place.table}
    args |= {"--run_id": run_id, "--reject_tolerance": "1"}
    try:
        glue_run = glue.start_job_run(JobName=job, Arguments=args)["JobRunId"]
        deadline = time.monotonic() + 300
        while (state := glue.get_job_run(JobName=job, RunId=glue_run)["JobRun"])["JobRunState"] in (
            "STARTING",
            "RUNNING",
            "STOPPING",
        ):
            assert time.monotonic() < deadline, state
            time.sleep(0.5)
        assert state["JobRunState"] == "SUCCEEDED", state.get("ErrorMessage")
    finally:
        glue.delete_job(JobName=job)
    manifest = json.loads(s3.get_object(Bucket=place.bucket, Key=f"manifests/{run_id}.json")["Body"].read())
    assert manifest["processed"]["rows"] == manifest["rows_written"] == 2
    assert manifest["processed"]["rejects"]["rows"] == 1
    fields = analyze_load(stack.settings, place.table, run_id, manifest, verified=True, cfg=cfg)
    assert fields["analytics_status"] == RECONCILED, fields
    assert fields["athena_count"] == 2


def test_a_group_is_cataloged_in_one_pass_and_a_refused_load_fails_alone(
    place: Place, stack: StackContext, inbox: Any
) -> None:
    """A bulk verify's loads go to the catalog together (``catalog.register_loads``: one GetTable,
    one UpdateTable with every new column, one BatchCreatePartition per catalog table), and each load
    keeps the answer it would have had alone: the first creates the table and the day's partition,
    a load with new columns says which, a load whose column changed type fails (and alerts) alone,
    and a load's rejects get their partition."""
    cfg = analytics_config(stack.settings)
    runs = [f"r-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    bodies = [
        items_of(runs[0], 5),
        items_of(runs[1], 6, note={"S": "n"}),
        items_of(runs[2], 7, qty={"S": "x"}),  # qty is bigint in the table: refused
        items_of(runs[3], 8, gate={"S": "g"}),
    ]
    rejected = [(4, "ragged_row", "2 cells", ["a", "b"])]
    manifests = [
        write_load(
            job_args(place.bucket, place.table, run, key=f"raw/c{n}.csv"), body, rejected if n == 3 else ()
        )
        for n, (run, body) in enumerate(zip(runs, bodies, strict=True))
    ]
    pairs = zip(runs, manifests, strict=True)
    loads = [LoadToAnalyze(place.table, run, m, verified=True) for run, m in pairs]
    fields = analyze_loads(stack.settings, loads, cfg)
    assert [fields[run]["analytics_status"] for run in runs] == [RECONCILED, RECONCILED, FAILED, RECONCILED]
    assert [fields[run].get("table_change") for run in runs] == ["created", "added note", None, "added gate"]
    assert [fields[run].get("partition") for run in runs] == ["created", "exists", None, "exists"]
    assert "qty is bigint in the table, string in this load" in fields[runs[2]]["analytics_error"]
    assert [fields[run].get("athena_count") for run in runs] == [5, 6, None, 8]
    glue = glue_hook(cfg).conn
    table = glue.get_table(DatabaseName=cfg.database, Name=cfg.items_table(place.table))["Table"]
    assert {"note", "gate"} <= {c["Name"] for c in table["StorageDescriptor"]["Columns"]}
    parts = glue.get_partitions(DatabaseName=cfg.database, TableName=cfg.items_table(place.table))
    assert [p["Values"] for p in parts["Partitions"]] == [["2026-12-05"]]
    rejects = glue.get_partitions(DatabaseName=cfg.database, TableName=cfg.rejects_table)["Partitions"]
    assert [p["Values"] for p in rejects] == [[place.table, "2026-12-05"]]
    alerts = drained(inbox)
    assert [run for run in runs if any(run in body for body in alerts)] == [runs[2]]


def drained(inbox: Any) -> list[str]:
    """Every alert delivered so far (the inbox answers up to 10 at a time)."""
    got, more = [], inbox()
    while more:
        got += more
        more = inbox(wait=2)
    return got


def test_a_failed_metrics_call_fails_exactly_the_loads_it_carried(
    place: Place, stack: StackContext, inbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PutMetricData takes whole loads, 50 a call (10 data each): here 60 loads are two calls, and
    the second fails (CloudWatch refusing it, as a throttled or denied call would). Its 10 loads are
    ``failed`` with the error and alerted, each alone; the first call's 50 are put and go on to be
    cataloged and counted; no load's status is touched beyond its analytics."""
    cfg = analytics_config(stack.settings)
    real = metrics.cloudwatch(cfg)
    calls: list[int] = []

    class SecondCallRefused:
        def put_metric_data(self, **kwargs: Any) -> Any:
            calls.append(len(kwargs["MetricData"]))
            if len(calls) == 2:
                raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "PutMetricData")
            return real.put_metric_data(**kwargs)

    monkeypatch.setattr(metrics, "cloudwatch", lambda cfg: SecondCallRefused())
    runs = [f"r-{n:02d}-{uuid.uuid4().hex[:6]}" for n in range(60)]
    manifest = write_load(job_args(place.bucket, place.table, runs[0]), items_of(runs[0], 3))
    loads = [LoadToAnalyze(place.table, runs[0], manifest, verified=True)]
    failed = {"rows_read": 4, "rows_written": 0, "rows_rejected": 4, "seconds": 0.2, "rows_per_second": 0}
    loads += [LoadToAnalyze(place.table, run, failed, verified=False) for run in runs[1:]]  # failed loads
    fields = analyze_loads(stack.settings, loads, cfg)
    assert calls == [500, 100]
    assert fields[runs[0]]["analytics_status"] == RECONCILED
    assert {fields[run]["analytics_status"] for run in runs[1:50]} == {SKIPPED}
    assert {fields[run]["analytics_status"] for run in runs[50:]} == {FAILED}
    assert all("slow down" in fields[run]["analytics_error"] for run in runs[50:])
    alerts = drained(inbox)
    alerted = {run for run in runs if any(run in body for body in alerts)}
    assert alerted == set(runs[50:])
