"""The validation pass's verdicts carried to the write pass (``csv2ddb_core.carry``): the same
items, figures and rejects as a load that judges every row twice, and never a row of another file."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from csv2ddb_core import load as load_module
from csv2ddb_core.carry import DUPLICATE, REJECT, RowSpool
from csv2ddb_core.rows import RowBuilder

from tests.glue.conftest import LoadTarget


def test_the_spool_replays_each_rows_verdict_in_order() -> None:
    spool = RowSpool()
    try:
        digests = [hashlib.sha256(bytes([i])).digest()[:16] for i in range(3)]
        spool.keep(digests[0])
        spool.duplicate()
        spool.reject()
        spool.keep(digests[1])
        for _ in range(100_000):  # past the 1 MB buffer: flushed in the middle
            spool.duplicate()
        spool.keep(digests[2])
        spool.finish(100_005)
        got = list(spool.replay())
        assert got[:4] == [digests[0], DUPLICATE, REJECT, digests[1]]
        assert got[-1] == digests[2]
        assert set(got[4:-1]) == {DUPLICATE}
        assert len(got) == 100_005
        assert spool.complete
        assert spool.rows == 100_005
    finally:
        spool.close()


def test_a_spool_missing_a_row_is_refused() -> None:
    spool = RowSpool()
    try:
        spool.duplicate()
        with pytest.raises(RuntimeError, match="17 bytes for 2 rows"):
            spool.finish(2)
        assert not spool.complete
    finally:
        spool.close()


# content-hash ids (no id column): duplicates, a ragged row, an undecodable one, an empty cell
BODY = b"a,b\n1,x\n2,y\n1,x\n3\n4,caf\xff\n1,x\n5,\n2,y\n6,z\n"


@pytest.mark.emulator
def test_replayed_write_pass_writes_what_a_single_pass_writes(
    target: LoadTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = target.put("raw/carry.csv", BODY)
    figures = ("rows_read", "rows_written", "rows_rejected", "rows_duplicate", "reject_reasons", "keys_count")
    single = target.run(key, run_id="carry-single", validate_first="false", reject_tolerance="2")
    first = sorted(target.scan_items(), key=lambda item: item["id"]["S"])
    keyed = []
    key_of = RowBuilder._key
    monkeypatch.setattr(RowBuilder, "_key", lambda self, row: keyed.append(row) or key_of(self, row))
    carried = target.run(key, run_id="carry-replayed", reject_tolerance="2")
    assert len(keyed) == 9 + 2  # the validation pass; then only the two rejects, for their reasons
    assert carried["status"] == single["status"] == "succeeded", carried["error"]
    assert {k: carried[k] for k in figures} == {k: single[k] for k in figures}
    assert (carried["rows_read"], carried["rows_written"], carried["rows_duplicate"]) == (9, 4, 3)
    assert carried["validation"] == {"rows_read": 9, "rows_rejected": 2, "rows_duplicate": 3}
    assert carried["source"] == single["source"]
    again = sorted(target.scan_items(), key=lambda item: item["id"]["S"])
    # the same ids and cells; only the run's own attributes differ
    drop = ("load_run_id", "ingestion_timestamp")
    assert [{k: v for k, v in i.items() if k not in drop} for i in again] == [
        {k: v for k, v in i.items() if k not in drop} for i in first
    ]
    rejects = [target.get_object(f"rejected/{run}/rejects.csv") for run in ("carry-single", "carry-replayed")]
    assert rejects[0] == rejects[1]


@pytest.mark.emulator
@pytest.mark.parametrize(
    "extra",
    [
        {},  # the replayed write pass
        {"checks": '{"columns": {"a": {"max_length": 9}}}'},  # a row check: judged again, no replay
    ],
    ids=["replayed", "judged-again"],
)
def test_a_file_replaced_between_the_passes_is_not_written(
    target: LoadTarget, monkeypatch: pytest.MonkeyPatch, extra: dict[str, str]
) -> None:
    """The write pass reads the version the validation pass judged, replayed or not: a newer object
    fails the load (it was never validated) and nothing is written."""
    key = target.put(f"raw/replaced-{len(extra)}.csv", BODY)
    validate = load_module.validate

    def validate_then_replace(*args: Any, **kwargs: Any) -> None:
        validate(*args, **kwargs)
        target.put(key, b"a,b\n7,q\n8,r\n")

    monkeypatch.setattr(load_module, "validate", validate_then_replace)
    manifest = target.run(key, run_id=f"carry-replaced-{len(extra)}", reject_tolerance="2", **extra)
    assert manifest["status"] == "failed"
    assert "PreconditionFailed" in manifest["error"] or "412" in manifest["error"], manifest["error"]
    assert manifest["rows_written"] == 0
    assert target.count_items() == 0
