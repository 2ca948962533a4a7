#!/usr/bin/env python3
"""Create, delete or inspect the csv2ddb AWS stack: ``infra_bootstrap.py create|delete|status``.

A thin CLI over ``csv2ddb.bootstrap``. Names come from ``CSV2DDB_*`` environment variables
(see ``csv2ddb.settings``); with no ``CSV2DDB_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL`` it talks to
real AWS through the standard credential chain. Exit codes: 0 ok, 1 drift/missing/refused,
2 usage or AWS error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

try:
    import csv2ddb  # noqa: F401  (installed editable in .venv)
except ImportError:  # run from a plain checkout: the library lives in plugins/
    sys.path.insert(0, str(Path(__file__).resolve().parent / "plugins"))

from botocore.exceptions import BotoCoreError, ClientError
from csv2ddb.bootstrap import (
    BootstrapError,
    Change,
    ResourceStatus,
    Sources,
    create_stack,
    delete_stack,
    stack_status,
)
from csv2ddb.bootstrap.context import DEFAULT_LAMBDA_DIR
from csv2ddb.bootstrap.model import KEPT
from csv2ddb.settings import Settings, load_settings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--glue-script", type=Path, help="Glue script to upload (default glue/<script name>)")
    parser.add_argument("--lambda-dir", type=Path, default=DEFAULT_LAMBDA_DIR, help="Lambda sources (*.py)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every AWS resource step")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create", help="create or repair every resource (idempotent)")
    delete = commands.add_parser("delete", help="delete every resource tagged as this stack's")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    commands.add_parser("status", help="table of resources; exit 1 when any is missing or drifted")
    return parser.parse_args(argv)


def print_changes(changes: Sequence[Change]) -> None:
    rows = [(c.kind, c.name, c.action, c.detail) for c in changes]
    print_table(("resource", "name", "action", "detail"), rows)


def print_status(statuses: Sequence[ResourceStatus]) -> None:
    rows = [
        (
            s.kind,
            s.name,
            "-" if not s.enabled else yes_no(s.exists),
            "-" if not s.enabled else yes_no(s.matches),
            s.detail,
        )
        for s in statuses
    ]
    print_table(("resource", "name", "exists", "matches", "detail"), rows)


def yes_no(value: bool) -> str:
    return "yes" if value else "NO"


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [str(v).ljust(w) for v, w in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, str(row[-1])]).rstrip())


def confirm_delete(settings: Settings, assume_yes: bool) -> bool:
    """Deleting drops data: demand --yes, or a typed confirmation on an interactive terminal."""
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        print("refusing to delete without confirmation: stdin is not a terminal; pass --yes", file=sys.stderr)
        return False
    target = settings.endpoint_url or f"AWS region {settings.region}"
    answer = input(
        f"Delete stack {settings.prefix!r} (bucket {settings.bucket}, tables, ...) at {target}? [y/N] "
    )
    return answer.strip().lower() in {"y", "yes"}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"bad settings: {exc}", file=sys.stderr)
        return 2
    sources = Sources(glue_script=args.glue_script, lambda_dir=args.lambda_dir)
    target = settings.endpoint_url or "AWS (standard credential chain)"
    print(f"stack {settings.prefix!r} in {settings.region} at {target}")
    try:
        if args.command == "create":
            changes = create_stack(settings, sources=sources)
            print_changes(changes)
            changed = [c for c in changes if c.changed]
            print(
                f"{len(changed)} resource(s) changed"
                if changed
                else "nothing changed: the stack matches its spec"
            )
            return 0
        if args.command == "delete":
            if not confirm_delete(settings, args.yes):
                print("nothing deleted", file=sys.stderr)
                return 1
            changes = delete_stack(settings, sources=sources)
            print_changes(changes)
            return 1 if any(c.action == KEPT for c in changes) else 0
        statuses = stack_status(settings, sources=sources)
        print_status(statuses)
        bad = [s for s in statuses if not s.ok]
        if bad:
            print(f"{len(bad)} resource(s) missing or not matching their spec", file=sys.stderr)
            return 1
        return 0
    except BootstrapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"AWS error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
