"""One local file the job wrote (the rejects file, the key list, an import's staging part, a
processed-zone part) uploaded to S3 in the cheapest way its size allows."""

from __future__ import annotations

import os
from typing import Any

SINGLE_PUT_BYTES = 8 * 1024 * 1024  # boto3's multipart threshold: below it one PutObject either way


def put_file(s3: Any, path: str, bucket: str, key: str, content_type: str) -> None:
    """Upload one local file: a small one with one PutObject, a large one by boto3's managed transfer
    (multipart, streamed from disk). Why: ``upload_file`` starts a transfer manager and its thread
    pool per call, several times the CPU of the one request a small file needs, and a many-files run
    uploads two or three small files per load."""
    if os.path.getsize(path) >= SINGLE_PUT_BYTES:
        s3.upload_file(path, bucket, key, ExtraArgs={"ContentType": content_type})
        return
    with open(path, "rb") as body:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
