"""A group run: several files loaded by ONE Glue run, in order, each as its own load.

Why: a Glue run costs a start (seconds to minutes) whatever it loads, so a prefix of 100 small
files made 100 runs. A group run pays one start and still keeps every file's accounting its own:
each file is loaded by the single-file :func:`csv2ddb_core.load.run` with its own run id, so it has
its own manifest, key list, rejects and (DAG side) audit record.

The group is named by ``--files s3://bucket/key``: a JSON list of per-file arguments (at least
``source_key`` and ``run_id``), each laid over the run's common arguments. The list is an S3 object,
not a job argument, so Glue's limits on argument size never cap a group.

A file failing does not stop the next one; the run exits 0 only when every file succeeded. A retry
of the run loads only what is not done: a file whose stored manifest says it succeeded under the
same run id is skipped (and logged), so its items are written exactly once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import botocore.exceptions

from csv2ddb_core import processed
from csv2ddb_core.contract import (
    FILES_ARG,
    STATUS_SUCCEEDED,
    ArgumentError,
    JobArgs,
    JobError,
    Manifest,
    ManifestError,
    read_manifest,
)
from csv2ddb_core.listing import Listed, list_group
from csv2ddb_core.load import run
from csv2ddb_core.manifest import iso, utc_now
from csv2ddb_core.options import OPTIONAL_ARGS, REQUIRED_ARGS, parse_job_args, resolve_options

LOG = logging.getLogger("csv2ddb.load")
FILES_NAME = FILES_ARG[2:]
PER_FILE_REQUIRED = ("source_key", "run_id")
ARGUMENT_NAMES = frozenset((*REQUIRED_ARGS, *OPTIONAL_ARGS))
SKIPPED = "skipped"  # a file a retry found done: its manifest (succeeded, same run id) stands


@dataclass(frozen=True)
class Outcome:
    """How one file of a group ended: ``succeeded``, ``failed`` or ``skipped`` (done before)."""

    run_id: str
    source: str
    status: str
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def group_location(argv: Sequence[str], env: Optional[Mapping[str, str]]) -> Optional[str]:
    """The ``--files`` argument (argv, else the emulator's environment), or None: a one-file run."""
    found = resolve_options(argv, [FILES_NAME], env).get(FILES_NAME, "").strip()
    return found or None


def split_s3_uri(uri: str) -> Tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/") if uri.startswith("s3://") else ("", "", "")
    if not bucket or not key:
        raise ArgumentError(f"{FILES_ARG} must be an s3://bucket/key URI, got {uri!r}")
    return bucket, key


def read_group(s3: Any, uri: str) -> List[Dict[str, str]]:
    """The group file's per-file arguments, checked: a non-empty JSON list of objects of strings, each
    naming at least ``source_key`` and ``run_id``, no run id twice, only job argument names."""
    bucket, key = split_s3_uri(uri)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        entries = json.loads(body)
    except botocore.exceptions.ClientError as exc:
        raise ArgumentError(f"cannot read the group file {uri}: {exc}") from exc
    except ValueError as exc:
        raise ArgumentError(f"the group file {uri} is not JSON: {exc}") from exc
    if not isinstance(entries, list) or not entries:
        raise ArgumentError(f"the group file {uri} must be a non-empty JSON list of objects")
    seen = set()
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
            raise ArgumentError(f"{uri}: entry {n} must be an object of strings, got {entry!r}")
        unknown = sorted(set(entry) - ARGUMENT_NAMES)
        missing = [name for name in PER_FILE_REQUIRED if not str(entry.get(name, "")).strip()]
        if unknown or missing:
            raise ArgumentError(f"{uri}: entry {n} has unknown {unknown} / lacks {missing} argument(s)")
        if entry["run_id"] in seen:
            raise ArgumentError(f"{uri}: run id {entry['run_id']!r} appears twice")
        seen.add(entry["run_id"])
    return entries


def file_args(argv: Sequence[str], env: Optional[Mapping[str, str]], entry: Mapping[str, str]) -> JobArgs:
    """One file's arguments: the run's common ones with the entry's laid over them (argv wins over
    the environment, and a later ``--name=value`` over an earlier one, in ``resolve_options``)."""
    return parse_job_args([*argv, *(f"--{name}={value}" for name, value in entry.items())], env)


def stored_success(s3: Any, args: JobArgs, listed: Optional[Listed] = None) -> Optional[Manifest]:
    """The file's stored manifest when it says this very load (same run id) succeeded, else None.
    An unreadable or malformed one is loaded again (logged): only a proven success is skipped.
    ``listed``: the group's listing of its manifests; a file it covers and did not find has none (no
    GetObject)."""
    key = args.manifest_key
    if listed is not None and listed.covers(args.manifest_bucket, key) and not listed.has(key):
        return None
    try:
        body = s3.get_object(Bucket=args.manifest_bucket, Key=key)["Body"].read()
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    where = f"s3://{args.manifest_bucket}/{key}"
    try:
        manifest = read_manifest(body, where)
    except ManifestError as exc:
        LOG.warning("%s: stored manifest unreadable, loading again: %s", args.source_uri, exc)
        return None
    if manifest.status == STATUS_SUCCEEDED and manifest.run_id == args.run_id:
        return manifest
    return None


# One file's load: the Python shell's ``csv2ddb_core.load.run``, the Spark script's ``run_load`` in its
# one session, or ``run`` with the inline engine's name in the Airflow worker.
Loader = Callable[[JobArgs, Any, Any], Manifest]


def load_one(
    args: JobArgs, s3: Any, ddb: Any, load: Loader = run, listed: Optional[Listed] = None
) -> Outcome:
    """Load one file of the group unless a stored manifest says it is done; print its manifest
    (on one line). ``listed``: the group's listing of its manifests (``stored_success``)."""
    done = stored_success(s3, args, listed)
    if done is not None:
        LOG.info(
            "%s: skipped, run %s already succeeded (%s)", args.source_uri, args.run_id, args.manifest_key
        )
        return Outcome(args.run_id, args.source_uri, SKIPPED)
    manifest = load(args, s3, ddb)
    # One line per file, not the single load's indented document: a group of 64 printed ~2,500
    # lines, which the inline engine's task forwards to its log one by one (~1.8 CPU-s a group).
    print(json.dumps(manifest.to_dict(with_location=True), sort_keys=True), flush=True)
    if manifest.succeeded:
        LOG.info(
            "%s: succeeded, %d of %d rows written", args.source_uri, manifest.rows_written, manifest.rows_read
        )
        return Outcome(args.run_id, args.source_uri, STATUS_SUCCEEDED)
    LOG.error("%s: failed: %s", args.source_uri, manifest.error)
    return Outcome(args.run_id, args.source_uri, "failed", manifest.error)


def run_group(
    files: Sequence[JobArgs],
    s3: Any,
    ddb: Any,
    stopped: Any = lambda: False,
    load: Loader = run,
) -> List[Outcome]:
    """Load ``files`` in order, each with ``load``, past a failed one; stop early only when
    ``stopped()`` (a SIGTERM: the run is being stopped, and the files not reached are left without a
    manifest).

    What the files share is asked once for the group, not once per file (``csv2ddb_core.listing``):
    one LIST of their manifests (the skip check), one of their processed-zone prefixes (what an
    earlier attempt left there), and one DescribeTable per table (``OnceDescribed``)."""
    outcomes: List[Outcome] = []
    manifests, zone = group_listings(s3, files)
    ddb = OnceDescribed(ddb)
    token = processed.GROUP_LISTING.set(zone)
    try:
        for args in files:
            if stopped():
                LOG.error("terminated: %d file(s) of the group not loaded", len(files) - len(outcomes))
                break
            try:
                outcomes.append(load_one(args, s3, ddb, load, manifests))
            except JobError as exc:  # a SIGTERM between two loads (inside one, run() records it)
                outcomes.append(Outcome(args.run_id, args.source_uri, "failed", str(exc)))
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                # reading the stored manifest failed: the file is not loaded; the next may be
                LOG.error("%s: AWS error before the load: %s", args.source_uri, exc)
                outcomes.append(Outcome(args.run_id, args.source_uri, "failed", f"AWS error: {exc}"))
    finally:
        processed.GROUP_LISTING.reset(token)
    return outcomes


def group_listings(s3: Any, files: Sequence[JobArgs]) -> Tuple[Optional[Listed], Optional[Listed]]:
    """(the files' manifests, their processed-zone prefixes of today), each listed once, or None where
    a listing does not apply (one file, files of several buckets or prefixes, the zone off) or failed
    (logged: every file then asks for itself, as a group did before)."""
    if len(files) < 2:
        return None, None
    run_ids = [args.run_id for args in files]
    manifests = zone = None
    try:
        if len({(a.manifest_bucket, a.manifest_prefix) for a in files}) == 1:
            manifests = list_group(s3, files[0].manifest_bucket, files[0].manifest_prefix, run_ids)
        places = {
            (a.manifest_bucket, processed.date_prefix(a.processed_prefix, a.table, today()))
            for a in files
            if a.processed
        }
        if len(places) == 1 and all(a.processed for a in files):
            ((bucket, parent),) = places
            zone = list_group(s3, bucket, parent, run_ids)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        LOG.warning("the group's listing failed, each file is checked on its own: %s", exc)
        return None, None
    return manifests, zone


def today() -> str:
    """The processed zone's partition of a load starting now (``processed.load_date`` of its start);
    a file starting after midnight has another, which the group's listing does not cover."""
    return processed.load_date(iso(utc_now()))


class OnceDescribed:
    """The DynamoDB client of a group's loads, answering DescribeTable once per table.

    Why: each load checks its table before reading its file (``load.check_table``), so a group of 250
    files into one table asked 250 times for the same answer. A table's key schema cannot change
    while it exists, and a table deleted during the group fails that file's writes instead (loudly,
    as any write error). Only an answer is kept, never an error: a missing table is asked again.
    Every other call goes to the client itself."""

    def __init__(self, ddb: Any) -> None:
        self._ddb = ddb
        self._described: Dict[str, Any] = {}

    def describe_table(self, **kwargs: Any) -> Any:
        name = kwargs.get("TableName")
        if len(kwargs) != 1 or not isinstance(name, str):
            return self._ddb.describe_table(**kwargs)
        if name not in self._described:
            self._described[name] = self._ddb.describe_table(**kwargs)
        return self._described[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ddb, name)


def summary(uri: str, files: Sequence[JobArgs], outcomes: Sequence[Outcome]) -> Dict[str, Any]:
    """What the run prints last: every file's outcome, in order (a file not reached: not_loaded)."""
    reached = {o.run_id: o for o in outcomes}
    listed: List[Dict[str, Any]] = []
    for args in files:
        outcome = reached.get(args.run_id)
        entry: Dict[str, Any] = {"run_id": args.run_id, "source": args.source_uri}
        entry["status"] = outcome.status if outcome else "not_loaded"
        if outcome and outcome.error:
            entry["error"] = outcome.error
        listed.append(entry)
    return {"group": uri, "files": listed}


def group_files(uri: str, argv: Sequence[str], env: Optional[Mapping[str, str]], s3: Any) -> List[JobArgs]:
    """Every file's arguments, all checked before the first load (ArgumentError: nothing loaded)."""
    return [file_args(argv, env, entry) for entry in read_group(s3, uri)]


def exit_code(uri: str, files: Sequence[JobArgs], outcomes: Sequence[Outcome]) -> int:
    """Print the group's summary last; 0 only when every file succeeded (or was done before), else 1."""
    print(json.dumps(summary(uri, files, outcomes), indent=2, sort_keys=True), flush=True)
    failed = len(files) - sum(1 for o in outcomes if o.ok)
    if failed:
        LOG.error("group %s: %d of %d file(s) not loaded", uri, failed, len(files))
        return 1
    LOG.info("group %s: all %d file(s) loaded", uri, len(files))
    return 0
