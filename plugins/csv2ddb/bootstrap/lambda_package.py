"""Build the Lambda deployment zip from ``lambda/*.py``, byte-for-byte reproducible.

Fixed timestamps and order make the zip's SHA-256 depend only on the sources, so comparing it
with the function's ``CodeSha256`` tells whether the deployed code matches the repo.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

from csv2ddb.bootstrap.model import BootstrapError

_EPOCH = (1980, 1, 1, 0, 0, 0)


# What the handler imports from the load core (its one definition of the run-id, CSV-key and
# routing rules): stdlib-only modules, bundled under their package path.
CORE_MODULES = ("csv2ddb_core/__init__.py", "csv2ddb_core/contract.py", "csv2ddb_core/routing.py")


def build_zip(source_dir: Path, handler: str, core_dir: Path) -> bytes:
    """Zip every ``*.py`` at the top of ``source_dir`` (the handler's module must be one of them)
    plus the load core's contract from ``core_dir`` (the folder holding ``csv2ddb_core/``)."""
    module = handler.rsplit(".", 1)[0]
    files = sorted(p for p in source_dir.glob("*.py") if p.is_file())
    if not any(p.stem == module for p in files):
        missing = source_dir / f"{module}.py"
        raise BootstrapError(f"Lambda handler {handler!r} needs {missing}, which is missing")
    entries = [(p.name, p) for p in files] + [(name, core_dir / name) for name in CORE_MODULES]
    absent = [str(path) for _, path in entries if not path.is_file()]
    if absent:
        raise BootstrapError(f"Lambda package sources missing: {absent}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def code_sha256(package: bytes) -> str:
    """The form Lambda reports as ``CodeSha256``: base64 of the SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(package).digest()).decode()
