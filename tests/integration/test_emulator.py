"""The emulator fixture: ministack answers on loopback only, and talks S3."""

from __future__ import annotations

import boto3
from csv2ddb_dev.emulator import HOST, Emulator


def test_emulator_binds_loopback_and_serves_s3(emulator: Emulator, boto_session: boto3.Session) -> None:
    assert emulator.endpoint_url.startswith(f"http://{HOST}:")
    s3 = boto_session.client("s3", endpoint_url=emulator.endpoint_url)
    s3.create_bucket(Bucket="emulator-smoke")
    assert "emulator-smoke" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.delete_bucket(Bucket="emulator-smoke")
