"""The Spark engine against the real emulator, in one local Spark session: the same item set as
the Python shell (digests pinned from the Python shell), exact splits through quoted newlines,
the first occurrence of a key winning across splits, and a task killed mid-split and retried."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from csv2ddb_core.keylist import read_key_list
from csv2ddb_core.manifest import LoadResult
from csv2ddb_core.options import parse_job_args
from csv2ddb_core.spark.splits import QUOTED, START
from csv2ddb_dev.datasets import FLIGHTS_ROWS, write_flights_csv

from tests.glue.digest import items_digest
from tests.glue.test_load_emulator import CRAFTED, CRAFTED_DIGEST, FLIGHTS_DIGEST
from tests.spark.capture import CaptureWrites, captured_items
from tests.spark.conftest import Engines

pytestmark = [pytest.mark.emulator, pytest.mark.spark]


def quoted_newline_file(rows: int) -> bytes:
    """Multi-line quoted fields, escaped quotes, a quote inside an unquoted field (``5'10"``, which
    quote parity alone would get wrong), CRLF and LF line ends, blank lines and duplicate ids."""
    lines = ["id,note,height,city"]
    for i in range(rows):
        note = f'"line one {i}\r\nline ""two""\nthree, {i}"' if i % 3 == 0 else f"plain {i}"
        lines.append(f"k{i % (rows - 7)},{note},5'10\",{'Zürich' if i % 5 else ''}")
        if i % 11 == 0:
            lines.append("")
    return ("\r\n".join(lines) + "\n").encode()


def plan_of(engines: Engines, bucket: str, key: str, split_bytes: str) -> list[Any]:
    job = engines.job
    argv = engines.argv(bucket, key, "plan", split_bytes=split_bytes)
    args = parse_job_args(argv, env={})
    s3, _ = engines.clients(args)
    result = LoadResult()
    plan = job.prepare(s3, args, job.utc_now(), result)
    return job.plan_splits(engines.spark, s3, plan, job.spark_options(argv, {}), result)


def test_crafted_file_same_items_as_the_python_shell(engines: Engines) -> None:
    for split_bytes in ("20", "1000000"):  # boundaries inside "two\r\nlines"; one split for all
        shell, spark = engines.both(
            "raw/crafted.csv",
            CRAFTED,
            "crafted-1",
            reject_tolerance="3",
            split_bytes=split_bytes,
            on_conflict="keep_first",
        )
        assert spark.manifest["status"] == shell.manifest["status"] == "succeeded", spark.manifest["error"]
        assert spark.figures == shell.figures == (9, 4, 3, 2, 0, 0)
        assert spark.manifest["reject_reasons"] == shell.manifest["reject_reasons"]
        assert spark.digest() == shell.digest() == CRAFTED_DIGEST
        assert spark.rejects() == shell.rejects()
        assert spark.manifest["keys_count"] == 4
        assert spark.manifest["engine"] == "spark"
        assert shell.manifest["engine"] == "pythonshell"
        assert spark.manifest["spark"]["master"] == "local[2,4]"


def test_splits_inside_quoted_newlines(engines: Engines) -> None:
    body = quoted_newline_file(120)
    bucket = engines.place("raw/q.csv", body)
    splits = plan_of(engines, bucket, "raw/q.csv", split_bytes="600")
    entries = {s.entry for s in splits}
    assert QUOTED in entries, entries  # some splits start inside a quoted field
    assert START in entries, entries
    assert sum(s.last_line - s.first_line + 1 for s in splits) == body.count(b"\n") - 1  # every line once

    # Later rows of a key differ from the first: keep_first is the first-occurrence rule tested here
    # (the default, reject, is tested in tests/checks).
    shell, spark = engines.both("raw/q.csv", body, "qn-1", split_bytes="600", on_conflict="keep_first")
    assert shell.manifest["status"] == "succeeded", shell.manifest["error"]
    assert spark.manifest["status"] == "succeeded", spark.manifest["error"]
    assert spark.figures == shell.figures
    assert shell.manifest["rows_duplicate"] == 7
    assert spark.digest() == shell.digest()


def test_a_file_smaller_than_one_split(engines: Engines) -> None:
    body = b'id,v\na,"x\ny"\nb,2\na,3\n'
    shell, spark = engines.both("raw/tiny.csv", body, "tiny-1", on_conflict="keep_first")
    assert spark.manifest["spark"]["splits"] == 1
    assert spark.figures == shell.figures == (3, 2, 0, 1, 0, 0)
    assert spark.digest() == shell.digest()


def test_first_occurrence_by_byte_offset_wins_across_splits(engines: Engines) -> None:
    rows = [f"k{i},first-{i}" for i in range(40)] + [f"k{i},later-{i}" for i in range(40)]
    body = ("id,v\n" + "\n".join(rows) + "\n").encode()
    shell, spark = engines.both("raw/dups.csv", body, "dups-1", split_bytes="128", on_conflict="keep_first")
    assert spark.manifest["spark"]["splits"] >= 6
    assert spark.figures == shell.figures == (80, 40, 0, 40, 0, 0)
    item = engines.ddb.get_item(TableName=spark.table, Key={"id": {"S": "k7"}})["Item"]
    assert item["v"] == {"S": "first-7"}
    assert spark.digest() == shell.digest()


def test_a_task_killed_mid_split_is_retried_and_counted_once(engines: Engines, tmp_path: Path) -> None:
    """The Python worker of split 1's first attempt dies (os._exit) after 80 rows, three batches
    already sent; Spark retries the task (local[2,4]); the figures come from committed results."""
    marker = tmp_path / "killed"
    body = ("id,v\n" + "".join(f"r{i},{i}\n" for i in range(600))).encode()

    def die_once(split: int, rows_read: int) -> None:
        from pyspark import TaskContext

        if split == 1 and rows_read == 80 and TaskContext.get().attemptNumber() == 0:
            marker.write_text(f"split {split} attempt 0 killed after {rows_read} rows")
            os._exit(1)

    bucket = engines.place("raw/kill.csv", body)
    spark = engines.spark_load(bucket, "raw/kill.csv", "kill-1", fault=die_once, split_bytes="1200")
    assert marker.exists(), "the fault did not fire: the test proves nothing"
    m = spark.manifest
    assert m["status"] == "succeeded", m["error"]
    assert spark.figures == (600, 600, 0, 0, 0, 0)
    assert m["keys_count"] == 600
    shell = engines.pythonshell(engines.place("raw/kill.csv", body), "raw/kill.csv", "kill-1")
    assert spark.digest() == shell.digest()


@pytest.mark.scale
@pytest.mark.timeout(600)
def test_flights_same_items_as_the_python_shell(engines: Engines, tmp_path: Path) -> None:
    """The 336,776 real flights through Spark (4 splits on local[2]): the items its writers send
    (captured byte for byte at the HTTP layer, tests/spark/capture.py) have the pinned digest of
    the table the Python shell loads (tests/glue/test_load_emulator.py reads it back from the
    emulator), and they are exactly the keys the Spark load listed."""
    src = write_flights_csv(tmp_path / "flights.csv")
    bucket = engines.place("raw/flights.csv", b"")
    engines.s3.upload_file(str(src), bucket, "raw/flights.csv")
    sent = tmp_path / "sent"
    sent.mkdir()
    spark = engines.spark_load(bucket, "raw/flights.csv", "flights-1", tap=CaptureWrites(sent))
    m = spark.manifest
    assert m["status"] == "succeeded", m["error"]
    assert spark.figures == (FLIGHTS_ROWS, FLIGHTS_ROWS, 0, 0, 0, 0)
    assert m["spark"]["splits"] == 4

    ids: set[str] = set()
    sends = 0

    def items() -> Iterator[dict[str, Any]]:
        nonlocal sends
        for item in captured_items(sent, spark.table):
            sends += 1
            ids.add(item["id"]["S"])
            yield item

    assert items_digest(items(), bucket) == FLIGHTS_DIGEST
    assert sends == len(ids) == FLIGHTS_ROWS  # every item sent once, no key twice
    listed = read_key_list(engines.s3, m, m["run_id"])
    assert {k["id"]["S"] for k in listed} == ids
    assert engines.ddb.scan(TableName=spark.table, Select="COUNT")["Count"] == 0  # nothing sent there
