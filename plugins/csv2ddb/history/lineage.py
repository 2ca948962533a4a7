"""Lineage: which load wrote an item, and which keys a load wrote.

- *Which load wrote key K?* The item itself says: its ``load_run_id`` (and ``source_file``,
  ``ingestion_timestamp``), read with one strongly consistent GetItem; the audit table then names
  the DAG run, its status and any rollback of that load.
- *Which keys did load R write?* Its key list (``csv2ddb_core.keylist``, proven whole by count and
  SHA-256); optionally each key's state now (still R's, overwritten by a later load, gone), read
  with the same parallel BatchGetItem as the count check (``csv2ddb.keyreads``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from csv2ddb_core.contract import ATTR_INGESTION_TIMESTAMP, ATTR_LOAD_RUN_ID, ATTR_SOURCE_FILE, ManifestError
from csv2ddb_core.keylist import read_key_list
from csv2ddb_core.writer import RetryPolicy

from csv2ddb import keyreads
from csv2ddb.history import audit
from csv2ddb.settings import DAG_ID_ROLLBACK, Settings
from csv2ddb.stored_manifest import fetch_manifest


class LineageError(ValueError):
    """A lineage question that cannot be answered as asked (bad key, unknown load)."""


def typed_key(description: Mapping[str, Any], values: Sequence[str]) -> dict[str, Any]:
    """The table's key (from DescribeTable) with ``values`` typed as its attributes are (S, N, B)."""
    schema = sorted(description["KeySchema"], key=lambda k: k["KeyType"] != "HASH")
    types = {a["AttributeName"]: a["AttributeType"] for a in description["AttributeDefinitions"]}
    names = [k["AttributeName"] for k in schema]
    if len(values) != len(names):
        raise LineageError(
            f"table {description['TableName']} is keyed by {names}: give {len(names)} value(s)"
        )
    key: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        kind = types[name]
        if kind == "N":
            try:
                Decimal(value)
            except InvalidOperation as exc:
                raise LineageError(f"key attribute {name} is a number, got {value!r}") from exc
            key[name] = {"N": value}
        elif kind == "B":
            try:
                key[name] = {"B": base64.b64decode(value, validate=True)}
            except binascii.Error as exc:
                raise LineageError(f"key attribute {name} is binary: give it base64-encoded") from exc
        else:
            key[name] = {"S": value}
    return key


def who_wrote(ddb: Any, settings: Settings, table: str, values: Sequence[str]) -> dict[str, Any] | None:
    """Which load wrote the item with key ``values`` in ``table`` (None: no such item)."""
    key = typed_key(ddb.describe_table(TableName=table)["Table"], values)
    attrs = {"#r": ATTR_LOAD_RUN_ID, "#f": ATTR_SOURCE_FILE, "#t": ATTR_INGESTION_TIMESTAMP}
    item = ddb.get_item(
        TableName=table,
        Key=key,
        ConsistentRead=True,
        ProjectionExpression=", ".join(attrs),
        ExpressionAttributeNames=attrs,
    ).get("Item")
    if item is None:
        return None
    plain = audit.from_item(item)
    run_id = plain.get(ATTR_LOAD_RUN_ID)
    records = audit.records_of_load(ddb, settings.audit_table, run_id) if run_id else []
    loads = [r for r in records if r.get("dag_id") != DAG_ID_ROLLBACK]
    return {
        "table": table,
        "key": {name: audit.from_item({name: value})[name] for name, value in key.items()},
        "load_run_id": run_id,
        "source_file": plain.get(ATTR_SOURCE_FILE),
        "ingestion_timestamp": plain.get(ATTR_INGESTION_TIMESTAMP),
        "dag_run_id": loads[-1]["dag_run_id"] if loads else None,
        "status": loads[-1].get("status") if loads else None,
        "recorded_at": loads[-1].get("recorded_at") if loads else None,
        "rollbacks": [
            {k: r.get(k) for k in ("dag_run_id", "status", "recorded_at", "items_deleted")}
            for r in records
            if r.get("dag_id") == DAG_ID_ROLLBACK
        ],
    }


def keys_of(s3: Any, settings: Settings, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(manifest, every key) of load ``run_id``; LineageError when it has no manifest or whole list."""
    key = settings.manifest_key(run_id)
    manifest = fetch_manifest(s3, settings.bucket, key)
    if manifest is None:
        raise LineageError(f"no load {run_id}: s3://{settings.bucket}/{key} does not exist")
    try:
        return manifest, read_key_list(s3, manifest, f"s3://{settings.bucket}/{key}")
    except ManifestError as exc:
        raise LineageError(str(exc)) from exc


def key_states(
    ddb: Any,
    table: str,
    keys: Sequence[Mapping[str, Any]],
    run_id: str,
    started_at: str | None,
    workers: int = 8,
) -> list[tuple[str, str | None]]:
    """Per key, in list order: (``ours``/``later``/``stale``/``missing``, the run id its item carries)."""
    names = keyreads.key_names(keys)
    found: dict[Any, tuple[str, str | None]] = {}
    policy = RetryPolicy()

    def work(chunk: Sequence[Mapping[str, Any]]) -> keyreads.Census:
        for item in keyreads.get_items(ddb, table, chunk, names, policy):
            found[keyreads.canonical(keyreads.key_of(item, names))] = keyreads.classify(
                item, run_id, started_at
            )
        return keyreads.Census(keys=len(chunk))

    keyreads.run_chunks(work, keys, keyreads.BATCH_GET_MAX, workers)
    return [found.get(keyreads.canonical(key), (keyreads.MISSING, None)) for key in keys]


def key_text(key: Mapping[str, Any]) -> str:
    """A key for people: the bare value of a one-attribute key, else ``name=value`` pairs."""
    values = {name: next(iter(value.values())) for name, value in sorted(key.items())}
    if len(values) == 1:
        return str(next(iter(values.values())))
    return " ".join(f"{name}={value}" for name, value in values.items())
