"""The demo's small files, sent while or after its three datasets load: a 2-row flights file timed
from its upload to its verified audit record, and a doctored planes file its dataset's check must
refuse before the first write. Both travel the real event path (S3 -> queue -> Lambda -> Airflow).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csv2ddb.aws import client
from csv2ddb.history import audit
from csv2ddb.settings import Settings

from csv2ddb_dev.scripts import lambda_module

# The 2-row file's whole chain (upload -> verified audit record): seconds on an idle machine, but
# each Airflow task start costs tens of seconds on 2 busy cores.
TWO_ROWS_TIMEOUT = float(os.environ.get("CSV2DDB_DEMO_TWO_ROWS_TIMEOUT", "600"))


def audit_records(settings: Settings, dag_run_id: str) -> list[dict[str, Any]]:
    """The run's audit records, by source."""
    return audit.records_of_dag_run(client(settings, "dynamodb"), settings.audit_table, dag_run_id)


FINAL_STATUSES = ("verified", "count_mismatch", "failed")


def await_audit_record(settings: Settings, run_id: str, started: float) -> dict[str, Any] | None:
    """The run's first audit record once it has a final status; None after TWO_ROWS_TIMEOUT
    (counted from ``started``, the file's upload)."""
    while time.monotonic() - started < TWO_ROWS_TIMEOUT:
        records = audit_records(settings, run_id)
        if records and records[0].get("status") in FINAL_STATUSES:
            return records[0]
        time.sleep(0.25)
    print(f"   no audit record for DAG run {run_id} after {TWO_ROWS_TIMEOUT:.0f}s")
    return None


def put_and_name_run(settings: Settings, key: str, body: bytes) -> str:
    """Upload ``body`` to ``key``; the DAG run id its S3 event will start (from the etag)."""
    s3 = client(settings, "s3")
    s3.put_object(Bucket=settings.bucket, Key=key, Body=body)
    etag = s3.head_object(Bucket=settings.bucket, Key=key)["ETag"].strip('"')
    return str(lambda_module().dag_run_id(settings.bucket, key, etag))


def two_row_file(settings: Settings, flights: Path) -> tuple[float, dict[str, Any] | None]:
    """A 2-row flights file through the whole chain while the three datasets are deployed and the
    table holds flights: seconds from its S3 upload to its verified audit record (the count check
    reads its 2 keys, not the table)."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())  # new content, new etag, new run
    key = f"raw/flights/demo-two-rows-{stamp}.csv"
    with open(flights, encoding="utf-8", newline="") as f:
        header, *rows = [next(f) for _ in range(3)]
    # Another tail number: other content, so other content-hash ids (flights has no key column).
    body = (header + "".join(row.replace(",N", f",D{stamp[-6:]}", 1) for row in rows)).encode()
    started = time.monotonic()
    rec = await_audit_record(settings, put_and_name_run(settings, key, body), started)
    seconds = time.monotonic() - started
    if rec is not None:
        print(f"   s3://{settings.bucket}/{key}: {rec['status']} in {seconds:.1f}s (target: 30 s)")
        print(f"   its check looked up {rec.get('keys_checked')} key(s) in {rec.get('check_seconds')}s")
    return seconds, rec


@dataclass(frozen=True)
class PendingFile:
    """A file uploaded now whose audit record is awaited later (while other runs go on)."""

    key: str
    run_id: str
    started: float


def put_doctored_planes_file(settings: Settings, planes: Path) -> PendingFile:
    """A second planes file, doctored: one aircraft with -2 seats. The dataset's check
    (``seats between 1 and 1000``) rejects that row, the tolerance is 0 and loads are all or
    nothing: the load fails before its first write, naming the check."""
    lines = planes.read_bytes().decode("latin-1").splitlines(keepends=True)
    header, rows = lines[0], lines[1:6]
    cells = rows[2].rstrip("\n").split(";")
    cells[header.strip().split(";").index("seats")] = "-2"
    rows[2] = ";".join(cells) + "\n"
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    key = f"raw/planes/doctored-{stamp}.csv"
    started = time.monotonic()
    run_id = put_and_name_run(settings, key, "".join([header, *rows]).encode("latin-1"))
    print(f"   (uploaded s3://{settings.bucket}/{key}: a doctored planes file; its outcome is shown below)")
    return PendingFile(key, run_id, started)


def doctored_planes_record(settings: Settings, pending: PendingFile) -> dict[str, Any] | None:
    """The doctored file's audit record, printed; None if it never came."""
    rec = await_audit_record(settings, pending.run_id, pending.started)
    if rec is not None:
        seconds = time.monotonic() - pending.started
        print(f"   s3://{settings.bucket}/{pending.key}: {rec['status']} {seconds:.1f}s after its upload")
        print(f"   rows read {rec.get('rows_read')}, written {rec.get('rows_written')}")
        print(f"   error          : {rec.get('error')}")
    return rec


def doctored_file_refused(record: dict[str, Any] | None) -> bool:
    """The doctored file failed on its check and wrote nothing: what the demo expects of it."""
    return (
        record is not None
        and record.get("status") == "failed"
        and record.get("rows_written") == 0
        and "check:between:seats" in str(record.get("error"))
    )
