"""No two modules of the product or its harness share a file name (issue 23): a name read in a
traceback, a log line or a review then means one file. Tests are left out (pytest needs its
``conftest.py`` per folder)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("glue", "plugins", "lambda", "dags", "dev", "bench")
PACKAGE_FILES = {"__init__.py", "__main__.py"}  # a package's face and entry: one per package by design


def modules_by_name() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            if path.name not in PACKAGE_FILES and not any(part.endswith(".egg-info") for part in path.parts):
                found[path.name].append(str(path.relative_to(ROOT)))
    found["infra_bootstrap.py"].append("infra_bootstrap.py")
    return found


def test_no_two_modules_share_a_file_name() -> None:
    shared = {name: sorted(paths) for name, paths in modules_by_name().items() if len(paths) > 1}
    assert shared == {}


def test_the_scan_sees_the_whole_tree() -> None:
    """The scan reads every folder (a wrong root would pass the test above for nothing)."""
    found = modules_by_name()
    assert {"load.py", "dag_builder.py", "trigger_dag.py", "demo.py", "run.py"} <= set(found)
    assert len(found) > 150
