"""The Glue job script, uploaded from ``glue/`` to ``s3://<bucket>/scripts/``.

Status compares the SHA-256 of the stored object's content with the local file, so an edited
script (or a changed object) shows as drift and ``create`` uploads it again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from botocore.exceptions import ClientError

from csv2ddb.bootstrap.base import Resource, is_error
from csv2ddb.bootstrap.bucket import bucket_owned, empty_versions
from csv2ddb.bootstrap.model import MISSING, BootstrapError, Observation


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class GlueScript(Resource):
    kind = "glue-script"

    @property
    def name(self) -> str:
        return self.settings.script_s3_uri

    @property
    def local_path(self) -> Path:
        return self.ctx.sources.glue_script_path(self.settings)

    def _local_bytes(self) -> bytes:
        try:
            return self.local_path.read_bytes()
        except FileNotFoundError as exc:
            raise BootstrapError(f"Glue script {self.local_path} not found: nothing to upload") from exc

    def observe(self) -> Observation:
        owned = bucket_owned(self.ctx)
        if owned is None:
            return MISSING
        if not owned:  # the script lives in the bucket: it is ours only if the bucket is
            return Observation(exists=True, owned=False)
        try:
            body = self.ctx.client("s3").get_object(Bucket=self.settings.bucket, Key=self.settings.script_key)
        except ClientError as exc:
            if is_error(exc, "NoSuchKey", "404"):
                return MISSING
            raise
        remote = sha256(body["Body"].read())
        if not self.local_path.exists():
            return Observation(exists=True, drift=(f"local source {self.local_path} missing",))
        local = sha256(self.local_path.read_bytes())
        if remote != local:
            drift = f"content sha256 {remote[:12]}…, local {self.local_path.name} {local[:12]}…"
            return Observation(exists=True, drift=(drift,))
        return Observation(exists=True, notes=(f"matches spec (sha256 {local[:12]}…)",))

    def create(self) -> str:
        data = self._local_bytes()
        self.ctx.client("s3").put_object(
            Bucket=self.settings.bucket,
            Key=self.settings.script_key,
            Body=data,
            ContentType="text/x-python",
            Metadata={"sha256": sha256(data)},
        )
        return f"uploaded {self.local_path.name} (sha256 {sha256(data)[:12]}…)"

    def repair(self, observed: Observation) -> str:
        return f"{self.create()}; was: {'; '.join(observed.drift)}"

    def delete(self) -> str:
        removed = empty_versions(self.ctx.client("s3"), self.settings.bucket, key=self.settings.script_key)
        return f"deleted {removed} version(s)"
