"""``python -m bench.report``: re-render docs/benchmarks.{md,json,png} from saved results."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from csv2ddb_dev.paths import REPO_ROOT

from bench.data import CACHE_DIR
from bench.report import document, output


def main(argv: list[str] | None = None) -> int:
    """Re-render docs/benchmarks.{md,json,png} from saved results, merged in order.

    Results files (``.cache/bench/results-<ts>.json``), or with ``--records`` the per-contender
    ``records.jsonl`` of runs cut short. The first one's run facts head the page; the others'
    results and datasets are appended (each result keeps its own load average).
    """
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    parser.add_argument("results", type=Path, nargs="*", help=".cache/bench/results-<ts>.json ...")
    parser.add_argument("--records", type=Path, action="append", default=[], help="a run's records.jsonl")
    args = parser.parse_args(argv)
    docs = [json.loads(path.read_text()) for path in args.results]
    if args.records:
        docs.insert(0, document.from_records(args.records))
    if not docs:
        parser.error("give results files and/or --records")
    doc = document.rebuild(docs)
    md, png = output.write(doc, docs=True, cache_dir=CACHE_DIR)
    print(f"wrote {md.relative_to(REPO_ROOT)} and {png.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
