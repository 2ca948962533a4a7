"""Every repository path the docs cite exists: a moved or deleted file leaves no dangling pointer.

A cited path is a backticked or linked token that starts with one of the repository's top-level
folders (``plugins/csv2ddb/load/steps.py``, ``dev/csv2ddb_dev/``) or is a top-level file of the
repository (``infra_bootstrap.py``). S3 keys (``raw/...``, ``manifests/...``) are not repository
paths and are not checked; a path with a placeholder (``<run>``, ``*``, ``{...}``) is not either.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Not scripts/: it is also the S3 prefix of the uploaded Glue scripts, cited as such.
TOP_FOLDERS = ("plugins/", "glue/", "dags/", "dev/", "lambda/", "bench/", "tests/", "docs/", ".ci/")
TOP_FILES = {p.name for p in ROOT.iterdir() if p.is_file()}
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "NOTES.md"]
CITED = re.compile(r"`([^`\s]+)`|\]\(([^)\s#]+)")


def cited_paths(doc: Path) -> set[str]:
    found = set()
    for match in CITED.finditer(doc.read_text()):
        token = (match.group(1) or match.group(2) or "").split("::")[0].split(":")[0].rstrip(".,;")
        if any(ch in token for ch in "<>*{}$") or "://" in token:
            continue
        if token.startswith(TOP_FOLDERS) or token in TOP_FILES:
            found.add(token)
        elif match.group(2) and not token.startswith(("http", "mailto")):
            found.add(str((doc.parent / token).resolve().relative_to(ROOT)))  # a relative link
    return found


@pytest.mark.parametrize("doc", [d for d in DOCS if d.exists()], ids=lambda d: str(d.relative_to(ROOT)))
def test_every_path_a_doc_cites_exists(doc: Path) -> None:
    missing = sorted(path for path in cited_paths(doc) if not (ROOT / path).exists())
    assert missing == [], f"{doc.relative_to(ROOT)} cites paths that do not exist: {missing}"
