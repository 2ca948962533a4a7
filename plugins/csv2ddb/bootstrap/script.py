"""What the Glue job runs, uploaded to ``s3://<bucket>/scripts/``: the entry script from ``glue/``
and the load core's wheel (built from ``glue/csv2ddb_core``, named in ``--extra-py-files``).

Status compares the SHA-256 of each stored object with the local bytes (the wheel is built
reproducibly, so its hash is stable), so an edited script or core shows as drift and ``create``
uploads it again.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from pathlib import Path

from botocore.exceptions import ClientError

from csv2ddb.bootstrap.base import Resource, is_error
from csv2ddb.bootstrap.bucket import bucket_owned, empty_versions
from csv2ddb.bootstrap.context import StackContext
from csv2ddb.bootstrap.model import MISSING, BootstrapError, Observation
from csv2ddb.bootstrap.wheel import WheelBuildError, build_core_wheel
from csv2ddb.engine_spec import EngineSpec
from csv2ddb.job_definitions import script_key


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class UploadedArtifact(Resource):
    """One object in the stack's bucket whose content must equal local bytes."""

    content_type = "application/octet-stream"

    @property
    @abstractmethod
    def key(self) -> str: ...

    @property
    @abstractmethod
    def label(self) -> str:
        """What the local bytes are, for the report."""

    @abstractmethod
    def local_bytes(self) -> bytes: ...

    @property
    def name(self) -> str:
        return f"s3://{self.settings.bucket}/{self.key}"

    def observe(self) -> Observation:
        owned = bucket_owned(self.ctx)
        if owned is None:
            return MISSING
        if not owned:  # the object lives in the bucket: it is ours only if the bucket is
            return Observation(exists=True, owned=False)
        try:
            body = self.ctx.client("s3").get_object(Bucket=self.settings.bucket, Key=self.key)
        except ClientError as exc:
            if is_error(exc, "NoSuchKey", "404"):
                return MISSING
            raise
        remote = sha256(body["Body"].read())
        try:
            local = sha256(self.local_bytes())
        except BootstrapError as exc:
            return Observation(exists=True, drift=(str(exc),))
        if remote != local:
            drift = f"content sha256 {remote[:12]}…, local {self.label} {local[:12]}…"
            return Observation(exists=True, drift=(drift,))
        return Observation(exists=True, notes=(f"matches spec (sha256 {local[:12]}…)",))

    def create(self) -> str:
        data = self.local_bytes()
        self.ctx.client("s3").put_object(
            Bucket=self.settings.bucket,
            Key=self.key,
            Body=data,
            ContentType=self.content_type,
            Metadata={"sha256": sha256(data)},
        )
        return f"uploaded {self.label} (sha256 {sha256(data)[:12]}…)"

    def repair(self, observed: Observation) -> str:
        return f"{self.create()}; was: {'; '.join(observed.drift)}"

    def delete(self) -> str:
        removed = empty_versions(self.ctx.client("s3"), self.settings.bucket, key=self.key)
        return f"deleted {removed} version(s)"


class GlueScript(UploadedArtifact):
    """A Glue engine's thin entry script (``glue/<its script_name>``), one per engine."""

    content_type = "text/x-python"

    def __init__(self, ctx: StackContext, spec: EngineSpec) -> None:
        super().__init__(ctx)
        self.engine = spec.name
        self.kind = spec.script_kind

    @property
    def key(self) -> str:
        return script_key(self.settings, self.engine)

    @property
    def local_path(self) -> Path:
        return self.ctx.sources.glue_script_path(self.settings, self.engine)

    @property
    def label(self) -> str:
        return self.local_path.name

    def local_bytes(self) -> bytes:
        try:
            return self.local_path.read_bytes()
        except FileNotFoundError as exc:
            raise BootstrapError(f"Glue script {self.local_path} not found: nothing to upload") from exc


class CoreWheel(UploadedArtifact):
    """The load core as a wheel (``--extra-py-files``), built from ``glue/csv2ddb_core``."""

    kind = "glue-core-wheel"
    content_type = "application/zip"

    @property
    def key(self) -> str:
        return self.settings.core_wheel_key

    @property
    def label(self) -> str:
        return f"build of {self.ctx.sources.glue_dir}/csv2ddb_core"

    def local_bytes(self) -> bytes:
        try:
            name, data = build_core_wheel(self.ctx.sources.glue_dir)
        except WheelBuildError as exc:
            raise BootstrapError(str(exc)) from exc
        if not self.key.endswith(name):
            raise BootstrapError(f"built {name}, but the settings expect {self.key} (version mismatch)")
        return data
