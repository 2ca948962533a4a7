"""The load DAG's library against the real emulator, through the Amazon provider's hooks:
input resolution (S3Hook), ensure table, the exact count check, the audit store and its CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import boto3
import pytest
from csv2ddb.history import audit
from csv2ddb.load import counts
from csv2ddb.load.inputs import resolve_inputs
from csv2ddb.load.trigger_form import InvalidLoadRequest, plan_request
from csv2ddb.run_identity import RunStamp
from csv2ddb.settings import Settings
from csv2ddb.tables import TableSchemaMismatch, TableSpec, ensure_table, items_table_spec
from csv2ddb_core.contract import KEYS_SUFFIX
from csv2ddb_core.keylist import KeyListWriter
from csv2ddb_dev.emulator import Emulator

pytestmark = pytest.mark.emulator


@pytest.fixture
def clients(emulator: Emulator, boto_session: boto3.Session) -> dict[str, Any]:
    return {
        name: boto_session.client(name, endpoint_url=emulator.endpoint_url) for name in ("s3", "dynamodb")
    }


@pytest.fixture
def s3_hook(airflow_conn: None) -> Any:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id="aws_default")


@pytest.fixture
def bucket(stack_settings: Settings, clients: dict[str, Any]) -> str:
    s3 = clients["s3"]
    s3.create_bucket(Bucket=stack_settings.bucket)
    for key in ("raw/dt=2024-01-01/a.csv", "raw/dt=2024-01-01/b.CSV", "raw/dt=2024-01-01/deeper/c.csv"):
        s3.put_object(Bucket=stack_settings.bucket, Key=key, Body=b"id,x\n1,2\n")
    s3.put_object(Bucket=stack_settings.bucket, Key="raw/dt=2024-01-01/notes.txt", Body=b"x")
    return stack_settings.bucket


def test_resolve_one_object_with_its_etag_and_size(
    stack_settings: Settings, bucket: str, s3_hook: Any
) -> None:
    request = plan_request(
        {"bucket": bucket, "key": "raw/dt=2024-01-01/a.csv"}, "manual", None, stack_settings
    )
    (load,) = resolve_inputs(request, s3_hook, "manual__1")
    assert load["size"] == len(b"id,x\n1,2\n")
    assert load["etag"]
    assert '"' not in load["etag"]
    assert load["source_uri"] == f"s3://{bucket}/raw/dt=2024-01-01/a.csv"
    assert load["run_id"].startswith("manual__1__a.csv__")


def test_resolve_refuses_an_object_changed_since_its_event(
    stack_settings: Settings, bucket: str, s3_hook: Any
) -> None:
    conf = {"bucket": bucket, "key": "raw/dt=2024-01-01/a.csv", "etag": "0" * 32}
    with pytest.raises(InvalidLoadRequest, match="changed since the event"):
        resolve_inputs(plan_request(conf, "manual", None, stack_settings), s3_hook, "manual__1")


def test_resolve_refuses_a_missing_object(stack_settings: Settings, bucket: str, s3_hook: Any) -> None:
    request = plan_request({"bucket": bucket, "key": "raw/nope.csv"}, "manual", None, stack_settings)
    with pytest.raises(InvalidLoadRequest, match="does not exist"):
        resolve_inputs(request, s3_hook, "manual__1")


def test_resolve_prefix_is_recursive_and_partition_is_not(
    stack_settings: Settings, bucket: str, s3_hook: Any
) -> None:
    prefix = plan_request({"bucket": bucket, "prefix": "raw/dt=2024-01-01/"}, "manual", None, stack_settings)
    keys = [load["key"] for load in resolve_inputs(prefix, s3_hook, "r")]
    assert keys == ["raw/dt=2024-01-01/a.csv", "raw/dt=2024-01-01/b.CSV", "raw/dt=2024-01-01/deeper/c.csv"]
    partition = plan_request({"bucket": bucket}, "scheduled", "2024-01-01", stack_settings)
    keys = [load["key"] for load in resolve_inputs(partition, s3_hook, "r")]
    assert keys == ["raw/dt=2024-01-01/a.csv", "raw/dt=2024-01-01/b.CSV"]
    assert len({load["run_id"] for load in resolve_inputs(partition, s3_hook, "r")}) == 2


def test_resolve_an_empty_partition_fails_clearly(
    stack_settings: Settings, bucket: str, s3_hook: Any
) -> None:
    request = plan_request({"bucket": bucket}, "scheduled", "2024-01-02", stack_settings)
    with pytest.raises(InvalidLoadRequest, match=r"no \.csv objects under s3://.*/raw/dt=2024-01-02/"):
        resolve_inputs(request, s3_hook, "r")


def test_ensure_table_creates_with_pitr_then_accepts_it_then_refuses_another_schema(
    stack_settings: Settings, clients: dict[str, Any]
) -> None:
    ddb = clients["dynamodb"]
    spec = items_table_spec(stack_settings)
    first = ensure_table(ddb, spec, tags=stack_settings.tags, delay_seconds=0.2)
    assert first == {"table": spec.name, "created": True, "status": "ACTIVE", "pitr": "ENABLED"}
    desc = ddb.describe_table(TableName=spec.name)["Table"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ensure_table(ddb, spec, delay_seconds=0.2)["created"] is False

    other = TableSpec(name=f"{stack_settings.prefix}-other", hash_key="pk", range_key="sk")
    ddb.create_table(
        TableName=other.name,
        KeySchema=other.key_schema(),
        AttributeDefinitions=other.attribute_definitions(),
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(
        TableSchemaMismatch, match=r"exists with key schema \[\('pk', 'HASH'.*writes \[\('id'"
    ):
        ensure_table(ddb, TableSpec(name=other.name, hash_key="id"), delay_seconds=0.2)


STARTED = "2026-01-01T00:00:10.000Z"  # the load's start: its ingestion_timestamp


def item(key: str, run: str, ts: str = STARTED) -> dict[str, Any]:
    return {"id": {"S": key}, "load_run_id": {"S": run}, "ingestion_timestamp": {"S": ts}}


@pytest.fixture
def written_load(stack_settings: Settings, clients: dict[str, Any]) -> dict[str, Any]:
    """Load run-a's 7 items (and 3 of run-b) and its manifest with a real key list (the core's
    KeyListWriter, as the job writes it)."""
    ddb, s3 = clients["dynamodb"], clients["s3"]
    spec = items_table_spec(stack_settings)
    ensure_table(ddb, spec, delay_seconds=0.2)
    s3.create_bucket(Bucket=stack_settings.bucket)
    items = [item(f"a{i}", "run-a") for i in range(7)]
    for one in items + [item(f"b{i}", "run-b") for i in range(3)]:  # another load's items too
        ddb.put_item(TableName=spec.name, Item=one)
    writer = KeyListWriter(("id",))
    writer.add(items)
    keys = writer.upload(s3, stack_settings.bucket, f"manifests/run-a{KEYS_SUFFIX}")
    writer.close()
    manifest = {
        "run_id": "run-a",
        "status": "succeeded",
        "table": spec.name,
        "source": {"bucket": "b", "key": "raw/x.csv"},
        "started_at": STARTED,
        "rows_read": 8,
        "rows_written": 7,
        "rows_rejected": 0,
        "rows_duplicate": 1,
        "rows_skipped": 0,
        **keys,
    }
    load = {"run_id": "run-a", "bucket": "b", "key": "raw/x.csv", "source_uri": "s3://b/raw/x.csv"}
    return {"manifest": manifest, "load": {**load, "table": spec.name}, "table": spec.name}


def test_key_list_check_counts_this_load_and_names_what_changed(
    written_load: dict[str, Any], clients: dict[str, Any]
) -> None:
    ddb, s3 = clients["dynamodb"], clients["s3"]
    manifest, load, table = written_load["manifest"], written_load["load"], written_load["table"]

    def check() -> counts.Verification:
        return counts.verify_load(manifest, load, ddb, "m", s3=s3, workers=3)

    result = check()
    assert (result.ok, result.items_counted, result.keys_checked, result.method) == (True, 7, 7, "keys")
    counts.raise_on_mismatch(result)

    # a later load overwrote a2: still written, reported, not counted as lost
    ddb.put_item(TableName=table, Item=item("a2", "run-c", ts="2026-01-01T00:05:00.000Z"))
    result = check()
    assert result.ok
    assert (result.items_counted, result.items_overwritten, result.overwritten_by) == (6, 1, {"run-c": 1})

    # a5 holds an item of a load that started *before* run-a: run-a's write is not there
    ddb.put_item(TableName=table, Item=item("a5", "run-0", ts="2025-12-31T23:59:59.000Z"))
    # and a3 is gone
    ddb.delete_item(TableName=table, Key={"id": {"S": "a3"}})
    result = check()
    assert not result.ok
    assert (result.items_counted, result.items_missing, result.items_stale) == (4, 1, 1)
    with pytest.raises(counts.CountMismatch, match=r"rows_written=7, but of the 7 keys .* 1 missing"):
        counts.raise_on_mismatch(result)


def test_key_list_missing_truncated_or_altered_fails_the_check(
    written_load: dict[str, Any], clients: dict[str, Any], stack_settings: Settings
) -> None:
    ddb, s3 = clients["dynamodb"], clients["s3"]
    manifest, load = written_load["manifest"], written_load["load"]
    bucket, key = stack_settings.bucket, f"manifests/run-a{KEYS_SUFFIX}"
    with pytest.raises(counts.ManifestError, match="has no key list"):
        counts.verify_load({k: v for k, v in manifest.items() if k != "keys_location"}, load, ddb, "m", s3=s3)
    with pytest.raises(counts.ManifestError, match="holds 7 keys, manifest m says 8"):
        counts.verify_load(
            {**manifest, "keys_count": 8, "rows_written": 8, "rows_read": 9}, load, ddb, "m", s3=s3
        )
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=body[: len(body) // 2])  # truncated
    with pytest.raises(counts.ManifestError, match="truncated or not this load's"):
        counts.verify_load(manifest, load, ddb, "m", s3=s3)
    s3.delete_object(Bucket=bucket, Key=key)
    with pytest.raises(counts.ManifestError, match="cannot be read"):
        counts.verify_load(manifest, load, ddb, "m", s3=s3)


def test_full_table_count_is_a_parallel_scan(written_load: dict[str, Any], clients: dict[str, Any]) -> None:
    ddb = clients["dynamodb"]
    manifest, load, table = written_load["manifest"], written_load["load"], written_load["table"]
    assert counts.count_items(ddb, table, "run-a", page_size=2) == 7  # paginated, one segment
    assert counts.count_items(ddb, table, "run-a", segments=3) == 7  # Segment/TotalSegments
    result = counts.verify_load(manifest, load, ddb, "m", method=counts.BY_SCAN, segments=3)
    assert (result.ok, result.method, result.items_counted) == (True, "scan", 7)
    ddb.delete_item(TableName=table, Key={"id": {"S": "a3"}})
    result = counts.verify_load(manifest, load, ddb, "m", method=counts.BY_SCAN, segments=3)
    with pytest.raises(counts.CountMismatch, match=r"rows_written=7, but table .* holds 6 items"):
        counts.raise_on_mismatch(result)


def test_audit_history_and_cli(
    stack_settings: Settings, clients: dict[str, Any], aws_env: dict[str, str]
) -> None:
    from csv2ddb.tables import audit_table_spec

    ddb = clients["dynamodb"]
    ensure_table(ddb, audit_table_spec(stack_settings), delay_seconds=0.2)
    for n, key in enumerate(["raw/a.csv", "raw/b.csv"]):
        rec = audit.build_record(
            RunStamp("csv2ddb_load", f"manual__{n}", "manual", "alice"),
            {"run_id": f"r{n}", "bucket": "b", "key": key, "source_uri": f"s3://b/{key}", "table": "t"},
            audit.Outcome(
                audit.STATUS_VERIFIED,
                None,
                {
                    "rows_read": 5,
                    "rows_written": 5,
                    "rows_rejected": 0,
                    "rows_duplicate": 0,
                    "seconds": 0.5,
                },
                5,
            ),
            "j",
            f"jr_{n}",
        )
        audit.put_record(ddb, stack_settings.audit_table, rec)
    assert [r["source_key"] for r in audit.history(ddb, stack_settings.audit_table)] == [
        "raw/a.csv",
        "raw/b.csv",
    ]

    env = {**os.environ, **aws_env, "CSV2DDB_PREFIX": stack_settings.prefix}
    cli = [sys.executable, "-m", "csv2ddb.history.audit_cli"]
    done = subprocess.run([*cli, "--file", "raw/b.csv"], env=env, capture_output=True, text=True, check=True)
    assert "manual__1" in done.stdout
    assert "jr_1" in done.stdout
    assert "raw/a.csv" not in done.stdout
    done = subprocess.run(
        [*cli, "--since", "2999-01-01"], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "(no audit records)"
    bad = subprocess.run([*cli, "--since", "yesterday"], env=env, capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert "--since wants an ISO date" in bad.stderr


def test_an_event_batch_is_resolved_from_one_listing(
    stack_settings: Settings, bucket: str, s3_hook: Any, clients: dict[str, Any]
) -> None:
    """Objects whose events named their version are looked at in ONE listing of the batch's common
    prefix (their ETag and size; the version is the event's): one replaced since its event and one
    deleted are left out as with a HeadObject each; an object whose event named no version is still
    asked for with HeadObject (for its current version id)."""
    s3 = clients["s3"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    objects = []
    for name in ("a", "b", "c", "gone"):
        put = s3.put_object(Bucket=bucket, Key=f"raw/ev/{name}.csv", Body=f"id,x\n{name},1\n".encode())
        objects.append(
            {
                "bucket": bucket,
                "key": f"raw/ev/{name}.csv",
                "etag": put["ETag"].strip('"'),
                "version_id": put.get("VersionId"),
            }
        )
    assert all(o["version_id"] for o in objects)
    s3.put_object(Bucket=bucket, Key="raw/ev/b.csv", Body=b"id,x\nb,2\n")  # replaced since its event
    s3.delete_object(Bucket=bucket, Key="raw/ev/gone.csv")
    objects[2]["version_id"] = None  # c: its event named no version
    calls: list[str] = []
    s3_hook.get_conn().meta.events.register(
        "provide-client-params.s3.*", lambda model, **_: calls.append(model.name)
    )

    request = plan_request({"objects": objects}, "manual", None, stack_settings)
    loads = resolve_inputs(request, s3_hook, "s3batch__x__4files")

    assert [load["key"] for load in loads] == ["raw/ev/a.csv", "raw/ev/c.csv"]
    a, c = loads
    assert (a["etag"], a["version_id"], a["size"]) == (objects[0]["etag"], objects[0]["version_id"], 9)
    assert c["version_id"]  # from its HeadObject
    assert sorted(calls) == ["HeadObject", "ListObjectsV2"]
