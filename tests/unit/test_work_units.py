"""How `make test` splits the suite between its xdist workers (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONGEST_FIRST, WHOLE_FOLDER_UNITS, work_unit

REPO = Path(__file__).resolve().parents[2]


def test_a_file_is_a_unit_and_the_shared_folders_go_whole() -> None:
    assert work_unit("tests/dags/test_load_dag_runs.py::test_x[a-b]") == "tests/dags/test_load_dag_runs.py"
    assert work_unit("tests/ui/test_loads_browser.py::test_y") == "tests/ui"
    assert work_unit("tests/reliability/test_zz_report.py::test_z") == "tests/reliability"
    assert work_unit("tests/unit/test_settings.py::test_w") == "tests/unit/test_settings.py"


def test_every_unit_named_first_still_exists() -> None:
    """A renamed file would silently lose its early start."""
    assert set(WHOLE_FOLDER_UNITS) <= set(LONGEST_FIRST)
    missing = [unit for unit in LONGEST_FIRST if not (REPO / unit).exists()]
    assert missing == []
