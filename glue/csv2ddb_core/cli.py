"""The job's command line: parse arguments, run one load, print the manifest, exit 0/1/2.

``glue/csv2ddb_load_job.py`` (the script Glue runs) is only ``sys.exit(main())``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from typing import Any, Mapping, Optional, Sequence

from csv2ddb_core.args import parse_job_args
from csv2ddb_core.clients import make_clients
from csv2ddb_core.contract import ArgumentError, JobError
from csv2ddb_core.load import run

LOG = logging.getLogger("csv2ddb.load")


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM (a stopped or timed-out run) ends the load through the normal failure path: the
    writers drain what is queued and the manifest says what was and was not written."""
    raise JobError(f"terminated by signal {signum}")


def main(argv: Optional[Sequence[str]] = None, env: Optional[Mapping[str, str]] = None) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s csv2ddb-load: %(message)s"
    )
    try:
        args = parse_job_args(sys.argv[1:] if argv is None else argv, os.environ if env is None else env)
    except ArgumentError as exc:
        LOG.error("%s", exc)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    s3, ddb = make_clients(args)
    manifest = run(args, s3, ddb)
    print(json.dumps(manifest.to_dict(with_location=True), indent=2, sort_keys=True), flush=True)
    if not manifest.succeeded:
        LOG.error("load failed: %s", manifest.error)
        return 1
    LOG.info(
        "load succeeded: %d written, %d rejected, %d duplicate of %d read in %.1fs (%.0f rows/s)",
        manifest.rows_written,
        manifest.rows_rejected,
        manifest.rows_duplicate,
        manifest.rows_read,
        manifest.seconds,
        manifest.rows_per_second,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
