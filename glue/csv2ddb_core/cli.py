"""The job's command line: parse arguments, run one load (or a group of loads, ``--files``: see
``csv2ddb_core.group``), print the manifest(s), exit 0 (every load succeeded), 1 (a load failed) or
2 (bad arguments: nothing was loaded).

``glue/csv2ddb_load_job.py`` (the script Glue runs) is only ``sys.exit(main())``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from typing import Any, List, Mapping, Optional, Sequence

from csv2ddb_core.clients import make_clients, s3_client
from csv2ddb_core.contract import ArgumentError, JobError
from csv2ddb_core.group import exit_code, group_files, group_location, run_group
from csv2ddb_core.load import run
from csv2ddb_core.options import parse_job_args

LOG = logging.getLogger("csv2ddb.load")


TERMINATED: List[int] = []  # the signal that stopped this run, once one did


def terminate(signum: int, frame: Any) -> None:
    """SIGTERM (a stopped or timed-out run) ends the load through the normal failure path: the
    writers drain what is queued and the manifest says what was and was not written. A group run
    then loads no further file. The Spark script installs it too."""
    TERMINATED.append(signum)
    raise JobError(f"terminated by signal {signum}")


def main(argv: Optional[Sequence[str]] = None, env: Optional[Mapping[str, str]] = None) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s csv2ddb-load: %(message)s"
    )
    argv = sys.argv[1:] if argv is None else argv
    env = os.environ if env is None else env
    group = group_location(argv, env)
    if group is not None:
        return main_group(group, argv, env)
    try:
        args = parse_job_args(argv, env)
    except ArgumentError as exc:
        LOG.error("%s", exc)
        return 2
    signal.signal(signal.SIGTERM, terminate)
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


def main_group(uri: str, argv: Sequence[str], env: Mapping[str, str]) -> int:
    """A group run: every file's arguments are checked before the first load (a bad one: exit 2,
    nothing loaded), then the files load in order; exit 0 only when every one succeeded."""
    try:
        files = group_files(uri, argv, env, s3_client())
    except ArgumentError as exc:
        LOG.error("%s", exc)
        return 2
    LOG.info("group %s: %d file(s)", uri, len(files))
    signal.signal(signal.SIGTERM, terminate)
    s3, ddb = make_clients(files[0])  # the files share the run's common arguments (concurrency)
    return exit_code(uri, files, run_group(files, s3, ddb, stopped=lambda: bool(TERMINATED)))


if __name__ == "__main__":
    sys.exit(main())
