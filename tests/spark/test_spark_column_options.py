"""The column options in the Spark engine: a file without a header row, split across tasks (and as
one whole-object split when it cannot be split), loads the same items, figures and rejects as the
Python shell; renamed and refused columns are decided by the same header code before any task."""

from __future__ import annotations

import gzip

import pytest

from tests.glue.test_column_options import COLUMNS, HEADERLESS, RENAME, SINGLE_QUOTED, WITH_SECRET
from tests.spark.conftest import Engines

pytestmark = [pytest.mark.emulator, pytest.mark.spark]

OPTIONS = {"header": "false", "columns": COLUMNS, "rename": RENAME, "reject_tolerance": "1"}


@pytest.mark.parametrize(
    ("name", "body", "split_bytes"),
    [
        ("split in three", HEADERLESS, "20"),
        ("gzip: one whole-object split", gzip.compress(HEADERLESS, mtime=0), "1000000"),
    ],
)
def test_a_headerless_file_loads_alike_in_both_engines(
    engines: Engines, name: str, body: bytes, split_bytes: str
) -> None:
    shell, spark = engines.both("raw/no-header.csv", body, "noheader-1", split_bytes=split_bytes, **OPTIONS)
    assert spark.manifest["status"] == shell.manifest["status"] == "succeeded", spark.manifest["error"]
    assert spark.figures == shell.figures == (5, 3, 1, 1, 0, 0), name
    assert spark.digest() == shell.digest()
    assert spark.rejects() == shell.rejects()
    assert spark.rejects()[0].startswith("3,ragged_row,")


def test_a_refused_column_fails_the_spark_load_before_any_task(engines: Engines) -> None:
    bucket = engines.place("raw/extra.csv", b"id,name,qty,extra\r\nk1,a,1,x\r\n")
    loaded = engines.spark_load(
        bucket, "raw/extra.csv", "refused-1", columns='["id", "name", "qty"]', unknown_columns="refuse"
    )
    assert loaded.manifest["status"] == "failed"
    assert "column(s) ['extra'] are not among the declared columns" in loaded.manifest["error"]
    assert loaded.manifest["rows_written"] == 0


def test_a_single_quoted_file_splits_inside_its_quoted_newlines(engines: Engines) -> None:
    body = SINGLE_QUOTED + b"".join(b"k%d,'a\r\nb, c',%d\r\n" % (i, i) for i in range(4, 40))
    for split_bytes in ("25", "1000000"):  # boundaries inside 'a\r\nb, c'; one split for all
        shell, spark = engines.both("raw/q.csv", body, "quoted-1", split_bytes=split_bytes, quote_char="'")
        assert spark.manifest["status"] == shell.manifest["status"] == "succeeded", spark.manifest["error"]
        assert spark.figures == shell.figures == (39, 39, 0, 0, 0, 0)
        assert spark.digest() == shell.digest()


def test_dropped_columns_alike_in_both_engines(engines: Engines) -> None:
    body = WITH_SECRET + b"".join(b"k%d,n%d,s%d,%d\r\n" % (i, i, i, i) for i in range(10, 40))
    for split_bytes in ("30", "1000000"):
        shell, spark = engines.both(
            "raw/secret.csv",
            body,
            "dropped-1",
            split_bytes=split_bytes,
            drop='["secret"]',
            reject_tolerance="2",
        )
        assert spark.manifest["status"] == shell.manifest["status"] == "succeeded", spark.manifest["error"]
        assert spark.figures == shell.figures == (34, 32, 2, 0, 0, 0)
        assert spark.digest() == shell.digest()
        assert spark.rejects() == shell.rejects()
