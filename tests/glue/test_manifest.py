"""The typed manifest: the document a real load stores reads back into ``Manifest`` and out again
byte for byte, and the one reader refuses what is not a manifest, naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from csv2ddb_core.contract import FIGURES, Manifest, ManifestError, SourceObject, read_manifest

from tests.glue.conftest import LoadTarget
from tests.glue.test_load_emulator import CRAFTED

# The stored document's keys: readers outside the core (the DAG, rollback, the UI, the bench) key
# into the JSON, so the typed manifest must keep every one of them.
DOCUMENT_KEYS = {
    "bytes_read", "checks", "compression", "duplicates", "engine", "error", "finished_at", "id_source",
    "job_run_id", "job_version", "key_by_default", "key_schema", "keys_count", "keys_location",
    "keys_sha256", "load_method", "load_method_reason",
    "max_write_rate", "nothing_written", "peak_rss_mb", "reject_reasons", "reject_tolerance",
    "rejected_location", "rejects_allowed", "rows_duplicate", "rows_per_second", "rows_read",
    "rows_rejected", "rows_skipped", "rows_unconfirmed", "rows_written", "run_id", "seconds", "source",
    "staging", "started_at", "status", "table", "ttl_column", "validate_first", "validation",
    "version_column", "write_concurrency", "write_mode", "write_retries",
}  # fmt: skip


def stored_bytes(doc: dict[str, Any]) -> bytes:
    """How every engine stores a manifest (``csv2ddb_core.manifest.finish_manifest``)."""
    return json.dumps(doc, indent=2, sort_keys=True).encode("utf-8")


def test_a_real_manifest_reads_back_typed_and_writes_out_byte_for_byte(target: LoadTarget) -> None:
    key = target.put("raw/crafted.csv", CRAFTED)
    printed = target.run(key, run_id="typed-1", reject_tolerance="3", on_conflict="keep_first")
    body = target.s3.get_object(Bucket=target.bucket, Key="manifests/typed-1.json")["Body"].read()

    manifest = read_manifest(body, "typed-1")
    assert isinstance(manifest.source, SourceObject)
    assert manifest.source.key == key
    assert manifest.figures == (9, 4, 3, 2, 0)
    assert manifest.succeeded
    assert manifest.validation == {"rows_read": 9, "rows_rejected": 3, "rows_duplicate": 2}
    assert set(manifest.to_dict()) == DOCUMENT_KEYS
    assert manifest.duplicates == {"on_conflict": "keep_first", "exact": 1, "conflicting": 1}
    assert manifest.key_by_default is True
    assert manifest.checks is None
    assert stored_bytes(manifest.to_dict()) == body
    assert manifest.to_dict() == {k: v for k, v in printed.items() if k != "manifest_location"}


def test_the_reason_the_dag_gave_for_the_load_method_is_kept(target: LoadTarget) -> None:
    """``--load_method_reason`` (the DAG's ``file_plan.choose_method``) is free text the job only
    keeps: its manifest says which method ran and why; without it the field is null."""
    key = target.put("raw/reason.csv", CRAFTED)
    said = "batch: 12.3 KiB below the import threshold 64.0 MiB"
    printed = target.run(key, run_id="reason-1", reject_tolerance="3", load_method_reason=f"  {said} ")
    assert (printed["load_method"], printed["load_method_reason"]) == ("batch", said)
    body = target.s3.get_object(Bucket=target.bucket, Key="manifests/reason-1.json")["Body"].read()
    assert read_manifest(body, "reason-1").load_method_reason == said
    assert target.run(key, run_id="reason-2", reject_tolerance="3")["load_method_reason"] is None


def valid() -> dict[str, Any]:
    return {
        "run_id": "r1",
        "status": "succeeded",
        "table": "t",
        "source": {"bucket": "b", "key": "raw/x.csv"},
        **dict.fromkeys(FIGURES, 0),
        "rows_read": 3,
        "rows_written": 3,
        "spark": {"master": "local[2,4]"},
    }


def test_an_engines_own_fields_are_kept_verbatim() -> None:
    manifest = Manifest.from_dict(valid(), "m")
    assert manifest.extra == {"spark": {"master": "local[2,4]"}}
    assert manifest.to_dict()["spark"] == {"master": "local[2,4]"}
    assert manifest.source == SourceObject("b", "raw/x.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{oops", "manifest m is not JSON"),
        ("[1, 2]", "manifest m is not a JSON object"),
        (json.dumps({**valid(), "rows_read": 4}), "does not add up: rows_read=4"),
        (json.dumps({**valid(), "rows_written": "3"}), "lacks integer figures ['rows_written']"),
        (json.dumps({k: v for k, v in valid().items() if k != "run_id"}), "lacks 'run_id'"),
        (json.dumps({**valid(), "status": "done"}), "has status 'done'"),
        (json.dumps({**valid(), "seconds": "fast"}), "has seconds='fast', not number"),
        (json.dumps({**valid(), "nothing_written": 1}), "has nothing_written=1, not boolean"),
        (json.dumps({**valid(), "source": {"bucket": "b"}}), "has a source without bucket and key"),
        (json.dumps({**valid(), "status": "succeeded", "rows_unconfirmed": 1}), "says succeeded with 1"),
    ],
)
def test_the_reader_refuses_what_is_not_a_manifest_naming_why(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_manifest(text, "m")
