"""Ensure-table with real key schemas and TTL, on the emulator: what the DAG and bootstrap share."""

from __future__ import annotations

import boto3
import pytest
from csv2ddb import tables
from csv2ddb.settings import Settings
from csv2ddb_core.options import key_schema_from

pytestmark = pytest.mark.emulator


def test_composite_numeric_table_with_ttl_is_created_and_read_back(
    stack_settings: Settings, boto_session: boto3.Session
) -> None:
    ddb = boto_session.client("dynamodb")
    keys = key_schema_from("origin", "hour:N")
    spec = tables.items_table_spec(
        stack_settings, f"{stack_settings.prefix}-kt", keys, ttl_attribute="expires"
    )
    try:
        first = tables.ensure_table(ddb, spec, delay_seconds=0.2)
        assert first["created"] is True
        assert first["ttl"] == "ENABLED on expires"
        description = ddb.describe_table(TableName=spec.name)["Table"]
        assert tables.key_schema_of(description) == keys  # a later load that names no keys finds these
        ttl = ddb.describe_time_to_live(TableName=spec.name)["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")

        again = tables.ensure_table(ddb, spec, delay_seconds=0.2)
        assert (again["created"], again["ttl"]) == (False, "ENABLED on expires")

        other_keys = tables.items_table_spec(stack_settings, spec.name, key_schema_from("origin", "hour:S"))
        with pytest.raises(
            tables.TableSchemaMismatch, match=r"\('hour', 'RANGE', 'N'\).*\('hour', 'RANGE', 'S'\)"
        ):
            tables.ensure_table(ddb, other_keys, delay_seconds=0.2)
        other_ttl = tables.items_table_spec(stack_settings, spec.name, keys, ttl_attribute="gone_at")
        with pytest.raises(tables.TableSchemaMismatch, match="has TTL on 'expires'"):
            tables.ensure_table(ddb, other_ttl, delay_seconds=0.2)
    finally:
        ddb.delete_table(TableName=spec.name)
