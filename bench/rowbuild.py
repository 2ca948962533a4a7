"""Microbenchmark of the load core's per-row work, one thread, no profiler: the validation pass's
verdict, a full build, the write pass's build from a carried digest, and the key list's lines.

    python -m bench.rowbuild [--tree PATH] [--rows 100000]

``--tree``: the source tree whose ``glue/csv2ddb_core`` to time (default this one): run it for two
worktrees in turn, alternating, to compare them on a shared machine (process CPU time, best of 3,
so a busy machine inflates both alike). Rows are parsed up front: only ``RowBuilder`` and
``KeyLines`` are timed, in µs per flights row.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from csv2ddb_dev.paths import REPO_ROOT

from bench import data


def best_us_per_row(work: Callable[[], object], rows: int, repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs of ``work``, in process CPU µs per row."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best / rows * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rowbuild", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=REPO_ROOT, help="the source tree to time")
    parser.add_argument("--rows", type=int, default=100_000, help="a flights slice")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.tree.resolve() / "glue"))
    for name in [m for m in sys.modules if m == "csv2ddb_core" or m.startswith("csv2ddb_core.")]:
        del sys.modules[name]  # the bench's own imports loaded this tree's core: time the other's
    from csv2ddb_core import rows as rows_module
    from csv2ddb_core.header import validate_header
    from csv2ddb_core.keylist import KeyLines
    from csv2ddb_core.rows import RowBuilder

    with open(data.flights_csv(args.rows), newline="") as fh:
        names, *rows = list(csv.reader(fh))
    header = validate_header(names)
    builder = RowBuilder(
        header, source_file="s3://b/raw/f.csv", run_id="r-1", ingestion_timestamp="2026-12-07T00:00:00Z"
    )
    digests = [builder.verdict(row)[1] for row in rows]
    items = [builder.build(row)[0] for row in rows]
    lines = KeyLines([header.keys.partition.name])
    n = len(rows)
    timed = {
        "verdict (validation pass)": lambda: [builder.verdict(row) for row in rows],
        "build": lambda: [builder.build(row) for row in rows],
        "build_carried (write pass)": lambda: [
            builder.build_carried(r, d) for r, d in zip(rows, digests, strict=True)
        ],
        "key list lines": lambda: [lines.text(items[i : i + 25]) for i in range(0, n, 25)],
    }
    print(f"{Path(rows_module.__file__).parents[2]}, {n:,} flights rows, load {os.getloadavg()[0]:.2f}")
    for name, work in timed.items():
        print(f"  {name:28} {best_us_per_row(work, n):6.2f} µs per row")
    return 0


if __name__ == "__main__":
    sys.exit(main())
