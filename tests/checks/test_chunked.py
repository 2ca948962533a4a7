"""Chunked judging of the stateless checks (``checks.judged_chunks``) against the per-row path it
stands in for: the same rejects, in the same order, with the same line numbers, reasons, details and
counts, wherever in a chunk a failing row falls; and the same figures through the load's own loop.
No emulator: the load reads a local fake S3."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from csv2ddb_core import checks as checks_module
from csv2ddb_core.checks import RowChecks, judged_chunks
from csv2ddb_core.contract import JobError
from csv2ddb_core.load import stream_rows
from csv2ddb_core.manifest import LoadResult, LoadStats, utc_now
from csv2ddb_core.options import parse_job_args
from csv2ddb_core.rejects import RejectSink

CHUNK = checks_module.CHUNK_ROWS
NAMES = ["id", "a", "b", "c", "d"]
CHECKS: dict[str, Any] = {
    "columns": {
        "a": {"not_null": True, "between": {"min": 0, "max": 100}},  # two rules on one column
        "b": {"accepted_values": ["x", "y"]},
        "c": {"matches": "^[a-z]+$", "max_length": 5},
        "d": {"not_null": True},
    }
}
GOOD = ["k", "5", "x", "abc", "1"]
BAD = {
    "empty": ["k", "", "x", "abc", "1"],  # not_null:a only (an empty cell passes between)
    "na": ["k", "5", "x", "abc", "NA"],  # not_null:d (NA is empty)
    "blank": ["k", "5", "x", "abc", "  "],  # not_null:d (whitespace only)
    "value": ["k", "5", "z", "abc", "1"],  # accepted_values:b
    "several": ["k", "500", "z", "TOOLONG", ""],  # five checks: the reasons' order matters
}
Judged = tuple[list[tuple[int, str, str]], dict[str, int]]


def numbered(rows: Sequence[list[str]]) -> list[tuple[int, list[str]]]:
    """(line number, cells) as the readers yield them: line 1 is the header."""
    return [(line, list(row)) for line, row in enumerate(rows, start=2)]


def per_row(records: Sequence[tuple[int, list[str]]], na: Sequence[str] = ("NA",)) -> Judged:
    """The reference: every row of the file's width judged by ``failing`` (a ragged row is the
    build's reject, never judged)."""
    checks = RowChecks(CHECKS, NAMES, na)
    out = []
    for line, row in records:
        failed = checks.failing(row) if len(row) == len(NAMES) else None
        if failed is not None:
            out.append((line, failed.reason, failed.detail))
    return out, dict(checks.failures)


