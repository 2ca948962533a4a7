"""The data bucket: versioned, SSE-S3 encrypted, public access blocked, tagged."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from csv2ddb.bootstrap import tags
from csv2ddb.bootstrap.base import Resource, is_error
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.model import MISSING, BootstrapError, Observation

PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
SSE_ALGORITHM = "AES256"  # SSE-S3: no KMS key to manage or grant


def bucket_tags(ctx: StackContext) -> dict[str, str] | None:
    """The bucket's tags, or None when the bucket does not exist (shared by objects in it)."""
    s3 = ctx.client("s3")
    bucket = ctx.settings.bucket
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if is_error(exc, "404", "NoSuchBucket", "NotFound"):
            return None
        if is_error(exc, "403", "AccessDenied"):
            raise BootstrapError(
                f"bucket {bucket} exists but this account cannot access it (bucket names are global: "
                "choose another CSV2DDB_PREFIX or CSV2DDB_BUCKET)"
            ) from exc
        raise
    try:
        return tags.from_list(s3.get_bucket_tagging(Bucket=bucket).get("TagSet"))
    except ClientError as exc:
        if is_error(exc, "NoSuchTagSet", "NoSuchTagSetError"):
            return {}
        raise


def bucket_owned(ctx: StackContext) -> bool | None:
    """True/False when the bucket exists (ours or not), None when it does not."""
    actual = bucket_tags(ctx)
    return None if actual is None else tags.is_owned(actual, ctx.settings)


def empty_versions(s3: Any, bucket: str, prefix: str = "", key: str | None = None) -> int:
    """Delete every version and delete marker (under ``prefix``, or of exactly ``key``)."""
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key or prefix):
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            if key is None or v["Key"] == key
        ]
        for start in range(0, len(objects), 1000):
            chunk = objects[start : start + 1000]
            result = s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
            if result.get("Errors"):
                raise BootstrapError(f"could not delete objects in {bucket}: {result['Errors'][:3]}")
            deleted += len(chunk)
    return deleted


STAGING_RULE_ID = "csv2ddb-staging-expiry"
STAGING_EXPIRY_DAYS = 7


class Bucket(Resource):
    kind = "s3-bucket"

    @property
    def name(self) -> str:
        return self.settings.bucket

    def observe(self) -> Observation:
        actual_tags = bucket_tags(self.ctx)
        if actual_tags is None:
            return MISSING
        if not tags.is_owned(actual_tags, self.settings):
            return Observation(exists=True, owned=False)
        s3 = self.ctx.client("s3")
        drift = tags.drift(actual_tags, self.settings)
        versioning = s3.get_bucket_versioning(Bucket=self.name).get("Status")
        if versioning != "Enabled":
            drift.append(f"versioning {versioning or 'never enabled'}, want Enabled")
        drift += self._encryption_drift(s3)
        drift += self._public_access_drift(s3)
        drift += self._lifecycle_drift(s3)
        return Observation(exists=True, drift=tuple(drift))

    def staging_rule(self) -> dict[str, Any]:
        """Staging data a failed import left behind expires (a verified import deletes its own)."""
        return {
            "ID": STAGING_RULE_ID,
            "Filter": {"Prefix": self.settings.staging_prefix},
            "Status": "Enabled",
            "Expiration": {"Days": STAGING_EXPIRY_DAYS},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        }

    def _lifecycle_drift(self, s3: Any) -> list[str]:
        try:
            rules = s3.get_bucket_lifecycle_configuration(Bucket=self.name).get("Rules", [])
        except ClientError as exc:
            if is_error(exc, "NoSuchLifecycleConfiguration"):
                rules = []
            else:
                raise
        ours = [r for r in rules if r.get("ID") == STAGING_RULE_ID]
        want = self.staging_rule()
        if not ours:
            return [f"lifecycle rule {STAGING_RULE_ID} missing"]
        have = {k: ours[0].get(k) for k in want}
        return [] if have == want else [f"lifecycle rule {STAGING_RULE_ID} {have}, want {want}"]

    def _encryption_drift(self, s3: Any) -> list[str]:
        try:
            rules = s3.get_bucket_encryption(Bucket=self.name)["ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as exc:
            if is_error(exc, "ServerSideEncryptionConfigurationNotFoundError"):
                return ["default encryption not configured, want SSE-S3"]
            raise
        algorithms = [r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules]
        return [] if algorithms == [SSE_ALGORITHM] else [f"encryption {algorithms}, want [{SSE_ALGORITHM!r}]"]

    def _public_access_drift(self, s3: Any) -> list[str]:
        try:
            config = s3.get_public_access_block(Bucket=self.name)["PublicAccessBlockConfiguration"]
        except ClientError as exc:
            if is_error(exc, "NoSuchPublicAccessBlockConfiguration"):
                return ["public access block not configured"]
            raise
        off = sorted(k for k, v in PUBLIC_ACCESS_BLOCK.items() if config.get(k) != v)
        return [f"public access block off for {', '.join(off)}"] if off else []

    def create(self) -> str:
        s3 = self.ctx.client("s3")
        kwargs: dict[str, Any] = {"Bucket": self.name}
        if self.settings.region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
        s3.create_bucket(**kwargs)
        s3.get_waiter("bucket_exists").wait(Bucket=self.name)
        self._apply({})
        return "versioning, SSE-S3, public access block, staging lifecycle rule, tags"

    def repair(self, observed: Observation) -> str:
        self._apply(bucket_tags(self.ctx) or {})
        return "; ".join(observed.drift)

    def _apply(self, current_tags: dict[str, str]) -> None:
        """Every setting is a full PUT, so applying all of them is safe to repeat."""
        s3 = self.ctx.client("s3")
        # PutBucketTagging replaces the whole set: keep tags others added.
        s3.put_bucket_tagging(
            Bucket=self.name, Tagging={"TagSet": tags.as_list({**current_tags, **self.settings.tags})}
        )
        s3.put_public_access_block(Bucket=self.name, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK)
        s3.put_bucket_versioning(Bucket=self.name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(
            Bucket=self.name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": SSE_ALGORITHM}}]
            },
        )
        try:  # keep rules others added; replace ours
            rules = s3.get_bucket_lifecycle_configuration(Bucket=self.name).get("Rules", [])
        except ClientError as exc:
            if not is_error(exc, "NoSuchLifecycleConfiguration"):
                raise
            rules = []
        others = [r for r in rules if r.get("ID") != STAGING_RULE_ID]
        s3.put_bucket_lifecycle_configuration(
            Bucket=self.name, LifecycleConfiguration={"Rules": [*others, self.staging_rule()]}
        )

    def delete(self) -> str:
        s3 = self.ctx.client("s3")
        removed = empty_versions(s3, self.name)
        s3.delete_bucket(Bucket=self.name)
        return f"emptied ({removed} object versions and delete markers) and deleted"
