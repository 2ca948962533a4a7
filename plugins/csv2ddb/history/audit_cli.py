"""Print the load audit history as a table.

``python -m csv2ddb.history.audit_cli [--since DATE] [--file KEY]``.

Reads ``settings.audit_table`` (``CSV2DDB_*`` env, e.g. ``CSV2DDB_PREFIX``/``CSV2DDB_ENDPOINT_URL``)
with plain boto3: it runs outside Airflow.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from csv2ddb.aws import client
from csv2ddb.history import audit, lineage_cli
from csv2ddb.settings import load_settings

COLUMNS = (
    ("recorded_at", "recorded (UTC)"),
    ("dag_run_id", "dag run"),
    ("run_type", "type"),
    ("triggered_by", "by"),
    ("source_key", "file"),
    ("status", "status"),
    ("rows_read", "read"),
    ("rows_written", "written"),
    ("rows_rejected", "rejected"),
    ("rows_duplicate", "dup"),
    ("items_counted", "counted"),
    ("load_seconds", "seconds"),
    ("glue_job_run_id", "glue run"),
)


def _since(text: str) -> str:
    """Accept ``2026-01-31`` or a full ISO timestamp; normalize to the records' ``...Z`` form."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--since wants an ISO date like 2026-01-31, got {text!r}") from exc
    return parsed.strftime("%Y-%m-%dT%H:%M:%S") + "Z"


def render_table(records: Sequence[dict[str, Any]]) -> str:
    if not records:
        return "(no audit records)"
    rows = [[str(r.get(field, "")) for field, _ in COLUMNS] for r in records]
    headers = [title for _, title in COLUMNS]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m csv2ddb.history.audit_cli", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--since", type=_since, help="only records written at or after this date/time (UTC)")
    parser.add_argument("--file", help="only this source: an object key (raw/x.csv) or s3://bucket/key")
    parser.add_argument("--table", help="audit table (default: settings.audit_table)")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    lineage_cli.add_parsers(
        parser.add_subparsers(dest="question", help="lineage questions (default: history)")
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.question:
        return lineage_cli.answer(args, settings)
    table = args.table or settings.audit_table
    try:
        records = audit.history(client(settings, "dynamodb"), table, since=args.since, file=args.file)
    except (ClientError, BotoCoreError) as exc:
        print(f"error: cannot read audit table {table}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        for record in records:
            print(json.dumps(record, sort_keys=True, default=str))
    else:
        print(render_table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
