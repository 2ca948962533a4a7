"""``python -m csv2ddb.datasets check [FOLDER]`` (CI runs it) and ``... schema`` / ``... routes``.

``check`` reads every dataset file of the folder (``dags/datasets`` by default) against the stack's
settings (``CSV2DDB_*``) and exits 1 naming each bad file and field; ``schema`` prints the JSON
Schema editors use; ``routes`` prints which prefix goes to which DAG.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from csv2ddb.datasets.registry import deployed_dir, load_all
from csv2ddb.datasets.route_table import routing_table
from csv2ddb.datasets.schema import DATASET_SCHEMA
from csv2ddb.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csv2ddb.datasets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("check", "routes"):
        one = sub.add_parser(name)
        one.add_argument("folder", nargs="?", type=Path, default=None)
    sub.add_parser("schema")
    args = parser.parse_args(argv)
    if args.command == "schema":
        print(json.dumps(DATASET_SCHEMA, indent=2))
        return 0
    folder = args.folder or deployed_dir()
    found = load_all(folder, load_settings())
    if args.command == "routes":
        print(json.dumps(routing_table(found.datasets), indent=2))
        return 1 if found.errors else 0
    for error in found.errors:
        print(f"ERROR {error}", file=sys.stderr)
    for dataset in found.datasets:
        print(f"ok    {dataset.path}: {dataset.dag_id} <- s3://<bucket>/{dataset.prefix} ({dataset.arrive})")
    if not found.datasets and not found.errors:
        print(f"no dataset files in {folder}", file=sys.stderr)
    return 1 if found.errors else 0


if __name__ == "__main__":
    sys.exit(main())
