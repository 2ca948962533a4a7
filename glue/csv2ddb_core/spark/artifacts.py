"""The load's artifacts from per-split parts: one rejects.csv and one key list, as the Python shell
writes them, so every reader (count check, rollback, UI) sees one format whatever the engine.

The tasks store ``<manifest_prefix><run>.parts/rejects-NNNNN.csv`` and ``keys-NNNNN.jsonl.gz``;
the driver concatenates them in split order (gzip members concatenate into one valid gzip
stream), uploads the results where the Python shell puts its own, and deletes the parts.
Streamed through a temporary file: the driver's memory does not grow with the load.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from typing import Any, Dict, List, Optional, Sequence

from csv2ddb_core.contract import JobArgs
from csv2ddb_core.keylist import KeyListWriter
from csv2ddb_core.rejects import RejectSink
from csv2ddb_core.spark.partition import SplitResult

REJECTS_HEADER = (",".join(RejectSink.COLUMNS) + "\r\n").encode()  # csv.writer's default line end


def _concatenate(s3: Any, bucket: str, keys: Sequence[str], out: Any, skip_prefix: bytes = b"") -> None:
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        head = body.read(len(skip_prefix)) if skip_prefix else b""
        if head != skip_prefix:
            out.write(head)
        shutil.copyfileobj(body, out, 1 << 20)


def merge_rejects(s3: Any, args: JobArgs, results: Sequence[SplitResult]) -> Optional[str]:
    """One ``rejects.csv`` (one header row) from the splits' parts; its URI, or None if no rejects."""
    parts = [r.rejects_key for r in sorted(results, key=lambda r: r.index) if r.rejects_key]
    if not parts:
        return None
    with tempfile.TemporaryFile() as spool:
        spool.write(REJECTS_HEADER)
        _concatenate(s3, args.manifest_bucket, parts, spool, skip_prefix=REJECTS_HEADER)
        spool.seek(0)
        s3.upload_fileobj(
            spool, args.manifest_bucket, args.rejects_key, ExtraArgs={"ContentType": "text/csv"}
        )
    return f"s3://{args.manifest_bucket}/{args.rejects_key}"


def merge_keys(s3: Any, args: JobArgs, results: Sequence[SplitResult]) -> Dict[str, Any]:
    """One key list from the splits' lists; the manifest's ``keys_*`` fields (count, sha256)."""
    parts = [r.keys_key for r in sorted(results, key=lambda r: r.index) if r.keys_key]
    if not parts:
        empty = KeyListWriter(args.write.keys.names)
        try:
            return empty.upload(s3, args.manifest_bucket, args.keys_key)
        finally:
            empty.close()
    fd, path = tempfile.mkstemp(prefix="csv2ddb-keys-", suffix=".gz")
    try:
        with os.fdopen(fd, "wb") as out:
            _concatenate(s3, args.manifest_bucket, parts, out)
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        s3.upload_file(
            path, args.manifest_bucket, args.keys_key, ExtraArgs={"ContentType": "application/gzip"}
        )
    finally:
        os.unlink(path)
    return {
        "keys_location": f"s3://{args.manifest_bucket}/{args.keys_key}",
        "keys_count": sum(r.keys_count for r in results),
        "keys_sha256": digest.hexdigest(),
    }


def delete_parts(s3: Any, args: JobArgs, results: Sequence[SplitResult]) -> None:
    keys: List[str] = [k for r in results for k in (r.rejects_key, r.keys_key) if k]
    for start in range(0, len(keys), 1000):
        chunk = [{"Key": k} for k in keys[start : start + 1000]]
        s3.delete_objects(Bucket=args.manifest_bucket, Delete={"Objects": chunk, "Quiet": True})
