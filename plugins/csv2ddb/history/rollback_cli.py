"""Roll back one load from a shell: ``python -m csv2ddb.history.rollback_cli RUN_ID [--dry-run] [--json]``.

The same rollback as the ``csv2ddb_rollback`` DAG (``csv2ddb.history.rollback``), with plain boto3 and the
``CSV2DDB_*`` settings, for when Airflow is not at hand. Progress goes to stderr; the report to
stdout. Exit code 0 rolled back (or, with ``--dry-run``, counted), 2 refused (nothing deleted:
malformed, unknown or already rolled back run, no whole key list), 1 failed part-way (run it again:
it finishes the job).
"""

from __future__ import annotations

import argparse
import getpass
import json
import secrets
import sys
from collections.abc import Sequence

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from csv2ddb import keyreads
from csv2ddb.aws import RETRIES, client, session
from csv2ddb.history import audit, rollback
from csv2ddb.settings import load_settings


def cli_run_id() -> str:
    """This CLI run's id in the audit table: its start time, plus a random part, because two runs in
    one second (a rollback killed, then run again at once) must not share a record: the second marks
    the first ``rollback_interrupted`` and resumes it."""
    return f"rollback_cli__{audit.utc_now()}__{secrets.token_hex(4)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m csv2ddb.history.rollback_cli", description=__doc__.splitlines()[0]
    )
    parser.add_argument("run_id", help="the load's run id (its audit record's run_id)")
    parser.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")
    parser.add_argument("--threads", type=int, default=None, help="parallel BatchGetItem/delete threads")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    settings = load_settings()
    workers = args.threads or settings.load.key_read_threads
    shared = session(settings)
    s3 = client(settings, "s3", shared)
    ddb = client(settings, "dynamodb", shared, config=RETRIES.merge(Config(max_pool_connections=workers + 2)))

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    try:
        if args.dry_run:
            target = rollback.find_target(s3, ddb, settings, args.run_id)
            census = keyreads.count_keys(ddb, target.table, target.keys, target.run_id, None, workers=workers)
            result = {"run_id": target.run_id, "table": target.table, "would_delete": census.ours}
            result |= {"left_other_loads": census.later + census.stale, "already_gone": census.missing}
            print(json.dumps(result) if args.json else " ".join(f"{k}={v}" for k, v in result.items()))
            return 0
        report = rollback.roll_back(
            s3,
            ddb,
            settings,
            args.run_id,
            dag_run_id=cli_run_id(),
            run_type="cli",
            triggered_by=getpass.getuser(),
            workers=workers,
            say=say,
        )
    except rollback.RollbackRefused as exc:
        say(f"refused: {exc}")
        return 2
    except (rollback.RollbackError, keyreads.KeyReadError, ClientError, BotoCoreError) as exc:
        say(f"rollback failed part-way ({type(exc).__name__}: {exc}); run it again to finish")
        return 1
    print(json.dumps(report.as_dict(), default=str) if args.json else report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
