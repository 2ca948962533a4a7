"""Build the load core (``glue/csv2ddb_core``) into the wheel Glue installs from ``--extra-py-files``.

Reproducible on purpose: the sources are copied to a clean temporary folder (no stale ``build/``
files can slip in) and built by setuptools' PEP 517 backend with ``SOURCE_DATE_EPOCH`` fixed, so
the same sources always give the same bytes, and ``status`` can compare the uploaded wheel's
SHA-256 with a fresh local build, as it does for the script.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

PACKAGE = "csv2ddb_core"
# 1980-01-01, the earliest time a zip file can record.
SOURCE_DATE_EPOCH = "315532800"


class WheelBuildError(RuntimeError):
    """The core's wheel could not be built; the message carries the builder's output."""


def _sources(glue_dir: Path) -> list[Path]:
    files = [glue_dir / "pyproject.toml", *sorted((glue_dir / PACKAGE).rglob("*.py"))]  # with spark/
    missing = [str(f) for f in files if not f.is_file()]
    if missing or len(files) < 2:
        raise WheelBuildError(f"load core sources missing under {glue_dir}: {missing or PACKAGE + '/*.py'}")
    return files


def sources_digest(glue_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in _sources(glue_dir):
        digest.update(path.relative_to(glue_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_core_wheel(glue_dir: Path) -> tuple[str, bytes]:
    """(file name, bytes) of the core's wheel built from ``glue_dir``."""
    return _build(glue_dir.resolve(), sources_digest(glue_dir))


@lru_cache(maxsize=4)
def _build(glue_dir: Path, digest: str) -> tuple[str, bytes]:  # digest: the cache key
    with tempfile.TemporaryDirectory(prefix="csv2ddb-wheel-") as tmp:
        work = Path(tmp) / "src"
        (work / PACKAGE).mkdir(parents=True)
        for path in _sources(glue_dir):
            (work / path.relative_to(glue_dir)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, work / path.relative_to(glue_dir))
        out = Path(tmp) / "dist"
        env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "PYTHONDONTWRITEBYTECODE": "1"}
        code = f"from setuptools import build_meta; print(build_meta.build_wheel({str(out)!r}))"
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise WheelBuildError(f"building the {PACKAGE} wheel failed:\n{proc.stderr[-2000:]}")
        name = proc.stdout.strip().splitlines()[-1]
        return name, (out / name).read_bytes()