def chunked(
    records: Sequence[tuple[int, list[str]]], na: Sequence[str] = ("NA",), judges: list[bool] | None = None
) -> Judged:
    """The same rows through ``judged_chunks``; ``judges`` collects per chunk whether it fell back."""
    checks = RowChecks(CHECKS, NAMES, na)
    out = []
    for chunk, failing in judged_chunks(iter(records), checks):
        if judges is not None:
            judges.append(failing is not None)
        for line, row in chunk:
            failed = failing(row) if failing is not None and len(row) == len(NAMES) else None
            if failed is not None:
                out.append((line, failed.reason, failed.detail))
    return out, dict(checks.failures)


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("at", [0, 1, CHUNK // 2, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 1, 2 * CHUNK + 6])
def test_one_failing_row_anywhere_in_a_chunk(kind: str, at: int) -> None:
    rows = [GOOD] * (2 * CHUNK + 7)  # two whole chunks and a partial one
    rows = [*rows[:at], BAD[kind], *rows[at + 1 :]]
    records = numbered(rows)
    judges: list[bool] = []
    assert chunked(records, judges=judges) == per_row(records)
    assert len(per_row(records)[0]) == 1
    assert judges == [i == at // CHUNK for i in range(3)]  # only the chunk holding it fell back


def test_several_failing_checks_keep_their_order_and_counts() -> None:
    records = numbered([GOOD, BAD["several"], GOOD, BAD["several"], BAD["value"]])
    found, failures = chunked(records)
    assert (found, failures) == per_row(records)
    assert [reason for _, reason, _ in found] == [
        "check:not_null:d",
        "check:not_null:d",
        "check:accepted_values:b",
    ]
    assert found[0][2].count(";") == 4  # the detail names all five failing checks
    assert failures == {
        "not_null:a": 0,
        "between:a": 2,
        "accepted_values:b": 3,
        "matches:c": 2,
        "max_length:c": 2,
        "not_null:d": 2,
    }


def test_na_cells_pass_every_rule_but_not_null_in_a_chunk() -> None:
    rows = [["k", "NA", "NA", "NA", "1"], ["k", "", "", "", "1"], GOOD] * CHUNK
    judges: list[bool] = []
    found, _ = chunked(numbered(rows), judges=judges)
    assert (found, _) == per_row(numbered(rows))
    assert len(found) == 2 * CHUNK
    assert {reason for _, reason, _ in found} == {"check:not_null:a"}
    rows = [["k", "5", "NA", "NA", "1"], ["k", "5", "", "", "1"], GOOD] * CHUNK
    judges = []
    assert chunked(numbered(rows), judges=judges) == per_row(numbered(rows)) == ([], per_row([])[1])
    assert judges == [False] * 3  # no fallback: NA is known to pass these rules from the start


def test_a_cell_that_failed_once_fails_the_chunk_again() -> None:
    rows = [GOOD] * CHUNK + [BAD["value"]] + [GOOD] * CHUNK + [BAD["value"]]
    judges: list[bool] = []
    assert chunked(numbered(rows), judges=judges) == per_row(numbered(rows))
    assert judges == [False, True, True]


def test_a_short_row_sends_its_chunk_row_by_row() -> None:
    rows = [GOOD] * CHUNK + [["k", "5"]] + [GOOD] * 3
    judges: list[bool] = []
    assert chunked(numbered(rows), judges=judges) == per_row(numbered(rows)) == ([], per_row([])[1])
    assert judges == [False, True]


def test_forgetting_full_memos_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks_module, "MEMO_LIMIT", 3)
    rows = [["k", str(i % 150), "xy"[i % 2], "abcde"[: 1 + i % 5], str(i)] for i in range(3 * CHUNK)]
    rows[CHUNK + 5] = BAD["several"]
    assert chunked(numbered(rows)) == per_row(numbered(rows))


@pytest.mark.parametrize("size", [1, 3, CHUNK])
@pytest.mark.parametrize("seed", range(12))
def test_random_files_judge_alike(monkeypatch: pytest.MonkeyPatch, seed: int, size: int) -> None:
    monkeypatch.setattr(checks_module, "CHUNK_ROWS", size)
    rnd = random.Random(seed)
    pools = [
        ["k"],
        ["0", "5", "100", "NA", "", "7.5", "101", "-1", "x", " "],
        ["x", "y", "NA", "", "z", "X"],
        ["abc", "a", "abcde", "NA", "", "abcdef", "Ab", "a1"],
        ["1", "NA", "", " ", "0"],
    ]
    rows: list[list[str]] = []
    for _ in range(rnd.randrange(1, 3 * CHUNK)):
        if rnd.random() < 0.9:  # mostly good rows, so whole chunks pass
            rows.append(list(GOOD))
        elif rnd.random() < 0.1:
            rows.append(["k", "5", "x"])  # ragged
        else:
            rows.append([rnd.choice(pool) for pool in pools])
    assert chunked(numbered(rows)) == per_row(numbered(rows))


def test_rows_read_before_a_reading_error_are_judged_then_it_is_raised() -> None:
    def records() -> Iterator[tuple[int, list[str]]]:
        yield from numbered([GOOD, BAD["value"], GOOD])
        raise JobError("malformed CSV at line 5")

    seen: list[int] = []
    checks = RowChecks(CHECKS, NAMES)

    def judge_all() -> None:
        for chunk, failing in judged_chunks(records(), checks):
            for line, row in chunk:
                seen.append(line)
                if failing is not None:
                    failing(row)

    with pytest.raises(JobError, match="line 5"):
        judge_all()
    assert seen == [2, 3, 4]
    assert checks.failures["accepted_values:b"] == 1


def test_without_stateless_checks_the_records_are_one_unjudged_chunk() -> None:
    records = iter(numbered([GOOD]))
    unique_only = RowChecks({"columns": {"a": {"unique": True}}}, NAMES)
    assert list(judged_chunks(records, unique_only)) == [(records, None)]
    assert list(judged_chunks(records, None)) == [(records, None)]


# --- through the load's loop ----------------------------------------------------------------------


class LocalS3:
    """The two calls a validation pass makes: GET the object, PUT the (small) rejects file."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.uploaded: dict[str, str] = {}

    def get_object(self, Bucket: str, Key: str, **extra: Any) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.body), "ETag": '"e"', "ContentLength": len(self.body)}

    def put_object(self, Bucket: str, Key: str, Body: Any, ContentType: str = "") -> None:
        self.uploaded[Key] = Body.read().decode("utf-8")


def csv_body(first: str) -> bytes:
    """Five chunks and a bit (the third and fifth pass whole): failing rows at a chunk's first,
    middle and last place and across a boundary, a ragged row, NA cells, exact and conflicting
    duplicates of a key. ``first``: the first column's name (``id``: the key; else none, so the id
    is the content hash)."""
    rows = [[f"r{i}", str(i % 90), "xy"[i % 2], "abc", str(i)] for i in range(5 * CHUNK + 9)]
    for at, kind in [
        (0, "several"),
        (CHUNK // 2, "na"),
        (CHUNK - 1, "value"),
        (CHUNK, "blank"),
        (5 * CHUNK + 8, "empty"),
    ]:
        rows[at] = [f"r{at}", *BAD[kind][1:]]
    rows[3 * CHUNK + 1] = ["r-ragged", "5"]
    rows[3 * CHUNK + 2] = ["r5", "NA", "NA", "NA", "5"]  # NA passes all but not_null:a
    rows[3 * CHUNK + 3] = list(rows[7])  # an exact duplicate
    rows[3 * CHUNK + 4] = ["r8", "9", "y", "abc", "other"]  # r8 again with other cells
    lines = [",".join([first, *NAMES[1:]]), *(",".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


def load_figures(first: str, items: bool) -> tuple[Any, ...]:
    argv = ["--source_bucket", "b", "--source_key", "k.csv", "--table", "t", "--run_id", "r"]
    extra = ["--checks", json.dumps(CHECKS), "--reject_tolerance", "1.0", "--na_values", "NA"]
    args = parse_job_args([*argv, *extra], env={})
    s3 = LocalS3(csv_body(first))
    stats, result = LoadStats(), LoadResult()
    rejects = RejectSink(args.delimiter, args.encoding, args.quote_char)
    kept: list[int] = []
    try:
        stream_rows(
            args, s3, stats, result, utc_now(), rejects, lambda _, line, __: kept.append(line), items=items
        )
        rejects.upload(s3, "m", "rejects.csv")
    finally:
        rejects.close()
    assert stats.rows_read == len(kept) + stats.rows_rejected + stats.rows_duplicate
    return (
        (stats.rows_read, stats.rows_rejected, stats.rows_duplicate, stats.bytes_read),
        stats.reject_reasons,
        result.check_failures,
        result.duplicates,
        kept,
        s3.uploaded["rejects.csv"],
    )


@pytest.mark.parametrize("items", [False, True], ids=["validation pass", "write pass"])
@pytest.mark.parametrize("first", ["ref", "id"], ids=["content-hash id", "id column"])
def test_the_load_loop_gives_the_per_row_figures(
    monkeypatch: pytest.MonkeyPatch, first: str, items: bool
) -> None:
    passed: list[bool] = []
    real = RowChecks.chunk_passes

    def spy(self: RowChecks, rows: Sequence[Sequence[str]]) -> bool:
        passed.append(real(self, rows))
        return passed[-1]

    monkeypatch.setattr(RowChecks, "chunk_passes", spy)
    figures = load_figures(first, items)
    assert passed.count(True) == 2
    assert passed.count(False) == 4
    monkeypatch.setattr(RowChecks, "chunk_passes", lambda self, rows: False)  # every row by row
    assert figures == load_figures(first, items)
    assert figures[0][1] >= 6
    assert figures[1]["check:not_null:d"] == 3


def test_an_instant_out_of_python_s_range_fails_between_instead_of_stopping_the_load() -> None:
    """``0001-01-01T00:00:00+05:00`` is a valid ISO text whose UTC instant is in year 0: judging it
    raised OverflowError (the whole load stopped); it is a cell that cannot be compared."""
    names = ["id", "day"]
    declared = {"columns": {"day": {"between": {"min": "2024-01-01", "max": "2024-12-31"}}}}
    rows = [["1", "2024-03-01T10:00:00+05:00"], ["2", "0001-01-01T00:00:00+05:00"], ["3", "2024-06-01"]]
    checks = RowChecks(declared, names)
    judged = [
        (line, failing(row))
        for chunk, failing in judged_chunks(iter(numbered(rows)), checks)
        for line, row in chunk
        if failing is not None
    ]
    assert [(line, reject.reason) for line, reject in judged if reject is not None] == [
        (3, "check:between:day")
    ]
    assert checks.failures == {"between:day": 1}
