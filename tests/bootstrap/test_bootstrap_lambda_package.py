"""The Lambda zip is reproducible, so its hash says whether deployed code matches the repo."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from csv2ddb.bootstrap.lambda_package import build_zip, code_sha256
from csv2ddb.bootstrap.model import BootstrapError

GLUE_DIR = Path(__file__).resolve().parents[2] / "glue"


def test_same_sources_give_the_same_zip_whatever_the_mtime(tmp_path: Path) -> None:
    (tmp_path / "trigger_dag.py").write_text("def handler(e, c):\n    return 1\n")
    (tmp_path / "helpers.py").write_text("X = 1\n")
    (tmp_path / "notes.txt").write_text("not packaged")
    first = build_zip(tmp_path, "trigger_dag.handler", GLUE_DIR)
    os.utime(tmp_path / "helpers.py", (1, 1))
    assert build_zip(tmp_path, "trigger_dag.handler", GLUE_DIR) == first
    assert sorted(zipfile.ZipFile(io.BytesIO(first)).namelist()) == [
        "csv2ddb_core/__init__.py",
        "csv2ddb_core/contract.py",
        "csv2ddb_core/routing.py",
        "helpers.py",
        "trigger_dag.py",
    ]

    (tmp_path / "helpers.py").write_text("X = 2\n")
    assert code_sha256(build_zip(tmp_path, "trigger_dag.handler", GLUE_DIR)) != code_sha256(first)


def test_missing_handler_module_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "other.py").write_text("")
    with pytest.raises(BootstrapError, match=r"trigger_dag\.py"):
        build_zip(tmp_path, "trigger_dag.handler", GLUE_DIR)


def test_the_bundled_contract_is_the_one_in_glue(tmp_path: Path) -> None:
    """The handler imports the run-id rule from the zip: it must be byte-for-byte the core's."""
    (tmp_path / "trigger_dag.py").write_text("")
    bundle = zipfile.ZipFile(io.BytesIO(build_zip(tmp_path, "trigger_dag.handler", GLUE_DIR)))
    assert bundle.read("csv2ddb_core/contract.py") == (GLUE_DIR / "csv2ddb_core" / "contract.py").read_bytes()
