"""The import path's core half: the job stages gzip'd DynamoDB JSON, and DynamoDB's own
ImportTable (the emulator's) turns it into exactly the items the batch path writes."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from csv2ddb import tables
from csv2ddb.settings import Settings
from csv2ddb_core.contract import identity_problem
from csv2ddb_core.keylist import read_key_list
from csv2ddb_core.options import key_schema_from

from tests.glue.conftest import LoadTarget
from tests.glue.digest import fetch_items, items_digest
from tests.glue.test_load_emulator import CRAFTED

pytestmark = pytest.mark.emulator


def import_staged(ddb: Any, manifest: dict[str, Any], table: str, spec: tables.TableSpec) -> dict[str, Any]:
    """What the DAG's import step asks of DynamoDB: ImportTable of the staged prefix, waited for."""
    bucket, _, prefix = manifest["staging"]["location"][len("s3://") :].partition("/")
    answer = ddb.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": prefix},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": table,
            "KeySchema": spec.key_schema(),
            "AttributeDefinitions": spec.attribute_definitions(),
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    arn = answer["ImportTableDescription"]["ImportArn"]
    deadline = time.monotonic() + 300  # by the clock, not by polls: a busy machine polls slowly
    while time.monotonic() < deadline:
        description = ddb.describe_import(ImportArn=arn)["ImportTableDescription"]
        if description["ImportStatus"] not in ("IN_PROGRESS",):
            return description
        time.sleep(0.2)
    raise AssertionError(f"import {arn} still in progress")


def test_staged_import_gives_the_batch_path_items(
    stack_settings: Settings, boto_session: boto3.Session, target: LoadTarget
) -> None:
    ddb = boto_session.client("dynamodb")
    key = target.put("raw/crafted.csv", CRAFTED)
    batch = target.run(key, run_id="crafted-1", reject_tolerance="3", on_conflict="keep_first")
    assert batch["status"] == "succeeded", batch["error"]

    imported_table = f"{stack_settings.prefix}-imported"
    # The same run id (the digest covers load_run_id); the later --table wins (the new table).
    staged = target.run(
        key,
        run_id="crafted-1",
        reject_tolerance="3",
        load_method="import",
        table=imported_table,
        on_conflict="keep_first",
    )
    try:
        assert staged["status"] == "succeeded", staged["error"]
        assert staged["load_method"] == "import"
        same = (
            "rows_read",
            "rows_written",
            "rows_rejected",
            "rows_duplicate",
            "rows_skipped",
            "reject_reasons",
        )
        assert {k: staged[k] for k in same} == {k: batch[k] for k in same}
        assert identity_problem(staged) is None
        assert staged["staging"]["parts"] == 1
        spec = tables.items_table_spec(stack_settings, imported_table, key_schema_from("id"))
        description = import_staged(ddb, staged, imported_table, spec)
        assert description["ImportStatus"] == "COMPLETED"
        assert (description["ImportedItemCount"], description.get("ErrorCount", 0)) == (
            staged["rows_written"],
            0,
        )
        keys = read_key_list(target.s3, staged, "staged")
        imported = fetch_items(ddb, imported_table, keys)
        written = fetch_items(ddb, target.table, keys)
        assert items_digest(imported, target.bucket) == items_digest(written, target.bucket)
    finally:
        if tables.describe(ddb, imported_table) is not None:
            ddb.delete_table(TableName=imported_table)


def test_import_refuses_an_existing_table_before_reading(target: LoadTarget) -> None:
    key = target.put("raw/crafted.csv", CRAFTED)
    manifest = target.run(key, run_id="no-import", load_method="import")
    assert manifest["status"] == "failed"
    assert "exists already" in manifest["error"]
    assert manifest["rows_read"] == 0
