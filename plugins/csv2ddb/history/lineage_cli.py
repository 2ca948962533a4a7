"""The lineage questions of ``python -m csv2ddb.history.audit_cli`` (see ``csv2ddb.history.lineage``)::

python -m csv2ddb.history.audit_cli who-wrote KEY [SORT_KEY] [--table T] [--json]
python -m csv2ddb.history.audit_cli keys-of RUN_ID [--state] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from botocore.config import Config

from csv2ddb.aws import RETRIES, client, session
from csv2ddb.history import lineage
from csv2ddb.settings import Settings

WHO_WROTE = "who-wrote"
KEYS_OF = "keys-of"


def add_parsers(sub: Any) -> None:
    """Add the two questions to the audit CLI's subcommands."""
    who = sub.add_parser(WHO_WROTE, help="which load wrote the item with this key (from its load_run_id)")
    who.add_argument("key", nargs="+", help="the item's key value(s): partition key, then sort key if any")
    who.add_argument("--table", dest="items_table", help="items table (default: settings.table)")
    who.add_argument("--json", action="store_true", help="print JSON")
    keys = sub.add_parser(KEYS_OF, help="which keys a load wrote (from its key list)")
    keys.add_argument("run_id", help="the load's run id")
    keys.add_argument(
        "--state", action="store_true", help="also say who holds each key now (BatchGetItem per 100 keys)"
    )
    keys.add_argument("--json", action="store_true", help="DynamoDB-JSON key lines (with --state: objects)")


def answer(args: argparse.Namespace, settings: Settings) -> int:
    """Print the answer; exit code 0, or 1 (not found / cannot be answered, on stderr)."""
    shared = session(settings)
    ddb = client(settings, "dynamodb", shared, config=RETRIES.merge(Config(max_pool_connections=10)))
    try:
        if args.question == WHO_WROTE:
            return _who_wrote(ddb, settings, args)
        return _keys_of(client(settings, "s3", shared), ddb, settings, args)
    except lineage.LineageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _who_wrote(ddb: Any, settings: Settings, args: argparse.Namespace) -> int:
    table = args.items_table or settings.table
    found = lineage.who_wrote(ddb, settings, table, args.key)
    if found is None:
        print(f"no item with key {' '.join(args.key)} in table {table}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(found, sort_keys=True, default=str))
        return 0
    for name in ("table", "key", "load_run_id", "source_file", "ingestion_timestamp", "dag_run_id", "status"):
        print(f"{name:<20} {found.get(name)}")
    for rollback in found["rollbacks"]:
        print(f"{'rollback':<20} {rollback['dag_run_id']} {rollback['status']} at {rollback['recorded_at']}")
    return 0


def _keys_of(s3: Any, ddb: Any, settings: Settings, args: argparse.Namespace) -> int:
    manifest, keys = lineage.keys_of(s3, settings, args.run_id)
    print(
        f"load {args.run_id} wrote {len(keys)} key(s) into {manifest.get('table')} "
        f"(key list {manifest.get('keys_location')}, count and sha256 verified)",
        file=sys.stderr,
    )
    states = (
        lineage.key_states(
            ddb,
            str(manifest.get("table")),
            keys,
            args.run_id,
            manifest.get("started_at"),
            settings.load.key_read_threads,
        )
        if args.state
        else None
    )
    for n, key in enumerate(keys):
        if states is None:
            print(json.dumps(key, sort_keys=True) if args.json else lineage.key_text(key))
            continue
        state, holder = states[n]
        if args.json:
            print(json.dumps({"key": key, "state": state, "load_run_id": holder}, sort_keys=True))
        else:
            print(
                f"{lineage.key_text(key)}\t{state}"
                + (f"\t{holder}" if holder and holder != args.run_id else "")
            )
    return 0
